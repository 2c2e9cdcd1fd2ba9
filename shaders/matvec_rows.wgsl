// y[n] = sum_k w[n, k] * x[k], for decode on adapters that are CPUs (lavapipe, SwiftShader):
// one invocation per row, walking its row four values at a time. There a SIMD lane is an
// invocation, and the cooperative `matvec`'s workgroup reductions cost barriers that each switch
// every lane; on lavapipe this kernel is 2-4x faster than `matvec`. x is read as vec4s (one load
// for four values, 1.3x faster again there); activation buffers are sized in whole vec4s.
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

// acc plus the products of the 32 weights from i (a multiple of 32) with x[x4..x4 + 8], in
// element order. Q8_0 and Q4_0 blocks and f16 pairs decode from whole words: 6 to 10 loads a
// block instead of 16 to 24 through `weight4`, and every load is per lane here.
fn block_dot(i: u32, x4: u32, acc: vec4<f32>) -> vec4<f32> {
    var sum = acc;
    switch WEIGHT_DTYPE {
        case 1u: { // f16: two values a word
            for (var j = 0u; j < 8u; j++) {
                let at = (i >> 1u) + 2u * j;
                let wv = vec4<f32>(unpack2x16float(w[at]), unpack2x16float(w[at + 1u]));
                sum = fma(wv, x[x4 + j], sum);
            }
        }
        case 3u: { // Q8_0: d, 32 x i8 from a 2-byte-aligned offset
            let base = (i / 32u) * 34u;
            let d = w_half(base);
            let word = (base + 2u) >> 2u;
            let shift = ((base + 2u) & 3u) << 3u;
            for (var j = 0u; j < 8u; j++) {
                let q = funnel(w[word + j], w[word + j + 1u], shift);
                sum = fma(d * signed_bytes(q), x[x4 + j], sum);
            }
        }
        case 4u: { // Q4_0: d, 16 bytes: low nibbles are elements 0..16, high ones 16..32
            let base = (i / 32u) * 18u;
            let d = w_half(base);
            let word = (base + 2u) >> 2u;
            let shift = ((base + 2u) & 3u) << 3u;
            let q0 = funnel(w[word], w[word + 1u], shift);
            let q1 = funnel(w[word + 1u], w[word + 2u], shift);
            let q2 = funnel(w[word + 2u], w[word + 3u], shift);
            let q3 = funnel(w[word + 3u], w[word + 4u], shift);
            let low = 0x0f0f0f0fu;
            sum = fma(d * (unsigned_bytes(q0 & low) - 8.0), x[x4], sum);
            sum = fma(d * (unsigned_bytes(q1 & low) - 8.0), x[x4 + 1u], sum);
            sum = fma(d * (unsigned_bytes(q2 & low) - 8.0), x[x4 + 2u], sum);
            sum = fma(d * (unsigned_bytes(q3 & low) - 8.0), x[x4 + 3u], sum);
            sum = fma(d * (unsigned_bytes((q0 >> 4u) & low) - 8.0), x[x4 + 4u], sum);
            sum = fma(d * (unsigned_bytes((q1 >> 4u) & low) - 8.0), x[x4 + 5u], sum);
            sum = fma(d * (unsigned_bytes((q2 >> 4u) & low) - 8.0), x[x4 + 6u], sum);
            sum = fma(d * (unsigned_bytes((q3 >> 4u) & low) - 8.0), x[x4 + 7u], sum);
        }
        default: {
            for (var j = 0u; j < 8u; j++) {
                sum = fma(weight4(i + 4u * j), x[x4 + j], sum);
            }
        }
    }
    return sum;
}

fn row_dot(row: u32) -> f32 {
    let base = row * params.k;
    let k4 = params.k & ~3u;
    var sum = vec4<f32>(0.0);
    var c = 0u;
    // Rows of whole 32-value blocks (every quantized row) decode a block at a time.
    if (params.k % 32u == 0u) {
        for (; c < params.k; c += 32u) {
            sum = block_dot(base + c, c / 4u, sum);
        }
    }
    for (; c < k4; c += 4u) {
        sum = fma(weight4(base + c), x[c / 4u], sum);
    }
    var total = (sum.x + sum.y) + (sum.z + sum.w);
    // Plain-float rows of a length that is not a multiple of 4.
    for (var c = k4; c < params.k; c++) {
        total = fma(weight_at(base + c), x[c / 4u][c % 4u], total);
    }
    return total;
}

@compute @workgroup_size(64)
fn matvec_rows(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>,
               @builtin(local_invocation_index) lid: u32) {
    let out = (wg.y * groups.x + wg.x) * 64u + lid;
    if (out >= output_rows(params.n)) {
        return;
    }
    if (EPILOGUE == 2u) {
        y[out] = gated_product(row_dot(2u * out), row_dot(2u * out + 1u));
    } else if (EPILOGUE == 1u) {
        y[out] += row_dot(out);
    } else {
        y[out] = row_dot(out);
    }
}
