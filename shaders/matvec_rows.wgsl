// y[n] = sum_k w[n, k] * x[k], for decode on adapters that are CPUs (lavapipe, SwiftShader):
// one invocation per row, walking its row four values at a time. There a SIMD lane is an
// invocation, and the cooperative `matvec`'s workgroup reductions cost barriers that each switch
// every lane; on lavapipe this kernel is 2-4x faster than `matvec`. x is read as vec4s (one load
// for four values, 1.3x faster again there); activation buffers are sized in whole vec4s.
// GPUs use `matvec`, whose loads coalesce.
// EPILOGUE: see epilogue.wgsl.

struct Params {
    n: u32, // rows of w
    k: u32,
}

@group(0) @binding(0) var<storage, read> x: array<vec4<f32>>; // [k], padded to whole vec4s
@group(0) @binding(1) var<storage, read> w: array<u32>;       // [n, k], WEIGHT_DTYPE
@group(0) @binding(2) var<storage, read_write> y: array<f32>; // [n], or [n / 2] for EPILOGUE 2
@group(0) @binding(3) var<uniform> params: Params;

fn row_dot(row: u32) -> f32 {
    let base = row * params.k;
    let k4 = params.k & ~3u;
    var sum = vec4<f32>(0.0);
    for (var c = 0u; c < k4; c += 4u) {
        sum = fma(weight4(base + c), x[c / 4u], sum);
    }
    var total = (sum.x + sum.y) + (sum.z + sum.w);
    // Plain-float rows of a length that is not a multiple of 4.
    for (var c = k4; c < params.k; c++) {
        total = fma(weight_at(base + c), x[c / 4u][c % 4u], total);
    }
    return total;
}

@compute @workgroup_size(64)
fn matvec_rows(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>,
               @builtin(local_invocation_index) lid: u32) {
    let out = (wg.y * groups.x + wg.x) * 64u + lid;
    if (out >= output_rows(params.n)) {
        return;
    }
    if (EPILOGUE == 2u) {
        y[out] = gated(row_dot(2u * out), row_dot(2u * out + 1u));
    } else if (EPILOGUE == 1u) {
        y[out] += row_dot(out);
    } else {
        y[out] = row_dot(out);
    }
}
