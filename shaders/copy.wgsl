// dst[dst_offset + i] = src[src_offset + i] for i < n: KV-cache writes and row slices.

struct Params {
    n: u32,
    src_offset: u32,
    dst_offset: u32,
}

@group(0) @binding(0) var<storage, read> src: array<f32>;
@group(0) @binding(1) var<storage, read_write> dst: array<f32>;
@group(0) @binding(2) var<uniform> params: Params;

@compute @workgroup_size(256)
fn copy(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let idx = (wg.y * groups.x + wg.x) * 256u + lid;
    if (idx < params.n) {
        dst[params.dst_offset + idx] = src[params.src_offset + idx];
    }
}
