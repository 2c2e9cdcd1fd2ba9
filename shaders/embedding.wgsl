// out[t, c] = w[ids[t], c]: gathers one embedding row per token.

struct Params {
    seq: u32,
    hidden: u32,
    vocab: u32,
    ids_offset: u32,
}

@group(0) @binding(0) var<storage, read> ids: array<u32>;       // [ids_offset + seq]
@group(0) @binding(1) var<storage, read> w: array<u32>;         // [vocab, hidden], WEIGHT_DTYPE
@group(0) @binding(2) var<storage, read_write> out: array<f32>; // [seq, hidden]
@group(0) @binding(3) var<uniform> params: Params;

@compute @workgroup_size(256)
fn embedding(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>,
             @builtin(local_invocation_index) lid: u32) {
    let idx = (wg.y * groups.x + wg.x) * 256u + lid;
    if (idx >= params.seq * params.hidden) {
        return;
    }
    let t = idx / params.hidden;
    let c = idx % params.hidden;
    let token = min(ids[params.ids_offset + t], params.vocab - 1u);
    out[idx] = weight_at(token * params.hidden + c);
}
