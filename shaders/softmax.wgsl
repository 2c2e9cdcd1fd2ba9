// Softmax over each row, in place: one workgroup per row.

struct Params {
    rows: u32,
    cols: u32,
}

@group(0) @binding(0) var<storage, read_write> x: array<f32>; // [rows, cols]
@group(0) @binding(1) var<uniform> params: Params;

const WG: u32 = 256u;
var<workgroup> partial: array<f32, WG>;

@compute @workgroup_size(256)
fn softmax(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>,
           @builtin(local_invocation_index) lid: u32) {
    let row = wg.y * groups.x + wg.x;
    if (row >= params.rows) {
        return;
    }
    let base = row * params.cols;
    var best = -3.4e38;
    for (var c = lid; c < params.cols; c += WG) {
        best = max(best, x[base + c]);
    }
    partial[lid] = best;
    workgroupBarrier();
    for (var stride = WG / 2u; stride > 0u; stride >>= 1u) {
        if (lid < stride) {
            partial[lid] = max(partial[lid], partial[lid + stride]);
        }
        workgroupBarrier();
    }
    let row_max = partial[0];
    workgroupBarrier();
    var sum = 0.0;
    for (var c = lid; c < params.cols; c += WG) {
        let e = exp(x[base + c] - row_max);
        x[base + c] = e;
        sum += e;
    }
    partial[lid] = sum;
    workgroupBarrier();
    for (var stride = WG / 2u; stride > 0u; stride >>= 1u) {
        if (lid < stride) {
            partial[lid] += partial[lid + stride];
        }
        workgroupBarrier();
    }
    let inv = 1.0 / partial[0];
    for (var c = lid; c < params.cols; c += WG) {
        x[base + c] *= inv;
    }
}
