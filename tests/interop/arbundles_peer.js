// Independent ANS-104 peer for tests/test_ans104_arbundles.py, on @dha-team/arbundles.
// stdin: JSON {"jwk": <JWK or null>, "verify": [b64 item, ...], "sign": [{data, tags, target, anchor}, ...]}
//   "bundle": [[b64 item, ...], ...], "unbundle": [b64 bundle, ...]}
// stdout: JSON {"verify": [{valid, id, tags, data}], "signed": [b64 item, ...],
//   "bundles": [b64 bundle, ...], "unbundled": [{valid, ids, items: [b64 item]} | {error}]}
"use strict";
const base = "@dha-team/arbundles/build/node/cjs/src/";
const { createData } = require(base + "ar-data-create");
const { ArweaveSigner } = require(base + "signing/index");
const { DataItem } = require(base + "DataItem");
const { bundleAndSignData, unbundleData } = require(base + "ar-data-bundle");

async function main() {
  const chunks = [];
  for await (const c of process.stdin) chunks.push(c);
  const req = JSON.parse(Buffer.concat(chunks).toString("utf8"));
  const out = { verify: [], signed: [], bundles: [], unbundled: [] };
  for (const b64 of req.verify || []) {
    const raw = Buffer.from(b64, "base64");
    let valid = false;
    let info = {};
    try {
      valid = await DataItem.verify(raw);
      const item = new DataItem(raw);
      info = {
        id: item.id,
        owner: item.owner,
        tags: item.tags,
        data: Buffer.from(item.rawData).toString("base64"),
        target: item.target,
        anchor: item.anchor,
      };
    } catch (e) {
      info = { error: String(e) };
    }
    out.verify.push({ valid, ...info });
  }
  if ((req.sign || []).length) {
    const signer = new ArweaveSigner(req.jwk);
    for (const spec of req.sign) {
      const opts = { tags: spec.tags || [] };
      if (spec.target) opts.target = spec.target;
      if (spec.anchor) opts.anchor = spec.anchor;
      const item = createData(Buffer.from(spec.data, "base64"), signer, opts);
      await item.sign(signer);
      out.signed.push(Buffer.from(item.getRaw()).toString("base64"));
    }
  }
  // bundles of already-signed items: the signer is not used (arbundles signs only unsigned ones)
  for (const list of req.bundle || []) {
    const items = list.map((b64) => {
      const item = new DataItem(Buffer.from(b64, "base64"));
      item.rawId = item.rawId; // parsed items count as signed once their ID is set
      return item;
    });
    const bundle = await bundleAndSignData(items, null);
    out.bundles.push(Buffer.from(bundle.getRaw()).toString("base64"));
  }
  for (const b64 of req.unbundle || []) {
    try {
      const bundle = unbundleData(Buffer.from(b64, "base64"));
      out.unbundled.push({
        valid: await bundle.verify(),
        ids: bundle.getIds(),
        items: bundle.items.map((i) => Buffer.from(i.getRaw()).toString("base64")),
      });
    } catch (e) {
      out.unbundled.push({ error: String(e) });
    }
  }
  process.stdout.write(JSON.stringify(out));
}

main().catch((e) => {
  process.stderr.write(String(e && e.stack ? e.stack : e));
  process.exit(1);
});
