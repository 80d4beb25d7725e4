#!/usr/bin/env bash
# The plain install (issue 17 item 4): install the built wheel into a fresh virtual environment
# with no Rust toolchain on PATH and no source builds allowed (pip --only-binary), check that the
# extension links no system OpenSSL (it is vendored, docs/crypto.md), then run the README's
# Quickstart and its serve/curl steps from that install, outside the source tree.
#   bash scripts/wheel_check.sh dist/hyperbeam_fast-*.whl
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WHEEL=$(realpath "$1")
PYTHON=${PYTHON:-$(command -v python3)}
fail() { echo "scripts/wheel_check.sh: $*" >&2; exit 1; }
case "$(basename "$WHEEL")" in
  *manylinux*) ;;
  *) fail "$WHEEL is not a manylinux wheel" ;;
esac
# PATH without any directory that holds cargo or rustc
CLEAN_PATH=""
IFS=: read -ra dirs <<<"$PATH"
for d in "${dirs[@]}"; do
  [ -n "$d" ] && { [ -e "$d/cargo" ] || [ -e "$d/rustc" ]; } && continue
  CLEAN_PATH="${CLEAN_PATH:+$CLEAN_PATH:}$d"
done
if PATH="$CLEAN_PATH" command -v cargo >/dev/null || PATH="$CLEAN_PATH" command -v rustc >/dev/null; then
  fail "cannot hide the Rust toolchain from PATH"
fi
TMP=$(mktemp -d)
SERVER=""
cleanup() { [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null; rm -rf "$TMP"; }
trap cleanup EXIT
cd "$TMP"
export PATH="$CLEAN_PATH" PIP_DISABLE_PIP_VERSION_CHECK=1
"$PYTHON" -m venv venv
venv/bin/python -m pip install -q --only-binary :all: "$WHEEL"
# the extension needs only libc/libgcc_s/libm/ld.so: no libssl/libcrypto
NATIVE=$(venv/bin/python -c 'import hyperbeam_fast._native as n; print(n.__file__)')
case "$NATIVE" in "$TMP"/venv/*) ;; *) fail "imported $NATIVE, not the wheel" ;; esac
NEEDED=$(venv/bin/python - "$NATIVE" <<'PY'
import re, subprocess, sys
out = subprocess.run(["ldd", sys.argv[1]], capture_output=True, text=True, check=True).stdout
print(" ".join(re.findall(r"^\s*(\S+)", out, re.M)))
PY
)
for lib in $NEEDED; do
  case "$lib" in
    linux-vdso.so.*|libc.so.*|libm.so.*|libgcc_s.so.*|libpthread.so.*|libdl.so.*|/lib*/ld-linux*) ;;
    *) fail "the extension links $lib ($NEEDED)" ;;
  esac
done
# README: Quickstart (the Python block), run as written
sed -n '/^## Quickstart/,/^## /p' "$ROOT/README.md" | sed -n '/^```python$/,/^```$/p' | sed '1d;$d' >quickstart.py
[ -s quickstart.py ] || fail "no Quickstart block in README.md"
venv/bin/python quickstart.py
# README: Run it (serve, then GET /~meta@1.0/info), on a free port
venv/bin/hyperbeam-fast serve --port 0 >serve.log 2>&1 &
SERVER=$!
venv/bin/python - serve.log <<'PY'
import json, sys, time, urllib.request
deadline = time.monotonic() + 120
banner = None
while banner is None and time.monotonic() < deadline:
    for line in open(sys.argv[1]):
        if line.startswith("{") and json.loads(line).get("msg") == "listening":
            banner = json.loads(line)
    time.sleep(0.2)
if banner is None:
    sys.exit("no 'listening' line:\n" + open(sys.argv[1]).read())
with urllib.request.urlopen(f"http://127.0.0.1:{banner['port']}/~meta@1.0/info", timeout=30) as r:
    body = r.read().decode()
    text = body + "".join(f"{k}: {v}\n" for k, v in r.headers.items())
    assert r.status == 200 and banner["address"] in text, (r.status, text[:1000])
print("wheel quickstart: served", banner["url"], "as", banner["address"])
PY
kill -TERM "$SERVER"
wait "$SERVER" || fail "serve exited with $? on SIGTERM: $(cat serve.log)"
SERVER=""
echo "wheel check: $(basename "$WHEEL") installs and runs without Rust or a system libssl"
