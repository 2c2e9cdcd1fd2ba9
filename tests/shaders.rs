//! Every kernel in `shaders/` parses and validates with naga, for every specialization the
//! engine uses, and compiles to SPIR-V; no GPU needed.

use hearth::backends::gpu::{Epilogue, Kernel};
use hearth::backends::ops::Activation;
use hearth::formats::weights::DType;

const ACTIVATIONS: [Activation; 3] = [Activation::Silu, Activation::Gelu, Activation::GeluTanh];

fn validate(
    kernel: Kernel,
    dtype: Option<DType>,
    epilogue: Epilogue,
    activation: Option<Activation>,
) {
    let label = format!("{}({dtype:?}, {epilogue:?}, {activation:?})", kernel.name());
    let source = kernel.source();
    let module = naga::front::wgsl::parse_str(&source)
        .unwrap_or_else(|e| panic!("{label}: {}", e.emit_to_string(&source)));
    // unpack2x16float is core WebGPU; naga files it under a capability of its own.
    let mut capabilities =
        naga::valid::Capabilities::default() | naga::valid::Capabilities::SHADER_FLOAT16_IN_FLOAT32;
    if kernel.needs_subgroups() {
        capabilities |= naga::valid::Capabilities::SUBGROUP;
    }
    let mut validator =
        naga::valid::Validator::new(naga::valid::ValidationFlags::all(), capabilities);
    if kernel.needs_subgroups() {
        // What `wgpu::Features::SUBGROUP` grants compute shaders.
        validator
            .subgroup_stages(naga::valid::ShaderStages::COMPUTE)
            .subgroup_operations(naga::valid::SubgroupOperationSet::all());
    }
    let info = validator
        .validate(&module)
        .unwrap_or_else(|e| panic!("{label}: {}", e.emit_to_string(&source)));
    assert!(
        module.entry_points.iter().any(|e| e.name == kernel.name()),
        "{label}: entry point must be named after the file"
    );
    let mut constants = naga::back::PipelineConstants::default();
    for (name, value) in kernel.constants(dtype, epilogue, activation) {
        constants.insert(name.to_string(), value);
    }
    let (module, info) = naga::back::pipeline_constants::process_overrides(
        &module,
        &info,
        Some((naga::ShaderStage::Compute, kernel.name())),
        &constants,
    )
    .unwrap_or_else(|e| panic!("{label}: overrides: {e}"));
    naga::back::spv::write_vec(&module, &info, &Default::default(), None)
        .unwrap_or_else(|e| panic!("{label}: SPIR-V: {e}"));
}

#[test]
fn every_kernel_validates_for_every_specialization() {
    for kernel in Kernel::ALL {
        let epilogues: &[Epilogue] = if kernel.is_linear() {
            &[Epilogue::Store, Epilogue::Accumulate, Epilogue::Gated]
        } else {
            &[Epilogue::Store]
        };
        for &epilogue in epilogues {
            // The nonlinearity matters to `activation`, `gated` and the gated epilogue only;
            // `None` is the shader's default.
            let activations: Vec<Option<Activation>> = if kernel.takes_activation()
                && (!kernel.is_linear() || epilogue == Epilogue::Gated)
            {
                ACTIVATIONS.iter().copied().map(Some).collect()
            } else {
                vec![None]
            };
            for &activation in &activations {
                if kernel.reads_weight() {
                    for dtype in DType::ALL {
                        validate(kernel, Some(dtype), epilogue, activation);
                    }
                } else {
                    validate(kernel, None, epilogue, activation);
                }
            }
        }
    }
}

#[test]
fn every_shader_file_is_a_kernel() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("shaders");
    let mut stems: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            e.unwrap()
                .path()
                .file_stem()
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        // Helpers prepended to kernels, not kernels.
        .filter(|stem| {
            ![
                "weights",
                "epilogue",
                "matvec_row",
                "rope_pair",
                "nonlinearity",
                "soft_cap",
            ]
            .contains(&stem.as_str())
        })
        .collect();
    stems.sort();
    let mut names: Vec<String> = Kernel::ALL.iter().map(|k| k.name().to_string()).collect();
    names.sort();
    assert_eq!(stems, names);
}
