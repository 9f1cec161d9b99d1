//! The layers of BiT ResNet-v2 (bit_pytorch/models.py): weight-standardized convolution,
//! GroupNorm and the pre-activation bottleneck unit.
//!
//! Every variable sits under the path of its official checkpoint name, so the VarStore key
//! `resnet.block1.unit01.a.standardized_conv2d.kernel` is the checkpoint tensor
//! `resnet/block1/unit01/a/standardized_conv2d/kernel` (kernels OIHW here, HWIO on disk).

use tch::nn::{self, init::DEFAULT_KAIMING_UNIFORM};
use tch::{Kind, TchError, Tensor};

use crate::model::layout::UnitSpec;
use crate::model::variant::GROUPS;

/// GroupNorm epsilon (BiT: `nn.GroupNorm(32, c, eps=1e-5)`'s default).
const GN_EPS: f64 = 1e-5;
/// Weight-standardization epsilon (BiT: `torch.sqrt(v + 1e-10)`).
const WS_EPS: f64 = 1e-10;

/// How inference keeps its standardized kernels: in the convolutions' arithmetic, and in
/// channels-last (NHWC) strides or not.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KernelFormat {
    pub kind: Kind,
    pub channels_last: bool,
}

/// `t` `[N, C, H, W]` with channels-last strides (its values and shape unchanged): what
/// PyTorch's `memory_format=torch.channels_last` gives, which cuDNN runs as NHWC.
pub fn to_channels_last(t: &Tensor) -> Result<Tensor, TchError> {
    t.f_permute([0i64, 2, 3, 1])?
        .f_contiguous()?
        .f_permute([0i64, 3, 1, 2])
}

/// `{prefix}standardized_conv2d/kernel`: a bias-free convolution whose kernel is standardized
/// per output channel in every forward — or once, for inference ([`StdConv::standardize_once`]).
#[derive(Debug)]
pub(super) struct StdConv {
    kernel: Tensor,
    /// The standardized kernel, kept for inference (it no longer follows `kernel`).
    standardized: Option<Tensor>,
    stride: i64,
    padding: i64,
}

impl StdConv {
    /// Kernel `[cout, cin, k, k]` under `p / "standardized_conv2d"`.
    pub(super) fn new(
        p: &nn::Path,
        cin: usize,
        cout: usize,
        k: usize,
        stride: usize,
    ) -> Result<Self, TchError> {
        let dims = [cout as i64, cin as i64, k as i64, k as i64];
        // The scale of the init is irrelevant under weight standardization; PyTorch's conv
        // default (Kaiming uniform) keeps gradients in the usual range.
        let kernel = (p / "standardized_conv2d").f_var("kernel", &dims, DEFAULT_KAIMING_UNIFORM)?;
        Ok(Self {
            kernel,
            standardized: None,
            stride: stride as i64,
            padding: (k / 2) as i64,
        })
    }

    /// w' = (w − mean) / sqrt(var + ε), biased variance over (in, kh, kw): batch
    /// normalization of the kernel seen as `[1, cout, cin·kh·kw]`, one fused kernel forward
    /// and backward instead of five passes over the weights each way.
    fn standardized_kernel(&self) -> Result<Tensor, TchError> {
        let dims = self.kernel.size();
        self.kernel
            .f_reshape([1, dims[0], -1])?
            .f_batch_norm(None::<&Tensor>, None, None, None, true, 0.0, WS_EPS, false)?
            .f_reshape(&dims)
    }

    /// Standardizes the kernel now, in f32, and keeps it in `format` (the arithmetic of the
    /// convolutions to come, so autocast has nothing to cast): forwards then skip the
    /// standardization, and no longer see changes to the kernel. For inference only.
    pub(super) fn standardize_once(&mut self, format: KernelFormat) -> Result<(), TchError> {
        let _guard = tch::no_grad_guard();
        let w = self.standardized_kernel()?.f_to_kind(format.kind)?;
        self.standardized = Some(if format.channels_last {
            to_channels_last(&w)?
        } else {
            w
        });
        Ok(())
    }

    pub(super) fn forward(&self, xs: &Tensor) -> Result<Tensor, TchError> {
        let w = match &self.standardized {
            Some(w) => w.shallow_clone(),
            None => self.standardized_kernel()?,
        };
        xs.f_conv2d(
            &w,
            None::<&Tensor>,
            [self.stride; 2],
            [self.padding; 2],
            [1i64; 2],
            1,
        )
    }

    pub(super) fn kernel(&self) -> &Tensor {
        &self.kernel
    }
}

/// `{prefix}group_norm/{gamma,beta}`: GroupNorm with 32 groups.
#[derive(Debug)]
pub(super) struct GroupNorm {
    gamma: Tensor,
    beta: Tensor,
}

impl GroupNorm {
    /// Scale (ones) and shift (zeros) under `p / "group_norm"`.
    pub(super) fn new(p: &nn::Path, channels: usize) -> Result<Self, TchError> {
        let p = p / "group_norm";
        let dims = [channels as i64];
        Ok(Self {
            gamma: p.f_ones("gamma", &dims)?,
            beta: p.f_zeros("beta", &dims)?,
        })
    }

    /// GroupNorm followed by ReLU, the pre-activation of every BiT convolution.
    pub(super) fn forward_relu(&self, xs: &Tensor) -> Result<Tensor, TchError> {
        let mut ys = xs.f_group_norm(
            GROUPS as i64,
            Some(&self.gamma),
            Some(&self.beta),
            GN_EPS,
            true,
        )?;
        // In place, as BiT's `nn.ReLU(inplace=True)`: GroupNorm's backward needs its input, not
        // its output, so overwriting the output is safe and saves an allocation per layer.
        ys.f_relu_()
    }

    pub(super) fn variables(&self) -> [&Tensor; 2] {
        [&self.gamma, &self.beta]
    }
}

/// One pre-activated convolution of a unit: `{a,b,c}/group_norm`, then
/// `{a,b,c}/standardized_conv2d`.
#[derive(Debug)]
struct PreActConv {
    group_norm: GroupNorm,
    conv: StdConv,
}

impl PreActConv {
    fn new(
        p: &nn::Path,
        cin: usize,
        cout: usize,
        k: usize,
        stride: usize,
    ) -> Result<Self, TchError> {
        Ok(Self {
            group_norm: GroupNorm::new(p, cin)?,
            conv: StdConv::new(p, cin, cout, k, stride)?,
        })
    }
}

/// Pre-activation bottleneck unit (`PreActBottleneck`): GN→ReLU→[proj]→a 1×1→GN→ReLU→b 3×3
/// (with the stride)→GN→ReLU→c 1×1, plus the shortcut.
#[derive(Debug)]
pub(super) struct Unit {
    a: PreActConv,
    /// `a/proj/standardized_conv2d`: 1×1 projection with the unit's stride.
    proj: Option<StdConv>,
    b: PreActConv,
    c: PreActConv,
}

impl Unit {
    /// `p` is the unit's path (`resnet/block{s}/unit{NN}`).
    pub(super) fn new(p: &nn::Path, spec: &UnitSpec) -> Result<Self, TchError> {
        let a = p / "a";
        // Creation order follows layout::parameters (a/group_norm, a/proj, a, b, c).
        let a_group_norm = GroupNorm::new(&a, spec.in_channels)?;
        let proj = if spec.has_projection {
            let (cin, cout) = (spec.in_channels, spec.out_channels);
            Some(StdConv::new(&(&a / "proj"), cin, cout, 1, spec.stride)?)
        } else {
            None
        };
        let a_conv = StdConv::new(&a, spec.in_channels, spec.mid_channels, 1, 1)?;
        Ok(Self {
            a: PreActConv {
                group_norm: a_group_norm,
                conv: a_conv,
            },
            proj,
            b: PreActConv::new(
                &(p / "b"),
                spec.mid_channels,
                spec.mid_channels,
                3,
                spec.stride,
            )?,
            c: PreActConv::new(&(p / "c"), spec.mid_channels, spec.out_channels, 1, 1)?,
        })
    }

    pub(super) fn forward(&self, xs: &Tensor) -> Result<Tensor, TchError> {
        let pre = self.a.group_norm.forward_relu(xs)?;
        let shortcut = match &self.proj {
            Some(proj) => proj.forward(&pre)?,
            None => xs.shallow_clone(),
        };
        let ys = self.a.conv.forward(&pre)?;
        let ys = self.b.conv.forward(&self.b.group_norm.forward_relu(&ys)?)?;
        let ys = self.c.conv.forward(&self.c.group_norm.forward_relu(&ys)?)?;
        ys.f_add(&shortcut)
    }

    /// [`StdConv::standardize_once`] on every convolution of the unit.
    pub(super) fn standardize_once(&mut self, format: KernelFormat) -> Result<(), TchError> {
        for layer in [&mut self.a, &mut self.b, &mut self.c] {
            layer.conv.standardize_once(format)?;
        }
        match &mut self.proj {
            Some(proj) => proj.standardize_once(format),
            None => Ok(()),
        }
    }

    /// All variables of the unit.
    pub(super) fn variables(&self) -> Vec<&Tensor> {
        let mut vars = Vec::with_capacity(9);
        for layer in [&self.a, &self.b, &self.c] {
            vars.extend(layer.group_norm.variables());
            vars.push(layer.conv.kernel());
        }
        vars.extend(self.proj.as_ref().map(StdConv::kernel));
        vars
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::{nn, Device, Kind};

    /// The BiT formula, written out: (w − mean) / sqrt(var + ε) per output channel.
    fn by_formula(w: &Tensor) -> Tensor {
        let (var, mean) = w.var_mean_dim([1i64, 2, 3].as_slice(), false, true);
        (w - mean) / (var + WS_EPS).sqrt()
    }

    #[test]
    fn the_fused_standardization_is_the_formula_forward_and_backward() {
        tch::manual_seed(3);
        let vs = nn::VarStore::new(Device::Cpu);
        let mut conv = StdConv::new(&vs.root(), 8, 16, 3, 1).unwrap();
        let fused = conv.standardized_kernel().unwrap();
        let formula = by_formula(&conv.kernel);
        let diff = (&fused - &formula).abs().max().double_value(&[]);
        assert!(diff < 1e-5, "forward differs by {diff}");
        // The same gradient reaches the kernel through both.
        let probe = Tensor::randn(fused.size(), (Kind::Float, Device::Cpu));
        let mut grad = |w: Tensor| {
            conv.kernel.zero_grad();
            (w * &probe).sum(Kind::Float).backward();
            conv.kernel.grad().copy()
        };
        let (g_fused, g_formula) = (grad(fused), grad(formula));
        let diff = (&g_fused - &g_formula).abs().max().double_value(&[]);
        let scale = g_formula.abs().max().double_value(&[]);
        assert!(
            diff < 1e-4 * scale.max(1.0),
            "gradient differs by {diff} (scale {scale})"
        );
    }
}
