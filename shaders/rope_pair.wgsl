// Shared by rope and rope_qkv: where a rotated pair sits in a head and how it turns.
// The first rotary_dim = 2 * half values of a head rotate (all of it, or a part: Phi-4-mini's
// partial rotary); the rest pass through. Pair i of a head rotates by the angle whose cosine
// and sine are table[pos, i, 0..2] (computed once on the CPU, exactly as the reference does).
// Layouts: half-split pairs (i, i + half), as Hugging Face checkpoints; interleaved pairs
// (2i, 2i + 1), as GGUF.

@group(0) @binding(0) var<storage, read> table: array<f32>; // [context, rotary_dim / 2, 2]

// The offsets of pair i's two values within a head whose first 2 * half values rotate.
fn pair_offsets(i: u32, half: u32, interleaved: bool) -> vec2<u32> {
    return select(vec2<u32>(i, i + half), vec2<u32>(2u * i, 2u * i + 1u), interleaved);
}

// (a, b), pair i of a head at position pos, rotated.
fn rotate_pair(a: f32, b: f32, pos: u32, i: u32, half: u32) -> vec2<f32> {
    let angle = (pos * half + i) * 2u;
    let c = table[angle];
    let s = table[angle + 1u];
    return vec2<f32>(a * c - b * s, a * s + b * c);
}
