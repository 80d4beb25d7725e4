// A legacy ao compute unit stand-in (tests/test_delegated_compute.py): the AOS module runs on
// @permaweb/ao-loader (the loader the ao CU uses), messages come from the node's scheduler in the
// application/aos-2 format, and results answer HyperBEAM's delegated-compute@1.0 request:
//
//   POST /result/<slot>?process-id=<ProcID>   body: an aos-2 page holding that slot's edge
//   -> {Output, Messages, Spawns, Assignments, Error?, GasUsed?}
//
// Like the ao CU in `hbu` mode it reads the process (slot 0) and any slots it has not evaluated
// from HB_URL's `/~scheduler@1.0/schedule?target=...&accept=application/aos-2`, maps each edge to
// the message AOS gets (the CU's mapNode), evaluates in slot order, and keeps the memory from
// before a message whose result has an Error. GET /status answers 200.
//
// Usage: node --experimental-wasm-memory64 cu_standin.cjs PORT HB_URL MODULE.wasm
"use strict";
const http = require("node:http");
const fs = require("node:fs");
const AoLoader = require("@permaweb/ao-loader");

const [, , portArg, hbUrl, wasmPath] = process.argv;
const wasm = fs.readFileSync(wasmPath);
const compiled = new WebAssembly.Module(wasm);
const FORMAT = "wasm64-unknown-emscripten-draft_2024_02_15";
const processes = new Map(); // pid -> {handle, memory, env, at, results}
const seen = []; // every request: {path, edges}
const log = (...a) => process.stderr.write(a.join(" ") + "\n");

// HyperBEAM's AOS image is a standalone build: the loader's emscripten glue expects a few more
// imports and exports than it has. Fill those with no-ops (the image never calls them).
function instantiate(imports, receive) {
  for (const imp of WebAssembly.Module.imports(compiled)) {
    imports[imp.module] ??= {};
    if (typeof imports[imp.module][imp.name] !== "function") imports[imp.module][imp.name] = () => 0;
  }
  const inst = new WebAssembly.Instance(compiled, imports);
  const ex = { ...inst.exports };
  const noop = () => 0;
  let end = 0n;
  ex.emscripten_stack_init ??= noop;
  ex.__wasm_call_ctors ??= noop;
  ex.emscripten_stack_get_free ??= () => 1n << 20n;
  ex.emscripten_stack_get_base ??= () => 0n;
  ex.emscripten_stack_get_end ??= () => (end ||= inst.exports.malloc(64n));
  for (const n of ["start_unwind", "stop_unwind", "start_rewind", "stop_rewind"]) ex[`asyncify_${n}`] ??= noop;
  ex.asyncify_get_state ??= noop;
  return receive({ exports: ex }, compiled);
}

async function newHandle() {
  return AoLoader(instantiate, {
    format: FORMAT,
    inputEncoding: "JSON-1",
    outputEncoding: "JSON-1",
    memoryLimit: String(1 << 30),
    computeLimit: String(9e12),
    extensions: [],
  });
}

const tagsOf = (list) => Object.fromEntries((list || []).map((t) => [t.name, t.value]));

// The ao CU's mapping of an aos-2 edge (servers/cu/src/effects/hb: mapNode), in our words.
function toAoMessage(node) {
  const a = tagsOf(node.assignment.Tags);
  const m = node.message || {};
  const mt = tagsOf(m.Tags);
  const msg = {
    Id: m.Id,
    Signature: m.Signature,
    Data: m.Data,
    Owner: m.Owner,
    Anchor: m.Anchor,
    From: mt["From-Process"] || m.Owner,
    "Forwarded-By": mt["Forwarded-By"],
    Tags: (m.Tags || []).filter((t) => t.name !== "From" && t.name !== "Owner").map((t) => ({ name: t.name, value: `${t.value}` })),
    Target: a.Process,
    Epoch: parseInt(a.Epoch),
    Nonce: parseInt(a.Slot ?? a.Nonce),
    Skip: a.Skip ?? "false",
    Timestamp: parseInt(a.Timestamp),
    "Block-Height": parseInt(a["Block-Height"]),
    "Hash-Chain": a["Hash-Chain"],
    Cron: false,
  };
  return msg;
}

async function schedule(pid, from, to) {
  const q = new URLSearchParams({ target: pid, from: String(from), to: String(to), accept: "application/aos-2" });
  const res = await fetch(`${hbUrl}/~scheduler@1.0/schedule?${q}`);
  if (!res.ok) throw new Error(`scheduler answered ${res.status}: ${await res.text()}`);
  const page = JSON.parse(await res.text());
  seen.push({ path: `schedule ${from}-${to}`, edges: page.edges.length });
  return page.edges;
}

async function load(pid) {
  let p = processes.get(pid);
  if (p) return p;
  const [first] = await schedule(pid, 0, 0);
  if (!first) throw new Error(`no process message for ${pid}`);
  const pm = toAoMessage(first.node);
  const t = tagsOf(pm.Tags);
  const env = {
    Process: { Id: pid, Owner: pm.Owner, Tags: pm.Tags },
    Module: { Id: t.Module, Owner: "", Tags: [] },
  };
  p = { handle: await newHandle(), memory: null, env, at: -1, results: new Map(), first };
  processes.set(pid, p);
  return p;
}

async function evaluate(p, edge) {
  const msg = toAoMessage(edge.node);
  if (msg.Nonce !== p.at + 1) throw new Error(`non-incrementing slot: expected ${p.at + 1}, got ${msg.Nonce}`);
  let out;
  try {
    out = await p.handle(p.memory, msg, p.env);
  } catch (e) {
    out = { Error: typeof e === "string" ? e : e.message || String(e) };
  }
  const result = {
    Output: out.Output ?? "",
    Messages: out.Messages ?? [],
    Spawns: out.Spawns ?? [],
    Assignments: out.Assignments ?? [],
    Error: out.Error,
    GasUsed: out.GasUsed,
  };
  if (!out.Error && out.Memory) p.memory = out.Memory; // an Error keeps the memory from before
  p.at = msg.Nonce;
  p.results.set(msg.Nonce, result);
}

async function result(pid, slot, body) {
  const p = await load(pid);
  if (p.results.has(slot)) return p.results.get(slot);
  if (p.at < 0) await evaluate(p, p.first);
  if (slot > p.at + 1) for (const e of await schedule(pid, p.at + 1, slot - 1)) await evaluate(p, e);
  const given = (body?.edges || []).find((e) => Number(e.cursor) === slot);
  const edge = given || (await schedule(pid, slot, slot))[0];
  if (!edge) throw new Error(`slot ${slot} is not scheduled`);
  if (slot === p.at + 1) await evaluate(p, edge);
  return p.results.get(slot);
}

const server = http.createServer(async (req, res) => {
  const url = new URL(req.url, "http://x");
  const chunks = [];
  for await (const c of req) chunks.push(c);
  const raw = Buffer.concat(chunks).toString();
  const send = (code, obj) => {
    const b = typeof obj === "string" ? obj : JSON.stringify(obj);
    res.writeHead(code, { "content-type": "application/json" });
    res.end(b);
  };
  try {
    if (url.pathname === "/status") return send(200, { ok: true });
    if (url.pathname === "/seen") return send(200, seen);
    const m = url.pathname.match(/^\/result\/(\d+)$/);
    const pid = url.searchParams.get("process-id");
    if (req.method !== "POST" || !m || !pid) return send(404, { error: `no route ${req.method} ${req.url}` });
    const body = raw ? JSON.parse(raw) : null;
    seen.push({ path: `${url.pathname}?process-id=${pid}`, edges: body?.edges?.length ?? 0, contentType: req.headers["content-type"] });
    const r = await result(pid, parseInt(m[1]), body);
    const { Error: err, GasUsed, ...rest } = r;
    return send(200, { ...rest, ...(err !== undefined ? { Error: err } : {}), ...(GasUsed !== undefined ? { GasUsed } : {}) });
  } catch (e) {
    log("cu-standin error:", e.stack || e);
    return send(500, { ok: false, error: String(e.message || e) });
  }
});
server.listen(Number(portArg), "127.0.0.1", () => log(`cu-standin listening on ${portArg}`));
