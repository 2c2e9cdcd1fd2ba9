// out[t, h, d] = sum_j probs[h, t, j] * v[j, h / (n_heads / n_kv_heads), d] over the keys that
// query t may see (probabilities of later keys are zero and skipped).

struct Params {
    seq: u32,
    kv_len: u32,
    n_heads: u32,
    n_kv_heads: u32,
    head_dim: u32,
    start_pos: u32,
}

@group(0) @binding(0) var<storage, read> probs: array<f32>;     // [n_heads, seq, kv_len]
@group(0) @binding(1) var<storage, read> v: array<f32>;         // [context, n_kv_heads * head_dim]
@group(0) @binding(2) var<storage, read_write> out: array<f32>; // [seq, n_heads * head_dim]
@group(0) @binding(3) var<uniform> params: Params;

@compute @workgroup_size(256)
fn attention_values(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>,
                    @builtin(local_invocation_index) lid: u32) {
    let idx = (wg.y * groups.x + wg.x) * 256u + lid;
    if (idx >= params.seq * params.n_heads * params.head_dim) {
        return;
    }
    let d = idx % params.head_dim;
    let h = (idx / params.head_dim) % params.n_heads;
    let t = idx / (params.head_dim * params.n_heads);
    let kv_head = h / (params.n_heads / params.n_kv_heads);
    let p_base = (h * params.seq + t) * params.kv_len;
    let visible = min(params.start_pos + t + 1u, params.kv_len);
    var acc = 0.0;
    for (var j = 0u; j < visible; j++) {
        acc = fma(probs[p_base + j], v[(j * params.n_kv_heads + kv_head) * params.head_dim + d], acc);
    }
    out[idx] = acc;
}
