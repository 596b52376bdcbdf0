// Document storage for one container: keyed by (partition key, id), placed in partition key
// ranges by the SDKs' effective-partition-key hash, stamped with a log sequence number (LSN)
// per write, with lazy TTL expiry. Pure data: no HTTP here (routes.js maps it to the wire).
"use strict";

const { randomBytes, randomUUID } = require("crypto");
const { effectivePartitionKey, rangeBoundaries } = require("./epk");

class CosmosError extends Error {
  constructor(status, code, message, extra = {}) {
    super(message);
    this.status = status;
    this.code = code;
    this.extra = extra;
  }
}

const notFound = () =>
  new CosmosError(404, "NotFound", "Entity with the specified id does not exist in the system.");
const preconditionFailed = () =>
  new CosmosError(412, "PreconditionFailed",
    "Operation cannot be performed because one of the specified precondition is not met.");

function valueAtPath(doc, path) {
  let v = doc;
  for (const part of path.slice(1).split("/")) {
    if (v === null || typeof v !== "object") return undefined;
    v = v[part];
  }
  return v;
}

/** `{}` in a partition key header or batch body means "undefined" (the key is absent). */
const isUndefinedMarker = v => v !== null && typeof v === "object" && !Array.isArray(v) && Object.keys(v).length === 0;

class Container {
  /** `settings()` answers the collection's current properties (partitionKey, defaultTtl). */
  constructor(settings, ranges) {
    this.settings = settings;
    const collection = settings();
    this.rid = collection._rid;
    this.self = collection._self;
    this.definition = collection.partitionKey || { paths: [], kind: "Hash", version: 2 };
    this.docs = new Map(); // key(pk, id) -> stored document
    this.lsn = 0; // one counter per container: monotonic within every range and across them
    const bounds = rangeBoundaries(ranges);
    this.ranges = bounds.slice(0, -1).map((min, i) => ({ id: String(i), min, max: bounds[i + 1] }));
  }

  /** Partition key values of a document, one per path (undefined where absent). */
  partitionKeyOf(doc) {
    return this.definition.paths.map(p => valueAtPath(doc, p));
  }

  /** Parses the `x-ms-documentdb-partitionkey` header: a JSON array, `{}` for undefined. */
  static parsePartitionKeyHeader(header) {
    if (header === undefined) return null;
    let values;
    try {
      values = JSON.parse(header);
    } catch (err) {
      throw new CosmosError(400, "BadRequest", `invalid partition key header: ${header}`);
    }
    if (!Array.isArray(values)) values = [values];
    return values.map(v => (isUndefinedMarker(v) ? undefined : v));
  }

  epkOf(pk) {
    return pk.length === 0 ? "" : effectivePartitionKey(pk, this.definition.kind);
  }

  rangeOf(epk) {
    return this.ranges.find(r => r.min <= epk && epk < r.max);
  }

  static key(pk, id) {
    return JSON.stringify([pk.map(v => (v === undefined ? { undefined: true } : v)), id]);
  }

  /** The live document, or undefined; expired documents are dropped here (lazy TTL). */
  get(pk, id, now = Date.now()) {
    const key = Container.key(pk, id);
    const doc = this.docs.get(key);
    if (doc && this.expired(doc, now)) {
      this.docs.delete(key);
      return undefined;
    }
    return doc;
  }

  expired(doc, now) {
    // As in Cosmos DB: without a container defaultTtl, a document's own ttl is ignored.
    const { defaultTtl } = this.settings() || {};
    if (defaultTtl === undefined || defaultTtl === null) return false;
    const ttl = doc.ttl !== undefined ? doc.ttl : defaultTtl;
    if (ttl === -1 || typeof ttl !== "number") return false;
    return now / 1000 >= doc._ts + ttl;
  }

  /** All live documents, optionally limited to a scope {pk, rangeId, minEpk, maxEpk}. */
  list(scope = {}, now = Date.now()) {
    const pkKey = scope.pk ? Container.key(scope.pk, "") : null;
    const range = scope.rangeId !== undefined ? this.ranges.find(r => r.id === scope.rangeId) : null;
    if (scope.rangeId !== undefined && !range) {
      throw new CosmosError(410, "Gone", `partition key range ${scope.rangeId} does not exist`, { substatus: 1002 });
    }
    const out = [];
    for (const [key, entry] of this.docs) {
      if (this.expired(entry, now)) {
        this.docs.delete(key);
      } else if (
        (!pkKey || Container.key(this.partitionKeyOf(entry), "") === pkKey)
        && (!range || (range.min <= entry.epk && entry.epk < range.max))
        && (scope.minEpk === undefined || entry.epk >= scope.minEpk)
        && (scope.maxEpk === undefined || scope.maxEpk === "" || entry.epk < scope.maxEpk)
      ) {
        out.push(entry);
      }
    }
    return out;
  }

  /** Checks the header key (if any) against the document's own key. */
  checkPartitionKey(doc, headerPk) {
    const pk = this.partitionKeyOf(doc);
    if (headerPk && Container.key(headerPk, "") !== Container.key(pk, "")) {
      throw new CosmosError(400, "BadRequest",
        "PartitionKey extracted from document doesn't match the one specified in the header.", { substatus: 1001 });
    }
    return pk;
  }

  /** Stores a new version: fresh etag, _ts and LSN. Returns the stored document. */
  write(pk, body, previous) {
    this.lsn += 1;
    const epk = this.epkOf(pk);
    const rid = previous ? previous._rid : randomBytes(12).toString("base64").replace(/\//g, "-");
    const stored = {
      ...body,
      _rid: rid,
      _self: `${this.self.replace(/^\/|\/$/g, "")}/docs/${rid}/`,
      _etag: `"${randomUUID()}"`,
      _attachments: "attachments/",
      _ts: Math.floor(Date.now() / 1000),
    };
    // Kept out of the document's JSON; read by the change feed and range scoping.
    Object.defineProperty(stored, "lsn", { value: this.lsn, enumerable: false });
    Object.defineProperty(stored, "epk", { value: epk, enumerable: false });
    this.docs.set(Container.key(pk, body.id), stored);
    return stored;
  }

  create(body, headerPk) {
    if (typeof body.id !== "string" || body.id === "") {
      throw new CosmosError(400, "BadRequest", "The input content is invalid because the required properties - 'id; ' - are missing");
    }
    const pk = this.checkPartitionKey(body, headerPk);
    if (this.get(pk, body.id)) {
      throw new CosmosError(409, "Conflict", "Entity with the specified id already exists in the system.");
    }
    return { status: 201, doc: this.write(pk, body) };
  }

  read(pk, id) {
    const doc = this.get(pk, id);
    if (!doc) throw notFound();
    return { status: 200, doc };
  }

  replace(pk, id, body, ifMatch) {
    if (body.id !== id) throw new CosmosError(400, "BadRequest", "replacing id is not allowed");
    this.checkPartitionKey(body, pk);
    const current = this.get(pk, id);
    if (!current) throw notFound();
    if (ifMatch && ifMatch !== "*" && ifMatch !== current._etag) throw preconditionFailed();
    return { status: 200, doc: this.write(pk, body, current) };
  }

  upsert(body, headerPk, ifMatch) {
    if (typeof body.id !== "string" || body.id === "") return this.create(body, headerPk);
    const pk = this.checkPartitionKey(body, headerPk);
    const current = this.get(pk, body.id);
    if (ifMatch && ifMatch !== "*" && (!current || ifMatch !== current._etag)) throw preconditionFailed();
    return { status: current ? 200 : 201, doc: this.write(pk, body, current) };
  }

  delete(pk, id, ifMatch) {
    const current = this.get(pk, id);
    if (!current) throw notFound();
    if (ifMatch && ifMatch !== "*" && ifMatch !== current._etag) throw preconditionFailed();
    this.docs.delete(Container.key(pk, id));
    this.lsn += 1; // a delete is a write: the session token moves on
    return { status: 204, doc: null };
  }

  /** A copy of the state, to roll an atomic batch back. */
  snapshot() {
    return { docs: new Map(this.docs), lsn: this.lsn };
  }

  restore(snap) {
    this.docs = snap.docs;
    this.lsn = snap.lsn;
  }
}

module.exports = { Container, CosmosError, notFound };
