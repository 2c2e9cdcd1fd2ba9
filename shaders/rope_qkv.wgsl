// The step between a fused q/k/v projection and attention, in one dispatch: splits each token's
// row of qkv = [q | k | v] (widths n_heads, n_kv_heads, n_kv_heads times head_dim), rotates q
// and k by the position embedding (rope_pair.wgsl, as `rope`), writes q out and k, v into the KV cache
// at the token's position. One invocation per pair of values of a q or k head (rotated for the
// first rotary_dim / 2 pairs, copied for the rest), or per value of v.

struct Params {
    seq: u32,
    n_heads: u32,
    n_kv_heads: u32,
    head_dim: u32,
    start_pos: u32,
    interleaved: u32,
    rotary_dim: u32, // even, <= head_dim
}

@group(0) @binding(1) var<storage, read> qkv: array<f32>;          // [seq, q_dim + 2 * kv_dim]
@group(0) @binding(2) var<storage, read_write> q: array<f32>;      // [seq, q_dim]
@group(0) @binding(3) var<storage, read_write> keys: array<f32>;   // [context, kv_dim]
@group(0) @binding(4) var<storage, read_write> values: array<f32>; // [context, kv_dim]
@group(0) @binding(5) var<uniform> params: Params;

@compute @workgroup_size(256)
fn rope_qkv(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>,
            @builtin(local_invocation_index) lid: u32) {
    let idx = (wg.y * groups.x + wg.x) * 256u + lid;
    let half = params.head_dim / 2u; // pairs per head
    let rotary_half = params.rotary_dim / 2u; // rotated pairs per head
    let q_dim = params.n_heads * params.head_dim;
    let kv_dim = params.n_kv_heads * params.head_dim;
    let q_pairs = params.n_heads * half;
    let qk_pairs = q_pairs + params.n_kv_heads * half;
    let per_token = qk_pairs + kv_dim;
    if (idx >= params.seq * per_token) {
        return;
    }
    let t = idx / per_token;
    let pos = params.start_pos + t;
    let row = t * (q_dim + 2u * kv_dim);
    var j = idx % per_token;
    if (j >= qk_pairs) {
        let e = j - qk_pairs;
        values[pos * kv_dim + e] = qkv[row + q_dim + kv_dim + e];
        return;
    }
    let is_key = j >= q_pairs;
    if (is_key) {
        j -= q_pairs;
    }
    let head = j / half;
    let i = j % half;
    let src = row + select(0u, q_dim, is_key) + head * params.head_dim;
    var at: vec2<u32>;
    var turned: vec2<f32>;
    if (i < rotary_half) {
        at = pair_offsets(i, rotary_half, params.interleaved != 0u);
        turned = rotate_pair(qkv[src + at.x], qkv[src + at.y], pos, i, rotary_half);
    } else {
        // Past the rotary dimensions: the pair passes through.
        at = vec2<u32>(2u * i, 2u * i + 1u);
        turned = vec2<f32>(qkv[src + at.x], qkv[src + at.y]);
    }
    if (is_key) {
        let dst = pos * kv_dim + head * params.head_dim + at;
        keys[dst.x] = turned.x;
        keys[dst.y] = turned.y;
    } else {
        let dst = t * q_dim + head * params.head_dim + at;
        q[dst.x] = turned.x;
        q[dst.y] = turned.y;
    }
}
