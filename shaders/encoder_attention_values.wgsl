// out[b * seq + t, h, d] = sum_j probs[b, h, t, j] * v[b * seq + j, h, d] over the keys j below
// the sequence's length (padding keys have probability zero and are skipped).

struct Params {
    batch: u32,
    seq: u32,
    n_heads: u32,
    head_dim: u32,
    lengths_offset: u32,
}

@group(0) @binding(0) var<storage, read> lengths: array<u32>;   // [lengths_offset + batch]
@group(0) @binding(1) var<storage, read> probs: array<f32>;     // [batch, n_heads, seq, seq]
@group(0) @binding(2) var<storage, read> v: array<f32>;         // [batch * seq, n_heads * head_dim]
@group(0) @binding(3) var<storage, read_write> out: array<f32>; // [batch * seq, n_heads * head_dim]
@group(0) @binding(4) var<uniform> params: Params;

@compute @workgroup_size(256)
fn encoder_attention_values(@builtin(workgroup_id) wg: vec3<u32>,
                            @builtin(num_workgroups) groups: vec3<u32>,
                            @builtin(local_invocation_index) lid: u32) {
    let idx = (wg.y * groups.x + wg.x) * 256u + lid;
    let seq = params.seq;
    let width = params.n_heads * params.head_dim;
    if (idx >= params.batch * seq * width) {
        return;
    }
    let c = idx % width;
    let h = c / params.head_dim;
    let row = idx / width;
    let t = row % seq;
    let b = row / seq;
    let p_base = ((b * params.n_heads + h) * seq + t) * seq;
    let len = lengths[params.lengths_offset + b];
    var acc = 0.0;
    for (var j = 0u; j < len; j++) {
        acc = fma(probs[p_base + j], v[(b * seq + j) * width + c], acc);
    }
    out[idx] = acc;
}
