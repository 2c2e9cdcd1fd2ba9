// Rotary position embedding, in place, for x viewed as [seq, n_heads, head_dim]: the first
// rotary_dim values of each head rotate, the rest stay. Token t sits at position start_pos + t;
// pairs and angles: rope_pair.wgsl. One invocation per rotated pair.

struct Params {
    seq: u32,
    n_heads: u32,
    head_dim: u32,
    start_pos: u32,
    interleaved: u32,
    rotary_dim: u32, // even, <= head_dim
}

@group(0) @binding(1) var<storage, read_write> x: array<f32>; // [seq, n_heads * head_dim]
@group(0) @binding(2) var<uniform> params: Params;

@compute @workgroup_size(256)
fn rope(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let pair = (wg.y * groups.x + wg.x) * 256u + lid;
    let half = params.rotary_dim / 2u;
    if (pair >= params.seq * params.n_heads * half) {
        return;
    }
    let t = pair / (params.n_heads * half);
    let head = (pair / half) % params.n_heads;
    let i = pair % half;
    let base = (t * params.n_heads + head) * params.head_dim;
    let at = base + pair_offsets(i, half, params.interleaved != 0u);
    let rotated = rotate_pair(x[at.x], x[at.y], params.start_pos + t, i, half);
    x[at.x] = rotated.x;
    x[at.y] = rotated.y;
}
