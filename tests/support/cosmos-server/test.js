// Wire-level tests of the server with the requests the Rust SDK (azure_data_cosmos 1.0) sends,
// which smoke.py (the Python SDK) does not: per-range and EPK-narrowed change feed with the
// envelope wire format, RID-signed requests, batch bodies without per-operation keys.
//   node --test tests/support/cosmos-server/
"use strict";

const test = require("node:test");
const assert = require("node:assert");
const { createServer } = require("./server");
const { effectivePartitionKey } = require("./epk");
const { sign } = require("./auth");

const KEY = Buffer.from("rust-sdk-shaped-requests-key").toString("base64");

async function withServer(opts, fn) {
  const server = createServer({ port: 0, key: KEY, aad: false, ranges: 4, ...opts });
  await new Promise(resolve => server.listen(0, "127.0.0.1", resolve));
  const base = `http://127.0.0.1:${server.address().port}`;
  const call = async (method, path, { body, headers = {}, link, type } = {}) => {
    const date = new Date().toUTCString();
    const segs = path.split("/").filter(Boolean);
    const feed = segs.length % 2 === 1;
    const resourceType = type || (feed ? segs[segs.length - 1] : segs[segs.length - 2]) || "";
    const signingLink = link !== undefined ? link : (feed ? segs.slice(0, -1) : segs).join("/");
    const sig = sign(KEY, method, resourceType, signingLink, date);
    const res = await fetch(base + path, {
      method,
      headers: { "x-ms-date": date, authorization: encodeURIComponent(`type=master&ver=1.0&sig=${sig}`), ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
  };
  try {
    await fn(call);
  } finally {
    server.close();
  }
}

const pkHeader = pk => ({ "x-ms-documentdb-partitionkey": JSON.stringify([pk]) });
const FEED = { "a-im": "Incremental Feed", "x-ms-cosmos-changefeed-wire-format-version": "2021-09-15" };

async function seed(call, devices) {
  await call("POST", "/dbs", { body: { id: "db" } });
  await call("POST", "/dbs/db/colls", { body: { id: "c", partitionKey: { paths: ["/deviceId"], kind: "Hash", version: 2 } } });
  for (const d of devices) {
    const r = await call("POST", "/dbs/db/colls/c/docs", { body: { id: "x", deviceId: d }, headers: pkHeader(d) });
    assert.strictEqual(r.status, 201);
  }
}

test("per-range change feed splits documents by the SDK's EPK hash, in the envelope shape", () =>
  withServer({}, async call => {
    const devices = Array.from({ length: 20 }, (_, i) => `dev-${i}`);
    await seed(call, devices);
    const coll = (await call("GET", "/dbs/db/colls/c")).body;
    // The Rust SDK reads ranges by RID and signs the lowercased RID.
    const ranges = await call("GET", `/dbs/${coll._self.split("/")[2]}/colls/${coll._rid}/pkranges`,
      { link: coll._rid.toLowerCase(), headers: { "a-im": "Incremental Feed" } });
    assert.strictEqual(ranges.status, 200);
    const seen = [];
    for (const r of ranges.body.PartitionKeyRanges) {
      assert.strictEqual(typeof r.id, "string");
      const page = await call("GET", "/dbs/db/colls/c/docs",
        { headers: { ...FEED, "x-ms-documentdb-partitionkeyrangeid": r.id } });
      if (page.status === 304) continue; // eslint-disable-line no-continue
      for (const item of page.body.Documents) {
        const epk = effectivePartitionKey([item.current.deviceId]);
        assert.ok(r.minInclusive <= epk && epk < r.maxExclusive, `${epk} outside ${r.id}`);
        assert.strictEqual(item.metadata.lsn, item.current._lsn);
        seen.push(item.current.deviceId);
      }
      assert.match(page.headers.get("etag"), /^"\d+"$/);
      const again = await call("GET", "/dbs/db/colls/c/docs",
        { headers: { ...FEED, "x-ms-documentdb-partitionkeyrangeid": r.id, "if-none-match": page.headers.get("etag") } });
      assert.strictEqual(again.status, 304);
    }
    assert.deepStrictEqual(seen.sort(), [...devices].sort());
  }));

test("an EPK-narrowed feed range (feed_range_from_partition_key) holds only that key", () =>
  withServer({}, async call => {
    await seed(call, ["a", "b", "c", "d"]);
    const epk = effectivePartitionKey(["c"]);
    const next = (BigInt(`0x${epk}`) + 1n).toString(16).toUpperCase().padStart(32, "0");
    const ranges = (await call("GET", "/dbs/db/colls/c/pkranges")).body.PartitionKeyRanges;
    const owner = ranges.find(r => r.minInclusive <= epk && epk < r.maxExclusive);
    const page = await call("GET", "/dbs/db/colls/c/docs", {
      headers: { ...FEED, "x-ms-documentdb-partitionkeyrangeid": owner.id, "x-ms-start-epk": epk, "x-ms-end-epk": next,
        "x-ms-read-key-type": "EffectivePartitionKeyRange" },
    });
    assert.deepStrictEqual(page.body.Documents.map(i => i.current.deviceId), ["c"]);
  }));

test("change feed pages by x-ms-max-item-count and starts from now with If-None-Match: *", () =>
  withServer({ ranges: 1 }, async call => {
    await seed(call, ["a", "b", "c"]);
    const first = await call("GET", "/dbs/db/colls/c/docs", { headers: { ...FEED, "x-ms-max-item-count": "2" } });
    assert.strictEqual(first.body.Documents.length, 2);
    const rest = await call("GET", "/dbs/db/colls/c/docs",
      { headers: { ...FEED, "x-ms-max-item-count": "2", "if-none-match": first.headers.get("etag") } });
    assert.deepStrictEqual(rest.body.Documents.map(i => i.current.deviceId), ["c"]);
    const now = await call("GET", "/dbs/db/colls/c/docs", { headers: { ...FEED, "if-none-match": "*" } });
    assert.strictEqual(now.status, 304);
    assert.strictEqual(now.headers.get("etag"), rest.headers.get("etag"));
  }));

test("an atomic batch that fails is rolled back and answers 207 with 424s", () =>
  withServer({}, async call => {
    await seed(call, ["a"]);
    const batch = await call("POST", "/dbs/db/colls/c/docs", {
      headers: { ...pkHeader("a"), "x-ms-cosmos-is-batch-request": "True", "x-ms-cosmos-batch-atomic": "True" },
      body: [{ operationType: "Create", resourceBody: { id: "new", deviceId: "a" } },
        { operationType: "Replace", id: "x", resourceBody: { id: "x", deviceId: "a" }, ifMatch: "\"stale\"" }],
    });
    assert.strictEqual(batch.status, 207);
    assert.deepStrictEqual(batch.body.map(r => r.statusCode), [424, 412]);
    const read = await call("GET", "/dbs/db/colls/c/docs/new", { headers: pkHeader("a") });
    assert.strictEqual(read.status, 404);
    assert.strictEqual(read.body.code, "NotFound");
  }));

test("a bad signature is 401; injected throttling is 429 with x-ms-retry-after-ms", () =>
  withServer({}, async call => {
    const bad = await call("GET", "/dbs", { link: "wrong" });
    assert.strictEqual(bad.status, 401);
    assert.strictEqual(bad.body.code, "Unauthorized");
    await seed(call, []);
    await call("POST", "/_admin/throttle", { body: { count: 1, retryAfterMs: 7 } });
    const throttled = await call("POST", "/dbs/db/colls/c/docs", { body: { id: "t", deviceId: "a" }, headers: pkHeader("a") });
    assert.strictEqual(throttled.status, 429);
    assert.strictEqual(throttled.headers.get("x-ms-retry-after-ms"), "7");
    const retried = await call("POST", "/dbs/db/colls/c/docs", { body: { id: "t", deviceId: "a" }, headers: pkHeader("a") });
    assert.strictEqual(retried.status, 201);
  }));
