#!/usr/bin/env bash
# Builds the browser package into www/pkg/: two release wasm modules (WebGPU only; WebGPU + CPU
# backend) -> wasm-bindgen (--target web) -> wasm-opt -Oz when available -> the hand-written JS
# layer, types and package.json.
# Installs what it lacks (wasm target, a wasm-bindgen-cli matching Cargo.lock).
set -euo pipefail
cd "$(dirname "$0")/.."

rustup target list --installed | grep -q wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown
version=$(grep -A1 '^name = "wasm-bindgen"$' Cargo.lock | sed -n 's/^version = "\(.*\)"/\1/p')
if [ "$(wasm-bindgen --version 2>/dev/null | cut -d' ' -f2)" != "$version" ]; then
  echo "build-web: installing wasm-bindgen-cli $version (a few minutes, once)"
  cargo install -q wasm-bindgen-cli --version "$version"
fi

# Two modules: hearth_wasm, the WebGPU engine alone (the default, kept small: opt-level "z", no
# burn), and hearth_wasm_cpu, the same engine with burn's CPU backend (opt-level "s", since it
# computes on the CPU), which hearth.js fetches only when a model runs on the CPU.
target="${CARGO_TARGET_DIR:-target}/wasm32-unknown-unknown"
out=www/pkg
mkdir -p "$out"
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT

# package <wasm> <name>: wasm-bindgen -> wasm-opt -Oz into $out/<name>.js and <name>_bg.wasm,
# skipped when the package is newer than the wasm.
package() {
  local wasm=$1 name=$2
  if [ -f "$out/${name}_bg.wasm" ] && [ ! "$wasm" -nt "$out/${name}_bg.wasm" ]; then return; fi
  # Build into a scratch folder and move the finished files in last, so an interrupted build
  # never leaves a half-made package that looks up to date.
  local dir="$stage/$name"
  wasm-bindgen --target web --out-dir "$dir" --out-name "$name" "$wasm"
  if [ -x scripts/node_modules/.bin/wasm-opt ]; then
    # The features rustc's wasm32 target emits (and simd128, which only the CPU module uses); the result is validated before it
    # replaces the original.
    local opt="$dir/optimized.wasm"
    if scripts/node_modules/.bin/wasm-opt -Oz --enable-simd --enable-bulk-memory --enable-nontrapping-float-to-int \
         --enable-sign-ext --enable-mutable-globals --enable-reference-types --enable-multivalue \
         "$dir/${name}_bg.wasm" -o "$opt" \
       && node -e "process.exit(WebAssembly.validate(require('fs').readFileSync(process.argv[1])) ? 0 : 1)" "$opt"; then
      mv "$opt" "$dir/${name}_bg.wasm"
    else
      rm -f "$opt"
      echo "build-web: wasm-opt failed or made an invalid module; keeping the unoptimized wasm"
    fi
  fi
  mv "$dir"/* "$out/"
}

# binaryen from npm: Debian's v108 breaks wasm-bindgen's externref table.
[ -x scripts/node_modules/.bin/wasm-opt ] \
  || (cd scripts && npm ci --no-audit --no-fund --loglevel=error) \
  || echo "build-web: could not install binaryen"
# Panics abort without formatting a message (a panic traps the instance either way, and the
# message had nowhere to go): std is rebuilt with `-Cpanic=immediate-abort`, which takes a
# pinned nightly and its source (seconds to install). That drops core's formatting and panic
# machinery, ~85 KB of the gzipped WebGPU module. Where the nightly cannot be had, stable
# builds a working but larger module.
nightly=nightly-2026-05-20
if rustup toolchain install "$nightly" --profile minimal --component rust-src \
     --target wasm32-unknown-unknown >/dev/null 2>&1; then
  toolchain=("+$nightly")
  lean=(-Zbuild-std=std,panic_abort)
  lean_flags=' -Zunstable-options -Cpanic=immediate-abort'
else
  echo "build-web: no $nightly; building with stable, panics keep their messages (larger wasm)"
  toolchain=()
  lean=()
  lean_flags=''
fi
# RUSTFLAGS replaces .cargo/config.toml's flags, so it repeats them.
config_flags='--cfg getrandom_backend="wasm_js"'
RUSTFLAGS="$config_flags$lean_flags" cargo "${toolchain[@]}" build "${lean[@]}" --profile web-gpu \
  --lib --target wasm32-unknown-unknown --no-default-features
# The CPU module computes with 128-bit SIMD (burn's gemm picks its simd128 kernels), which
# every browser with wasm has had since 2023.
RUSTFLAGS="$config_flags$lean_flags -C target-feature=+simd128" cargo "${toolchain[@]}" build \
  "${lean[@]}" --profile web --lib --target wasm32-unknown-unknown --no-default-features \
  --features cpu
# wasm-opt takes minutes on each: both at once.
package "$target/web-gpu/hearth.wasm" hearth_wasm &
gpu=$!
package "$target/web/hearth.wasm" hearth_wasm_cpu
wait "$gpu"
cp www/src/hearth.js www/src/worker.js www/src/hearth.d.ts "$out/"
cat > "$out/package.json" <<JSON
{
  "name": "hearth",
  "version": "$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)",
  "description": "Small open models on WebGPU compute shaders, entirely in the browser",
  "type": "module",
  "main": "hearth.js",
  "module": "hearth.js",
  "types": "hearth.d.ts",
  "files": ["hearth.js", "hearth.d.ts", "worker.js", "hearth_wasm.js", "hearth_wasm.d.ts", "hearth_wasm_bg.wasm",
            "hearth_wasm_cpu.js", "hearth_wasm_cpu.d.ts", "hearth_wasm_cpu_bg.wasm"],
  "sideEffects": false
}
JSON
for name in hearth_wasm hearth_wasm_cpu; do
  wasm="$out/${name}_bg.wasm"
  echo "build-web: $wasm $(stat -c %s "$wasm") bytes, $(gzip -9c "$wasm" | wc -c) gzipped"
done
