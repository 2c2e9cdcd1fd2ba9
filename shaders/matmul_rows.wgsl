// y[m, n] = sum_k x[m, k] * w[n, k], for prefill on adapters that are CPUs (see matvec_rows):
// one invocation per weight row n and a tile of up to 8 tokens, so each weight value is decoded
// once per 8 tokens while the 8 activation values it meets are the same address in every lane
// (one scalar load each). No workgroup memory, no barriers.

struct Params {
    m: u32,
    n: u32,
    k: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;       // [m, k]
@group(0) @binding(1) var<storage, read> w: array<u32>;       // [n, k], WEIGHT_DTYPE
@group(0) @binding(2) var<storage, read_write> y: array<f32>; // [m, n]
@group(0) @binding(3) var<uniform> params: Params;

const TOKENS: u32 = 8u;

fn x4(t: u32, c: u32) -> vec4<f32> {
    let i = t * params.k + c;
    return vec4<f32>(x[i], x[i + 1u], x[i + 2u], x[i + 3u]);
}

@compute @workgroup_size(64)
fn matmul_rows(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let row = wg.x * 64u + lid;
    let t0 = wg.y * TOKENS;
    if (row >= params.n) {
        return;
    }
    let tokens = min(TOKENS, params.m - t0);
    let base = row * params.k;
    let k4 = params.k & ~3u;
    var acc: array<vec4<f32>, TOKENS>;
    for (var c = 0u; c < k4; c += 4u) {
        let wv = weight4(base + c);
        for (var t = 0u; t < tokens; t++) {
            acc[t] = fma(wv, x4(t0 + t, c), acc[t]);
        }
    }
    for (var t = 0u; t < tokens; t++) {
        var total = (acc[t].x + acc[t].y) + (acc[t].z + acc[t].w);
        // Plain-float rows of a length that is not a multiple of 4.
        for (var c = k4; c < params.k; c++) {
            total = fma(weight_at(base + c), x[(t0 + t) * params.k + c], total);
        }
        y[(t0 + t) * params.n + row] = total;
    }
}
