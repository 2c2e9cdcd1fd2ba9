#!/usr/bin/env bash
# Installs what hearth's builds and tests need on a fresh Debian machine: the Rust wasm target
# and Mesa's lavapipe (a software Vulkan GPU, so GPU tests run without a GPU). Idempotent.
set -euo pipefail

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    echo "setup: need root for: $*" >&2; return 1; fi
}

if ! ls /usr/share/vulkan/icd.d/lvp_icd*.json >/dev/null 2>&1; then
  echo "setup: installing mesa-vulkan-drivers (lavapipe)"
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get install -y -q mesa-vulkan-drivers >/dev/null 2>&1 \
    || { as_root apt-get update -q >/dev/null && as_root apt-get install -y -q mesa-vulkan-drivers >/dev/null; }
fi

if ! rustup target list --installed | grep -q wasm32-unknown-unknown; then
  rustup target add wasm32-unknown-unknown
fi
