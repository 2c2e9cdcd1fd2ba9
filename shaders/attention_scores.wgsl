// Causal attention scores against the KV cache, with grouped-query heads:
// scores[h, t, j] = scale * q[t, h, :] . k[j, h / (n_heads / n_kv_heads), :] for keys j at or
// before the query's position start_pos + t, and a large negative number after it.

struct Params {
    seq: u32,
    kv_len: u32,
    n_heads: u32,
    n_kv_heads: u32,
    head_dim: u32,
    start_pos: u32,
    scale: f32,
}

@group(0) @binding(0) var<storage, read> q: array<f32>;            // [seq, n_heads * head_dim]
@group(0) @binding(1) var<storage, read> k: array<f32>;            // [context, n_kv_heads * head_dim]
@group(0) @binding(2) var<storage, read_write> scores: array<f32>; // [n_heads, seq, kv_len]
@group(0) @binding(3) var<uniform> params: Params;

@compute @workgroup_size(256)
fn attention_scores(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>,
                    @builtin(local_invocation_index) lid: u32) {
    let idx = (wg.y * groups.x + wg.x) * 256u + lid;
    if (idx >= params.n_heads * params.seq * params.kv_len) {
        return;
    }
    let j = idx % params.kv_len;
    let t = (idx / params.kv_len) % params.seq;
    let h = idx / (params.kv_len * params.seq);
    if (j > params.start_pos + t) {
        scores[idx] = -3.4e38;
        return;
    }
    let kv_head = h / (params.n_heads / params.n_kv_heads);
    let q_base = (t * params.n_heads + h) * params.head_dim;
    let k_base = (j * params.n_kv_heads + kv_head) * params.head_dim;
    var dot = 0.0;
    for (var d = 0u; d < params.head_dim; d++) {
        dot = fma(q[q_base + d], k[k_base + d], dot);
    }
    scores[idx] = dot * params.scale;
}
