// x = act(x), in place, act chosen by ACTIVATION (nonlinearity.wgsl, prepended): SiLU, the
// exact GELU (BERT's `gelu`) or GELU's tanh approximation.

struct Params {
    n: u32,
}

@group(0) @binding(0) var<storage, read_write> x: array<f32>; // [n]
@group(0) @binding(1) var<uniform> params: Params;

@compute @workgroup_size(256)
fn activation(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>,
              @builtin(local_invocation_index) lid: u32) {
    let idx = (wg.y * groups.x + wg.x) * 256u + lid;
    if (idx < params.n) {
        x[idx] = activate(x[idx]);
    }
}
