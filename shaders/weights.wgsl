// Shared by every kernel that reads a weight: decodes element `i` of the binding named `w`.
// Weights stay in their checkpoint dtype, packed little-endian into u32 words, so 16-bit weights
// need neither `shader-f16` nor a widened copy in GPU memory.
// WEIGHT_DTYPE: 0 = f32, 1 = f16 (two per word), 2 = bf16 (two per word).
override WEIGHT_DTYPE: u32 = 0u;

fn weight_at(i: u32) -> f32 {
    if (WEIGHT_DTYPE == 0u) {
        return bitcast<f32>(w[i]);
    }
    let word = w[i >> 1u];
    let odd = (i & 1u) == 1u;
    if (WEIGHT_DTYPE == 1u) {
        let pair = unpack2x16float(word);
        return select(pair.x, pair.y, odd);
    }
    return bitcast<f32>(select(word << 16u, word & 0xffff0000u, odd));
}
