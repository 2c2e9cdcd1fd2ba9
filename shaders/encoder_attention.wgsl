// Bidirectional attention over a padded batch, fused: one thread per (sequence, head, query)
// row runs an online softmax over the keys below its sequence's length and accumulates the
// weighted values, so no [seq, seq] score matrix is stored and padding keys are never read:
// out[b * seq + t, h, :] = sum_j softmax_j(scale * q[b * seq + t, h, :] . k[b * seq + j, h, :])
//                          * v[b * seq + j, h, :] over j < lengths[b].

struct Params {
    batch: u32,
    seq: u32,
    n_heads: u32,
    head_dim: u32,
    lengths_offset: u32,
    scale: f32,
}

@group(0) @binding(0) var<storage, read> lengths: array<u32>;   // [lengths_offset + batch]
@group(0) @binding(1) var<storage, read> q: array<f32>;         // [batch * seq, n_heads * head_dim]
@group(0) @binding(2) var<storage, read> k: array<f32>;         // [batch * seq, n_heads * head_dim]
@group(0) @binding(3) var<storage, read> v: array<f32>;         // [batch * seq, n_heads * head_dim]
@group(0) @binding(4) var<storage, read_write> out: array<f32>; // [batch * seq, n_heads * head_dim]
@group(0) @binding(5) var<uniform> params: Params;

// Largest head_dim the private accumulator holds (BERT models use 32 to 128).
const MAX_HEAD_DIM: u32 = 128u;

@compute @workgroup_size(64)
fn encoder_attention(@builtin(workgroup_id) wg: vec3<u32>,
                     @builtin(num_workgroups) groups: vec3<u32>,
                     @builtin(local_invocation_index) lid: u32) {
    let idx = (wg.y * groups.x + wg.x) * 64u + lid;
    let seq = params.seq;
    if (idx >= params.batch * params.n_heads * seq) {
        return;
    }
    // Neighbouring threads take neighbouring queries of one head: they read the same keys.
    let t = idx % seq;
    let h = (idx / seq) % params.n_heads;
    let b = idx / (seq * params.n_heads);
    let hd = params.head_dim;
    let width = params.n_heads * hd;
    let q_base = (b * seq + t) * width + h * hd;
    let len = lengths[params.lengths_offset + b];
    var acc: array<f32, MAX_HEAD_DIM>;
    for (var d = 0u; d < hd; d++) {
        acc[d] = 0.0;
    }
    var row_max = -3.4e38;
    var sum = 0.0;
    for (var j = 0u; j < len; j++) {
        let kv_base = (b * seq + j) * width + h * hd;
        var dot = 0.0;
        for (var d = 0u; d < hd; d++) {
            dot = fma(q[q_base + d], k[kv_base + d], dot);
        }
        let score = dot * params.scale;
        let new_max = max(row_max, score);
        let rescale = exp(row_max - new_max);
        let p = exp(score - new_max);
        sum = fma(sum, rescale, p);
        for (var d = 0u; d < hd; d++) {
            acc[d] = fma(acc[d], rescale, p * v[kv_base + d]);
        }
        row_max = new_max;
    }
    let inv = 1.0 / sum;
    for (var d = 0u; d < hd; d++) {
        out[q_base + d] = acc[d] * inv;
    }
}
