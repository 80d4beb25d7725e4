// Clicks through the node's web console in headless Chromium (playwright-core) and prints what
// each view showed as one JSON line; screenshots go to `outdir`. Driven by
// tests/test_node_console.py, which starts the node and checks the answers.
// Usage: node console_driver.mjs '{"url":..., "chromium":..., "key":..., "pid":..., "msg":..., "xss":..., "outdir":...}'
import { chromium } from "playwright-core";
import path from "node:path";

const a = JSON.parse(process.argv[2]);
const out = { console_errors: [], page_errors: [] };
const browser = await chromium.launch({ executablePath: a.chromium, headless: true });
try {
  const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  page.on("console", (m) => {
    if (m.type() === "error") out.console_errors.push(m.text());
  });
  page.on("pageerror", (e) => out.page_errors.push(String(e)));
  out.failed = [];
  page.on("response", (r) => {
    if (r.status() >= 400) out.failed.push(r.request().method() + " " + new URL(r.url()).pathname + " " + r.status());
  });
  page.on("dialog", (d) => {
    out.dialog = d.message(); // an alert() would be an XSS
    d.dismiss();
  });
  const shot = (name) => page.screenshot({ path: path.join(a.outdir, name), fullPage: true });
  const text = (sel) => page.locator(sel).innerText();

  // Node view: GET / as a browser does
  const resp = await page.goto(a.url + "/");
  out.root_status = resp.status();
  out.root_type = resp.headers()["content-type"];
  out.title = await page.title();
  await page.waitForFunction(() => document.getElementById("node-address").textContent !== "…");
  out.node = {
    address: await text("#node-address"),
    operator: await text("#node-operator"),
    port: await text("#node-port"),
    build: await text("#node-build"),
    tree_has_default_req: (await text("#node-info")).includes("default_req"),
    error: await page.locator("#node-error").isVisible(),
  };
  await shot("node.png");

  // Metrics view (refreshes every 2 s): wait for the request counter to move past a value
  await page.click("#tabs button[data-view=metrics]");
  await page.waitForFunction(() => document.getElementById("m-requests").textContent !== "–");
  const first = Number(await text("#m-requests"));
  await page.waitForFunction(
    (n) => Number(document.getElementById("m-requests").textContent) > n,
    first,
    { timeout: 10000 },
  );
  out.metrics = {
    requests_first: first,
    requests: Number(await text("#m-requests")),
    latency: await text("#m-latency"),
    processes: await text("#m-processes"),
    slots: await text("#m-slots"),
    store: await text("#m-store"),
    steps: await text("#m-steps"),
    error: await page.locator("#metrics-error").isVisible(),
  };
  await shot("metrics.png");

  // Request console: unsigned GET
  await page.click("#tabs button[data-view=request]");
  await page.fill("#req-line", "GET /~meta@1.0/info");
  await page.fill("#req-headers", "accept: application/json");
  await page.click("#req-send");
  await page.waitForSelector("#req-result:not([hidden])");
  out.get = {
    status: await text("#resp-status"),
    headers: await text("#resp-headers"),
    body: await text("#resp-body"),
  };
  await shot("request-get.png");

  // unsigned POST of an update: the node refuses it
  await page.fill("#req-line", "POST /~meta@1.0/info");
  await page.fill("#req-headers", "console-note: unsigned-try");
  await page.click("#req-send");
  await page.waitForFunction(() => document.getElementById("resp-status").textContent !== "200");
  out.unsigned_post = { status: await text("#resp-status"), body: await text("#resp-body") };

  // load the operator's key, then the same update signed in the page (WebCrypto RSA-PSS)
  await page.setInputFiles("#key-file", a.key);
  await page.waitForFunction(() => document.getElementById("key-address").textContent !== "none loaded");
  out.key_address = await text("#key-address");
  out.sign_checked = await page.isChecked("#req-sign");
  await page.fill("#req-headers", "console-note: signed-in-the-browser");
  await page.click("#req-send");
  await page.waitForFunction(() => document.getElementById("resp-status").textContent === "200", null, {
    timeout: 10000,
  }).catch(() => {});
  out.signed_post = { status: await text("#resp-status"), body: await text("#resp-body") };
  await shot("request-signed.png");
  // a signed body (content-digest computed in the page): the node verifies, then answers it
  await page.fill("#req-line", "POST /body");
  await page.fill("#req-headers", "note: with-a-body");
  await page.fill("#req-body", "a body signed in the browser");
  await page.click("#req-send");
  await page.waitForFunction(() => document.getElementById("resp-body").textContent.includes("browser") ||
    document.getElementById("resp-status").textContent !== "200", null, { timeout: 10000 }).catch(() => {});
  out.signed_body = {
    status: await text("#resp-status"),
    body: await text("#resp-body"),
    headers: await text("#resp-headers"),
  };
  // a field the browser cannot send is refused in the page
  await page.fill("#req-line", "GET /~meta@1.0/info");
  await page.fill("#req-headers", "host: elsewhere");
  await page.fill("#req-body", "");
  await page.click("#req-send");
  out.forbidden_field = await text("#req-error");

  // Process view
  await page.click("#tabs button[data-view=process]");
  await page.fill("#proc-id", a.pid);
  await page.click("#proc-load");
  await page.waitForSelector("#proc-result:not([hidden]), #proc-error:not([hidden])");
  out.process = {
    error: (await page.locator("#proc-error").isVisible()) ? await text("#proc-error") : null,
    slot: await text("#proc-slot"),
    at_slot: await text("#proc-at-slot"),
    results: await text("#proc-results"),
    outbox: await text("#proc-outbox"),
    outbox_items: await page.locator("#proc-outbox .outbox-item").count(),
  };
  await shot("process.png");
  // a bad ID is refused in the page
  await page.fill("#proc-id", "../../etc/passwd");
  await page.click("#proc-load");
  out.process_bad_id = await text("#proc-error");

  // Message viewer: a message whose values are HTML; they must show as text
  await page.click("#tabs button[data-view=message]");
  await page.fill("#msg-id", a.xss);
  await page.click("#msg-load");
  await page.waitForFunction(() => document.getElementById("msg-view").textContent.length > 0);
  out.xss = {
    text: await text("#msg-view"),
    img_elements: await page.locator("#msg-view img, #msg-view script").count(),
    fired: await page.evaluate(() => window.__hb_xss === true),
  };
  await page.fill("#msg-id", a.msg);
  await page.click("#msg-load");
  await page.waitForFunction(() => document.getElementById("msg-view").textContent.length > 0);
  out.message = { text: await text("#msg-view") };
  await shot("message.png");
} finally {
  await browser.close();
}
console.log(JSON.stringify(out));
