// Causal attention over the KV cache with grouped-query heads, in one dispatch: one workgroup
// per (query token, head), whose 64 invocations split that query's keys between them
// (split-K within the workgroup). Each scores its keys, the workgroup reduces the maximum and
// the sum of the exponentials, and then each invocation sums the probability-weighted values of
// its head dimensions. Probabilities pass through `scores`, a scratch row per (token, head)
// written and read by its own workgroup only.
// out[t, h, :] = softmax_j(scale * q[t, h, :] . k[j, g(h), :]) v[j, g(h), :] over keys
// j <= start_pos + t, with g(h) = h / (n_heads / n_kv_heads).

struct Params {
    seq: u32,
    kv_len: u32, // start_pos + seq: the scratch row length
    n_heads: u32,
    n_kv_heads: u32,
    head_dim: u32,
    start_pos: u32,
    scale: f32,
}

@group(0) @binding(0) var<storage, read> q: array<f32>;            // [seq, n_heads * head_dim]
@group(0) @binding(1) var<storage, read> k: array<f32>;            // [context, n_kv_heads * head_dim]
@group(0) @binding(2) var<storage, read> v: array<f32>;            // [context, n_kv_heads * head_dim]
@group(0) @binding(3) var<storage, read_write> scores: array<f32>; // [seq * n_heads, kv_len]
@group(0) @binding(4) var<storage, read_write> out: array<f32>;    // [seq, n_heads * head_dim]
@group(0) @binding(5) var<uniform> params: Params;

const WG: u32 = 64u;
var<workgroup> partial: array<f32, WG>;

// The maximum (or the sum) of `value` over the workgroup, returned to every invocation.
fn reduce(value: f32, lid: u32, is_max: bool) -> f32 {
    partial[lid] = value;
    workgroupBarrier();
    for (var stride = WG / 2u; stride > 0u; stride >>= 1u) {
        if (lid < stride) {
            let other = partial[lid + stride];
            partial[lid] = select(partial[lid] + other, max(partial[lid], other), is_max);
        }
        workgroupBarrier();
    }
    let result = partial[0];
    workgroupBarrier();
    return result;
}

@compute @workgroup_size(64)
fn attention(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>,
             @builtin(local_invocation_index) lid: u32) {
    let item = wg.y * groups.x + wg.x;
    if (item >= params.seq * params.n_heads) {
        return;
    }
    let t = item / params.n_heads;
    let h = item % params.n_heads;
    let keys = params.start_pos + t + 1u;
    let kv_stride = params.n_kv_heads * params.head_dim;
    let kv_base = (h / (params.n_heads / params.n_kv_heads)) * params.head_dim;
    let q_base = item * params.head_dim;
    let row = item * params.kv_len;

    var best = -3.4e38;
    for (var j = lid; j < keys; j += WG) {
        let k_base = j * kv_stride + kv_base;
        var dot = 0.0;
        for (var d = 0u; d < params.head_dim; d++) {
            dot = fma(q[q_base + d], k[k_base + d], dot);
        }
        let score = dot * params.scale;
        scores[row + j] = score;
        best = max(best, score);
    }
    let top = reduce(best, lid, true);
    var sum = 0.0;
    for (var j = lid; j < keys; j += WG) {
        let e = exp(scores[row + j] - top);
        scores[row + j] = e;
        sum += e;
    }
    let inv = 1.0 / reduce(sum, lid, false);
    // Every invocation reads every probability below.
    storageBarrier();
    for (var d = lid; d < params.head_dim; d += WG) {
        var acc = 0.0;
        for (var j = 0u; j < keys; j++) {
            acc = fma(scores[row + j], v[j * kv_stride + kv_base + d], acc);
        }
        out[q_base + d] = acc * inv;
    }
}
