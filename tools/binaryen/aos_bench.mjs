// Minimal Node.js harness: run the AOS image (legacy EH + memory64, as HyperBEAM ships it) with
// every import stubbed to 0, N trivial Evals; prints {"ms_per_msg": x, "data": "..."} as JSON.
// Optional 3rd/4th arguments: files holding the message and environment JSON to send instead.
import { readFileSync } from "node:fs";
const [, , path, nStr, msgFile, envFile] = process.argv;
const n = Number(nStr || 500);
const mod = new WebAssembly.Module(readFileSync(path));
const imports = {};
for (const imp of WebAssembly.Module.imports(mod)) {
  imports[imp.module] ??= {};
  imports[imp.module][imp.name] = () => 0;
}
const inst = new WebAssembly.Instance(mod, imports);
const { memory, malloc, handle } = inst.exports;
const enc = new TextEncoder(), dec = new TextDecoder();
const put = (s) => {
  const b = enc.encode(s);
  const p = malloc(BigInt(b.length + 1));
  const u8 = new Uint8Array(memory.buffer, Number(p), b.length + 1);
  u8.set(b); u8[b.length] = 0;
  return p;
};
const get = (p) => {
  const u8 = new Uint8Array(memory.buffer);
  let e = Number(p); while (u8[e] !== 0) e++;
  return dec.decode(u8.subarray(Number(p), e));
};
const msg = JSON.stringify({ Id: "1", Owner: "FOOBAR", From: "FOOBAR", Target: "AOS", Module: "W",
  "Block-Height": "1", Tags: [{ name: "Action", value: "Eval" }], Data: "return 1 + 1" });
const env = JSON.stringify({ Process: { Id: "AOS", Owner: "FOOBAR",
  Tags: [{ name: "Name", value: "Thomas" }, { name: "Authority", value: "FOOBAR" }] } });
const msgJson = msgFile ? readFileSync(msgFile, "utf8") : msg;
const envJson = envFile ? readFileSync(envFile, "utf8") : env;
let out = get(handle(put(msgJson), put(envJson)));
const t = performance.now();
for (let i = 0; i < n; i++) out = get(handle(put(msgJson), put(envJson)));
const ms = (performance.now() - t) / n;
console.log(JSON.stringify({ ms_per_msg: ms, data: JSON.parse(out).response.Output.data }));
