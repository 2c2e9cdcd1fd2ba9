#!/usr/bin/env bash
# Native benchmark, hearth against llama.cpp on the same files, side by side in one run:
# `hearth bench` (release build, the default adapter: lavapipe here, a real GPU elsewhere) and
# llama.cpp through node-llama-cpp on the CPU (1 thread), on each GGUF of the model, then hearth
# on the safetensors folders. 128 prompt tokens, 64 new tokens, EOS ignored, KV cache of 192.
# One JSON object per line into bench-results/native-<model>.jsonl (and stdout).
#   bash scripts/bench/native.sh [model] [weight types...]
#   e.g. bash scripts/bench/native.sh smollm2-135m f16 q4_0
# RUNS (default 3) sets the runs after one warm-up; benchmark on a quiet machine.
# PEAK_BANDWIDTH (GB/s, e.g. 4800 on an H200) adds hearth's fraction of the bandwidth roofline;
# every hearth line has the bytes a decode step reads and the GB/s that makes.
set -euo pipefail
cd "$(dirname "$0")/../.."
model=${1:-smollm2-135m}
shift || true
types=("$@")
[ ${#types[@]} -gt 0 ] || types=(f32 f16 q8_0 q4_0)
runs=${RUNS:-3}
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp}"

[ -f "bench-models/$model/$model-${types[0]}.gguf" ] || bash scripts/bench/models.sh
[ -d scripts/bench/llama/node_modules/node-llama-cpp ] \
  || (cd scripts/bench/llama && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
cargo build -q --release --features cli --bin hearth

mkdir -p bench-results
out="bench-results/native-$model.jsonl"
: > "$out"
record() { tee -a "$out"; }
tokens=(--prompt-tokens 128 --gen-tokens 64 --runs "$runs")
roofline=()
[ -z "${PEAK_BANDWIDTH:-}" ] || roofline=(--peak-bandwidth "$PEAK_BANDWIDTH")
for type in "${types[@]}"; do
  gguf="bench-models/$model/$model-$type.gguf"
  echo "== $gguf" >&2
  target/release/hearth bench --model "$gguf" --context 192 "${tokens[@]}" "${roofline[@]}" | record
  node scripts/bench/llama/llama_cpp.mjs --model "$gguf" --threads 1 "${tokens[@]}" 2>/dev/null | record
  if [ -d "bench-models/$model/$type" ]; then
    target/release/hearth bench --model "bench-models/$model/$type" --context 192 "${tokens[@]}" "${roofline[@]}" | record
  fi
done
echo "bench-results: $out" >&2
