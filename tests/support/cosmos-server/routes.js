// The document-level REST endpoints this server answers itself instead of
// @vercel/cosmosdb-server: point operations, read feed, change feed, queries, query plans,
// transactional batches and partition key ranges. Each handler returns {status, body, headers}.
"use strict";

const cosmosQuery = require("@zeit/cosmosdb-query").default;
const { Container, CosmosError } = require("./documents");

const header = (req, name) => {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
};
const isTrue = (req, name) => String(header(req, name)).toLowerCase() === "true";

function readJson(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on("data", c => chunks.push(c));
    req.on("end", () => {
      const text = Buffer.concat(chunks).toString("utf8");
      try {
        resolve(text ? JSON.parse(text) : undefined);
      } catch (err) {
        reject(new CosmosError(400, "BadRequest", `The request body is not valid JSON: ${err.message}`));
      }
    });
    req.on("error", reject);
  });
}

const sessionToken = (container, doc) =>
  `${(doc && container.rangeOf(doc.epk) ? container.rangeOf(doc.epk).id : "0")}:-1#${container.lsn}`;

function docResponse(container, { status, doc }) {
  const headers = { "x-ms-session-token": sessionToken(container, doc) };
  if (doc) headers.etag = doc._etag;
  return { status, body: doc || undefined, headers };
}

/** Request scope from headers: a partition key, a range id and/or an EPK sub-range. */
function scopeOf(req) {
  const scope = {};
  const pk = Container.parsePartitionKeyHeader(header(req, "x-ms-documentdb-partitionkey"));
  if (pk && pk.length) scope.pk = pk;
  const rangeId = header(req, "x-ms-documentdb-partitionkeyrangeid");
  // Older SDKs send "<collectionRid>,<rangeId>".
  if (rangeId !== undefined) scope.rangeId = rangeId.split(",").pop();
  const start = header(req, "x-ms-start-epk");
  const end = header(req, "x-ms-end-epk");
  if (start !== undefined) scope.minEpk = start.toUpperCase();
  if (end !== undefined) scope.maxEpk = end.toUpperCase();
  return scope;
}

function requirePartitionKey(req, container) {
  const pk = Container.parsePartitionKeyHeader(header(req, "x-ms-documentdb-partitionkey"));
  if (pk === null) {
    if (container.definition.paths.length === 0) return [];
    throw new CosmosError(400, "BadRequest", "PartitionKey value must be supplied for this operation.");
  }
  return pk;
}

// --- point operations ------------------------------------------------------------------

async function createOrUpsert(req, container) {
  const body = await readJson(req);
  if (!body || typeof body !== "object" || Array.isArray(body)) {
    throw new CosmosError(400, "BadRequest", "The request body must be a JSON object.");
  }
  const headerPk = Container.parsePartitionKeyHeader(header(req, "x-ms-documentdb-partitionkey"));
  const result = isTrue(req, "x-ms-documentdb-is-upsert")
    ? container.upsert(body, headerPk, header(req, "if-match"))
    : container.create(body, headerPk);
  return docResponse(container, result);
}

const readItem = (req, container, id) => {
  const result = container.read(requirePartitionKey(req, container), id);
  const inm = header(req, "if-none-match");
  if (inm && inm === result.doc._etag) return { status: 304, headers: { etag: inm } };
  return docResponse(container, result);
};

const replaceItem = async (req, container, id) => docResponse(container,
  container.replace(requirePartitionKey(req, container), id, await readJson(req), header(req, "if-match")));

const deleteItem = (req, container, id) => docResponse(container,
  container.delete(requirePartitionKey(req, container), id, header(req, "if-match")));

// --- change feed (latest version) and read feed -----------------------------------------

const DEFAULT_PAGE = 1000;

function pageSize(req) {
  const n = parseInt(header(req, "x-ms-max-item-count"), 10);
  return n > 0 ? n : DEFAULT_PAGE;
}

/**
 * LatestVersion change feed. The continuation is the etag `"<lsn>"` of the last item returned
 * (one LSN counter per container); a page holds documents of the scope whose latest write has a
 * larger LSN, oldest first. No If-None-Match: from the beginning; `*`: from now;
 * If-Modified-Since (without If-None-Match): documents last written at or after that time.
 */
function changeFeed(req, container) {
  const scope = scopeOf(req);
  const inm = header(req, "if-none-match");
  let since = 0;
  if (inm === "*") {
    since = container.lsn;
  } else if (inm !== undefined) {
    since = Number(inm.replace(/^W\//, "").replace(/"/g, ""));
    if (!Number.isInteger(since) || since < 0) {
      throw new CosmosError(400, "BadRequest", `Invalid change feed continuation (If-None-Match): ${inm}`);
    }
  }
  const ims = header(req, "if-modified-since");
  const minTs = inm === undefined && ims ? Math.floor(Date.parse(ims) / 1000) : -Infinity;
  const changes = container.list(scope)
    .filter(d => d.lsn > since && d._ts >= minTs)
    .sort((a, b) => a.lsn - b.lsn)
    .slice(0, pageSize(req));
  const headers = { "x-ms-session-token": `${scope.rangeId || "0"}:-1#${container.lsn}` };
  if (scope.rangeId !== undefined) headers["x-ms-documentdb-partitionkeyrangeid"] = scope.rangeId;
  if (changes.length === 0) {
    headers.etag = `"${Math.max(since, container.lsn)}"`;
    return { status: 304, headers };
  }
  headers.etag = `"${changes[changes.length - 1].lsn}"`;
  headers["x-ms-item-count"] = String(changes.length);
  // The Rust SDK asks for the structured envelope; other clients get plain documents.
  const envelope = header(req, "x-ms-cosmos-changefeed-wire-format-version") !== undefined;
  const items = changes.map(d => {
    const doc = { ...d, _lsn: d.lsn };
    return envelope ? { current: doc, metadata: { lsn: d.lsn, crts: d._ts } } : doc;
  });
  return { status: 200, headers, body: { _rid: container.rid, Documents: items, _count: items.length } };
}

function readFeed(req, container) {
  if (header(req, "a-im")) return changeFeed(req, container);
  return runQuery(req, container, { query: "SELECT * FROM c" });
}

// --- queries -----------------------------------------------------------------------------

const OFFSET_LIMIT = /\s+OFFSET\s+(\d+|@\w+)\s+LIMIT\s+(\d+|@\w+)\s*$/i;

function runQuery(req, container, spec, udf) {
  if (!spec || typeof spec.query !== "string") throw new CosmosError(400, "BadRequest", "missing query");
  if (/\bGROUP\s+BY\b/i.test(spec.query)) {
    throw new CosmosError(400, "BadRequest", "GROUP BY is not supported by this test server.");
  }
  const parameters = spec.parameters || [];
  const param = v => (v.startsWith("@") ? (parameters.find(p => p.name === v) || {}).value : Number(v));
  // @zeit/cosmosdb-query has no OFFSET/LIMIT: strip a trailing clause and slice the result.
  const m = spec.query.match(OFFSET_LIMIT);
  const sql = m ? spec.query.replace(OFFSET_LIMIT, "") : spec.query;
  const docs = container.list(scopeOf(req)).map(d => ({ ...d }));
  let continuation = null;
  const token = header(req, "x-ms-continuation");
  if (token) {
    try {
      continuation = JSON.parse(token);
    } catch (err) {
      throw new CosmosError(400, "BadRequest", "Invalid continuation token");
    }
  }
  let out;
  try {
    out = cosmosQuery(sql).exec(docs, {
      parameters,
      udf,
      maxItemCount: m ? undefined : pageSize(req),
      continuation: m ? undefined : continuation,
    });
  } catch (err) {
    throw new CosmosError(400, "BadRequest", `Query failed: ${err.message}`);
  }
  let result = out.result;
  if (m) result = result.slice(param(m[1]), param(m[1]) + param(m[2]));
  const headers = {
    "x-ms-item-count": String(result.length),
    "x-ms-session-token": `${scopeOf(req).rangeId || "0"}:-1#${container.lsn}`,
  };
  if (out.continuation && !m) headers["x-ms-continuation"] = JSON.stringify(out.continuation);
  return { status: 200, headers, body: { _rid: container.rid, Documents: result, _count: result.length } };
}

/**
 * A minimal query plan (Python asks for one before a cross-partition query): no rewriting, the
 * whole EPK space. ORDER BY, aggregates, DISTINCT and TOP across several ranges are therefore
 * merged naively by the client; with --ranges 1 (the default) they are exact.
 */
function queryPlan(spec) {
  return {
    status: 200,
    body: {
      partitionedQueryExecutionInfoVersion: 2,
      queryInfo: {
        distinctType: "None", top: null, offset: null, limit: null, orderBy: [], orderByExpressions: [],
        groupByExpressions: [], groupByAliases: [], aggregates: [], groupByAliasToAggregateType: {},
        rewrittenQuery: "", hasSelectValue: /^\s*SELECT\s+VALUE\b/i.test(spec.query || ""),
        dCountInfo: null, hasNonStreamingOrderBy: false,
      },
      queryRanges: [{ min: "", max: "FF", isMinInclusive: true, isMaxInclusive: false }],
    },
  };
}

async function postDocuments(req, container, udf) {
  if (isTrue(req, "x-ms-cosmos-is-batch-request")) return batch(req, container);
  const isQuery = isTrue(req, "x-ms-documentdb-isquery")
    || String(header(req, "content-type")).startsWith("application/query+json");
  if (!isQuery) return createOrUpsert(req, container);
  const spec = await readJson(req);
  if (isTrue(req, "x-ms-cosmos-is-query-plan-request")) return queryPlan(spec || {});
  return runQuery(req, container, spec, udf);
}

// --- transactional batch ---------------------------------------------------------------

function batchOperation(container, pk, op) {
  const type = String(op.operationType || "").toLowerCase();
  const opPk = op.partitionKey !== undefined ? Container.parsePartitionKeyHeader(
    typeof op.partitionKey === "string" ? op.partitionKey : JSON.stringify(op.partitionKey)) : pk;
  switch (type) {
    case "create": return container.create(op.resourceBody || {}, opPk);
    case "upsert": return container.upsert(op.resourceBody || {}, opPk, op.ifMatch);
    case "replace": return container.replace(opPk, op.id, op.resourceBody || {}, op.ifMatch);
    case "read": return container.read(opPk, op.id);
    case "delete": return container.delete(opPk, op.id, op.ifMatch);
    default: throw new CosmosError(400, "BadRequest", `Operation type '${op.operationType}' is not supported in a batch.`);
  }
}

/**
 * Transactional batch: operations run in order; in an atomic batch the first failure rolls every
 * earlier operation back and the response is 207 Multi-Status with that operation's status and
 * 424 Failed Dependency for all the others (as the service and both SDKs expect).
 */
async function batch(req, container) {
  const ops = await readJson(req);
  if (!Array.isArray(ops) || ops.length === 0 || ops.length > 100) {
    throw new CosmosError(400, "BadRequest", "A batch must hold between 1 and 100 operations.");
  }
  const pk = requirePartitionKey(req, container);
  const atomic = header(req, "x-ms-cosmos-batch-atomic") === undefined || isTrue(req, "x-ms-cosmos-batch-atomic");
  const continueOnError = !atomic && isTrue(req, "x-ms-cosmos-batch-continue-on-error");
  const snapshot = container.snapshot();
  const results = [];
  let failed = -1;
  for (let i = 0; i < ops.length; i += 1) {
    if (failed >= 0 && !continueOnError) {
      results.push({ statusCode: 424, requestCharge: 0 });
      continue; // eslint-disable-line no-continue
    }
    try {
      const { status, doc } = batchOperation(container, pk, ops[i] || {});
      const result = { statusCode: status, requestCharge: 1 };
      if (doc) Object.assign(result, { eTag: doc._etag, resourceBody: doc });
      results.push(result);
    } catch (err) {
      if (!(err instanceof CosmosError)) throw err;
      if (failed < 0) failed = i;
      results.push({ statusCode: err.status, requestCharge: 1, substatusCode: err.extra.substatus || 0 });
    }
  }
  if (failed >= 0 && atomic) {
    container.restore(snapshot);
    results.forEach((r, i) => {
      if (i !== failed) results[i] = { statusCode: 424, requestCharge: 0 };
    });
  }
  return {
    status: failed >= 0 ? 207 : 200,
    body: results,
    headers: { "x-ms-session-token": `0:-1#${container.lsn}` },
  };
}

// --- partition key ranges ---------------------------------------------------------------

function partitionKeyRanges(req, container) {
  const etag = `"pkranges-${container.ranges.length}"`; // ranges never split or merge here
  if (header(req, "if-none-match") === etag) return { status: 304, headers: { etag } };
  const ranges = container.ranges.map((r, i) => ({
    id: r.id,
    _rid: `${container.rid}${i}`,
    _self: `${container.self.replace(/\/$/, "")}/pkranges/${r.id}/`,
    _etag: `"${r.id}"`,
    _ts: 0,
    minInclusive: r.min,
    maxExclusive: r.max,
    ridPrefix: i,
    throughputFraction: 1 / container.ranges.length,
    status: "online",
    parents: [],
    ownedArchivalPKRangeIds: [],
  }));
  return {
    status: 200,
    headers: { etag, "x-ms-item-count": String(ranges.length) },
    body: { _rid: container.rid, PartitionKeyRanges: ranges, _count: ranges.length },
  };
}

module.exports = {
  readItem, replaceItem, deleteItem, readFeed, postDocuments, partitionKeyRanges,
};
