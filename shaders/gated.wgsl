// out = act(gate) * up, the gated MLP's activation, act chosen by ACTIVATION
// (nonlinearity.wgsl, prepended).

struct Params {
    n: u32,
}

@group(0) @binding(0) var<storage, read> gate: array<f32>;      // [n]
@group(0) @binding(1) var<storage, read> up: array<f32>;        // [n]
@group(0) @binding(2) var<storage, read_write> out: array<f32>; // [n]
@group(0) @binding(3) var<uniform> params: Params;

@compute @workgroup_size(256)
fn gated(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>,
         @builtin(local_invocation_index) lid: u32) {
    let idx = (wg.y * groups.x + wg.x) * 256u + lid;
    if (idx < params.n) {
        out[idx] = activate(gate[idx]) * up[idx];
    }
}
