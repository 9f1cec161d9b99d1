//! The BiT ResNet-v2 forward as ONNX nodes, following bit_pytorch `models.py`
//! (google-research/big_transfer): root → pre-activation bottleneck units → head.
//!
//! Node outputs are named after the checkpoint scope they compute (e.g.
//! `resnet/block1/unit01/b/standardized_conv2d`); initializers carry the checkpoint names.

use std::borrow::Cow;

use super::fold;
use super::proto::{Attribute, Data, Node, TensorProto};
use super::OnnxError;
use crate::model::layout::{self, UnitSpec, HEAD_BIAS, HEAD_KERNEL, ROOT_KERNEL, ROOT_KERNEL_SIZE};
use crate::model::metadata::{OUTPUT_CAM, OUTPUT_LOGITS, OUTPUT_PROBS};
use crate::model::variant::{Variant, GROUPS};
use crate::model::weights::{Tensor, Weights};

/// GroupNorm epsilon (PyTorch `nn.GroupNorm` default, as bit_pytorch uses).
pub const GN_EPS: f32 = 1e-5;

/// Shared constant initializers.
const GN_SHAPE: &str = "const/group_norm_shape";
const GN_ONES: &str = "const/ones_per_group";
const GN_ZEROS: &str = "const/zeros_per_group";
const ROOT_PADS: &str = "const/root_pads";

/// Nodes and initializers under construction.
pub(crate) struct GraphBuilder<'w> {
    weights: &'w Weights,
    pub nodes: Vec<Node>,
    pub initializers: Vec<TensorProto<'w>>,
}

impl<'w> GraphBuilder<'w> {
    /// Builds the whole forward from `input` to the `logits`, `probs` and `cam` outputs.
    /// The weights must already match `variant` (see [`Weights::check`]).
    ///
    /// `cam` is the head's 1×1 convolution applied to the feature map before the pool: pool
    /// and convolution are both linear, so its spatial mean is `logits` (a branch of its own,
    /// not the source of `logits`, so that the identity is a check on the export).
    pub fn bit(weights: &'w Weights, variant: &Variant, input: &str) -> Result<Self, OnnxError> {
        let mut g = Self {
            weights,
            nodes: Vec::new(),
            initializers: Vec::new(),
        };
        g.constants();
        let x = g.std_conv(input, ROOT_KERNEL, ROOT_KERNEL_SIZE, 2)?;
        let x = g.node("Pad", "resnet/root_block/pad", &[&x, ROOT_PADS], Vec::new());
        let mut x = g.node(
            "MaxPool",
            "resnet/root_block/max_pool",
            &[&x],
            vec![
                Attribute::Ints("kernel_shape", vec![3, 3]),
                Attribute::Ints("strides", vec![2, 2]),
            ],
        );
        for unit in layout::units(variant) {
            x = g.unit(&x, &unit)?;
        }
        let features = g.group_norm_relu(&x, layout::PREFIX)?;
        let x = g.node(
            "GlobalAveragePool",
            "resnet/global_avg_pool",
            &[&features],
            Vec::new(),
        );
        g.head_kernel()?;
        g.vector(HEAD_BIAS, &[])?;
        g.node_to(
            "Conv",
            "resnet/head/cam",
            &[&features, HEAD_KERNEL, HEAD_BIAS],
            OUTPUT_CAM,
            vec![Attribute::Ints("kernel_shape", vec![1, 1])],
        );
        let x = g.node(
            "Conv",
            "resnet/head/conv2d",
            &[&x, HEAD_KERNEL, HEAD_BIAS],
            vec![Attribute::Ints("kernel_shape", vec![1, 1])],
        );
        g.node_to(
            "Flatten",
            "resnet/head/flatten",
            &[&x],
            OUTPUT_LOGITS,
            vec![Attribute::Int("axis", 1)],
        );
        g.node_to(
            "Softmax",
            "resnet/head/softmax",
            &[OUTPUT_LOGITS],
            OUTPUT_PROBS,
            vec![Attribute::Int("axis", 1)],
        );
        Ok(g)
    }

    /// One pre-activation bottleneck unit.
    fn unit(&mut self, x: &str, unit: &UnitSpec) -> Result<String, OnnxError> {
        let pre = self.group_norm_relu(x, &unit.name("a/"))?;
        let shortcut = if unit.has_projection {
            let kernel = unit.name("a/proj/standardized_conv2d/kernel");
            self.std_conv(&pre, &kernel, 1, unit.stride)?
        } else {
            x.to_string()
        };
        let h = self.std_conv(&pre, &unit.name("a/standardized_conv2d/kernel"), 1, 1)?;
        let h = self.group_norm_relu(&h, &unit.name("b/"))?;
        let h = self.std_conv(
            &h,
            &unit.name("b/standardized_conv2d/kernel"),
            3,
            unit.stride,
        )?;
        let h = self.group_norm_relu(&h, &unit.name("c/"))?;
        let h = self.std_conv(&h, &unit.name("c/standardized_conv2d/kernel"), 1, 1)?;
        Ok(self.node("Add", &unit.name("add"), &[&h, &shortcut], Vec::new()))
    }

    /// Weight-standardized convolution, padding `k / 2`, no bias.
    fn std_conv(
        &mut self,
        x: &str,
        kernel: &str,
        k: usize,
        stride: usize,
    ) -> Result<String, OnnxError> {
        let t = self.tensor(kernel)?;
        let folded = fold::standardize_to_oihw(t).ok_or_else(|| bad_shape(kernel, t))?;
        let [kh, kw, ci, co] = [t.shape[0], t.shape[1], t.shape[2], t.shape[3]];
        self.initializers.push(TensorProto {
            name: kernel.to_string(),
            dims: dims(&[co, ci, kh, kw]),
            data: Data::F32(Cow::Owned(folded)),
            external: None,
        });
        let (k, s, p) = (k as i64, stride as i64, (k / 2) as i64);
        let name = kernel.strip_suffix("/kernel").unwrap_or(kernel);
        Ok(self.node(
            "Conv",
            name,
            &[x, kernel],
            vec![
                Attribute::Ints("kernel_shape", vec![k, k]),
                Attribute::Ints("strides", vec![s, s]),
                Attribute::Ints("pads", vec![p, p, p, p]),
            ],
        ))
    }

    /// GroupNorm(32, eps 1e-5) → ReLU, in the TensorRT-friendly form: reshape to
    /// `[N, 32, -1]`, InstanceNormalization, reshape back to `Shape(x)`, then the per-channel
    /// affine with `gamma`/`beta` stored as `[C, 1, 1]`.
    fn group_norm_relu(&mut self, x: &str, scope: &str) -> Result<String, OnnxError> {
        let gamma = format!("{scope}group_norm/gamma");
        let beta = format!("{scope}group_norm/beta");
        self.vector(&gamma, &[1, 1])?;
        self.vector(&beta, &[1, 1])?;
        let gn = format!("{scope}group_norm");
        let grouped = self.node(
            "Reshape",
            &format!("{gn}/reshape"),
            &[x, GN_SHAPE],
            Vec::new(),
        );
        let normed = self.node(
            "InstanceNormalization",
            &format!("{gn}/instance_norm"),
            &[&grouped, GN_ONES, GN_ZEROS],
            vec![Attribute::Float("epsilon", GN_EPS)],
        );
        let shape = self.node("Shape", &format!("{gn}/shape"), &[x], Vec::new());
        let back = self.node(
            "Reshape",
            &format!("{gn}/reshape_back"),
            &[&normed, &shape],
            Vec::new(),
        );
        let scaled = self.node("Mul", &format!("{gn}/scale"), &[&back, &gamma], Vec::new());
        let shifted = self.node("Add", &format!("{gn}/shift"), &[&scaled, &beta], Vec::new());
        Ok(self.node("Relu", &format!("{scope}relu"), &[&shifted], Vec::new()))
    }

    /// The head kernel as a plain (not standardized) OIHW convolution.
    fn head_kernel(&mut self) -> Result<(), OnnxError> {
        let t = self.tensor(HEAD_KERNEL)?;
        let oihw = fold::hwio_to_oihw(t).ok_or_else(|| bad_shape(HEAD_KERNEL, t))?;
        let [kh, kw, ci, co] = [t.shape[0], t.shape[1], t.shape[2], t.shape[3]];
        self.initializers.push(TensorProto {
            name: HEAD_KERNEL.to_string(),
            dims: dims(&[co, ci, kh, kw]),
            data: Data::F32(Cow::Owned(oihw)),
            external: None,
        });
        Ok(())
    }

    /// A 1-D tensor as an initializer of shape `[len, trailing...]`, values borrowed.
    fn vector(&mut self, name: &str, trailing: &[usize]) -> Result<(), OnnxError> {
        let t = self.tensor(name)?;
        if t.shape.len() != 1 {
            return Err(bad_shape(name, t));
        }
        let mut shape = t.shape.clone();
        shape.extend_from_slice(trailing);
        self.initializers.push(TensorProto {
            name: name.to_string(),
            dims: dims(&shape),
            data: Data::F32(Cow::Borrowed(&t.data)),
            external: None,
        });
        Ok(())
    }

    fn tensor(&self, name: &str) -> Result<&'w Tensor, OnnxError> {
        self.weights
            .tensors
            .get(name)
            .ok_or_else(|| OnnxError::MissingTensor(name.to_string()))
    }

    /// Constants shared by every GroupNorm and the root.
    fn constants(&mut self) {
        let groups = GROUPS;
        let consts = [
            (GN_SHAPE, vec![3], Data::I64(vec![0, groups as i64, -1])),
            (
                GN_ONES,
                vec![groups as i64],
                Data::F32(vec![1.0; groups].into()),
            ),
            (
                GN_ZEROS,
                vec![groups as i64],
                Data::F32(vec![0.0; groups].into()),
            ),
            (ROOT_PADS, vec![8], Data::I64(vec![0, 0, 1, 1, 0, 0, 1, 1])),
        ];
        for (name, dims, data) in consts {
            self.initializers.push(TensorProto {
                name: name.to_string(),
                dims,
                data,
                external: None,
            });
        }
    }

    /// Adds a node whose single output is named like the node; returns that name.
    fn node(
        &mut self,
        op: &'static str,
        name: &str,
        inputs: &[&str],
        attributes: Vec<Attribute>,
    ) -> String {
        self.node_to(op, name, inputs, name, attributes);
        name.to_string()
    }

    fn node_to(
        &mut self,
        op: &'static str,
        name: &str,
        inputs: &[&str],
        output: &str,
        attributes: Vec<Attribute>,
    ) {
        self.nodes.push(Node {
            name: name.to_string(),
            op_type: op,
            inputs: inputs.iter().map(|s| s.to_string()).collect(),
            outputs: vec![output.to_string()],
            attributes,
        });
    }
}

fn dims(shape: &[usize]) -> Vec<i64> {
    shape.iter().map(|&d| d as i64).collect()
}

fn bad_shape(name: &str, t: &Tensor) -> OnnxError {
    OnnxError::BadTensor {
        name: name.to_string(),
        shape: t.shape.clone(),
    }
}
