// Combines attention.wgsl's key slices of each (query token, head): with m_s the maximum score
// of slice s, l_s its sum of exponentials and a_s its unnormalized weighted values,
// out = sum_s exp(m_s - m) a_s / sum_s exp(m_s - m) l_s, m the largest m_s.

struct Params {
    items: u32, // seq * n_heads
    head_dim: u32,
    splits: u32,
}

@group(0) @binding(0) var<storage, read> partials: array<f32>;  // [items, splits, head_dim + 2]
@group(0) @binding(1) var<storage, read_write> out: array<f32>; // [items, head_dim]
@group(0) @binding(2) var<uniform> params: Params;

@compute @workgroup_size(64)
fn attention_combine(@builtin(workgroup_id) wg: vec3<u32>,
                     @builtin(num_workgroups) groups: vec3<u32>,
                     @builtin(local_invocation_index) lid: u32) {
    let item = wg.y * groups.x + wg.x;
    if (item >= params.items) {
        return;
    }
    let stride = params.head_dim + 2u;
    let base = item * params.splits * stride;
    var top = -3.4e38;
    for (var s = 0u; s < params.splits; s++) {
        top = max(top, partials[base + s * stride + params.head_dim]);
    }
    var total = 0.0;
    for (var s = 0u; s < params.splits; s++) {
        let slice = base + s * stride;
        total += exp(partials[slice + params.head_dim] - top) * partials[slice + params.head_dim + 1u];
    }
    for (var d = lid; d < params.head_dim; d += 64u) {
        var acc = 0.0;
        for (var s = 0u; s < params.splits; s++) {
            let slice = base + s * stride;
            acc = fma(exp(partials[slice + params.head_dim] - top), partials[slice + d], acc);
        }
        out[item * params.head_dim + d] = acc / total;
    }
}
