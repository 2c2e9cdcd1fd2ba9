// Shared by attention and scale: Gemma 2's soft cap, cap * tanh(x / cap), with cap 0 meaning
// none. tanh is not WGSL's: drivers build theirs from exp, which gives NaN (inf / inf) for large
// |x| on some and loses the low bits of small values to cancellation on others (lavapipe:
// relative error 1e-6 near 0). This is Cephes' tanhf: a polynomial below 0.625, an exp of a
// clamped argument above, about an ulp everywhere.
fn tanh_f32(x: f32) -> f32 {
    let a = abs(x);
    if (a < 0.625) {
        let z = x * x;
        var p = -5.70498872745e-3;
        p = fma(p, z, 2.06390887954e-2);
        p = fma(p, z, -5.37397155531e-2);
        p = fma(p, z, 1.33314422036e-1);
        p = fma(p, z, -3.33332819422e-1);
        return fma(p * z, x, x);
    }
    // Past 9, tanh is 1 to f32's precision.
    let t = 1.0 - 2.0 / (exp(2.0 * min(a, 9.0)) + 1.0);
    return select(t, -t, x < 0.0);
}

fn soft_cap(x: f32, cap: f32) -> f32 {
    if (cap > 0.0) {
        return cap * tanh_f32(x / cap);
    }
    return x;
}
