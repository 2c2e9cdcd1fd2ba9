// Causal attention over the KV cache with grouped-query heads. A workgroup takes one
// (query token, head) and a slice of the keys it sees; its 64 invocations split that slice
// between them. Each scores its keys, the workgroup reduces the maximum and the sum of the
// exponentials, and then each invocation sums the probability-weighted values of its head
// dimensions. Probabilities pass through `scores`, a scratch row per (token, head) of which
// each workgroup writes and reads only its slice.
// With one slice (`splits` 1) the result is final. Few (token, head) pairs over a long context
// (decode) would leave most of a GPU idle, so the keys are split across `splits` workgroups
// (flash-decoding) and each writes its unnormalized sums with its maximum and exponential sum,
// [head_dim + 2] per (token, head, slice), for attention_combine.wgsl. The slices divide the
// keys the query sees (its window), so no workgroup scores keys that are masked anyway.
// out[t, h, :] = softmax_j(cap(scale * q[t, h, :] . k[j, g(h), :])) v[j, g(h), :] over keys
// p - window < j <= p (every j <= p with window 0), p = start_pos + t, with
// g(h) = h / (n_heads / n_kv_heads) and cap(s) = softcap * tanh(s / softcap) (s with softcap 0;
// soft_cap.wgsl, prepended).

struct Params {
    seq: u32,
    kv_len: u32, // start_pos + seq: the scratch row length
    n_heads: u32,
    n_kv_heads: u32,
    head_dim: u32,
    start_pos: u32,
    scale: f32,
    softcap: f32, // 0: none
    window: u32,  // 0: none
    splits: u32,
}

@group(0) @binding(0) var<storage, read> q: array<f32>;            // [seq, n_heads * head_dim]
@group(0) @binding(1) var<storage, read> k: array<f32>;            // [context, n_kv_heads * head_dim]
@group(0) @binding(2) var<storage, read> v: array<f32>;            // [context, n_kv_heads * head_dim]
@group(0) @binding(3) var<storage, read_write> scores: array<f32>; // [seq * n_heads, kv_len]
// [seq, n_heads * head_dim], or [seq * n_heads, splits, head_dim + 2] with splits > 1
@group(0) @binding(4) var<storage, read_write> out: array<f32>;
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
    let group = wg.y * groups.x + wg.x;
    let item = group / params.splits;
    let slice = group % params.splits;
    if (item >= params.seq * params.n_heads) {
        return;
    }
    let t = item / params.n_heads;
    let h = item % params.n_heads;
    // The keys this query sees, [seen_from, seen_end), and this workgroup's slice of them.
    let seen_end = params.start_pos + t + 1u;
    let seen_from = select(0u, seen_end - min(params.window, seen_end), params.window > 0u);
    let slice_len = (seen_end - seen_from + params.splits - 1u) / params.splits;
    let first = min(seen_from + slice * slice_len, seen_end);
    let end = min(first + slice_len, seen_end);
    let kv_stride = params.n_kv_heads * params.head_dim;
    let kv_base = (h / (params.n_heads / params.n_kv_heads)) * params.head_dim;
    let q_base = item * params.head_dim;
    let row = item * params.kv_len;

    var best = -3.4e38;
    for (var j = first + lid; j < end; j += WG) {
        let k_base = j * kv_stride + kv_base;
        var dot = 0.0;
        for (var d = 0u; d < params.head_dim; d++) {
            dot = fma(q[q_base + d], k[k_base + d], dot);
        }
        let score = soft_cap(dot * params.scale, params.softcap);
        scores[row + j] = score;
        best = max(best, score);
    }
    let top = reduce(best, lid, true);
    var sum = 0.0;
    for (var j = first + lid; j < end; j += WG) {
        let e = exp(scores[row + j] - top);
        scores[row + j] = e;
        sum += e;
    }
    let total = reduce(sum, lid, false);
    // Every invocation reads every probability of the slice below.
    storageBarrier();
    // A slice past a query's last key (one that sees fewer keys than there are slices) is
    // empty: its sums are 0, its maximum the lowest, and it weighs nothing in the combination.
    let split = params.splits > 1u;
    let out_base = select(q_base, (item * params.splits + slice) * (params.head_dim + 2u), split);
    let norm = select(1.0 / total, 1.0, split);
    for (var d = lid; d < params.head_dim; d += WG) {
        var acc = 0.0;
        for (var j = first; j < end; j++) {
            acc = fma(scores[row + j], v[j * kv_stride + kv_base + d], acc);
        }
        out[out_base + d] = acc * norm;
    }
    if (split && lid == 0u) {
        out[out_base + params.head_dim] = top;
        out[out_base + params.head_dim + 1u] = total;
    }
}
