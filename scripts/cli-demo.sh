#!/usr/bin/env bash
# The CLI demo: builds the CLI and runs a model on the GPU (lavapipe when there is no GPU).
# MODEL=path/to/hf-folder scripts/cli-demo.sh runs your own model; the default is a tiny fixture.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp}"
model="${MODEL:-tests/fixtures/models/qwen2-f32}"
prompt="${PROMPT:-Tell me a story about a hearth.}"
cargo build --release --bin hearth
hearth=target/release/hearth
"$hearth" info --model "$model"
echo "== chat (streamed; random fixture weights make random text)"
"$hearth" generate --model "$model" --prompt "$prompt" --chat --max-tokens 32 --temperature 0.7 --seed 1
echo "== bench"
"$hearth" bench --model "$model" --prompt-tokens 32 --gen-tokens 16 --runs 3
