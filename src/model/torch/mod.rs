//! BiT ResNet-v2 in tch (feature `train`): the trainable face of the classifier.
//!
//! The architecture is that of google-research/big_transfer (`bit_pytorch/models.py`, Kolesnikov
//! et al., "Big Transfer", 2020) as recipe.md specifies: root 7×7/2 weight-standardized conv →
//! zero pad 1 → 3×3/2 max-pool → pre-activation bottleneck units → GroupNorm → ReLU → global
//! average pool → 1×1 head with bias.
//!
//! Input: `[N, 3, H, W]` f32 on the model's device, normalized as the weights expect
//! ([`crate::model::Normalization`]). Output: logits `[N, classes]`. Every variable lives under
//! its official checkpoint name with `/` written `.` (`resnet.head.conv2d.bias`); convolution
//! kernels are OIHW in tch and HWIO in [`Weights`], and [`load_weights`] / [`to_weights`]
//! transpose between the two so weight files keep the official layout. Bad inputs and
//! mismatched weights are errors, never panics.

mod convert;
mod layers;

use tch::{nn, Device, Kind, TchError, Tensor};

use self::layers::{GroupNorm, StdConv, Unit};
use super::layout::{self, ROOT_KERNEL_SIZE};
use super::variant::Variant;
use super::weights::Weights;

pub use self::convert::{load_weights, to_weights};
pub use self::layers::{to_channels_last, KernelFormat};

/// Stride of the root convolution and of the max-pool after it.
const ROOT_STRIDE: usize = 2;

/// Why the tch model could not be built, run, loaded or saved.
#[derive(Debug, thiserror::Error)]
pub enum TorchModelError {
    /// The input is not an image batch the model can take.
    #[error("model input has shape {shape:?}; expected [N, 3, H, W] with N, H, W ≥ 1")]
    InputShape { shape: Vec<i64> },
    /// The input's dtype or device differs from the model's.
    #[error("model input is {input_kind:?} on {input_device:?}; the model is {model_kind:?} on {model_device:?}")]
    InputKind {
        input_kind: Kind,
        input_device: Device,
        model_kind: Kind,
        model_device: Device,
    },
    /// Features passed to the head have the wrong width.
    #[error("head input has shape {shape:?}; expected [N, {features}]")]
    FeatureShape { shape: Vec<i64>, features: usize },
    /// A head needs at least one class.
    #[error("a model needs at least one class, got {0}")]
    NoClasses(usize),
    /// The weights lack tensors the model has.
    #[error("weights lack {} tensor(s) the model needs: {}", .0.len(), names(.0))]
    MissingTensors(Vec<String>),
    /// The weights hold tensors the model does not have (strict loading).
    #[error("weights hold {} tensor(s) the model does not have: {}", .0.len(), names(.0))]
    UnexpectedTensors(Vec<String>),
    /// A tensor's shape differs from the model's (both in the official layout).
    #[error("{name}: weights have shape {found:?}, the model needs {expected:?}")]
    TensorShape {
        name: String,
        found: Vec<usize>,
        expected: Vec<usize>,
    },
    /// A weights tensor whose data length does not match its shape.
    #[error("{name}: {len} values do not fill shape {shape:?}")]
    TensorData {
        name: String,
        len: usize,
        shape: Vec<usize>,
    },
    /// An error from libtorch.
    #[error(transparent)]
    Torch(#[from] TchError),
}

/// The first few names, for error messages.
fn names(list: &[String]) -> String {
    const SHOWN: usize = 5;
    let mut text = list
        .iter()
        .take(SHOWN)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if list.len() > SHOWN {
        text.push_str(&format!(", … ({} more)", list.len() - SHOWN));
    }
    text
}

/// `resnet/head/conv2d/{kernel,bias}`: the classifier, a 1×1 convolution (= linear layer)
/// with bias, zero-initialized as BiT's new heads are.
#[derive(Debug)]
struct Head {
    kernel: Tensor,
    bias: Tensor,
}

impl Head {
    fn new(p: &nn::Path, features: usize, classes: usize) -> Result<Self, TchError> {
        let p = p / "conv2d";
        Ok(Self {
            kernel: p.f_zeros("kernel", &[classes as i64, features as i64, 1, 1])?,
            bias: p.f_zeros("bias", &[classes as i64])?,
        })
    }

    fn forward(&self, features: &Tensor) -> Result<Tensor, TchError> {
        features.f_linear(&self.kernel.f_flatten(1, -1)?, Some(&self.bias))
    }
}

/// BiT ResNet-v2 classifier built on an [`nn::Path`]; its variables sit under `p / "resnet"`.
#[derive(Debug)]
pub struct BitResNet {
    variant: Variant,
    classes: usize,
    root_block: StdConv,
    units: Vec<Unit>,
    group_norm: GroupNorm,
    head: Head,
    /// Shallow handles on every backbone variable (all but the head), for freezing.
    backbone: Vec<Tensor>,
}

impl BitResNet {
    /// Builds `variant` with a `classes`-way zero head: conv kernels Kaiming-uniform, GroupNorm
    /// scale 1 and shift 0 (load pretrained weights with [`load_weights`]).
    pub fn new(p: &nn::Path, variant: &Variant, classes: usize) -> Result<Self, TorchModelError> {
        if classes == 0 {
            return Err(TorchModelError::NoClasses(classes));
        }
        let p = p / "resnet";
        let root_block = StdConv::new(
            &(&p / "root_block"),
            3,
            variant.root_channels(),
            ROOT_KERNEL_SIZE,
            ROOT_STRIDE,
        )?;
        let units = layout::units(variant)
            .iter()
            .map(|spec| {
                // `resnet/block1/unit01/` → sub-paths "block1", "unit01".
                let sub = spec.prefix.trim_start_matches(layout::PREFIX);
                let unit_path = sub
                    .split('/')
                    .filter(|s| !s.is_empty())
                    .fold(p.clone(), |q, s| q / s);
                Unit::new(&unit_path, spec)
            })
            .collect::<Result<Vec<_>, _>>()?;
        let group_norm = GroupNorm::new(&p, variant.feature_channels())?;
        let head = Head::new(&(&p / "head"), variant.feature_channels(), classes)?;
        let mut backbone = vec![root_block.kernel().shallow_clone()];
        for unit in &units {
            backbone.extend(unit.variables().into_iter().map(Tensor::shallow_clone));
        }
        backbone.extend(
            group_norm
                .variables()
                .into_iter()
                .map(Tensor::shallow_clone),
        );
        Ok(Self {
            variant: *variant,
            classes,
            root_block,
            units,
            group_norm,
            head,
            backbone,
        })
    }

    /// The architecture.
    pub fn variant(&self) -> Variant {
        self.variant
    }

    /// Number of output classes.
    pub fn classes(&self) -> usize {
        self.classes
    }

    /// Standardizes every kernel once and keeps it in `format`, for inference: forwards then
    /// skip weight standardization (passes over all weights each time) and no longer follow
    /// the variables. Never on a model that is being trained.
    pub fn standardize_kernels_once(
        &mut self,
        format: KernelFormat,
    ) -> Result<(), TorchModelError> {
        self.root_block.standardize_once(format)?;
        for unit in &mut self.units {
            unit.standardize_once(format)?;
        }
        Ok(())
    }

    /// Logits `[N, classes]` of images `[N, 3, H, W]`.
    ///
    /// BiT has no batch-dependent layers (GroupNorm, no dropout), so `train` changes nothing
    /// today; it follows tch's `_t` convention so callers need not change if that does.
    pub fn forward_t(&self, xs: &Tensor, train: bool) -> Result<Tensor, TorchModelError> {
        let features = self.features_t(xs, train)?;
        Ok(self.head.forward(&features)?)
    }

    /// Pooled pre-head features `[N, features]` (after the final GroupNorm and ReLU): what the
    /// head sees, so local fine-tuning can compute them once and cache them.
    pub fn features_t(&self, xs: &Tensor, train: bool) -> Result<Tensor, TorchModelError> {
        let ys = self.feature_map_t(xs, train)?;
        Ok(ys.f_mean_dim([2i64, 3].as_slice(), false, None::<Kind>)?)
    }

    /// The class-activation map `[N, classes, ⌈H/32⌉, ⌈W/32⌉]`: the head's 1×1 convolution at
    /// every location of the feature map, before the pool. Its spatial mean is the logits
    /// (the exported model's `cam` output).
    pub fn cam_t(&self, xs: &Tensor, train: bool) -> Result<Tensor, TorchModelError> {
        let ys = self.feature_map_t(xs, train)?;
        self.check_kind(&ys)?;
        Ok(ys.f_conv2d(
            &self.head.kernel,
            Some(&self.head.bias),
            [1i64, 1],
            [0i64, 0],
            [1i64, 1],
            1,
        )?)
    }

    /// The feature map `[N, features, h, w]` after the final GroupNorm and ReLU.
    fn feature_map_t(&self, xs: &Tensor, train: bool) -> Result<Tensor, TorchModelError> {
        let _ = train;
        self.check_input(xs)?;
        let ys = self.root_block.forward(xs)?;
        let ys = ys.f_constant_pad_nd([1i64, 1, 1, 1])?;
        let mut ys = ys.f_max_pool2d(
            [3i64; 2],
            [ROOT_STRIDE as i64; 2],
            [0i64; 2],
            [1i64; 2],
            false,
        )?;
        for unit in &self.units {
            ys = unit.forward(&ys)?;
        }
        Ok(self.group_norm.forward_relu(&ys)?)
    }

    /// Logits `[N, classes]` of pooled features `[N, features]` from [`Self::features_t`].
    pub fn head_t(&self, features: &Tensor, train: bool) -> Result<Tensor, TorchModelError> {
        let _ = train;
        let shape = features.size();
        let width = self.variant.feature_channels();
        if shape.len() != 2 || shape[1] != width as i64 {
            return Err(TorchModelError::FeatureShape {
                shape,
                features: width,
            });
        }
        self.check_kind(features)?;
        Ok(self.head.forward(features)?)
    }

    /// Stops gradients for every backbone variable (local fine-tuning: only the head trains).
    pub fn freeze_backbone(&self) {
        self.set_backbone_trainable(false);
    }

    /// Tracks gradients for every backbone variable again (global fine-tuning).
    pub fn unfreeze_backbone(&self) {
        self.set_backbone_trainable(true);
    }

    /// The head's variables (kernel `[classes, features, 1, 1]`, bias `[classes]`), e.g. to
    /// build an optimizer over the head alone.
    pub fn head_variables(&self) -> [&Tensor; 2] {
        [&self.head.kernel, &self.head.bias]
    }

    fn set_backbone_trainable(&self, trainable: bool) {
        for var in &self.backbone {
            let _ = var.set_requires_grad(trainable);
        }
    }

    fn check_input(&self, xs: &Tensor) -> Result<(), TorchModelError> {
        let shape = xs.size();
        if shape.len() != 4 || shape[1] != 3 || shape[0] < 1 || shape[2] < 1 || shape[3] < 1 {
            return Err(TorchModelError::InputShape { shape });
        }
        self.check_kind(xs)
    }

    fn check_kind(&self, xs: &Tensor) -> Result<(), TorchModelError> {
        let model = self.root_block.kernel();
        let (model_kind, model_device) = (model.f_kind()?, model.device());
        let (input_kind, input_device) = (xs.f_kind()?, xs.device());
        if input_kind != model_kind || input_device != model_device {
            return Err(TorchModelError::InputKind {
                input_kind,
                input_device,
                model_kind,
                model_device,
            });
        }
        Ok(())
    }
}

/// BiT-M R50x1 (the recipe's smallest backbone) with a `classes`-way zero head.
pub fn bit_m_r50x1(p: &nn::Path, classes: usize) -> Result<BitResNet, TorchModelError> {
    BitResNet::new(
        p,
        &Variant::new(50, 1.0).expect("r50x1 is a BiT variant"),
        classes,
    )
}

/// BiT-M R101x3 (the recipe's best backbone) with a `classes`-way zero head.
pub fn bit_m_r101x3(p: &nn::Path, classes: usize) -> Result<BitResNet, TorchModelError> {
    BitResNet::new(
        p,
        &Variant::new(101, 3.0).expect("r101x3 is a BiT variant"),
        classes,
    )
}

/// A [`BitResNet`] with its own [`nn::VarStore`]: what training and export handle.
#[derive(Debug)]
pub struct BitModel {
    vs: nn::VarStore,
    net: BitResNet,
}

impl BitModel {
    /// A freshly initialized model (zero head) on `device`.
    pub fn new(variant: &Variant, classes: usize, device: Device) -> Result<Self, TorchModelError> {
        let vs = nn::VarStore::new(device);
        let net = BitResNet::new(&vs.root(), variant, classes)?;
        Ok(Self { vs, net })
    }

    /// A model of `variant` holding `weights` (strict; the class count is the head's).
    pub fn from_weights(
        weights: &Weights,
        variant: &Variant,
        device: Device,
    ) -> Result<Self, TorchModelError> {
        let classes = convert::head_classes(weights)?;
        let mut model = Self::new(variant, classes, device)?;
        model.load_weights(weights)?;
        Ok(model)
    }

    /// Copies `weights` into the model (strict, see [`load_weights`]).
    pub fn load_weights(&mut self, weights: &Weights) -> Result<(), TorchModelError> {
        load_weights(&mut self.vs, weights)
    }

    /// The model's parameters in the official layout (see [`to_weights`]).
    pub fn to_weights(&self) -> Result<Weights, TorchModelError> {
        to_weights(&self.vs)
    }

    /// The network.
    pub fn net(&self) -> &BitResNet {
        &self.net
    }

    /// [`BitResNet::standardize_kernels_once`]: for a model that only infers from now on.
    pub fn standardize_kernels_once(
        &mut self,
        format: KernelFormat,
    ) -> Result<(), TorchModelError> {
        self.net.standardize_kernels_once(format)
    }

    /// The variables, e.g. for `nn::Sgd::default().build(model.var_store(), lr)`.
    pub fn var_store(&self) -> &nn::VarStore {
        &self.vs
    }

    /// The variables, mutably (device or dtype changes).
    pub fn var_store_mut(&mut self) -> &mut nn::VarStore {
        &mut self.vs
    }
}
