// matvec.wgsl on devices with subgroup operations: the same rows and loop
// (matvec_row.wgsl), but a row's 32 partial sums are added by subgroup shuffles instead of a
// five-step tree in workgroup memory.
// An invocation's slot in the workgroup is taken from its subgroup and lane, not from
// local_invocation_index, whose mapping to subgroups is not specified: so a subgroup of up to
// 32 lanes lies within one row and one of 64 or more holds whole rows, whatever its size.
// Assumes full subgroups (subgroup_size divides the 256 invocations), as on every GPU.

// One sum per subgroup, for subgroups shorter than a row.
var<workgroup> subgroup_sums: array<f32, 256>;
var<workgroup> row_sums: array<f32, ROWS>;

@compute @workgroup_size(256)
fn matvec_subgroup(@builtin(workgroup_id) wg: vec3<u32>,
                   @builtin(num_workgroups) groups: vec3<u32>,
                   @builtin(subgroup_id) subgroup: u32,
                   @builtin(subgroup_invocation_id) subgroup_lane: u32,
                   @builtin(subgroup_size) subgroup_size: u32) {
    let slot = subgroup * subgroup_size + subgroup_lane;
    let lane = slot % LANES;
    let row_in_group = slot / LANES;
    let row = (wg.y * groups.x + wg.x) * ROWS + row_in_group;
    var sum = row_partial(row, lane);
    // Butterfly over aligned groups of min(32, subgroup_size) lanes: afterwards every lane of
    // such a group holds its sum, the row's whole sum where subgroups have 32 lanes or more.
    for (var mask = min(LANES, subgroup_size) / 2u; mask > 0u; mask >>= 1u) {
        sum += subgroupShuffleXor(sum, mask);
    }
    if (subgroup_lane == 0u) {
        subgroup_sums[subgroup] = sum;
    }
    workgroupBarrier();
    if (lane == 0u) {
        // Shorter subgroups: this one and the next LANES / subgroup_size - 1 make the row.
        var total = sum;
        for (var s = 1u; s < LANES / subgroup_size; s++) {
            total += subgroup_sums[subgroup + s];
        }
        row_sums[row_in_group] = total;
    }
    workgroupBarrier();
    if (lane != 0u || row >= params.n) {
        return;
    }
    let up = row_sums[(row_in_group + 1u) % ROWS];
    store_row(row, row_sums[row_in_group], up);
}
