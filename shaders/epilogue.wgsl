// Shared by the linear kernels (matvec, matvec_rows, matmul, matmul_rows): what is done with a
// finished dot product, so the ops that follow a projection in every decoder layer cost no
// dispatch of their own.
// EPILOGUE 0: y = x w^T. 1: y += x w^T (the residual add after o_proj and down_proj).
// 2: the gated MLP: rows 2j and 2j + 1 of w are the gate and up rows of output column j, and
//    y[.., j] = act(gate) * up, so y has half as many columns as w has rows; act is chosen by
//    ACTIVATION (nonlinearity.wgsl, prepended before this file).
override EPILOGUE: u32 = 0u;

// Columns of y for a weight of `n` rows.
fn output_rows(n: u32) -> u32 {
    return select(n, n / 2u, EPILOGUE == 2u);
}

fn gated_product(gate: f32, up: f32) -> f32 {
    return activate(gate) * up;
}
