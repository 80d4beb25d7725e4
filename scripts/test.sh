#!/usr/bin/env bash
# Set up a fresh virtual environment, build and install the package (release profile), then run
# the Rust core's tests and the Python test-suite. Golden vectors are read from ../shared (or
# $HYPERBEAM_SHARED); tests that need them skip with a reason where they are absent.
set -euo pipefail
cd "$(dirname "$0")/.."
# OpenSSL is built from source into the extension (the openssl crate's `vendored` feature,
# docs/crypto.md): it needs a C compiler, make and perl, not libssl-dev.
for tool in cc make perl; do
  command -v "$tool" >/dev/null || { echo "scripts/test.sh: $tool is needed to build OpenSSL" >&2; exit 1; }
done
VENV=${VENV:-.venv}
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --upgrade pip
# One release build: a manylinux wheel (maturin checks the manylinux_2_34 policy: glibc symbol
# versions, no system libraries but libc/libgcc_s), installed here for the tests and, by
# scripts/wheel_check.sh, into a fresh venv with no Rust on PATH that runs the README's steps.
"$VENV/bin/python" -m pip install -q 'maturin>=1.9,<2'
rm -rf dist
"$VENV/bin/maturin" build -q --release --locked --compatibility manylinux_2_34 --out dist \
  -i "$VENV/bin/python"
WHEEL=$(ls dist/hyperbeam_fast-*.whl)
"$VENV/bin/python" -m pip install -q --force-reinstall --no-deps "$WHEEL"
"$VENV/bin/python" -m pip install -q "$WHEEL[test,docs]"
bash scripts/wheel_check.sh "$WHEEL"
# Binaryen (npm) translates the AOS image's legacy exceptions for wasmtime (docs/processes.md).
if command -v npm >/dev/null && [ ! -d tools/binaryen/node_modules ]; then
  (cd tools/binaryen && npm ci --silent --no-audit --no-fund) || echo "binaryen install failed: AOS tests will skip"
fi
cargo test --locked -p hyperbeam-core
cd tests && "../$VENV/bin/python" -m pytest -q -p no:cacheprovider "$@"
