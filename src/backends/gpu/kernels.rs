//! The WGSL kernels in `shaders/`, one op per file: file stem = entry point = op name = pipeline
//! label. Bindings are ordered inputs (read-only storage), outputs (read-write storage), then
//! one `Params` uniform, which this module binds with a dynamic offset.

use std::borrow::Cow;

use crate::backends::ops::Activation;
use crate::formats::weights::DType;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kernel {
    Embedding,
    RmsNorm,
    Rope,
    RopeQkv,
    Matmul,
    MatmulRows,
    Matvec,
    MatvecSubgroup,
    MatvecRows,
    BiasAdd,
    Add,
    Gated,
    Activation,
    Scale,
    Softmax,
    Attention,
    AttentionCombine,
    Copy,
    Argmax,
    TopK,
    RepetitionPenalty,
    LayerNorm,
    EncoderAttention,
}

/// A kernel's text: `shaders/<name>.wgsl` as `build.rs` ships it (comments and indentation
/// dropped, lines kept).
macro_rules! shader {
    ($name:literal) => {
        include_str!(concat!(env!("OUT_DIR"), "/shaders/", $name, ".wgsl"))
    };
}

/// Decodes weights of any storage dtype; prepended to the kernels that read one.
const WEIGHTS: &str = shader!("weights");
/// What the linear kernels do with a finished dot product; prepended to them.
const EPILOGUE: &str = shader!("epilogue");
/// The rows, bindings and loop of the one-token workgroup kernels; prepended to them.
const MATVEC_ROW: &str = shader!("matvec_row");
/// RoPE's pair offsets and rotation; prepended to the kernels that rotate.
const ROPE_PAIR: &str = shader!("rope_pair");
/// The MLP nonlinearities, picked by `ACTIVATION`; prepended to the kernels that apply one.
const NONLINEARITY: &str = shader!("nonlinearity");
/// A soft cap with a tanh that is exact enough and never NaN; prepended to its users.
const SOFT_CAP: &str = shader!("soft_cap");

/// What a linear kernel does with its dot products (`shaders/epilogue.wgsl`), so the residual
/// add and the gated MLP's activation cost no dispatch of their own.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum Epilogue {
    /// `y = x w^T`.
    #[default]
    Store,
    /// `y += x w^T`.
    Accumulate,
    /// `y[.., j] = act(g) * u` with `g, u` the products with weight rows `2j, 2j + 1`, and
    /// `act` the pipeline's [`Activation`].
    Gated,
}

impl Kernel {
    pub const ALL: [Kernel; 23] = [
        Kernel::Embedding,
        Kernel::RmsNorm,
        Kernel::Rope,
        Kernel::RopeQkv,
        Kernel::Matmul,
        Kernel::MatmulRows,
        Kernel::Matvec,
        Kernel::MatvecSubgroup,
        Kernel::MatvecRows,
        Kernel::BiasAdd,
        Kernel::Add,
        Kernel::Gated,
        Kernel::Activation,
        Kernel::Scale,
        Kernel::Softmax,
        Kernel::Attention,
        Kernel::AttentionCombine,
        Kernel::Copy,
        Kernel::Argmax,
        Kernel::TopK,
        Kernel::RepetitionPenalty,
        Kernel::LayerNorm,
        Kernel::EncoderAttention,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Kernel::Embedding => "embedding",
            Kernel::RmsNorm => "rms_norm",
            Kernel::Rope => "rope",
            Kernel::RopeQkv => "rope_qkv",
            Kernel::Matmul => "matmul",
            Kernel::MatmulRows => "matmul_rows",
            Kernel::Matvec => "matvec",
            Kernel::MatvecSubgroup => "matvec_subgroup",
            Kernel::MatvecRows => "matvec_rows",
            Kernel::BiasAdd => "bias_add",
            Kernel::Add => "add",
            Kernel::Gated => "gated",
            Kernel::Activation => "activation",
            Kernel::Scale => "scale",
            Kernel::Softmax => "softmax",
            Kernel::Attention => "attention",
            Kernel::AttentionCombine => "attention_combine",
            Kernel::Copy => "copy",
            Kernel::Argmax => "argmax",
            Kernel::TopK => "top_k",
            Kernel::RepetitionPenalty => "repetition_penalty",
            Kernel::LayerNorm => "layer_norm",
            Kernel::EncoderAttention => "encoder_attention",
        }
    }

    fn file(self) -> &'static str {
        match self {
            Kernel::Embedding => shader!("embedding"),
            Kernel::RmsNorm => shader!("rms_norm"),
            Kernel::Rope => shader!("rope"),
            Kernel::RopeQkv => shader!("rope_qkv"),
            Kernel::Matmul => shader!("matmul"),
            Kernel::MatmulRows => shader!("matmul_rows"),
            Kernel::Matvec => shader!("matvec"),
            Kernel::MatvecSubgroup => shader!("matvec_subgroup"),
            Kernel::MatvecRows => shader!("matvec_rows"),
            Kernel::BiasAdd => shader!("bias_add"),
            Kernel::Add => shader!("add"),
            Kernel::Gated => shader!("gated"),
            Kernel::Activation => shader!("activation"),
            Kernel::Scale => shader!("scale"),
            Kernel::Softmax => shader!("softmax"),
            Kernel::Attention => shader!("attention"),
            Kernel::AttentionCombine => shader!("attention_combine"),
            Kernel::Copy => shader!("copy"),
            Kernel::Argmax => shader!("argmax"),
            Kernel::TopK => shader!("top_k"),
            Kernel::RepetitionPenalty => shader!("repetition_penalty"),
            Kernel::LayerNorm => shader!("layer_norm"),
            Kernel::EncoderAttention => shader!("encoder_attention"),
        }
    }

    /// Whether the kernel reads a weight binding `w` and so takes `WEIGHT_DTYPE`.
    pub fn reads_weight(self) -> bool {
        matches!(
            self,
            Kernel::Embedding
                | Kernel::RmsNorm
                | Kernel::Matmul
                | Kernel::MatmulRows
                | Kernel::Matvec
                | Kernel::MatvecSubgroup
                | Kernel::MatvecRows
                | Kernel::BiasAdd
                | Kernel::LayerNorm
        )
    }

    /// Whether the kernel multiplies by a weight matrix and so takes `EPILOGUE`.
    pub fn is_linear(self) -> bool {
        matches!(
            self,
            Kernel::Matmul
                | Kernel::MatmulRows
                | Kernel::Matvec
                | Kernel::MatvecSubgroup
                | Kernel::MatvecRows
        )
    }

    /// Whether the kernel applies an MLP nonlinearity and so takes `ACTIVATION`: the
    /// element-wise `activation` and `gated`, and the linear kernels (in their gated epilogue).
    pub fn takes_activation(self) -> bool {
        self.is_linear() || matches!(self, Kernel::Gated | Kernel::Activation)
    }

    /// Whether the kernel uses subgroup operations, which need `wgpu::Features::SUBGROUP`.
    pub fn needs_subgroups(self) -> bool {
        self == Kernel::MatvecSubgroup
    }

    /// The complete WGSL module.
    pub fn source(self) -> Cow<'static, str> {
        if matches!(self, Kernel::Attention | Kernel::Scale) {
            Cow::Owned(format!("{SOFT_CAP}\n{}", self.file()))
        } else if matches!(self, Kernel::Rope | Kernel::RopeQkv) {
            Cow::Owned(format!("{ROPE_PAIR}\n{}", self.file()))
        } else if matches!(self, Kernel::Matvec | Kernel::MatvecSubgroup) {
            Cow::Owned(format!(
                "{WEIGHTS}\n{NONLINEARITY}\n{EPILOGUE}\n{MATVEC_ROW}\n{}",
                self.file()
            ))
        } else if self.is_linear() {
            Cow::Owned(format!(
                "{WEIGHTS}\n{NONLINEARITY}\n{EPILOGUE}\n{}",
                self.file()
            ))
        } else if self.takes_activation() {
            Cow::Owned(format!("{NONLINEARITY}\n{}", self.file()))
        } else if self.reads_weight() {
            Cow::Owned(format!("{WEIGHTS}\n{}", self.file()))
        } else {
            Cow::Borrowed(self.file())
        }
    }

    /// (read-only storage bindings, read-write storage bindings) before the uniform.
    pub fn storage_bindings(self) -> (u32, u32) {
        match self {
            Kernel::Embedding
            | Kernel::RmsNorm
            | Kernel::Matmul
            | Kernel::MatmulRows
            | Kernel::Matvec
            | Kernel::MatvecSubgroup
            | Kernel::MatvecRows
            | Kernel::Gated
            | Kernel::LayerNorm => (2, 1),
            Kernel::EncoderAttention => (4, 1),
            Kernel::RopeQkv => (2, 3),
            Kernel::Attention => (3, 2),
            Kernel::Rope
            | Kernel::BiasAdd
            | Kernel::Add
            | Kernel::Copy
            | Kernel::Argmax
            | Kernel::TopK
            | Kernel::RepetitionPenalty
            | Kernel::AttentionCombine => (1, 1),
            Kernel::Softmax | Kernel::Activation | Kernel::Scale => (0, 1),
        }
    }

    /// Pipeline-overridable constants for a weight of `dtype`, for linear kernels an epilogue,
    /// and for kernels that apply one a nonlinearity (`None`: the shader's default, SiLU).
    pub fn constants(
        self,
        dtype: Option<DType>,
        epilogue: Epilogue,
        activation: Option<Activation>,
    ) -> Vec<(&'static str, f64)> {
        let mut constants = Vec::new();
        if let (true, Some(dtype)) = (self.reads_weight(), dtype) {
            constants.push(("WEIGHT_DTYPE", weight_dtype_code(dtype) as f64));
        }
        if self.is_linear() {
            constants.push(("EPILOGUE", epilogue as u32 as f64));
        }
        if let (true, Some(activation)) = (self.takes_activation(), activation) {
            constants.push(("ACTIVATION", activation_code(activation) as f64));
        }
        constants
    }
}

/// The `ACTIVATION` value `shaders/nonlinearity.wgsl` expects.
pub fn activation_code(activation: Activation) -> u32 {
    match activation {
        Activation::Silu => 0,
        Activation::Gelu => 1,
        Activation::GeluTanh => 2,
    }
}

/// The `WEIGHT_DTYPE` value `shaders/weights.wgsl` expects.
pub fn weight_dtype_code(dtype: DType) -> u32 {
    // The position in `DType::ALL`, which lists the types in the kernel's order.
    DType::ALL
        .iter()
        .position(|&d| d == dtype)
        .expect("every dtype is in DType::ALL") as u32
}
