//! The parameter layout of a BiT ResNet-v2: every tensor's checkpoint name and shape.
//!
//! Names and layouts are those of Google's official BiT `.npz` checkpoints (TensorFlow style,
//! convolution kernels HWIO), e.g. `resnet/block1/unit01/a/standardized_conv2d/kernel`. Our
//! safetensors checkpoints, the tch model and the ONNX initializers all use the same names, so
//! a weight can be traced by name from any file to any face of the model.

use super::variant::Variant;

/// Prefix of every parameter name in BiT checkpoints.
pub const PREFIX: &str = "resnet/";

/// Name of the root convolution kernel `[7, 7, 3, root]`.
pub const ROOT_KERNEL: &str = "resnet/root_block/standardized_conv2d/kernel";
/// Final GroupNorm scale and shift `[features]`.
pub const FINAL_GN_GAMMA: &str = "resnet/group_norm/gamma";
/// Final GroupNorm shift `[features]`.
pub const FINAL_GN_BETA: &str = "resnet/group_norm/beta";
/// Head kernel `[1, 1, features, classes]`.
pub const HEAD_KERNEL: &str = "resnet/head/conv2d/kernel";
/// Head bias `[classes]`.
pub const HEAD_BIAS: &str = "resnet/head/conv2d/bias";

/// Root convolution kernel size, stride and padding.
pub const ROOT_KERNEL_SIZE: usize = 7;

/// What kind of tensor a parameter is; tells loaders and graph builders how to use it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Weight-standardized convolution kernel, HWIO.
    StdConvKernel,
    /// GroupNorm scale.
    GroupNormGamma,
    /// GroupNorm shift.
    GroupNormBeta,
    /// Head kernel (plain convolution, HWIO `[1, 1, features, classes]`).
    HeadKernel,
    /// Head bias.
    HeadBias,
}

/// One parameter: its checkpoint name, shape (official layout) and role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamSpec {
    pub name: String,
    pub shape: Vec<usize>,
    pub role: Role,
}

/// Where one bottleneck unit's parameters live and how wide it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitSpec {
    /// `resnet/block{stage+1}/unit{NN}/`.
    pub prefix: String,
    pub in_channels: usize,
    pub mid_channels: usize,
    pub out_channels: usize,
    /// Stride of conv b (and of the projection).
    pub stride: usize,
    /// Whether the unit has a 1×1 projection shortcut (`a/proj`).
    pub has_projection: bool,
}

impl UnitSpec {
    /// Full name of a tensor of this unit, e.g. `unit.name("b/group_norm/gamma")`.
    pub fn name(&self, suffix: &str) -> String {
        format!("{}{}", self.prefix, suffix)
    }
}

/// All bottleneck units of `variant`, in forward order.
pub fn units(variant: &Variant) -> Vec<UnitSpec> {
    let mut specs = Vec::new();
    let mut in_channels = variant.root_channels();
    for (stage, &count) in variant.units().iter().enumerate() {
        let out_channels = variant.stage_out_channels(stage);
        for unit in 0..count {
            let stride = if unit == 0 {
                Variant::stage_stride(stage)
            } else {
                1
            };
            specs.push(UnitSpec {
                prefix: format!("{PREFIX}block{}/unit{:02}/", stage + 1, unit + 1),
                in_channels,
                mid_channels: variant.stage_mid_channels(stage),
                out_channels,
                stride,
                has_projection: stride != 1 || in_channels != out_channels,
            });
            in_channels = out_channels;
        }
    }
    specs
}

/// Every parameter of `variant` with a `classes`-way head, in forward order.
pub fn parameters(variant: &Variant, classes: usize) -> Vec<ParamSpec> {
    let conv = |name: String, k: usize, cin: usize, cout: usize| ParamSpec {
        name,
        shape: vec![k, k, cin, cout],
        role: Role::StdConvKernel,
    };
    let group_norm = |prefix: String, channels: usize| {
        [
            ParamSpec {
                name: format!("{prefix}group_norm/gamma"),
                shape: vec![channels],
                role: Role::GroupNormGamma,
            },
            ParamSpec {
                name: format!("{prefix}group_norm/beta"),
                shape: vec![channels],
                role: Role::GroupNormBeta,
            },
        ]
    };
    let mut params = vec![conv(
        ROOT_KERNEL.to_string(),
        ROOT_KERNEL_SIZE,
        3,
        variant.root_channels(),
    )];
    for unit in units(variant) {
        params.extend(group_norm(unit.name("a/"), unit.in_channels));
        if unit.has_projection {
            params.push(conv(
                unit.name("a/proj/standardized_conv2d/kernel"),
                1,
                unit.in_channels,
                unit.out_channels,
            ));
        }
        params.push(conv(
            unit.name("a/standardized_conv2d/kernel"),
            1,
            unit.in_channels,
            unit.mid_channels,
        ));
        params.extend(group_norm(unit.name("b/"), unit.mid_channels));
        params.push(conv(
            unit.name("b/standardized_conv2d/kernel"),
            3,
            unit.mid_channels,
            unit.mid_channels,
        ));
        params.extend(group_norm(unit.name("c/"), unit.mid_channels));
        params.push(conv(
            unit.name("c/standardized_conv2d/kernel"),
            1,
            unit.mid_channels,
            unit.out_channels,
        ));
    }
    let features = variant.feature_channels();
    params.extend(group_norm(PREFIX.to_string(), features));
    params.push(ParamSpec {
        name: HEAD_KERNEL.to_string(),
        shape: vec![1, 1, features, classes],
        role: Role::HeadKernel,
    });
    params.push(ParamSpec {
        name: HEAD_BIAS.to_string(),
        shape: vec![classes],
        role: Role::HeadBias,
    });
    params
}

/// Number of scalar parameters of `variant` with a `classes`-way head (nothing is allocated).
pub fn parameter_count(variant: &Variant, classes: usize) -> usize {
    parameters(variant, classes)
        .iter()
        .map(|p| p.shape.iter().product::<usize>())
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The recipe's table (recipe.md, "Model"): parameters with a 2-class head.
    #[test]
    fn parameter_counts_match_the_recipe() {
        let expected = [
            ("r50x1", 23_504_450),
            ("r101x1", 42_496_578),
            ("r50x3", 211_186_370),
            ("r101x3", 381_802_178),
            ("r152x4", 928_356_610),
        ];
        for (name, count) in expected {
            let variant: Variant = name.parse().unwrap();
            assert_eq!(parameter_count(&variant, 2), count, "{name}");
        }
    }

    #[test]
    fn names_follow_the_official_checkpoint_layout() {
        let variant: Variant = "r50x1".parse().unwrap();
        let params = parameters(&variant, 2);
        let names: Vec<&str> = params.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names[0], ROOT_KERNEL);
        assert!(names.contains(&"resnet/block1/unit01/a/proj/standardized_conv2d/kernel"));
        assert!(names.contains(&"resnet/block3/unit06/c/group_norm/beta"));
        assert!(!names.contains(&"resnet/block3/unit07/a/group_norm/gamma"));
        assert!(!names.contains(&"resnet/block1/unit02/a/proj/standardized_conv2d/kernel"));
        let b = params
            .iter()
            .find(|p| p.name == "resnet/block2/unit01/b/standardized_conv2d/kernel")
            .unwrap();
        assert_eq!(b.shape, vec![3, 3, 128, 128]);
        assert_eq!(names.last(), Some(&HEAD_BIAS));
        let unique: std::collections::BTreeSet<_> = names.iter().collect();
        assert_eq!(unique.len(), names.len());
    }
}
