// Bidirectional attention scores over a padded batch:
// scores[b, h, t, j] = scale * q[b * seq + t, h, :] . k[b * seq + j, h, :] for keys j below the
// sequence's length, and a large negative number (zero after the softmax) for padding keys.

struct Params {
    batch: u32,
    seq: u32,
    n_heads: u32,
    head_dim: u32,
    lengths_offset: u32,
    scale: f32,
}

@group(0) @binding(0) var<storage, read> lengths: array<u32>;      // [lengths_offset + batch]
@group(0) @binding(1) var<storage, read> q: array<f32>;            // [batch * seq, n_heads * head_dim]
@group(0) @binding(2) var<storage, read> k: array<f32>;            // [batch * seq, n_heads * head_dim]
@group(0) @binding(3) var<storage, read_write> scores: array<f32>; // [batch, n_heads, seq, seq]
@group(0) @binding(4) var<uniform> params: Params;

@compute @workgroup_size(256)
fn encoder_attention_scores(@builtin(workgroup_id) wg: vec3<u32>,
                            @builtin(num_workgroups) groups: vec3<u32>,
                            @builtin(local_invocation_index) lid: u32) {
    let idx = (wg.y * groups.x + wg.x) * 256u + lid;
    let seq = params.seq;
    if (idx >= params.batch * params.n_heads * seq * seq) {
        return;
    }
    let j = idx % seq;
    let t = (idx / seq) % seq;
    let h = (idx / (seq * seq)) % params.n_heads;
    let b = idx / (seq * seq * params.n_heads);
    if (j >= lengths[params.lengths_offset + b]) {
        scores[idx] = -3.4e38;
        return;
    }
    let width = params.n_heads * params.head_dim;
    let q_base = (b * seq + t) * width + h * params.head_dim;
    let k_base = (b * seq + j) * width + h * params.head_dim;
    var dot = 0.0;
    for (var d = 0u; d < params.head_dim; d++) {
        dot = fma(q[q_base + d], k[k_base + d], dot);
    }
    scores[idx] = dot * params.scale;
}
