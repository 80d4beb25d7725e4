// hyperbeam_fast web console (devices/hyperbuddy.py, docs/node.md "Web console").
// Plain browser JavaScript, no framework, no build step. Everything a node replies is shown as
// text (textContent, never innerHTML): reply data is untrusted.
"use strict";

const ID_RE = /^[A-Za-z0-9_-]{43}$/;
const $ = (id) => document.getElementById(id);

// ---- small DOM helpers ---------------------------------------------------------------------

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = String(text);
  return e;
}

function showError(id, msg) {
  const e = $(id);
  e.textContent = msg || "";
  e.hidden = !msg;
}

function kvRow(table, key, value) {
  const tr = el("tr");
  tr.append(el("th", "", key), el("td", "mono", value));
  table.append(tr);
}

// A JSON value as a collapsible tree (objects and arrays as <details>, leaves as text).
function tree(value, key, depth) {
  depth = depth || 0;
  if (value !== null && typeof value === "object") {
    const d = el("details");
    d.open = depth < 2;
    const s = el("summary");
    const n = Array.isArray(value) ? value.length : Object.keys(value).length;
    if (key !== undefined) s.append(el("span", "k", key), ": ");
    s.append(el("span", "muted", (Array.isArray(value) ? "list" : "message") + " (" + n + ")"));
    d.append(s);
    for (const [k, v] of Object.entries(value)) d.append(tree(v, k, depth + 1));
    return d;
  }
  const row = el("div", "entry");
  if (key !== undefined) row.append(el("span", "k", key), ": ");
  row.append(el("span", typeof value === "string" ? "s" : "n", JSON.stringify(value)));
  return row;
}

function renderTree(id, value) {
  const box = $(id);
  box.replaceChildren(tree(value));
}

async function getJSON(path) {
  const r = await fetch(path, { headers: { accept: "application/json" } });
  const text = await r.text();
  let body;
  try {
    body = JSON.parse(text);
  } catch (e) {
    body = text;
  }
  return { status: r.status, body };
}

// A structured-field list as json@1.0 writes a "list" value: `"a", "b"` or `1, 2`.
function sfList(text) {
  const out = [];
  for (const m of String(text).matchAll(/"((?:[^"\\]|\\.)*)"|([^,\s]+)/g)) {
    if (m[1] !== undefined) out.push(m[1].replace(/\\(.)/g, "$1"));
    else out.push(/^-?\d+(\.\d+)?$/.test(m[2]) ? Number(m[2]) : m[2]);
  }
  return out;
}

// A message as json@1.0 sends it, with the types its `ao-types` field names applied (core §6:
// integers, floats, atoms, lists, empty values) and `ao-types` itself left out.
function typed(msg) {
  if (Array.isArray(msg)) return msg.map(typed);
  if (!msg || typeof msg !== "object") return msg;
  const types = {};
  if (typeof msg["ao-types"] === "string") {
    for (const m of msg["ao-types"].matchAll(/([^\s=,]+)="([^"]*)"/g)) types[m[1]] = m[2];
  }
  const out = {};
  for (const [k, v] of Object.entries(msg)) {
    if (k === "ao-types") continue;
    const t = types[k.toLowerCase()];
    if ((t === "integer" || t === "float") && typeof v === "string" && !isNaN(Number(v))) {
      out[k] = Number(v);
    } else if (t === "atom" && typeof v === "string") {
      const a = v.replace(/^"(.*)"$/, "$1");
      out[k] = a === "true" ? true : a === "false" ? false : a === "null" ? null : a;
    } else if (t === "list" && typeof v === "string") {
      out[k] = sfList(v);
    } else {
      out[k] = typed(v);
    }
  }
  for (const [k, t] of Object.entries(types)) {
    if (k in out) continue;
    if (t === "empty-binary") out[k] = "";
    else if (t === "empty-list") out[k] = [];
    else if (t === "empty-message") out[k] = {};
  }
  return out;
}

// ---- views ---------------------------------------------------------------------------------

const views = {};
let current = null;

function show(name) {
  for (const b of document.querySelectorAll("#tabs button")) {
    b.classList.toggle("active", b.dataset.view === name);
  }
  for (const s of document.querySelectorAll("section.view")) {
    s.classList.toggle("active", s.id === "view-" + name);
  }
  if (current && views[current].leave) views[current].leave();
  current = name;
  if (views[name].enter) views[name].enter();
  if (location.hash !== "#" + name) history.replaceState(null, "", "#" + name);
}

// Node: ~meta@1.0/info and ~meta@1.0/build.
views.node = {
  async enter() {
    showError("node-error", "");
    try {
      const [info, build] = await Promise.all([
        getJSON("/~meta@1.0/info"),
        getJSON("/~meta@1.0/build"),
      ]);
      if (info.status !== 200 || typeof info.body !== "object") {
        throw new Error("GET /~meta@1.0/info: " + info.status + " " + String(info.body));
      }
      const nm = info.body;
      $("node-address").textContent = nm.address || "?";
      $("node-operator").textContent = nm.operator || "?";
      $("node-port").textContent = nm.port !== undefined ? nm.port : "?";
      const b = build.body && typeof build.body === "object" ? build.body : {};
      $("node-build").textContent =
        (b.implementation || "?") + " " + (b["hyperbeam-fast-version"] || "") +
        " (HyperBEAM " + (b.source || "?") + ")";
      const init = typed(nm).initialized;
      $("node-initialized").textContent = init !== undefined ? String(init) : "?";
      const shown = typed(nm);
      delete shown.commitments;
      renderTree("node-info", shown);
    } catch (e) {
      showError("node-error", String(e));
    }
  },
};

// Metrics: /metrics (Prometheus text), read every 2 s while the view is open.
function parseProm(text) {
  const out = [];
  for (const line of text.split("\n")) {
    if (!line || line[0] === "#") continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([^}]*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const labels = {};
    if (m[3]) {
      for (const l of m[3].matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
        labels[l[1]] = l[2];
      }
    }
    out.push({ name: m[1], labels, value: Number(m[4]) });
  }
  return out;
}

function sum(samples, name, pred) {
  let s = 0;
  for (const x of samples) if (x.name === name && (!pred || pred(x.labels))) s += x.value;
  return s;
}

function fmtBytes(n) {
  const u = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < u.length - 1) {
    n /= 1024;
    i++;
  }
  return (i ? n.toFixed(1) : String(n)) + " " + u[i];
}

function fmtSeconds(s) {
  return s < 1 ? (s * 1000).toFixed(2) + " ms" : s.toFixed(2) + " s";
}

// The smallest histogram bucket bound holding fraction q of the observations.
function quantile(samples, name, q) {
  const buckets = samples
    .filter((x) => x.name === name + "_bucket")
    .map((x) => [x.labels.le === "+Inf" ? Infinity : Number(x.labels.le), x.value])
    .sort((a, b) => a[0] - b[0]);
  const total = buckets.length ? buckets[buckets.length - 1][1] : 0;
  if (!total) return null;
  for (const [le, n] of buckets) if (n >= q * total) return le;
  return null;
}

let lastRequests = null;

views.metrics = {
  timer: null,
  async refresh() {
    try {
      const r = await fetch("/metrics");
      const text = await r.text();
      if (r.status !== 200) throw new Error("GET /metrics: " + r.status + " " + text);
      const s = parseProm(text);
      const req = sum(s, "hb_http_requests_total");
      const errs = sum(s, "hb_http_requests_total", (l) => Number(l.status) >= 400);
      const count = sum(s, "hb_http_request_duration_seconds_count");
      const total = sum(s, "hb_http_request_duration_seconds_sum");
      $("m-requests").textContent = String(req);
      $("m-errors").textContent = String(errs);
      $("m-latency").textContent = count ? fmtSeconds(total / count) : "–";
      const p95 = quantile(s, "hb_http_request_duration_seconds", 0.95);
      $("m-p95").textContent = p95 === null ? "" : "p95 ≤ " + (p95 === Infinity ? "∞" : fmtSeconds(p95));
      $("m-inflight").textContent = String(sum(s, "hb_http_in_flight"));
      $("m-processes").textContent = String(sum(s, "hb_processes_live"));
      $("m-slots").textContent = String(sum(s, "hb_process_slots_computed_total"));
      const store = s.find((x) => x.name === "hb_store_bytes");
      $("m-store").textContent = store ? fmtBytes(store.value) : "n/a";
      $("m-steps").textContent = String(sum(s, "hb_resolve_steps_total"));
      const now = Date.now();
      if (lastRequests) {
        const rate = (req - lastRequests[1]) / ((now - lastRequests[0]) / 1000);
        $("m-rate").textContent = rate.toFixed(1) + " /s";
      }
      lastRequests = [now, req];
      $("metrics-raw").textContent = text;
      $("metrics-updated").textContent = "updated " + new Date(now).toLocaleTimeString();
      showError("metrics-error", "");
    } catch (e) {
      showError("metrics-error", String(e));
    }
  },
  enter() {
    this.refresh();
    this.timer = setInterval(() => this.refresh(), 2000);
  },
  leave() {
    clearInterval(this.timer);
    this.timer = null;
  },
};

// ---- signing (httpsig@1.0: RFC 9421, RSA-PSS-SHA512, keyid = the modulus) -------------------

let wallet = null; // { key: CryptoKey, n: base64url modulus, address }

function b64(bytes) {
  let s = "";
  for (const b of new Uint8Array(bytes)) s += String.fromCharCode(b);
  return btoa(s);
}

function b64url(bytes) {
  return b64(bytes).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function unb64url(s) {
  const t = atob(s.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - (s.length % 4)) % 4));
  return Uint8Array.from(t, (c) => c.charCodeAt(0));
}

async function loadWallet(file) {
  if (!window.crypto || !crypto.subtle) {
    throw new Error("signing needs WebCrypto: open the console over https or on localhost");
  }
  const jwk = JSON.parse(await file.text());
  if (jwk.kty !== "RSA" || !jwk.n || !jwk.d) throw new Error("not an RSA private key (JWK)");
  const priv = {};
  for (const k of ["kty", "n", "e", "d", "p", "q", "dp", "dq", "qi"]) if (jwk[k]) priv[k] = jwk[k];
  const key = await crypto.subtle.importKey(
    "jwk",
    priv,
    { name: "RSA-PSS", hash: "SHA-512" },
    false,
    ["sign"],
  );
  const address = b64url(await crypto.subtle.digest("SHA-256", unb64url(jwk.n)));
  return { key, n: jwk.n, address };
}

// Adds content-digest (for a body), signature-input and signature to `fields`; the signature
// covers every field and @path (the commitment's keys), as node/http.py verifies a request.
async function sign(fields, path, body) {
  if (body.length) {
    const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(body));
    fields["content-digest"] = "sha-256=:" + b64(digest) + ":";
  }
  const names = Object.keys(fields).sort();
  names.push("@path");
  const params =
    "(" + names.map((n) => '"' + n + '"').join(" ") + ');alg="rsa-pss-sha512";keyid="' +
    wallet.n + '"';
  // HyperBEAM's signature base names a derived component without its "@" (`"path": ...`;
  // rust/hyperbeam-core/src/sig_base.rs): what the node's codec and HyperBEAM both verify
  const lines = names.map((n) => (n === "@path" ? '"path": ' + path : '"' + n + '": ' + fields[n]));
  lines.push('"@signature-params": ' + params);
  const sig = await crypto.subtle.sign(
    { name: "RSA-PSS", saltLength: 64 },
    wallet.key,
    new TextEncoder().encode(lines.join("\n")),
  );
  const addr = unb64url(wallet.address);
  let label = "http-sig-";
  for (const b of addr.slice(1, 9)) label += b.toString(16).padStart(2, "0");
  fields["signature-input"] = label + "=" + params;
  fields["signature"] = label + "=:" + b64(sig) + ":";
}

// ---- request console -------------------------------------------------------------------------

const METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD"];
// Fields a page cannot set (the Fetch standard's forbidden request headers): fetch would drop
// them silently, and a signature over them would then fail.
const FORBIDDEN = new Set([
  "accept-charset", "accept-encoding", "access-control-request-headers",
  "access-control-request-method", "connection", "content-length", "cookie", "cookie2", "date",
  "dnt", "expect", "host", "keep-alive", "origin", "referer", "set-cookie", "te", "trailer",
  "transfer-encoding", "upgrade", "via",
]);

function parseLine(line) {
  const parts = line.trim().split(/\s+/);
  let method = "GET";
  if (parts.length > 1 || METHODS.includes(parts[0].toUpperCase())) {
    method = parts.shift().toUpperCase();
  }
  if (!METHODS.includes(method)) throw new Error("unknown method " + method);
  if (parts.length !== 1 || !parts[0]) throw new Error("give a method and one path");
  let path = parts[0];
  if (!path.startsWith("/")) path = "/" + path;
  return { method, path };
}

function parseFields(text) {
  const fields = {};
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (!line) continue;
    const i = line.indexOf(":");
    if (i <= 0) throw new Error("a field line needs 'name: value': " + line);
    const name = line.slice(0, i).trim().toLowerCase();
    if (!/^[a-z0-9!#$%&'*+.^_`|~-]+$/.test(name)) throw new Error("bad field name: " + name);
    if (FORBIDDEN.has(name) || name.startsWith("proxy-") || name.startsWith("sec-")) {
      throw new Error("a browser cannot send the field " + name);
    }
    fields[name] = line.slice(i + 1).trim();
  }
  return fields;
}

async function sendRequest(ev) {
  ev.preventDefault();
  showError("req-error", "");
  try {
    const { method, path } = parseLine($("req-line").value);
    const fields = parseFields($("req-headers").value);
    const body = $("req-body").value;
    if (body.length && (method === "GET" || method === "HEAD")) {
      throw new Error("a " + method + " request has no body: use POST");
    }
    const url = new URL(path, location.origin);
    if (url.origin !== location.origin) throw new Error("the path must be on this node");
    if ($("req-sign").checked) {
      if (!wallet) throw new Error("load a key to sign with");
      await sign(fields, url.pathname, body);
    }
    const t0 = performance.now();
    const init = { method, headers: fields };
    if (body.length) init.body = body;
    const r = await fetch(url.pathname + url.search, init);
    const text = await r.text();
    const dt = performance.now() - t0;
    const st = $("resp-status");
    st.textContent = String(r.status);
    st.classList.toggle("bad", r.status >= 400);
    $("resp-time").textContent = dt.toFixed(1) + " ms";
    const table = $("resp-headers");
    table.replaceChildren();
    for (const [k, v] of r.headers) kvRow(table, k, v);
    let shown = text;
    if ((r.headers.get("content-type") || "").includes("json")) {
      try {
        shown = JSON.stringify(JSON.parse(text), null, 2);
      } catch (e) {
        shown = text;
      }
    }
    $("resp-body").textContent = shown;
    $("req-result").hidden = false;
  } catch (e) {
    showError("req-error", String(e));
  }
}

views.request = {};

// ---- process view ----------------------------------------------------------------------------

views.process = {};

async function loadProcess(ev) {
  ev.preventDefault();
  showError("proc-error", "");
  $("proc-result").hidden = true;
  const pid = $("proc-id").value.trim();
  if (!ID_RE.test(pid)) {
    showError("proc-error", "a process ID is 43 base64url characters");
    return;
  }
  try {
    const slot = await getJSON("/" + pid + "/slot");
    if (slot.status !== 200) throw new Error("slot: " + slot.status + " " + JSON.stringify(slot.body));
    const cur = typeof slot.body === "object" ? typed(slot.body).current : slot.body;
    $("proc-slot").textContent = String(cur);
    const now = await getJSON("/" + pid + "/now");
    if (now.status !== 200) throw new Error("now: " + now.status + " " + JSON.stringify(now.body));
    const state = now.body && typeof now.body === "object" ? now.body : {};
    $("proc-at-slot").textContent = String(typed(state)["at-slot"]);
    const results = typed(state.results || {});
    const outbox = results.outbox || {};
    delete results.outbox;
    renderTree("proc-results", results);
    const box = $("proc-outbox");
    box.replaceChildren();
    const items = Object.entries(outbox);
    if (!items.length) box.append(el("p", "muted", "empty"));
    for (const [k, m] of items) {
      const item = el("div", "outbox-item tree");
      item.append(tree(m, k));
      box.append(item);
    }
    $("proc-result").hidden = false;
  } catch (e) {
    showError("proc-error", String(e));
  }
}

// ---- message viewer --------------------------------------------------------------------------

views.message = {};

async function loadMessage(ev) {
  ev.preventDefault();
  showError("msg-error", "");
  $("msg-view").replaceChildren();
  const id = $("msg-id").value.trim();
  if (!ID_RE.test(id)) {
    showError("msg-error", "a message ID is 43 base64url characters");
    return;
  }
  try {
    const r = await getJSON("/" + id);
    if (r.status !== 200) throw new Error(r.status + " " + JSON.stringify(r.body));
    renderTree("msg-view", typed(r.body));
  } catch (e) {
    showError("msg-error", String(e));
  }
}

// ---- start -----------------------------------------------------------------------------------

document.addEventListener("DOMContentLoaded", () => {
  for (const b of document.querySelectorAll("#tabs button")) {
    b.addEventListener("click", () => show(b.dataset.view));
  }
  $("req-form").addEventListener("submit", sendRequest);
  $("proc-form").addEventListener("submit", loadProcess);
  $("msg-form").addEventListener("submit", loadMessage);
  $("key-file").addEventListener("change", async (ev) => {
    const f = ev.target.files[0];
    if (!f) return;
    try {
      wallet = await loadWallet(f);
      $("key-address").textContent = wallet.address;
      $("req-sign").disabled = false;
      $("req-sign").checked = true;
      showError("req-error", "");
    } catch (e) {
      wallet = null;
      $("key-address").textContent = "none loaded";
      $("req-sign").disabled = true;
      $("req-sign").checked = false;
      showError("req-error", "key not loaded: " + e);
    }
  });
  const start = location.hash.slice(1);
  show(views[start] ? start : "node");
});
