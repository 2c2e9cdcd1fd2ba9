// Shared by matvec and matvec_subgroup (decode, one token): y[n] = sum_k w[n, k] * x[k] with
// 8 rows per workgroup of 256 invocations, 32 per row. The two differ only in how a row's 32
// partial sums are added.

struct Params {
    n: u32,
    k: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;       // [k]
@group(0) @binding(1) var<storage, read> w: array<u32>;       // [n, k], WEIGHT_DTYPE
@group(0) @binding(2) var<storage, read_write> y: array<f32>; // [n], or [n / 2] for EPILOGUE 2
@group(0) @binding(3) var<uniform> params: Params;

const LANES: u32 = 32u;
const ROWS: u32 = 8u;

// Lane `lane`'s share of row `row`'s dot product: it strides through k four values at a time
// (a quantized block's values share their scales).
fn row_partial(row: u32, lane: u32) -> f32 {
    var sum = 0.0;
    if (row >= params.n) {
        return sum;
    }
    let base = row * params.k;
    let k4 = params.k & ~3u;
    for (var c = lane * 4u; c < k4; c += LANES * 4u) {
        let xs = vec4<f32>(x[c], x[c + 1u], x[c + 2u], x[c + 3u]);
        sum += dot(weight4(base + c), xs);
    }
    // Plain-float rows of a length that is not a multiple of 4.
    for (var c = k4 + lane; c < params.k; c += LANES) {
        sum = fma(weight_at(base + c), x[c], sum);
    }
    return sum;
}

// Writes row `row`'s total (`up`, the next row's, for the gated epilogue's gate rows).
fn store_row(row: u32, total: f32, up: f32) {
    if (EPILOGUE == 2u) {
        // Even rows are gates; the up row is the next one.
        if (row % 2u == 0u) {
            y[row / 2u] = gated_product(total, up);
        }
    } else if (EPILOGUE == 1u) {
        y[row] += total;
    } else {
        y[row] = total;
    }
}
