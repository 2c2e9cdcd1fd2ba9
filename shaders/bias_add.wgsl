// x[r, c] += w[c]: adds a bias row to every row, in place.

struct Params {
    rows: u32,
    cols: u32,
}

@group(0) @binding(0) var<storage, read> w: array<u32>;       // [cols], WEIGHT_DTYPE
@group(0) @binding(1) var<storage, read_write> x: array<f32>; // [rows, cols]
@group(0) @binding(2) var<uniform> params: Params;

@compute @workgroup_size(256)
fn bias_add(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>,
            @builtin(local_invocation_index) lid: u32) {
    let idx = (wg.y * groups.x + wg.x) * 256u + lid;
    if (idx >= params.rows * params.cols) {
        return;
    }
    x[idx] += weight_at(idx % params.cols);
}
