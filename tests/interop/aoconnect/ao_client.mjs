// A real AO client against our node: @permaweb/ao-core-libs (aoconnect's mainnet request
// layer) signs httpsig requests; http-message-signatures verifies the node's signed responses.
// Usage: node ao_client.mjs URL OPERATOR_JWK_FILE OTHER_JWK_FILE  -> one JSON line of results.
import fs from "node:fs";
import crypto from "node:crypto";
import AOCore from "@permaweb/ao-core-libs";
import { connect, createSigner } from "@permaweb/aoconnect";
import { httpbis } from "http-message-signatures";

const [url, opFile, otherFile] = process.argv.slice(2);
const opJwk = JSON.parse(fs.readFileSync(opFile, "utf8"));
const otherJwk = JSON.parse(fs.readFileSync(otherFile, "utf8"));
const out = {};

async function verifyResponse(res) {
  const headers = {};
  for (const [k, v] of res.headers) headers[k] = v;
  const keyLookup = async (params) => {
    const n = params.keyid;
    const pub = crypto.createPublicKey({ key: { kty: "RSA", n, e: "AQAB" }, format: "jwk" });
    return {
      id: n,
      algs: ["rsa-pss-sha512"],
      verify: async (data, signature) =>
        crypto.verify("sha512", data, {
          key: pub,
          padding: crypto.constants.RSA_PKCS1_PSS_PADDING,
          saltLength: crypto.constants.RSA_PSS_SALTLEN_AUTO,
        }, signature),
    };
  };
  let rfc = false;
  try {
    rfc = await httpbis.verifyMessage({ keyLookup }, { status: res.status, headers });
  } catch (e) {
    rfc = false;
  }
  // HyperBEAM's base writes a derived component's line without its '@' ("status": 200 for
  // "@status"); check that form with Node's own crypto over the received header bytes.
  const si = headers["signature-input"];
  const label = si.slice(0, si.indexOf("="));
  const params = si.slice(si.indexOf("=") + 1);
  const comps = [...params.slice(1, params.indexOf(")")).matchAll(/"([^"]+)"/g)].map((m) => m[1]);
  const lines = comps.map((c) => {
    const name = c.startsWith("@") ? c.slice(1) : c;
    const value = c === "@status" ? String(res.status) : headers[c];
    return `"${name}": ${value}`;
  });
  lines.push(`"@signature-params": ${params}`);
  const sigHeader = headers["signature"];
  const sig = Buffer.from(sigHeader.slice(sigHeader.indexOf(":") + 1, sigHeader.lastIndexOf(":")), "base64");
  const keyid = /keyid="([^"]+)"/.exec(params)[1];
  const pub = crypto.createPublicKey({ key: { kty: "RSA", n: keyid, e: "AQAB" }, format: "jwk" });
  const hb = crypto.verify("sha512", Buffer.from(lines.join("\n")), {
    key: pub,
    padding: crypto.constants.RSA_PKCS1_PSS_PADDING,
    saltLength: crypto.constants.RSA_PSS_SALTLEN_AUTO,
  }, sig);
  return { rfc, hb, label };
}

const op = AOCore.init({ jwk: opJwk, url });
const other = AOCore.init({ jwk: otherJwk, url });

let res = await op.request({ path: "/~meta@1.0/info", method: "GET" });
out.info_status = res.status;
out.info_address = res.headers.get("address");
out.info_verified = await verifyResponse(res);

res = await op.request({ path: "/~meta@1.0/info", method: "POST", aoconnect_item: "set-by-aoconnect" });
out.update_status = res.status;
out.update_body = await res.text();

res = await other.request({ path: "/~meta@1.0/info", method: "POST", aoconnect_item: "evil" });
out.foreign_update_status = res.status;

res = await op.request({ path: "/~meta@1.0/info/aoconnect_item", method: "GET" });
out.read_back = await res.text();

res = await other.request({ path: "/key1", method: "POST", key1: "Value1", count: 42 });
out.post_status = res.status;
out.post_body = await res.text();
out.post_verified = await verifyResponse(res);

// aoconnect itself, in mainnet mode, through its request() entry point
const ao = connect({ MODE: "mainnet", URL: url, signer: createSigner(otherJwk) });
res = await ao.request({ path: "/~message@1.0&greeting=hello/greeting", method: "GET" });
out.aoconnect_status = res.status ?? (res.headers ? 200 : null);
out.aoconnect_body = typeof res.text === "function" ? await res.text() : (res.body ?? res);

console.log(JSON.stringify(out));
