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

// A dot product from its accumulated vec4 with the row from `base`: the four lanes
// summed, plus the last k % 4 products of plain-float rows.
fn finish(acc: vec4<f32>, base: u32, t: u32) -> f32 {
    var total = (acc.x + acc.y) + (acc.z + acc.w);
    for (var c = params.k & ~3u; c < params.k; c++) {
        total = fma(weight_at(base + c), x[t * params.k + c], total);
    }
    return total;
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
    let gated = EPILOGUE == 2u;
    // The gated MLP reads rows 2 out (gate) and 2 out + 1 (up).
    let base = select(out, 2u * out, gated) * params.k;
    let up_base = base + params.k;
    let k4 = params.k & ~3u;
    var acc: array<vec4<f32>, TOKENS>;
    var acc_up: array<vec4<f32>, TOKENS>;
    for (var c = 0u; c < k4; c += 4u) {
        let wv = weight4(base + c);
        var uv = vec4<f32>(0.0);
        if (gated) {
            uv = weight4(up_base + c);
        }
        for (var t = 0u; t < tokens; t++) {
            let xv = x4(t0 + t, c);
            acc[t] = fma(wv, xv, acc[t]);
            if (gated) {
                acc_up[t] = fma(uv, xv, acc_up[t]);
            }
        }
    }
    for (var t = 0u; t < tokens; t++) {
        let at = (t0 + t) * cols + out;
        let total = finish(acc[t], base, t0 + t);
        if (gated) {
            y[at] = gated_product(total, finish(acc_up[t], up_base, t0 + t));
        } else if (EPILOGUE == 1u) {
            y[at] += total;
        } else {
            y[at] = total;
        }
    }
}
