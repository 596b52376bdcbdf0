#!/usr/bin/env node
// A Cosmos DB-compatible test server for Tributary's tests (plain HTTP, in memory).
//
//   node tests/support/cosmos-server/server.js --port 8081 [--key <base64>] [--aad] [--ranges N]
//
// Databases and containers are served by @vercel/cosmosdb-server 1.0.1, in-process; everything
// at or below /docs, /pkranges and the account read is answered here instead, to correct its gaps:
// authentication, string range ids and N hashed ranges, a real latest-version change feed, 404/409,
// partition-scoped queries, atomic batches, If-Match, TTL. /_admin/* injects 429s and failures.
// README.md beside this file lists each correction and why. Not for production: no persistence.
"use strict";

const http = require("http");
const { Readable } = require("stream");
const { randomUUID } = require("crypto");
const vercelRoutes = require("@vercel/cosmosdb-server/lib/routes").default;
const Account = require("@vercel/cosmosdb-server/lib/account").default;
const { checkAuthorization } = require("./auth");
const { Container, CosmosError } = require("./documents");
const routes = require("./routes");

function parseArgs(argv) {
  const opts = { port: 8081, host: "127.0.0.1", key: null, aad: false, ranges: 1 };
  for (let i = 0; i < argv.length; i += 1) {
    const [flag, inline] = argv[i].split(/=(.*)/s);
    const value = () => (inline !== undefined ? inline : argv[(i += 1)]);
    if (flag === "--port") opts.port = Number(value());
    else if (flag === "--host") opts.host = value();
    else if (flag === "--key") opts.key = value();
    else if (flag === "--aad") opts.aad = true;
    else if (flag === "--ranges") opts.ranges = Number(value());
    else throw new Error(`unknown argument ${argv[i]}`);
  }
  if (!(opts.ranges >= 1 && opts.ranges <= 64 && Number.isInteger(opts.ranges))) {
    throw new Error("--ranges must be an integer from 1 to 64");
  }
  return opts;
}

/** Fault injection for tests: the next `count` matching requests fail. */
const faults = { throttle: { count: 0, retryAfterMs: 100 }, fail: { count: 0, status: 503 } };

function accountProperties(host) {
  const location = { name: "South Central US", databaseAccountEndpoint: `http://${host}/` };
  return {
    id: "tributary-test", _rid: host, _self: "", _dbs: "//dbs/", media: "//media/", addresses: "//addresses/",
    writableLocations: [location], readableLocations: [location], enableMultipleWriteLocations: false,
    userReplicationPolicy: { asyncReplication: false, minReplicaSetSize: 1, maxReplicasetSize: 4 },
    userConsistencyPolicy: { defaultConsistencyLevel: "Session" },
    systemReplicationPolicy: { minReplicaSetSize: 1, maxReplicasetSize: 4 },
    readPolicy: { primaryReadCoefficient: 1, secondaryReadCoefficient: 1 },
    queryEngineConfiguration: JSON.stringify({
      maxSqlQueryInputLength: 262144, maxJoinsPerSqlQuery: 5, maxLogicalAndPerSqlQuery: 500,
      maxLogicalOrPerSqlQuery: 500, maxUdfRefPerSqlQuery: 10, maxInExpressionItemsCount: 16000,
      queryMaxInMemorySortDocumentCount: 500, maxQueryRequestTimeoutFraction: 0.9,
      sqlAllowNonFiniteNumbers: false, sqlAllowAggregateFunctions: true, sqlAllowSubQuery: true,
      sqlAllowScalarSubQuery: true, allowNewKeywords: true, sqlAllowLike: false,
      maxSpatialQueryCells: 12, spatialMaxGeometryPointCount: 256, sqlAllowTop: true, enableSpatialIndexing: true,
    }),
  };
}

function send(res, { status, body, headers = {} }) {
  res.statusCode = status;
  res.setHeader("content-type", "application/json");
  res.setHeader("x-ms-activity-id", randomUUID());
  res.setHeader("x-ms-request-charge", "1");
  res.setHeader("date", new Date().toUTCString());
  Object.entries(headers).forEach(([k, v]) => res.setHeader(k, v));
  res.end(body === undefined || status === 304 ? "" : JSON.stringify(body));
}

const cosmosError = (status, code, message, headers = {}) => ({ status, body: { code, message }, headers });

function errorResponse(err) {
  const headers = err.extra && err.extra.substatus ? { "x-ms-substatus": String(err.extra.substatus) } : {};
  return cosmosError(err.status, err.code, err.message, headers);
}

async function admin(req, pathname) {
  const chunks = [];
  for await (const c of req) chunks.push(c);
  const body = chunks.length ? JSON.parse(Buffer.concat(chunks).toString()) : {};
  if (req.method === "POST" && pathname === "/_admin/throttle") {
    faults.throttle = { count: Number(body.count) || 0, retryAfterMs: Number(body.retryAfterMs) || 100 };
  } else if (req.method === "POST" && pathname === "/_admin/fail") {
    faults.fail = { count: Number(body.count) || 0, status: Number(body.status) || 503 };
  } else if (req.method === "POST" && pathname === "/_admin/reset") {
    faults.throttle.count = 0;
    faults.fail.count = 0;
  } else if (!(req.method === "GET" && pathname === "/_admin/faults")) {
    return cosmosError(404, "NotFound", "unknown admin endpoint");
  }
  return { status: 200, body: faults };
}

/** An injected fault for this document request, if one is pending. */
function injectedFault(req) {
  if (faults.fail.count > 0) {
    faults.fail.count -= 1;
    return cosmosError(faults.fail.status, "ServiceUnavailable", "Injected failure (/_admin/fail).");
  }
  const isWrite = req.method !== "GET" && !String(req.headers["x-ms-documentdb-isquery"]).match(/true/i)
    && !String(req.headers["content-type"]).startsWith("application/query+json");
  if (isWrite && faults.throttle.count > 0) {
    faults.throttle.count -= 1;
    return cosmosError(429, "TooManyRequests",
      "Request rate is large. More Request Units may be needed, so no changes were made. Please retry this request later.",
      { "x-ms-retry-after-ms": String(faults.throttle.retryAfterMs), "x-ms-substatus": "3200" });
  }
  return null;
}

function createServer(opts) {
  const account = new Account("localhost", opts.port);
  const containers = new Map(); // collection _rid -> Container (a recreated collection gets a new _rid)

  const containerFor = (dbId, collId) => {
    const settings = () => account.database(dbId).collection(collId).read();
    const coll = settings();
    if (!coll) throw new CosmosError(404, "NotFound", `Collection ${dbId}/${collId} does not exist.`);
    if (!containers.has(coll._rid)) containers.set(coll._rid, new Container(settings, opts.ranges));
    return containers.get(coll._rid);
  };

  /** Our own routes; undefined means "let @vercel/cosmosdb-server answer". */
  async function dispatch(req, parts) {
    const [dbs, dbId, colls, collId, kind, docId, ...rest] = parts;
    if (parts.length === 0 && req.method === "GET") return { status: 200, body: accountProperties(req.headers.host) };
    if (dbs !== "dbs" || colls !== "colls" || !collId || !kind || rest.length) return undefined;
    if (kind === "pkranges" && req.method === "GET" && !docId) {
      return routes.partitionKeyRanges(req, containerFor(dbId, collId));
    }
    if (kind !== "docs") return undefined;
    const fault = injectedFault(req);
    if (fault) return fault;
    const container = containerFor(dbId, collId);
    if (docId === undefined) {
      if (req.method === "GET") return routes.readFeed(req, container);
      if (req.method === "POST") {
        const udfs = account.database(dbId).collection(collId).userDefinedFunctions.functions;
        return routes.postDocuments(req, container, udfs);
      }
    } else if (req.method === "GET") {
      return routes.readItem(req, container, docId);
    } else if (req.method === "PUT") {
      return routes.replaceItem(req, container, docId);
    } else if (req.method === "DELETE") {
      return routes.deleteItem(req, container, docId);
    }
    return cosmosError(400, "BadRequest", `${req.method} on documents is not supported by this test server.`);
  }

  /** Databases, containers and UDFs: @vercel/cosmosdb-server's handlers, as its own server runs them. */
  async function vercel(req, res, parts) {
    const chunks = [];
    for await (const c of req) chunks.push(c);
    const raw = Buffer.concat(chunks);
    if (req.method === "POST" && parts.length === 3 && parts[2] === "colls") {
      const { partitionKey } = JSON.parse(raw.toString() || "{}");
      if (partitionKey && partitionKey.version !== undefined && partitionKey.version !== 2) {
        return cosmosError(400, "BadRequest", "Only partition key version 2 is supported by this test server.");
      }
    }
    // The body was consumed above; the handler reads it again from a replay of the same bytes.
    const replay = Object.assign(Readable.from([raw]), { headers: req.headers, method: req.method, url: req.url });
    const route = vercelRoutes(replay);
    if (!route) return cosmosError(400, "BadRequest", "no route");
    const [params, handler] = route;
    const body = (await handler(account, replay, res, params)) || {};
    const status = res.statusCode;
    // New containers hash partition keys with V2 unless told otherwise (the SDKs assume V1 when
    // `version` is missing, and only V2 is implemented here).
    if (req.method === "POST" && status === 201 && parts.length === 3 && body.partitionKey) {
      body.partitionKey.kind = body.partitionKey.kind || "Hash";
      body.partitionKey.version = body.partitionKey.version || 2;
    }
    if (status > 399 && !body.code) {
      body.code = { 400: "BadRequest", 404: "NotFound", 409: "Conflict" }[status] || "Error";
      body.message = body.message || "";
    }
    return { status, body, headers: body._etag ? { etag: body._etag } : {} };
  }

  const trace = process.env.COSMOS_SERVER_TRACE === "1";
  return http.createServer((req, res) => {
    if (trace) {
      const h = Object.entries(req.headers).filter(([k]) => k.startsWith("x-ms-") || k.startsWith("if-") || k === "a-im");
      console.log(req.method, req.url, JSON.stringify(Object.fromEntries(h))); // eslint-disable-line no-console
    }
    (async () => {
      let { pathname } = new URL(req.url, "http://localhost");
      pathname = `/${pathname.split("/").filter(Boolean).join("/")}`;
      if (pathname.startsWith("/_admin/")) return admin(req, pathname);
      const denied = checkAuthorization(req, pathname, opts);
      if (denied) return cosmosError(401, "Unauthorized", denied);
      const parts = pathname.split("/").filter(Boolean).map(decodeURIComponent);
      return (await dispatch(req, parts)) || vercel(req, res, parts);
    })()
      .catch(err => {
        if (err instanceof CosmosError) return errorResponse(err);
        console.error(err); // eslint-disable-line no-console
        return cosmosError(500, "InternalServerError", err.message);
      })
      .then(response => send(res, response));
  });
}

if (require.main === module) {
  const opts = parseArgs(process.argv.slice(2));
  const server = createServer(opts);
  server.listen(opts.port, opts.host, () => console.log(`listening on ${server.address().port}`)); // eslint-disable-line no-console
  const stop = () => server.close(() => process.exit(0));
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

module.exports = { createServer, parseArgs };
