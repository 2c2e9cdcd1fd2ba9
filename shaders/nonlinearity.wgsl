// Shared by the kernels that apply an MLP's nonlinearity (activation, gated, and the gated
// epilogue of the linear kernels): the pipeline-overridable constant ACTIVATION picks it, so
// each nonlinearity is its own pipeline and no kernel branches on it at run time.
// ACTIVATION 0: silu(x) = x * sigmoid(x).
// 1: the exact GELU, x * (1 + erf(x / sqrt(2))) / 2.
// 2: GELU's tanh approximation, x * (1 + tanh(sqrt(2 / pi) * (x + 0.044715 x^3))) / 2.
override ACTIVATION: u32 = 0u;

// x * sigmoid(z). exp's argument is clamped below f32's overflow (exp(88.7)), so no lane meets
// an infinity; past it the result is x / 5.5e34, zero to within any tolerance.
fn times_sigmoid(x: f32, z: f32) -> f32 {
    return x / (1.0 + exp(min(-z, 80.0)));
}

// WGSL has no erf; erfc comes from the Chebyshev fit of Numerical Recipes (erfcc, fractional
// error < 1.2e-7 everywhere). Measured in f32 against the exact GELU: absolute error < 2.5e-7
// for |x| < 3 and < 4.5e-7 everywhere (there, an ulp of x).
fn erf(v: f32) -> f32 {
    let z = abs(v);
    let t = 1.0 / (1.0 + 0.5 * z);
    var p = 0.17087277;
    p = fma(t, p, -0.82215223);
    p = fma(t, p, 1.48851587);
    p = fma(t, p, -1.13520398);
    p = fma(t, p, 0.27886807);
    p = fma(t, p, -0.18628806);
    p = fma(t, p, 0.09678418);
    p = fma(t, p, 0.37409196);
    p = fma(t, p, 1.00002368);
    p = fma(t, p, -1.26551223);
    let erfc = t * exp(p - z * z);
    return select(1.0 - erfc, erfc - 1.0, v < 0.0);
}

fn activate(x: f32) -> f32 {
    if (ACTIVATION == 1u) {
        return 0.5 * x * (1.0 + erf(x * 0.70710678118654752));
    }
    if (ACTIVATION == 2u) {
        // (1 + tanh(u)) / 2 = sigmoid(2u): no tanh, whose exp-based forms give inf / inf = NaN
        // for large |u| on some drivers. x^3 may overflow to +-inf; the clamp handles that too.
        let u = 0.79788456080286536 * (x + 0.044715 * x * x * x);
        return times_sigmoid(x, 2.0 * u);
    }
    return times_sigmoid(x, x);
}
