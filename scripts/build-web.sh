#!/usr/bin/env bash
# Builds the browser package into www/pkg/: release wasm -> wasm-bindgen (--target web) ->
# wasm-opt -Oz when available -> the hand-written JS layer, types and package.json.
# Installs what it lacks (wasm target, a wasm-bindgen-cli matching Cargo.lock).
set -euo pipefail
cd "$(dirname "$0")/.."

rustup target list --installed | grep -q wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown
version=$(grep -A1 '^name = "wasm-bindgen"$' Cargo.lock | sed -n 's/^version = "\(.*\)"/\1/p')
if [ "$(wasm-bindgen --version 2>/dev/null | cut -d' ' -f2)" != "$version" ]; then
  echo "build-web: installing wasm-bindgen-cli $version (a few minutes, once)"
  cargo install -q wasm-bindgen-cli --version "$version"
fi

cargo build --profile web --lib --target wasm32-unknown-unknown --no-default-features
wasm="${CARGO_TARGET_DIR:-target}/wasm32-unknown-unknown/web/hearth.wasm"
out=www/pkg
mkdir -p "$out"
if [ ! -f "$out/hearth_wasm_bg.wasm" ] || [ "$wasm" -nt "$out/hearth_wasm_bg.wasm" ]; then
  # Build into a scratch folder and move the finished files in last, so an interrupted build
  # never leaves a half-made package that looks up to date.
  stage=$(mktemp -d)
  trap 'rm -rf "$stage"' EXIT
  wasm-bindgen --target web --out-dir "$stage" --out-name hearth_wasm "$wasm"
  # binaryen from npm: Debian's v108 breaks wasm-bindgen's externref table.
  [ -x scripts/node_modules/.bin/wasm-opt ] \
    || (cd scripts && npm ci --no-audit --no-fund --loglevel=error) \
    || echo "build-web: could not install binaryen"
  if [ -x scripts/node_modules/.bin/wasm-opt ]; then
    # Exactly the features rustc's wasm32 target emits; the result is validated before it
    # replaces the original.
    opt="$stage/optimized.wasm"
    if scripts/node_modules/.bin/wasm-opt -Oz --enable-bulk-memory --enable-nontrapping-float-to-int \
         --enable-sign-ext --enable-mutable-globals --enable-reference-types --enable-multivalue \
         "$stage/hearth_wasm_bg.wasm" -o "$opt" \
       && node -e "process.exit(WebAssembly.validate(require('fs').readFileSync(process.argv[1])) ? 0 : 1)" "$opt"; then
      mv "$opt" "$stage/hearth_wasm_bg.wasm"
    else
      rm -f "$opt"
      echo "build-web: wasm-opt failed or made an invalid module; keeping the unoptimized wasm"
    fi
  fi
  mv "$stage"/* "$out/"
fi
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
  "files": ["hearth.js", "hearth.d.ts", "worker.js", "hearth_wasm.js", "hearth_wasm.d.ts", "hearth_wasm_bg.wasm"],
  "sideEffects": false
}
JSON
echo "build-web: $out/hearth_wasm_bg.wasm $(stat -c %s "$out/hearth_wasm_bg.wasm") bytes, $(gzip -9c "$out/hearth_wasm_bg.wasm" | wc -c) gzipped"
