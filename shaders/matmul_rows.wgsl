// y[m, n] = sum_k x[m, k] * w[n, k], for prefill on adapters that are CPUs (see matvec_rows):
// each invocation takes two weight rows (for the gated MLP, a (gate, up) pair) and a tile of 8
// tokens, so each weight value is decoded once per 8 tokens and each activation value read once
// per two rows. The 16 sums are named vec4 components, not arrays indexed in a loop (which
// the software drivers keep in per-lane memory). No workgroup memory, no barriers.
// EPILOGUE: see epilogue.wgsl.

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

// Four values of x's row t from column c.
fn x_at(t: u32, c: u32) -> vec4<f32> {
    let i = t * params.k + c;
    return vec4<f32>(x[i], x[i + 1u], x[i + 2u], x[i + 3u]);
}

// Dot products of two weight rows' values wa and wb with four tokens' values at column c.
struct Dots {
    a: vec4<f32>,
    b: vec4<f32>,
}

fn tile_dots(wa: vec4<f32>, wb: vec4<f32>, ts: vec4<u32>, c: u32) -> Dots {
    let x0 = x_at(ts.x, c);
    let x1 = x_at(ts.y, c);
    let x2 = x_at(ts.z, c);
    let x3 = x_at(ts.w, c);
    return Dots(vec4<f32>(dot(wa, x0), dot(wa, x1), dot(wa, x2), dot(wa, x3)),
                vec4<f32>(dot(wb, x0), dot(wb, x1), dot(wb, x2), dot(wb, x3)));
}

// Weight row `row`'s dot products with the x rows of `ts` over the last k % 4 columns, which
// only plain-float rows have.
fn tail_dots(row: u32, ts: vec4<u32>) -> vec4<f32> {
    var sums = vec4<f32>(0.0);
    for (var c = params.k & ~3u; c < params.k; c++) {
        let wv = weight_at(row * params.k + c);
        sums += wv * vec4<f32>(x[ts.x * params.k + c], x[ts.y * params.k + c],
                               x[ts.z * params.k + c], x[ts.w * params.k + c]);
    }
    return sums;
}

// Stores the dot products of weight rows `row` and `row + 1` (`a` and `b`) for token t.
fn store(t: u32, row: u32, a: f32, b: f32) {
    if (t >= params.m) {
        return;
    }
    let cols = output_rows(params.n);
    if (EPILOGUE == 2u) {
        y[t * cols + row / 2u] = gated_product(a, b);
        return;
    }
    for (var r = 0u; r < 2u; r++) {
        if (row + r < params.n) {
            let at = t * cols + row + r;
            let total = select(a, b, r == 1u);
            if (EPILOGUE == 1u) {
                y[at] += total;
            } else {
                y[at] = total;
            }
        }
    }
}

@compute @workgroup_size(64)
fn matmul_rows(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let row = (wg.x * 64u + lid) * 2u;
    if (row >= params.n) {
        return;
    }
    // Tokens and rows past the end repeat the last one and are not stored: every lane and
    // every tile runs the same straight-line code, and the sums stay in registers.
    let t0 = wg.y * TOKENS;
    let last = params.m - 1u;
    let ta = min(vec4<u32>(t0) + vec4<u32>(0u, 1u, 2u, 3u), vec4<u32>(last));
    let tb = min(vec4<u32>(t0) + vec4<u32>(4u, 5u, 6u, 7u), vec4<u32>(last));
    let row_b = min(row + 1u, params.n - 1u);
    let base_a = row * params.k;
    let base_b = row_b * params.k;
    // Row a's sums for tokens ta, tb; row b's likewise.
    var aa = vec4<f32>(0.0);
    var ab = vec4<f32>(0.0);
    var ba = vec4<f32>(0.0);
    var bb = vec4<f32>(0.0);
    let k4 = params.k & ~3u;
    for (var c = 0u; c < k4; c += 4u) {
        let wa = weight4(base_a + c);
        let wb = weight4(base_b + c);
        let first = tile_dots(wa, wb, ta, c);
        aa += first.a;
        ba += first.b;
        let second = tile_dots(wa, wb, tb, c);
        ab += second.a;
        bb += second.b;
    }
    if (k4 < params.k) {
        aa += tail_dots(row, ta);
        ab += tail_dots(row, tb);
        ba += tail_dots(row_b, ta);
        bb += tail_dots(row_b, tb);
    }
    store(t0, row, aa.x, ba.x);
    store(t0 + 1u, row, aa.y, ba.y);
    store(t0 + 2u, row, aa.z, ba.z);
    store(t0 + 3u, row, aa.w, ba.w);
    store(t0 + 4u, row, ab.x, bb.x);
    store(t0 + 5u, row, ab.y, bb.y);
    store(t0 + 6u, row, ab.z, bb.z);
    store(t0 + 7u, row, ab.w, bb.w);
}
