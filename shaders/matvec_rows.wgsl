// y[n] = sum_k w[n, k] * x[k], for decode on adapters that are CPUs (lavapipe, SwiftShader):
// each invocation walks four whole weight rows. There a SIMD lane is an invocation, and the
// cooperative `matvec`'s workgroup reductions cost barriers that each switch every lane; on
// lavapipe this kernel is 2-4x faster than `matvec`. A block of x (8 vec4s) is read once for
// the four rows: on SwiftShader every load is a per-lane gather, even of one address, and x's
// loads were most of a Q4_0 block's. Activation buffers are sized in whole vec4s.
// GPUs use `matvec`, whose loads coalesce.
// EPILOGUE: see epilogue.wgsl.

struct Params {
    n: u32, // rows of w
    k: u32,
}

@group(0) @binding(0) var<storage, read> x: array<vec4<f32>>; // [k], padded to whole vec4s
@group(0) @binding(1) var<storage, read> w: array<u32>;       // [n, k], WEIGHT_DTYPE
@group(0) @binding(2) var<storage, read_write> y: array<f32>; // [n], or [n / 2] for EPILOGUE 2
@group(0) @binding(3) var<uniform> params: Params;

const ROWS: u32 = 4u;

// The four f16 values in words `at` and `at + 1`.
fn halves4(at: u32) -> vec4<f32> {
    return vec4<f32>(unpack2x16float(w[at]), unpack2x16float(w[at + 1u]));
}

// acc plus the products of the 32 weights from i (a multiple of 32) with xs, in element order.
// Q8_0 and Q4_0 blocks and f16 pairs decode from whole words: 6 to 10 loads a block instead of
// 16 to 24 through `weight4`, and every load is per lane here. xs is indexed by constants only,
// so it stays in registers.
fn block_dot(i: u32, xs: array<vec4<f32>, 8>, acc: vec4<f32>) -> vec4<f32> {
    var sum = acc;
    switch WEIGHT_DTYPE {
        case 1u: { // f16: two values a word
            let at = i >> 1u;
            sum = fma(halves4(at), xs[0], sum);
            sum = fma(halves4(at + 2u), xs[1], sum);
            sum = fma(halves4(at + 4u), xs[2], sum);
            sum = fma(halves4(at + 6u), xs[3], sum);
            sum = fma(halves4(at + 8u), xs[4], sum);
            sum = fma(halves4(at + 10u), xs[5], sum);
            sum = fma(halves4(at + 12u), xs[6], sum);
            sum = fma(halves4(at + 14u), xs[7], sum);
        }
        case 3u: { // Q8_0: d, 32 x i8 from a 2-byte-aligned offset
            let base = (i / 32u) * 34u;
            let d = w_half(base);
            let word = (base + 2u) >> 2u;
            let shift = ((base + 2u) & 3u) << 3u;
            let w0 = w[word];
            let w1 = w[word + 1u];
            let w2 = w[word + 2u];
            let w3 = w[word + 3u];
            let w4 = w[word + 4u];
            let w5 = w[word + 5u];
            let w6 = w[word + 6u];
            let w7 = w[word + 7u];
            let w8 = w[word + 8u];
            sum = fma(d * signed_bytes(funnel(w0, w1, shift)), xs[0], sum);
            sum = fma(d * signed_bytes(funnel(w1, w2, shift)), xs[1], sum);
            sum = fma(d * signed_bytes(funnel(w2, w3, shift)), xs[2], sum);
            sum = fma(d * signed_bytes(funnel(w3, w4, shift)), xs[3], sum);
            sum = fma(d * signed_bytes(funnel(w4, w5, shift)), xs[4], sum);
            sum = fma(d * signed_bytes(funnel(w5, w6, shift)), xs[5], sum);
            sum = fma(d * signed_bytes(funnel(w6, w7, shift)), xs[6], sum);
            sum = fma(d * signed_bytes(funnel(w7, w8, shift)), xs[7], sum);
        }
        case 4u: { // Q4_0: d, 16 bytes: low nibbles are elements 0..16, high ones 16..32
            let base = (i / 32u) * 18u;
            let d = w_half(base);
            let word = (base + 2u) >> 2u;
            let shift = ((base + 2u) & 3u) << 3u;
            let w0 = w[word];
            let w1 = w[word + 1u];
            let w2 = w[word + 2u];
            let w3 = w[word + 3u];
            let w4 = w[word + 4u];
            let q0 = funnel(w0, w1, shift);
            let q1 = funnel(w1, w2, shift);
            let q2 = funnel(w2, w3, shift);
            let q3 = funnel(w3, w4, shift);
            let low = 0x0f0f0f0fu;
            sum = fma(d * (unsigned_bytes(q0 & low) - 8.0), xs[0], sum);
            sum = fma(d * (unsigned_bytes(q1 & low) - 8.0), xs[1], sum);
            sum = fma(d * (unsigned_bytes(q2 & low) - 8.0), xs[2], sum);
            sum = fma(d * (unsigned_bytes(q3 & low) - 8.0), xs[3], sum);
            sum = fma(d * (unsigned_bytes((q0 >> 4u) & low) - 8.0), xs[4], sum);
            sum = fma(d * (unsigned_bytes((q1 >> 4u) & low) - 8.0), xs[5], sum);
            sum = fma(d * (unsigned_bytes((q2 >> 4u) & low) - 8.0), xs[6], sum);
            sum = fma(d * (unsigned_bytes((q3 >> 4u) & low) - 8.0), xs[7], sum);
        }
        default: {
            sum = fma(weight4(i), xs[0], sum);
            sum = fma(weight4(i + 4u), xs[1], sum);
            sum = fma(weight4(i + 8u), xs[2], sum);
            sum = fma(weight4(i + 12u), xs[3], sum);
            sum = fma(weight4(i + 16u), xs[4], sum);
            sum = fma(weight4(i + 20u), xs[5], sum);
            sum = fma(weight4(i + 24u), xs[6], sum);
            sum = fma(weight4(i + 28u), xs[7], sum);
        }
    }
    return sum;
}

fn lane_sum(v: vec4<f32>) -> f32 {
    return (v.x + v.y) + (v.z + v.w);
}

// Rows whose length is not a multiple of 32, four values at a time.
fn row_dot(row: u32) -> f32 {
    let base = row * params.k;
    let k4 = params.k & ~3u;
    var sum = vec4<f32>(0.0);
    for (var c = 0u; c < k4; c += 4u) {
        sum = fma(weight4(base + c), x[c / 4u], sum);
    }
    var total = lane_sum(sum);
    // Plain-float rows of a length that is not a multiple of 4.
    for (var c = k4; c < params.k; c++) {
        total = fma(weight_at(base + c), x[c / 4u][c % 4u], total);
    }
    return total;
}

@compute @workgroup_size(64)
fn matvec_rows(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>,
               @builtin(local_invocation_index) lid: u32) {
    let first = ((wg.y * groups.x + wg.x) * 64u + lid) * ROWS;
    if (first >= params.n) {
        return;
    }
    // Rows past the end repeat the last one and are not stored.
    let last = params.n - 1u;
    let r1 = min(first + 1u, last);
    let r2 = min(first + 2u, last);
    let r3 = min(first + 3u, last);
    var totals: vec4<f32>;
    if (params.k % 32u == 0u) {
        let k = params.k;
        var s0 = vec4<f32>(0.0);
        var s1 = vec4<f32>(0.0);
        var s2 = vec4<f32>(0.0);
        var s3 = vec4<f32>(0.0);
        for (var c = 0u; c < k; c += 32u) {
            let at = c / 4u;
            let xs = array<vec4<f32>, 8>(x[at], x[at + 1u], x[at + 2u], x[at + 3u],
                                         x[at + 4u], x[at + 5u], x[at + 6u], x[at + 7u]);
            s0 = block_dot(first * k + c, xs, s0);
            s1 = block_dot(r1 * k + c, xs, s1);
            s2 = block_dot(r2 * k + c, xs, s2);
            s3 = block_dot(r3 * k + c, xs, s3);
        }
        totals = vec4<f32>(lane_sum(s0), lane_sum(s1), lane_sum(s2), lane_sum(s3));
    } else {
        totals = vec4<f32>(row_dot(first), row_dot(r1), row_dot(r2), row_dot(r3));
    }
    if (EPILOGUE == 2u) {
        y[first / 2u] = gated_product(totals.x, totals.y);
        if (first + 2u < params.n) {
            y[first / 2u + 1u] = gated_product(totals.z, totals.w);
        }
        return;
    }
    for (var r = 0u; r < ROWS; r++) {
        if (first + r < params.n) {
            if (EPILOGUE == 1u) {
                y[first + r] += totals[r];
            } else {
                y[first + r] = totals[r];
            }
        }
    }
}
