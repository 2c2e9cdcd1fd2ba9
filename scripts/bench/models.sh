#!/usr/bin/env bash
# Make everything the peer benchmarks need, skipping what exists:
#   - bench-models/ (gitignored): random-weight SmolLM2-135M/360M and all-MiniLM-L6-v2 shaped
#     models as safetensors folders and GGUFs (scripts/bench/make_models.py), and their ONNX
#     exports for transformers.js (scripts/bench/export_onnx.py)
#   - node-llama-cpp in scripts/bench/llama/node_modules (for scripts/bench/llama/llama_cpp.mjs)
#
#   bash scripts/bench/models.sh [--only smollm2-135m|smollm2-360m|minilm-l6 ...] [--force]
#
# PYTHON: a Python with torch, transformers 5, safetensors, tokenizers, gguf, jinja2
#         (default: .venv/bin/python when present, else /work/venv/bin/python, else python3).
# ONNX_VENV: where to make the export venv (default /work/venv-onnx). optimum-onnx needs
#         transformers < 4.58, so it gets its own venv; it reuses PYTHON's torch and numpy through a
#         .pth file instead of installing another multi-GB torch, and pins everything it adds.
set -euo pipefail
cd "$(dirname "$0")/../.."

if [[ -z "${PYTHON:-}" ]]; then
  if [[ -x .venv/bin/python ]]; then PYTHON=.venv/bin/python
  elif [[ -x /work/venv/bin/python ]]; then PYTHON=/work/venv/bin/python
  else PYTHON=python3
  fi
fi
ONNX_VENV=${ONNX_VENV:-/work/venv-onnx}
ONNX_PACKAGES=(
  transformers==4.57.6 tokenizers==0.22.2 huggingface-hub==0.36.2
  optimum==2.1.0 optimum-onnx==0.1.0 onnx==1.23.2 onnxruntime==1.32.0 accelerate==1.15.0
)

if ! "$ONNX_VENV/bin/python" -c "import optimum.exporters.onnx, onnxruntime" 2>/dev/null; then
  echo "== making the ONNX export venv $ONNX_VENV"
  "$PYTHON" -m venv "$ONNX_VENV"
  base_site=$("$PYTHON" -c "import sysconfig; print(sysconfig.get_paths()['purelib'])")
  venv_site=$("$ONNX_VENV/bin/python" -c "import sysconfig; print(sysconfig.get_paths()['purelib'])")
  # Appended after the venv's own site-packages: the venv's transformers 4.x wins, torch comes from base.
  echo "$base_site" > "$venv_site/zz_base_site_packages.pth"
  "$ONNX_VENV/bin/pip" install --quiet "${ONNX_PACKAGES[@]}"
fi

if [[ ! -d scripts/bench/llama/node_modules/node-llama-cpp ]]; then
  echo "== installing node-llama-cpp"
  (cd scripts/bench/llama && npm ci --ignore-scripts --no-audit --no-fund)
fi

echo "== make_models.py"
"$PYTHON" scripts/bench/make_models.py "$@"
echo "== export_onnx.py"
"$ONNX_VENV/bin/python" scripts/bench/export_onnx.py "$@"
