// Posts a bundle (ANS-104 bytes in a file) to an arlocal node as a layer-1 transaction with
// Bundle-Format/Bundle-Version tags, signed by a JWK wallet, then mines a block.
// Usage: node post_bundle.js <arlocal url> <jwk file> <bundle file>
// Prints {"id": <transaction id>, "status": <post status>} on stdout.
const fs = require("fs");
const Arweave = require("arweave");

async function main() {
  const [url, jwkFile, bundleFile] = process.argv.slice(2);
  const u = new URL(url);
  const arweave = Arweave.init({
    host: u.hostname,
    port: Number(u.port),
    protocol: u.protocol.replace(":", ""),
  });
  const jwk = JSON.parse(fs.readFileSync(jwkFile, "utf8"));
  const addr = await arweave.wallets.jwkToAddress(jwk);
  await arweave.api.get(`mint/${addr}/1000000000000000`);
  const data = fs.readFileSync(bundleFile);
  const tx = await arweave.createTransaction({ data }, jwk);
  tx.addTag("Bundle-Format", "binary");
  tx.addTag("Bundle-Version", "2.0.0");
  await arweave.transactions.sign(tx, jwk);
  // the whole transaction with its data in one body (arlocal keeps it whole for /tx/<id>/data;
  // a chunked upload would leave that empty)
  const res = await arweave.api.post("tx", tx);
  await arweave.api.get("mine");
  process.stdout.write(JSON.stringify({ id: tx.id, status: res.status }) + "\n");
}

main().catch((e) => {
  process.stderr.write(String(e && e.stack ? e.stack : e) + "\n");
  process.exit(1);
});
