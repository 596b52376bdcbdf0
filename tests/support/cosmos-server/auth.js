// Master-key and Entra (AAD) authorization checks, as Cosmos DB does them.
// Master key: `type=master&ver=1.0&sig=<base64 HMAC-SHA256>` (URL-encoded) over
// "verb\nresourceType\nresourceLink\ndate\n\n", all lowercase except the resource link, keyed with
// the base64-decoded account key. The link is the name-based path for name-addressed resources
// (the parent's path for a feed) or the lowercased RID for RID-addressed ones; both are accepted.
"use strict";

const { createHmac } = require("crypto");

/** Resource type and candidate signing links of a request path ("/dbs/a/colls/b/docs"). */
function resourceOf(pathname) {
  const segments = pathname.split("/").filter(Boolean).map(s => decodeURIComponent(s));
  if (segments.length === 0) return { type: "", links: [""] };
  const isFeed = segments.length % 2 === 1;
  const type = isFeed ? segments[segments.length - 1] : segments[segments.length - 2];
  const linkSegments = isFeed ? segments.slice(0, -1) : segments;
  const link = linkSegments.join("/");
  const links = [link, `/${link}`];
  if (linkSegments.length) links.push(linkSegments[linkSegments.length - 1].toLowerCase());
  return { type, links };
}

function sign(key, verb, type, link, date) {
  const text = `${verb.toLowerCase()}\n${type.toLowerCase()}\n${link}\n${date.toLowerCase()}\n\n`;
  return createHmac("sha256", Buffer.from(key, "base64")).update(text, "utf8").digest("base64");
}

/**
 * Returns null when the request may proceed, else a reason for a 401.
 * `opts.key`: base64 master key (no check at all when unset); `opts.aad`: accept any
 * `type=aad` token that looks like a JWT (header.payload.signature), without validating it.
 */
function checkAuthorization(req, pathname, opts) {
  if (!opts.key) return null;
  const header = req.headers.authorization;
  if (!header) return "Required Header authorization is missing. Ensure a valid Authorization token is passed.";
  let token;
  try {
    token = decodeURIComponent(header);
  } catch (err) {
    return "The authorization token is not URL-encoded correctly.";
  }
  const params = new URLSearchParams(token.replace(/\+/g, "%2B"));
  const type = params.get("type");
  const sig = params.get("sig");
  if (type === "aad") {
    if (!opts.aad) return "Entra ID (AAD) tokens are not accepted by this server (start it with --aad).";
    return /^[\w-]+\.[\w-]+\.[\w-]*$/.test(sig || "") ? null : "The AAD token is not a JWT.";
  }
  if (type !== "master" || !sig) return "The authorization token type is not supported.";
  const date = req.headers["x-ms-date"] || req.headers.date;
  if (!date) return "The request is missing x-ms-date.";
  const { type: resourceType, links } = resourceOf(pathname);
  const ok = links.some(link => sign(opts.key, req.method, resourceType, link, date) === sig);
  if (ok) return null;
  return "The input authorization token can't serve the request. The wrong key is being used or the "
    + `expected payload is not built as per the protocol. Server used the following payload to sign: '${
      req.method.toLowerCase()}\n${resourceType}\n${links[0]}\n${date.toLowerCase()}\n\n'`;
}

module.exports = { checkAuthorization, resourceOf, sign };
