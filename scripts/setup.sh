#!/usr/bin/env bash
# Installs what hearth's builds and tests need on a fresh Debian machine: the Rust wasm target and
# Mesa's lavapipe (a software Vulkan GPU, so GPU tests run without a GPU). With --browser, also
# Chromium and the browser tests' npm packages. Idempotent and quick when all is there.
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    echo "setup: need root for: $*" >&2; return 1; fi
}

apt_install() {
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get install -y -q "$@" >/dev/null 2>&1 \
    || { as_root apt-get update -q >/dev/null && as_root apt-get install -y -q "$@" >/dev/null; }
}

if ! ls /usr/share/vulkan/icd.d/lvp_icd*.json >/dev/null 2>&1; then
  echo "setup: installing mesa-vulkan-drivers (lavapipe)"
  apt_install mesa-vulkan-drivers
fi

if ! rustup target list --installed | grep -q wasm32-unknown-unknown; then
  rustup target add wasm32-unknown-unknown
fi

if [ "${1:-}" = "--browser" ]; then
  if ! command -v chromium >/dev/null; then
    echo "setup: installing chromium"
    apt_install chromium
  fi
  if [ ! -d tests/web/node_modules/playwright-core ]; then
    (cd tests/web && npm ci --no-audit --no-fund --loglevel=error)
  fi
fi
