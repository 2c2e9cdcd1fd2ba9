// y[m, n] = sum_k x[m, k] * w[n, k], for prefill on adapters that are CPUs (see matvec_rows):
// one invocation per weight row n and a tile of up to 8 tokens, so each weight value is decoded
// once per 8 tokens while the 8 activation values it meets are the same address in every lane
// (one scalar load each). No workgroup memory, no barriers. EPILOGUE: see epilogue.wgsl; for
// the gated MLP an invocation takes a (gate, up) pair of rows.

struct Params {
    m: u32,
    n: u32,
    k: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;       // [m, k]
@group(0) @binding(1) var<storage, read> w: array<u32>;       // [n, k], WEIGHT_DTYPE
@group(0) @binding(2) var<storage, read_write> y: array<f32>; // [m, n], or [m, n / 2] for EPILOGUE 2
@group(0) @binding(3) var<uniform> params: Params;

const TOKENS: u32 = 8u;

fn x4(t: u32, c: u32) -> vec4<f32> {
    let i = t * params.k + c;
    return vec4<f32>(x[i], x[i + 1u], x[i + 2u], x[i + 3u]);
}

// Dot products of weight row `row` with `tokens` tokens from t0.
fn row_dots(row: u32, t0: u32, tokens: u32) -> array<f32, TOKENS> {
    let base = row * params.k;
    let k4 = params.k & ~3u;
    var acc: array<vec4<f32>, TOKENS>;
    for (var c = 0u; c < k4; c += 4u) {
        let wv = weight4(base + c);
        for (var t = 0u; t < tokens; t++) {
            acc[t] = fma(wv, x4(t0 + t, c), acc[t]);
        }
    }
    var totals: array<f32, TOKENS>;
    for (var t = 0u; t < tokens; t++) {
        var total = (acc[t].x + acc[t].y) + (acc[t].z + acc[t].w);
        // Plain-float rows of a length that is not a multiple of 4.
        for (var c = k4; c < params.k; c++) {
            total = fma(weight_at(base + c), x[(t0 + t) * params.k + c], total);
        }
        totals[t] = total;
    }
    return totals;
}

@compute @workgroup_size(64)
fn matmul_rows(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let out = wg.x * 64u + lid;
    let t0 = wg.y * TOKENS;
    let cols = output_rows(params.n);
    if (out >= cols) {
        return;
    }
    let tokens = min(TOKENS, params.m - t0);
    if (EPILOGUE == 2u) {
        let gate = row_dots(2u * out, t0, tokens);
        let up = row_dots(2u * out + 1u, t0, tokens);
        for (var t = 0u; t < tokens; t++) {
            y[(t0 + t) * cols + out] = gated(gate[t], up[t]);
        }
        return;
    }
    let totals = row_dots(out, t0, tokens);
    for (var t = 0u; t < tokens; t++) {
        let at = (t0 + t) * cols + out;
        if (EPILOGUE == 1u) {
            y[at] += totals[t];
        } else {
            y[at] = totals[t];
        }
    }
}
