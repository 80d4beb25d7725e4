#!/usr/bin/env bash
# Set up a fresh virtual environment, build and install the package (release profile), then run
# the Rust core's tests and the Python test-suite. Golden vectors are read from ../shared (or
# $HYPERBEAM_SHARED); tests that need them skip with a reason where they are absent.
set -euo pipefail
cd "$(dirname "$0")/.."
# The openssl crate links the system OpenSSL (docs/crypto.md).
if [ ! -e /usr/include/openssl/ssl.h ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  apt-get update -qq && apt-get install -y -qq libssl-dev pkg-config >/dev/null
fi
VENV=${VENV:-.venv}
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --upgrade pip
"$VENV/bin/python" -m pip install -q '.[test]'
# Binaryen (npm) translates the AOS image's legacy exceptions for wasmtime (docs/processes.md).
if command -v npm >/dev/null && [ ! -d tools/binaryen/node_modules ]; then
  (cd tools/binaryen && npm ci --silent --no-audit --no-fund) || echo "binaryen install failed: AOS tests will skip"
fi
cargo test --locked -p hyperbeam-core
cd tests && "../$VENV/bin/python" -m pytest -q -p no:cacheprovider "$@"
