// out[0] = the index of the largest of x[offset .. offset + n] (the first one on ties), so that
// greedy decoding reads back four bytes instead of the logits.

struct Params {
    n: u32,
    offset: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<u32>; // [1]
@group(0) @binding(2) var<uniform> params: Params;

const WG: u32 = 256u;
var<workgroup> best_val: array<f32, WG>;
var<workgroup> best_idx: array<u32, WG>;

@compute @workgroup_size(256)
fn argmax(@builtin(local_invocation_index) lid: u32) {
    var val = -3.4e38;
    var idx = 0xffffffffu;
    for (var i = lid; i < params.n; i += WG) {
        let v = x[params.offset + i];
        if (v > val || idx == 0xffffffffu) {
            val = v;
            idx = i;
        }
    }
    best_val[lid] = val;
    best_idx[lid] = idx;
    workgroupBarrier();
    for (var stride = WG / 2u; stride > 0u; stride >>= 1u) {
        if (lid < stride) {
            let ov = best_val[lid + stride];
            let oi = best_idx[lid + stride];
            if (oi != 0xffffffffu && (best_idx[lid] == 0xffffffffu || ov > best_val[lid]
                || (ov == best_val[lid] && oi < best_idx[lid]))) {
                best_val[lid] = ov;
                best_idx[lid] = oi;
            }
        }
        workgroupBarrier();
    }
    if (lid == 0u) {
        out[0] = best_idx[0];
    }
}
