// The CTRL repetition penalty, in place: for every distinct id already seen, a positive logit is
// divided by the penalty and a negative one multiplied by it.

struct Params {
    n_ids: u32,
    offset: u32,
    penalty: f32,
    ids_offset: u32,
}

@group(0) @binding(0) var<storage, read> ids: array<u32>;          // [ids_offset + n_ids], distinct
@group(0) @binding(1) var<storage, read_write> logits: array<f32>;
@group(0) @binding(2) var<uniform> params: Params;

@compute @workgroup_size(256)
fn repetition_penalty(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>,
                      @builtin(local_invocation_index) lid: u32) {
    let i = (wg.y * groups.x + wg.x) * 256u + lid;
    if (i >= params.n_ids) {
        return;
    }
    let at = params.offset + ids[params.ids_offset + i];
    let v = logits[at];
    logits[at] = select(v * params.penalty, v / params.penalty, v > 0.0);
}
