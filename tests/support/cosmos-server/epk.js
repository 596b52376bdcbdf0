// Effective partition key (EPK) of a partition key value, as the Cosmos DB SDKs compute it.
// Ported from azure_data_cosmos_driver 1.0.0 (models/effective_partition_key.rs, murmur_hash.rs,
// partition_key.rs). The Rust and Python SDKs compute EPKs client-side to pick the partition key
// range a change-feed or query request goes to, so documents must live in the range their hash
// says. Only version 2 (Hash and MultiHash) is implemented; `node epk.js` checks the SDK's vectors.
"use strict";

const M64 = (1n << 64n) - 1n;
const rotl64 = (x, r) => ((x << BigInt(r)) | (x >> BigInt(64 - r))) & M64;
const mul64 = (a, b) => (a * b) & M64;

function fmix64(k) {
  k ^= k >> 33n;
  k = mul64(k, 0xff51afd7ed558ccdn);
  k ^= k >> 33n;
  k = mul64(k, 0xc4ceb9fe1a85ec53n);
  k ^= k >> 33n;
  return k;
}

/** MurmurHash3 x64 128, seed 0; returns [h1, h2] (low, high) as BigInt. */
function murmur3x64_128(buf) {
  const c1 = 0x87c37b91114253d5n;
  const c2 = 0x4cf5ad432745937fn;
  let h1 = 0n;
  let h2 = 0n;
  const len = buf.length;
  let pos = 0;
  for (; pos + 16 <= len; pos += 16) {
    let k1 = buf.readBigUInt64LE(pos);
    let k2 = buf.readBigUInt64LE(pos + 8);
    k1 = mul64(rotl64(mul64(k1, c1), 31), c2);
    h1 ^= k1;
    h1 = (mul64(rotl64(h1, 27) + h2, 5n) + 0x52dce729n) & M64;
    k2 = mul64(rotl64(mul64(k2, c2), 33), c1);
    h2 ^= k2;
    h2 = (mul64(rotl64(h2, 31) + h1, 5n) + 0x38495ab5n) & M64;
  }
  let k1 = 0n;
  let k2 = 0n;
  const n = len & 15;
  for (let i = n; i > 8; i -= 1) k2 ^= BigInt(buf[pos + i - 1]) << BigInt(8 * (i - 9));
  if (k2 !== 0n) h2 ^= mul64(rotl64(mul64(k2, c2), 33), c1);
  for (let i = Math.min(n, 8); i > 0; i -= 1) k1 ^= BigInt(buf[pos + i - 1]) << BigInt(8 * (i - 1));
  if (n >= 1) h1 ^= mul64(rotl64(mul64(k1, c1), 31), c2);
  h1 ^= BigInt(len);
  h2 ^= BigInt(len);
  h1 = (h1 + h2) & M64;
  h2 = (h2 + h1) & M64;
  h1 = fmix64(h1);
  h2 = fmix64(h2);
  h1 = (h1 + h2) & M64;
  h2 = (h2 + h1) & M64;
  return [h1, h2];
}

/** One partition key component, encoded for V2 hashing (type marker + payload). */
function encodeComponent(value) {
  if (value === undefined || (value && typeof value === "object" && !Array.isArray(value) && Object.keys(value).length === 0)) {
    return Buffer.from([0x00]); // Undefined (`{}` on the wire)
  }
  if (value === null) return Buffer.from([0x01]);
  if (value === false) return Buffer.from([0x02]);
  if (value === true) return Buffer.from([0x03]);
  if (typeof value === "number") {
    const b = Buffer.alloc(9);
    b[0] = 0x05;
    b.writeDoubleLE(value, 1);
    return b;
  }
  if (typeof value === "string") {
    return Buffer.concat([Buffer.from([0x08]), Buffer.from(value, "utf8"), Buffer.from([0xff])]);
  }
  throw new Error(`unsupported partition key component: ${JSON.stringify(value)}`);
}

/** 16 bytes: the 128-bit hash big-endian, top two bits cleared. */
function hashV2(buf) {
  const [h1, h2] = murmur3x64_128(buf);
  const out = Buffer.alloc(16);
  out.writeBigUInt64BE(h2, 0);
  out.writeBigUInt64BE(h1, 8);
  out[0] &= 0x3f;
  return out;
}

/** Uppercase-hex EPK of the component values for a container's partition key definition. */
function effectivePartitionKey(values, kind = "Hash") {
  if (values.length === 0) return "";
  const parts = kind === "MultiHash"
    ? values.map(v => hashV2(encodeComponent(v)))
    : [hashV2(Buffer.concat(values.map(encodeComponent)))];
  return Buffer.concat(parts).toString("hex").toUpperCase();
}

/**
 * Boundaries of `n` partition key ranges splitting the V2 hash space evenly: the first byte of
 * a V2 EPK is at most 0x3F, so the space [00…, 40…) is cut at i·2^62/n, written as 8 bytes.
 */
function rangeBoundaries(n) {
  const bounds = [""];
  for (let i = 1n; i < BigInt(n); i += 1n) {
    bounds.push(((i << 62n) / BigInt(n)).toString(16).toUpperCase().padStart(16, "0"));
  }
  bounds.push("FF");
  return bounds;
}

module.exports = { effectivePartitionKey, rangeBoundaries, murmur3x64_128 };

if (require.main === module) {
  // Vectors from the SDK's own unit tests (effective_partition_key.rs, murmur_hash.rs).
  const f64 = x => { const b = Buffer.alloc(8); b.writeDoubleLE(x); return b; };
  const checks = [
    [murmur3x64_128(f64(374.0)).map(String).join(","), "16628891264555680919,12953474369317462"],
    [murmur3x64_128(Buffer.from("sample-test")).map(String).join(","), "9863137013172825203,15859947107521786564"],
    [effectivePartitionKey([""]), "32E9366E637A71B4E710384B2F4970A0"],
    [effectivePartitionKey(["partitionKey"]), "013AEFCF77FA271571CF665A58C933F1"],
    [effectivePartitionKey(["a".repeat(1024)]), "332BDF5512AE49615F32C7D98C2DB86C"],
    [effectivePartitionKey([null]), "378867E4430E67857ACE5C908374FE16"],
    [effectivePartitionKey([true]), "0E711127C5B5A8E4726AC6DD306A3E59"],
    [effectivePartitionKey([false]), "2FE1BE91E90A3439635E0E9E37361EF2"],
    [effectivePartitionKey([-128]), "01DAEDABF913540367FE219B2AD06148"],
    [effectivePartitionKey([127]), "0C507ACAC853ECA7977BF4CEFB562A25"],
    [effectivePartitionKey([-2147483648]), "0B1660D5233C3171725B30D4A5F4CC1F"],
    [effectivePartitionKey([2147483647]), "2D9349D64712AEB5EB1406E2F0BE2725"],
    [effectivePartitionKey([Number.MIN_VALUE]), "0E6CBA63A280927DE485DEF865800139"],
    [effectivePartitionKey([Number.MAX_VALUE]), "31424D996457102634591FF245DBCC4D"],
    [effectivePartitionKey([5.0]), "19C08621B135968252FB34B4CF66F811"],
    [effectivePartitionKey([5.123124190509124]), "0EF2E2D82460884AF0F6440BE4F726A8"],
    [effectivePartitionKey(["redmond"]), "22E342F38A486A088463DFF7838A5963"],
    [effectivePartitionKey([5.0, "redmond", true, null]), "3032DECBE2AB1768D8E0AEDEA35881DF"],
    [effectivePartitionKey(["redmond", 5.0], "MultiHash"),
      "22E342F38A486A088463DFF7838A596319C08621B135968252FB34B4CF66F811"],
  ];
  let failed = 0;
  checks.forEach(([actual, expected], i) => {
    if (actual !== expected) {
      failed += 1;
      console.log(`vector ${i}: got ${actual}, want ${expected}`);
    }
  });
  console.log(`${checks.length - failed} passed, ${failed} failed`);
  process.exitCode = failed ? 1 : 0;
}
