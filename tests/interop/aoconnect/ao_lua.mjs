// aoconnect 0.0.98 (mainnet mode) `request()` spawning and messaging a hyper-aos (lua@5.3a)
// process on our node with hand-built process messages (issue 14 item 5).
// Usage: node ao_lua.mjs URL ARGS.json  -> one JSON line of results (errors as strings).
//   ARGS {key, other, lua, format}: `lua` the hyper-aos file, `format` aoconnect's
//   signing-format ("ans104" or "httpsig").
import fs from "node:fs";
import crypto from "node:crypto";
import { connect, createSigner } from "@permaweb/aoconnect";
import { ArweaveSigner, createData } from "@dha-team/arbundles";

const [url, argsFile] = process.argv.slice(2);
const args = JSON.parse(fs.readFileSync(argsFile, "utf8"));
const jwk = (f) => JSON.parse(fs.readFileSync(f, "utf8"));
const address = (k) => crypto.createHash("sha256").update(Buffer.from(k.n, "base64url")).digest("base64url");
const out = {};

async function attempt(name, fn) {
  try {
    out[name] = await fn();
  } catch (e) {
    out[name] = { error: String(e?.message ?? e) };
  }
  return out[name];
}

const key = jwk(args.key);
const me = address(key);
const fmt = { method: "POST", "signing-format": args.format, "accept-bundle": "true" };
const ao = connect({ MODE: "mainnet", URL: url, signer: createSigner(key) });
const other = connect({ MODE: "mainnet", URL: url, signer: createSigner(jwk(args.other)) });

// the module: a signed ANS-104 data item holding the Lua code
const signer = new ArweaveSigner(key);
const item = createData(fs.readFileSync(args.lua), signer, {
  tags: [
    { name: "Content-Type", value: "application/lua" },
    { name: "Data-Protocol", value: "ao" },
    { name: "Type", value: "Module" },
  ],
});
await item.sign(signer);
await attempt("upload", async () => {
  const res = await fetch(`${url}/content-type`, {
    method: "POST",
    headers: { "content-type": "application/ans104", "codec-device": "ans104@1.0" },
    body: item.getRaw(),
  });
  return { status: res.status, body: await res.text() };
});

// spawn: a hand-built process message through request()
const pid = await attempt("spawn", async () => {
  const res = await ao.request({
    ...fmt,
    path: "/push",
    device: "process@1.0",
    "scheduler-device": "scheduler@1.0",
    "push-device": "push@1.0",
    "execution-device": "lua@5.3a",
    Authority: me,
    Scheduler: me,
    Module: item.id,
    Type: "Process",
    "Data-Protocol": "ao",
    Variant: "ao.N.1",
    ...(args.format === "ans104" ? { data: "1984" } : {}),
  });
  const p = res.headers.get("process");
  if (!res.ok || !p) throw new Error(`spawn: ${res.status} ${(await res.text()).slice(0, 800)}`);
  return p;
});

const send = async (client, tags, data) => {
  const res = await client.request({
    ...fmt,
    path: `/${pid}~process@1.0/push`,
    target: pid,
    ...tags,
    Type: "Message",
    "Data-Protocol": "ao",
    Variant: "ao.N.1",
    ...(data === undefined ? {} : { data }),
    "require-codec": "application/json",
  });
  const body = await res.text();
  if (!res.ok) throw new Error(`push: ${res.status} ${body.slice(0, 800)}`);
  const slot = Number(JSON.parse(body).slot ?? res.headers.get("slot"));
  // the slot's results through request() (aoconnect's result() normalises AOS's `Output`
  // and `Messages`; hyper-aos answers `output` and `outbox`)
  const x = await client.request({ ...fmt, path: `/${pid}~process@1.0/compute/results=${slot}`, target: pid, "require-codec": "application/json" });
  const text = await x.text();
  if (!x.ok) throw new Error(`results: ${x.status} ${text.slice(0, 800)}`);
  const r = JSON.parse(text);
  return { slot, output: r.output?.data, outbox: Object.values(r.outbox ?? {}) };
};

if (typeof pid === "string" && args.format === "ans104") {
  await attempt("two", () => send(ao, { Action: "Eval" }, "return 1 + 1"));
  await attempt("ping", () => send(other, { Action: "Ping" }, "1984"));
} else if (typeof pid === "string") {
  await attempt("hello", () => send(other, { Action: "Hello" }));
  await attempt("hello2", () => send(ao, { Action: "Hello" }));
  // a short `data` travels as a signed `data` header
  await attempt("two", () => send(ao, { Action: "Eval" }, "return 1 + 1"));
  // over 4 KiB it is the body under a signed content-digest (see the test)
  await attempt("long", () => send(ao, { Action: "Eval" }, `return #"${"x".repeat(5000)}"`));
}
console.log(JSON.stringify(out));
