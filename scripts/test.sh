#!/usr/bin/env bash
# Runs every test: formatting, lints (native and wasm32), all cargo tests (kernels against burn on
# lavapipe, whole models against transformers' fixtures, CLI), then the browser package and its
# tests in headless Chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --browser

# Mesa's WSI probes for a display server and complains when there is none; compute needs none.
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp}"

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy (native)"
cargo clippy --all-targets -- -D warnings
echo "== cargo clippy (wasm32: the WebGPU module, and the one with the CPU backend)"
cargo clippy --lib --target wasm32-unknown-unknown --no-default-features -- -D warnings
cargo clippy --lib --target wasm32-unknown-unknown --no-default-features --features cpu -- -D warnings
echo "== cargo test"
# A GPU test that finds no adapter fails when CI is set, instead of skipping.
cargo test --all-targets
echo "== browser package"
scripts/build-web.sh
echo "== browser tests"
node tests/web/run.mjs
