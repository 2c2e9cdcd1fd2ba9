#!/usr/bin/env bash
# The main job: builds the browser package and serves the chat demo on http://127.0.0.1:8080.
# Model folders under models/<name>/ (and the tiny test fixtures) are served at /models/<name>/.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build-web.sh
exec node scripts/serve.mjs "${PORT:-8080}"
