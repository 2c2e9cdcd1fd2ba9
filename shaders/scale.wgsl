// x = x * factor, in place, then with softcap > 0 x = softcap * tanh(x / softcap) (soft_cap.wgsl,
// prepended): embedding multipliers, logit scaling, Gemma 2's final-logit soft cap.

struct Params {
    n: u32,
    factor: f32,
    softcap: f32,
}

@group(0) @binding(0) var<storage, read_write> x: array<f32>; // [n]
@group(0) @binding(1) var<uniform> params: Params;

@compute @workgroup_size(256)
fn scale(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>,
         @builtin(local_invocation_index) lid: u32) {
    let idx = (wg.y * groups.x + wg.x) * 256u + lid;
    if (idx < params.n) {
        x[idx] = soft_cap(x[idx] * params.factor, params.softcap);
    }
}
