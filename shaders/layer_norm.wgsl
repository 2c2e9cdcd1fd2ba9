// out[r, :] = (x[r, :] - mean) / sqrt(var + eps) * w, with the biased variance computed from the
// centered values (two passes, as PyTorch does): one workgroup per row. The bias is added by
// `bias_add` (each weight binding has its own dtype).

struct Params {
    rows: u32,
    cols: u32,
    eps: f32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;         // [rows, cols]
@group(0) @binding(1) var<storage, read> w: array<u32>;         // [cols], WEIGHT_DTYPE
@group(0) @binding(2) var<storage, read_write> out: array<f32>; // [rows, cols]
@group(0) @binding(3) var<uniform> params: Params;

const WG: u32 = 256u;
var<workgroup> partial: array<f32, WG>;

// Sum of `partial` over the workgroup; every thread gets the result.
fn reduce_sum(lid: u32) -> f32 {
    workgroupBarrier();
    for (var stride = WG / 2u; stride > 0u; stride >>= 1u) {
        if (lid < stride) {
            partial[lid] += partial[lid + stride];
        }
        workgroupBarrier();
    }
    let total = partial[0];
    workgroupBarrier();
    return total;
}

@compute @workgroup_size(256)
fn layer_norm(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>,
              @builtin(local_invocation_index) lid: u32) {
    let row = wg.y * groups.x + wg.x;
    // Uniform control flow: every thread of a workgroup takes the same branch.
    if (row >= params.rows) {
        return;
    }
    let base = row * params.cols;
    var sum = 0.0;
    for (var c = lid; c < params.cols; c += WG) {
        sum += x[base + c];
    }
    partial[lid] = sum;
    let mean = reduce_sum(lid) / f32(params.cols);
    var squares = 0.0;
    for (var c = lid; c < params.cols; c += WG) {
        let d = x[base + c] - mean;
        squares += d * d;
    }
    partial[lid] = squares;
    let scale = inverseSqrt(reduce_sum(lid) / f32(params.cols) + params.eps);
    for (var c = lid; c < params.cols; c += WG) {
        out[base + c] = (x[base + c] - mean) * scale * weight_at(c);
    }
}
