// y[n] = sum_k w[n, k] * x[k], for decode (one token); the rows and loop are matvec_row.wgsl's.
// A row's 32 partial sums are added by a tree in workgroup memory. EPILOGUE: see
// epilogue.wgsl; for the gated MLP a workgroup's 8 rows are 4 (gate, up) pairs.

var<workgroup> partial: array<f32, 256>;

@compute @workgroup_size(256)
fn matvec(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>,
          @builtin(local_invocation_index) lid: u32) {
    let lane = lid % LANES;
    let row = (wg.y * groups.x + wg.x) * ROWS + lid / LANES;
    partial[lid] = row_partial(row, lane);
    workgroupBarrier();
    for (var stride = LANES / 2u; stride > 0u; stride >>= 1u) {
        if (lane < stride) {
            partial[lid] += partial[lid + stride];
        }
        workgroupBarrier();
    }
    if (lane != 0u || row >= params.n) {
        return;
    }
    // The up row's sum is the next row's, reduced above.
    store_row(row, partial[lid], partial[(lid + LANES) % 256u]);
}
