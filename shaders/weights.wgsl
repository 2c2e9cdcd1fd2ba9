// Shared by every kernel that reads a weight: decodes elements of the binding named `w`.
// Weights stay in their checkpoint format, packed little-endian into u32 words: 16-bit floats
// need no `shader-f16`, and ggml's quantized blocks (byte layouts exactly as in GGUF files) are
// dequantized here, on the fly. A quantized tensor's rows are whole blocks, so the flat element
// index alone locates the block.
// WEIGHT_DTYPE: 0 f32, 1 f16, 2 bf16, 3 Q8_0, 4 Q4_0, 5 Q4_1, 6 Q5_0, 7 Q5_1, 8 Q2_K, 9 Q3_K,
// 10 Q4_K, 11 Q5_K, 12 Q6_K, 13 IQ4_NL, 14 IQ4_XS.
override WEIGHT_DTYPE: u32 = 0u;

var<private> IQ4_LEVELS: array<f32, 16> = array<f32, 16>(
    -127.0, -104.0, -83.0, -65.0, -49.0, -35.0, -22.0, -10.0,
    1.0, 13.0, 25.0, 38.0, 53.0, 69.0, 89.0, 113.0);

fn w_byte(b: u32) -> u32 {
    return (w[b >> 2u] >> ((b & 3u) << 3u)) & 0xffu;
}

// Four bytes from any byte offset, little-endian.
fn w_bytes4(b: u32) -> u32 {
    let shift = (b & 3u) << 3u;
    let low = w[b >> 2u];
    if (shift == 0u) {
        return low;
    }
    return (low >> shift) | (w[(b >> 2u) + 1u] << (32u - shift));
}

// A 16-bit field at an even byte offset.
fn w_u16(b: u32) -> u32 {
    let word = w[b >> 2u];
    return select(word & 0xffffu, word >> 16u, (b & 2u) != 0u);
}

fn w_half(b: u32) -> f32 {
    return unpack2x16float(w_u16(b)).x;
}

// Converted through i32, which bytes fit: x86 has no unsigned int-to-float conversion, and the
// software drivers (lavapipe, SwiftShader) emulate one at several instructions a value.
fn unsigned_bytes(q: u32) -> vec4<f32> {
    let bytes = vec4<u32>(q & 0xffu, (q >> 8u) & 0xffu, (q >> 16u) & 0xffu, q >> 24u);
    return vec4<f32>(bitcast<vec4<i32>>(bytes));
}

fn signed_bytes(q: u32) -> vec4<f32> {
    let s = bitcast<i32>(q);
    return vec4<f32>(vec4<i32>((s << 24u) >> 24u, (s << 16u) >> 24u, (s << 8u) >> 24u, s >> 24u));
}

// The nibbles of elements j..j+3 of a 32-value block whose 16 bytes start at `qs` (low nibbles
// are elements 0..16, high nibbles 16..32), one per byte.
fn nibbles32(qs: u32, j: u32) -> u32 {
    return (w_bytes4(qs + (j & 15u)) >> select(0u, 4u, j >= 16u)) & 0x0f0f0f0fu;
}

fn iq4_levels(q: u32) -> vec4<f32> {
    return vec4<f32>(IQ4_LEVELS[q & 0xfu], IQ4_LEVELS[(q >> 8u) & 0xfu],
                     IQ4_LEVELS[(q >> 16u) & 0xfu], IQ4_LEVELS[(q >> 24u) & 0xfu]);
}

// Q4_K / Q5_K: the 6-bit (scale, min) of sub-block `j` from the 12 bytes at `at`.
fn scale_min_k4(at: u32, j: u32) -> vec2<f32> {
    if (j < 4u) {
        return vec2<f32>(f32(w_byte(at + j) & 63u), f32(w_byte(at + j + 4u) & 63u));
    }
    let packed = w_byte(at + j + 4u);
    let sc = (packed & 0xfu) | ((w_byte(at + j - 4u) >> 6u) << 4u);
    let m = (packed >> 4u) | ((w_byte(at + j) >> 6u) << 4u);
    return vec2<f32>(f32(sc), f32(m));
}

// Elements i..i+3 of a block-quantized weight; i is a multiple of 4.
fn quantized4(i: u32) -> vec4<f32> {
    switch WEIGHT_DTYPE {
        case 3u: { // Q8_0: d, 32 x i8
            let base = (i / 32u) * 34u;
            return w_half(base) * signed_bytes(w_bytes4(base + 2u + i % 32u));
        }
        case 4u: { // Q4_0: d, 16 bytes of nibbles; (q - 8) * d
            let base = (i / 32u) * 18u;
            return w_half(base) * (unsigned_bytes(nibbles32(base + 2u, i % 32u)) - 8.0);
        }
        case 5u: { // Q4_1: d, m, 16 bytes of nibbles; q * d + m
            let base = (i / 32u) * 20u;
            return w_half(base) * unsigned_bytes(nibbles32(base + 4u, i % 32u)) + w_half(base + 2u);
        }
        case 6u, 7u: { // Q5_0: d, qh, nibbles; (q - 16) * d.  Q5_1: d, m, qh, nibbles; q * d + m
            let j = i % 32u;
            let with_min = WEIGHT_DTYPE == 7u;
            let base = (i / 32u) * select(22u, 24u, with_min);
            let at = base + select(2u, 4u, with_min);
            let high = (w_bytes4(at) >> j) & 0xfu;
            let spread = (high & 1u) | ((high & 2u) << 7u) | ((high & 4u) << 14u) | ((high & 8u) << 21u);
            let q = unsigned_bytes(nibbles32(at + 4u, j) | (spread << 4u));
            if (with_min) {
                return w_half(base) * q + w_half(base + 2u);
            }
            return w_half(base) * (q - 16.0);
        }
        case 8u: { // Q2_K: 16 scale bytes (4-bit scale, 4-bit min), 64 bytes of 2-bit q, d, dmin
            let base = (i / 256u) * 84u;
            let e = i % 256u;
            let sc = w_byte(base + e / 16u);
            let shift = ((e % 128u) / 32u) * 2u;
            let q = (w_bytes4(base + 16u + 32u * (e / 128u) + e % 32u) >> shift) & 0x03030303u;
            let dl = w_half(base + 80u) * f32(sc & 0xfu);
            let ml = w_half(base + 82u) * f32(sc >> 4u);
            return dl * unsigned_bytes(q) - ml;
        }
        case 9u: { // Q3_K: 32 bytes high-bit mask, 64 bytes of 2-bit q, 12 bytes of 6-bit scales, d
            let base = (i / 256u) * 110u;
            let e = i % 256u;
            let group = 4u * (e / 128u) + (e % 128u) / 32u;
            let l = e % 32u;
            let low = (w_bytes4(base + 32u + 32u * (e / 128u) + l) >> ((group % 4u) * 2u)) & 0x03030303u;
            let high = (w_bytes4(base + l) >> group) & 0x01010101u;
            let s = e / 16u;
            let scale_low = select(w_byte(base + 96u + s - 8u) >> 4u, w_byte(base + 96u + s) & 0xfu, s < 8u);
            let scale_high = (w_byte(base + 104u + s % 4u) >> (2u * (s / 4u))) & 3u;
            let dl = w_half(base + 108u) * f32(i32(scale_low | (scale_high << 4u)) - 32);
            return dl * (unsigned_bytes(low) - 4.0 * (1.0 - unsigned_bytes(high)));
        }
        case 10u, 11u: { // Q4_K / Q5_K: d, dmin, 12 bytes of 6-bit scales/mins, [qh,] nibbles
            let five_bit = WEIGHT_DTYPE == 11u;
            let base = (i / 256u) * select(144u, 176u, five_bit);
            let e = i % 256u;
            let group = e / 32u;
            let l = e % 32u;
            let qs = base + select(16u, 48u, five_bit);
            var q = (w_bytes4(qs + 32u * (group / 2u) + l) >> (4u * (group % 2u))) & 0x0f0f0f0fu;
            if (five_bit) {
                q |= ((w_bytes4(base + 16u + l) >> group) & 0x01010101u) << 4u;
            }
            let sm = scale_min_k4(base + 4u, group);
            let dl = w_half(base) * sm.x;
            let ml = w_half(base + 2u) * sm.y;
            return dl * unsigned_bytes(q) - ml;
        }
        case 12u: { // Q6_K: 128 bytes low nibbles, 64 bytes high 2 bits, 16 x i8 scales, d
            let base = (i / 256u) * 210u;
            let e = i % 256u;
            let n = e / 128u;
            let g = (e % 128u) / 32u;
            let l = e % 32u;
            let low = (w_bytes4(base + 64u * n + l + 32u * (g & 1u)) >> (4u * (g / 2u))) & 0x0f0f0f0fu;
            let high = (w_bytes4(base + 128u + 32u * n + l) >> (2u * g)) & 0x03030303u;
            let scale = (bitcast<i32>(w_byte(base + 192u + e / 16u)) << 24u) >> 24u;
            let dl = w_half(base + 208u) * f32(scale);
            return dl * (unsigned_bytes(low | (high << 4u)) - 32.0);
        }
        case 13u: { // IQ4_NL: d, 16 bytes of nibbles indexing the non-linear levels
            let base = (i / 32u) * 18u;
            return w_half(base) * iq4_levels(nibbles32(base + 2u, i % 32u));
        }
        default: { // 14, IQ4_XS: d, 2 bytes high scale bits, 4 bytes low scale bits, nibbles
            let base = (i / 256u) * 136u;
            let e = i % 256u;
            let ib = e / 32u;
            let scale_low = (w_byte(base + 4u + ib / 2u) >> (4u * (ib % 2u))) & 0xfu;
            let scale_high = (w_u16(base + 2u) >> (2u * ib)) & 3u;
            let dl = w_half(base) * f32(i32(scale_low | (scale_high << 4u)) - 32);
            return dl * iq4_levels(nibbles32(base + 8u + 16u * ib, e % 32u));
        }
    }
}

fn weight_at(i: u32) -> f32 {
    switch WEIGHT_DTYPE {
        case 0u: {
            return bitcast<f32>(w[i]);
        }
        case 1u: {
            let pair = unpack2x16float(w[i >> 1u]);
            return select(pair.x, pair.y, (i & 1u) == 1u);
        }
        case 2u: {
            let word = w[i >> 1u];
            return bitcast<f32>(select(word << 16u, word & 0xffff0000u, (i & 1u) == 1u));
        }
        default: {
            return quantized4(i & ~3u)[i & 3u];
        }
    }
}

// Elements i..i+3. For quantized weights i must be a multiple of 4; plain floats take any i.
fn weight4(i: u32) -> vec4<f32> {
    if (WEIGHT_DTYPE >= 3u) {
        return quantized4(i);
    }
    return vec4<f32>(weight_at(i), weight_at(i + 1u), weight_at(i + 2u), weight_at(i + 3u));
}

// Bits 32 of the 64-bit little-endian pair (lo, hi) from bit `shift` (0, 8, 16 or 24) on: a
// word at a byte offset that is not word-aligned.
fn funnel(lo: u32, hi: u32, shift: u32) -> u32 {
    return select((lo >> shift) | (hi << (32u - shift)), lo, shift == 0u);
}

