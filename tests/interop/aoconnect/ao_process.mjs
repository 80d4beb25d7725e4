// aoconnect 0.0.98 in mainnet mode driving AOS processes on our node, as an AO developer does.
// Usage: node ao_process.mjs STEP URL ARGS.json  -> one JSON line of results (errors as strings).
//   STEP "upload": ARGS {key, wasm}: the module as a signed ANS-104 data item -> {status, id}
//   STEP "flow":   ARGS {key, other, module, tags}: spawn, message, result, results, dryrun,
//                  and the CU's `results` pages (legacy mode, CU_URL = the node)
//   STEP "again":  ARGS {key, process}: one more message after a node restart
import fs from "node:fs";
import { connect, createSigner } from "@permaweb/aoconnect";
import { ArweaveSigner, createData } from "@dha-team/arbundles";

const [step, url, argsFile] = process.argv.slice(2);
const args = JSON.parse(fs.readFileSync(argsFile, "utf8"));
const jwk = (f) => JSON.parse(fs.readFileSync(f, "utf8"));
const out = {};

async function attempt(name, fn) {
  try {
    out[name] = await fn();
  } catch (e) {
    out[name] = { error: String(e?.message ?? e) };
  }
  return out[name];
}

const text = (r) => (r && r.Output && typeof r.Output === "object" ? r.Output.data : r?.Output);

if (step === "upload") {
  // what a bundler client does: sign a data item, POST it with codec-device ans104@1.0
  const signer = new ArweaveSigner(jwk(args.key));
  const item = createData(fs.readFileSync(args.wasm), signer, {
    tags: [
      { name: "Content-Type", value: "application/wasm" },
      { name: "Data-Protocol", value: "ao" },
      { name: "Type", value: "Module" },
      { name: "Module-Format", value: "wasm64-unknown-emscripten-draft_2024_02_15" },
      { name: "Input-Encoding", value: "JSON-1" },
      { name: "Output-Encoding", value: "JSON-1" },
      { name: "Memory-Limit", value: "1-gb" },
      { name: "Compute-Limit", value: "9000000000000" },
    ],
  });
  await item.sign(signer);
  const res = await fetch(`${url}/content-type`, {
    method: "POST",
    headers: { "content-type": "application/ans104", "codec-device": "ans104@1.0" },
    body: item.getRaw(),
  });
  out.status = res.status;
  out.body = await res.text();
  out.id = item.id;
} else {
  const ao = connect({ MODE: "mainnet", URL: url, signer: createSigner(jwk(args.key)) });
  const current = async (pid) => {
    const r = await ao.request({ path: `/${pid}/slot/current`, method: "GET" });
    return await r.text();
  };
  const evalIn = async (pid, code, client = ao) => {
    const slot = await client.message({ process: pid, tags: [{ name: "Action", value: "Eval" }], data: code });
    const r = await client.result({ process: pid, slot });
    return { slot, output: text(r), error: r.Error ?? null };
  };
  if (step === "flow") {
    // `image`: the stack this node runs without genesis-wasm@1.0 reads the module from `image`
    const tags = [...(args.tags ?? []), ...(args.image ? [{ name: "image", value: args.module }] : [])];
    const pid = await attempt("spawn", () => ao.spawn({ module: args.module, tags }));
    if (typeof pid === "string") {
      await attempt("two", () => evalIn(pid, "return 1 + 1"));
      await attempt("set", () => evalIn(pid, "Counter = 41"));
      await attempt("counter", () => evalIn(pid, "return Counter + 1"));
      await attempt("results", async () => {
        const r = await ao.results({ process: pid, sort: "DESC", limit: 25 });
        return r.edges.map((e) => ({ cursor: e.cursor, output: text(e.node) }));
      });
      // every slot's result, as the ao CU answers `GET /results/<pid>`: aoconnect in legacy
      // mode with this node as its CU (mainnet mode's `results` reads the current slot only)
      await attempt("cu_results", async () => {
        const cu = connect({ MODE: "legacy", CU_URL: url });
        const slots = (r) =>
          r.edges.map((e) => ({ slot: JSON.parse(atob(e.cursor)).ordinate, output: text(e.node) }));
        const all = await cu.results({ process: pid });
        const page1 = await cu.results({ process: pid, limit: 2 });
        const page2 = await cu.results({ process: pid, from: page1.edges.at(-1).cursor, limit: 2 });
        const desc = await cu.results({ process: pid, sort: "DESC", limit: 25 });
        const upto = await cu.results({ process: pid, to: all.edges[1].cursor });
        return {
          all: slots(all),
          page1: slots(page1),
          page2: slots(page2),
          desc: slots(desc),
          upto: slots(upto),
        };
      });
      await attempt("slot_before", () => current(pid));
      await attempt("dryrun", async () => {
        const r = await ao.dryrun({ process: pid, tags: [{ name: "Action", value: "Eval" }], data: "return Counter * 2" });
        return { output: text(r), error: r.Error ?? null };
      });
      await attempt("slot_after", () => current(pid));
      const other = connect({ MODE: "mainnet", URL: url, signer: createSigner(jwk(args.other)) });
      await attempt("foreign", () => evalIn(pid, "Counter = 0; return 'taken'", other));
      await attempt("counter_after_foreign", () => evalIn(pid, "return Counter"));
    }
  } else if (step === "again") {
    await attempt("counter", () => evalIn(args.process, "return Counter + 1"));
  }
}
console.log(JSON.stringify(out));
