// y[m, n] = sum_k x[m, k] * w[n, k] (x times w transposed, as nn.Linear), for prefill.
// Each workgroup of 16x16 threads computes a 64x64 tile of y, each thread a 4x4 block, stepping
// through k in slices of 16 staged in workgroup memory. Edges of every dimension are masked, so
// any m, n, k works. EPILOGUE: see epilogue.wgsl; for the gated MLP a thread's 4 columns are
// 2 (gate, up) pairs.

struct Params {
    m: u32,
    n: u32,
    k: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;       // [m, k]
@group(0) @binding(1) var<storage, read> w: array<u32>;       // [n, k], WEIGHT_DTYPE
@group(0) @binding(2) var<storage, read_write> y: array<f32>; // [m, n], or [m, n / 2] for EPILOGUE 2
@group(0) @binding(3) var<uniform> params: Params;

const TILE: u32 = 64u;
const TK: u32 = 16u;
var<workgroup> xs: array<array<f32, TK>, TILE>;
var<workgroup> ws: array<array<f32, TK>, TILE>;

@compute @workgroup_size(16, 16)
fn matmul(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
          @builtin(local_invocation_index) flat: u32) {
    let row0 = wg.y * TILE;
    let col0 = wg.x * TILE;
    var acc: array<array<f32, 4>, 4>;
    for (var k0 = 0u; k0 < params.k; k0 += TK) {
        // 256 threads stage 64x16 values of each operand, 4 consecutive k each (a quantized
        // block's values share their scales).
        let r = flat / 4u;
        let kk0 = (flat % 4u) * 4u;
        let gk = k0 + kk0;
        for (var e = 0u; e < 4u; e++) {
            var xv = 0.0;
            if (row0 + r < params.m && gk + e < params.k) {
                xv = x[(row0 + r) * params.k + gk + e];
            }
            xs[r][kk0 + e] = xv;
        }
        var wv = vec4<f32>(0.0);
        if (col0 + r < params.n) {
            let at = (col0 + r) * params.k + gk;
            if (gk + 3u < params.k) {
                wv = weight4(at);
            } else {
                for (var e = 0u; e < 4u; e++) {
                    if (gk + e < params.k) {
                        wv[e] = weight_at(at + e);
                    }
                }
            }
        }
        for (var e = 0u; e < 4u; e++) {
            ws[r][kk0 + e] = wv[e];
        }
        workgroupBarrier();
        for (var kk = 0u; kk < TK; kk++) {
            var a: array<f32, 4>;
            var b: array<f32, 4>;
            for (var i = 0u; i < 4u; i++) {
                a[i] = xs[lid.y * 4u + i][kk];
                b[i] = ws[lid.x * 4u + i][kk];
            }
            for (var i = 0u; i < 4u; i++) {
                for (var j = 0u; j < 4u; j++) {
                    acc[i][j] = fma(a[i], b[j], acc[i][j]);
                }
            }
        }
        workgroupBarrier();
    }
    let cols = output_rows(params.n);
    for (var i = 0u; i < 4u; i++) {
        let r = row0 + lid.y * 4u + i;
        if (r >= params.m) {
            break;
        }
        for (var j = 0u; j < 4u; j++) {
            let c = col0 + lid.x * 4u + j;
            if (c >= params.n) {
                break;
            }
            if (EPILOGUE == 2u) {
                // n is even and c + 1 < n, as c is.
                if (j % 2u == 0u) {
                    y[r * cols + c / 2u] = gated_product(acc[i][j], acc[i][j + 1u]);
                }
            } else if (EPILOGUE == 1u) {
                y[r * cols + c] += acc[i][j];
            } else {
                y[r * cols + c] = acc[i][j];
            }
        }
    }
}
