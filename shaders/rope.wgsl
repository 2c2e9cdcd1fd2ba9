// Rotary position embedding, in place, for x viewed as [seq, n_heads, head_dim].
// Token t sits at position start_pos + t. Pair i of a head rotates by the angle whose cosine and
// sine are table[pos, i, 0..2] (computed once on the CPU, exactly as the reference does).
// Layouts: half-split pairs (i, i + head_dim/2), as Hugging Face checkpoints; interleaved pairs
// (2i, 2i + 1), as GGUF checkpoints.

struct Params {
    seq: u32,
    n_heads: u32,
    head_dim: u32,
    start_pos: u32,
    interleaved: u32,
}

@group(0) @binding(0) var<storage, read> table: array<f32>;   // [context, head_dim / 2, 2]
@group(0) @binding(1) var<storage, read_write> x: array<f32>; // [seq, n_heads * head_dim]
@group(0) @binding(2) var<uniform> params: Params;

@compute @workgroup_size(256)
fn rope(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let pair = (wg.y * groups.x + wg.x) * 256u + lid;
    let half = params.head_dim / 2u;
    if (pair >= params.seq * params.n_heads * half) {
        return;
    }
    let t = pair / (params.n_heads * half);
    let head = (pair / half) % params.n_heads;
    let i = pair % half;
    let base = (t * params.n_heads + head) * params.head_dim;
    var ia = base + i;
    var ib = base + i + half;
    if (params.interleaved != 0u) {
        ia = base + 2u * i;
        ib = ia + 1u;
    }
    let angle = ((params.start_pos + t) * half + i) * 2u;
    let c = table[angle];
    let s = table[angle + 1u];
    let a = x[ia];
    let b = x[ib];
    x[ia] = a * c - b * s;
    x[ib] = a * s + b * c;
}
