// y[n] = sum_k w[n, k] * x[k], for decode (one token). Each workgroup computes 8 rows with 32
// threads per row; the threads of a row stride through k four values at a time (a quantized
// block's values share their scales) and reduce in workgroup memory. EPILOGUE: see
// epilogue.wgsl; for the gated MLP a workgroup's 8 rows are 4 (gate, up) pairs.

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
var<workgroup> partial: array<f32, 256>;

@compute @workgroup_size(256)
fn matvec(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>,
          @builtin(local_invocation_index) lid: u32) {
    let lane = lid % LANES;
    let row = (wg.y * groups.x + wg.x) * ROWS + lid / LANES;
    var sum = 0.0;
    if (row < params.n) {
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
    }
    partial[lid] = sum;
    workgroupBarrier();
    for (var stride = LANES / 2u; stride > 0u; stride >>= 1u) {
        if (lane < stride) {
            partial[lid] += partial[lid + stride];
        }
        workgroupBarrier();
    }
    if (lane != 0u || row >= params.n) {
        return;
    }
    if (EPILOGUE == 2u) {
        // Even rows are gates; the up row's sum is the next row's, reduced above.
        if (row % 2u == 0u) {
            y[row / 2u] = gated_product(partial[lid], partial[lid + LANES]);
        }
    } else if (EPILOGUE == 1u) {
        y[row] += partial[lid];
    } else {
        y[row] = partial[lid];
    }
}
