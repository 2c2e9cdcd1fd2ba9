// a += b, elementwise (the residual connection), in place.

struct Params {
    n: u32,
}

@group(0) @binding(0) var<storage, read> b: array<f32>;       // [n]
@group(0) @binding(1) var<storage, read_write> a: array<f32>; // [n]
@group(0) @binding(2) var<uniform> params: Params;

@compute @workgroup_size(256)
fn add(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>,
       @builtin(local_invocation_index) lid: u32) {
    let idx = (wg.y * groups.x + wg.x) * 256u + lid;
    if (idx < params.n) {
        a[idx] += b[idx];
    }
}
