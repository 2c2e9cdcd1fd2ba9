// The k largest of x[offset .. offset + n], in descending order (lower index first on ties):
// out[i] = index, out[k + i] = value bits. k rounds of a workgroup-wide argmax, each below the
// previous pick, so sampling reads back 8k bytes instead of the logits.

struct Params {
    n: u32,
    offset: u32,
    k: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<u32>; // [2 * k]
@group(0) @binding(2) var<uniform> params: Params;

const WG: u32 = 256u;
const NONE: u32 = 0xffffffffu;
var<workgroup> best_val: array<f32, WG>;
var<workgroup> best_idx: array<u32, WG>;

// Whether (va, ia) comes before (vb, ib): larger value first, then lower index.
fn before(va: f32, ia: u32, vb: f32, ib: u32) -> bool {
    if (ia == NONE) {
        return false;
    }
    if (ib == NONE) {
        return true;
    }
    return va > vb || (va == vb && ia < ib);
}

@compute @workgroup_size(256)
fn top_k(@builtin(local_invocation_index) lid: u32) {
    var prev_val = 3.4e38;
    var prev_idx = NONE;
    for (var round = 0u; round < params.k; round++) {
        var val = 0.0;
        var idx = NONE;
        for (var i = lid; i < params.n; i += WG) {
            let v = x[params.offset + i];
            // Only candidates strictly after the previous pick in the order.
            let after_prev = prev_idx == NONE || before(prev_val, prev_idx, v, i);
            if (after_prev && before(v, i, val, idx)) {
                val = v;
                idx = i;
            }
        }
        best_val[lid] = val;
        best_idx[lid] = idx;
        workgroupBarrier();
        for (var stride = WG / 2u; stride > 0u; stride >>= 1u) {
            if (lid < stride && before(best_val[lid + stride], best_idx[lid + stride],
                                       best_val[lid], best_idx[lid])) {
                best_val[lid] = best_val[lid + stride];
                best_idx[lid] = best_idx[lid + stride];
            }
            workgroupBarrier();
        }
        prev_val = best_val[0];
        prev_idx = best_idx[0];
        if (lid == 0u) {
            out[round] = prev_idx;
            out[params.k + round] = bitcast<u32>(prev_val);
        }
        workgroupBarrier();
    }
}
