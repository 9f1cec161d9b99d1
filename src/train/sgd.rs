//! SGD with momentum and no weight decay, as PyTorch's `torch.optim.SGD(momentum=0.9)`
//! (dampening 0, not Nesterov): `buf ← μ·buf + g`, `p ← p − lr·buf`, with `buf` starting at 0
//! (so the first step sets `buf = g`, exactly as PyTorch's clone).
//!
//! Written here rather than through `tch::nn::Optimizer` because libtorch keeps that one's
//! momentum buffers out of reach, and `--resume` must save and restore them bit for bit.

use tch::{TchError, Tensor};

/// The optimizer over named variables.
#[derive(Debug)]
pub struct Sgd {
    /// (VarStore key, variable), sorted by key.
    params: Vec<(String, Tensor)>,
    momentum: Vec<Tensor>,
    beta: f64,
}

impl Sgd {
    /// Momentum `beta` over `params` (only those that require gradients should be given).
    pub fn new(mut params: Vec<(String, Tensor)>, beta: f64) -> Result<Self, TchError> {
        params.sort_by(|a, b| a.0.cmp(&b.0));
        let momentum = tch::no_grad(|| {
            params
                .iter()
                .map(|(_, p)| p.f_zeros_like())
                .collect::<Result<Vec<_>, _>>()
        })?;
        Ok(Self {
            params,
            momentum,
            beta,
        })
    }

    /// One update with learning rate `lr` from the gradients in place; variables without a
    /// gradient (not reached by the loss) keep their momentum and value.
    pub fn step(&mut self, lr: f64) -> Result<(), TchError> {
        let _guard = tch::no_grad_guard();
        for ((_, p), buf) in self.params.iter().zip(&mut self.momentum) {
            let g = p.grad();
            if !g.defined() {
                continue;
            }
            let _ = buf.f_mul_scalar_(self.beta)?.f_add_(&g)?;
            let _ = p.shallow_clone().f_sub_(&buf.f_mul_scalar(lr)?)?;
        }
        Ok(())
    }

    /// Zeroes every gradient.
    pub fn zero_grad(&mut self) {
        for (_, p) in &mut self.params {
            p.zero_grad();
        }
    }

    /// The variables being optimized.
    pub fn params(&self) -> impl Iterator<Item = &Tensor> {
        self.params.iter().map(|(_, p)| p)
    }

    /// Number of optimized values.
    pub fn numel(&self) -> usize {
        self.params.iter().map(|(_, p)| p.numel()).sum()
    }

    /// The momentum buffers by variable name.
    pub fn momentum(&self) -> impl Iterator<Item = (&str, &Tensor)> {
        self.params
            .iter()
            .zip(&self.momentum)
            .map(|((name, _), buf)| (name.as_str(), buf))
    }

    /// Restores the momentum buffers; every variable's buffer must be given with its shape.
    pub fn load_momentum(
        &mut self,
        mut lookup: impl FnMut(&str) -> Option<Tensor>,
    ) -> Result<(), String> {
        let _guard = tch::no_grad_guard();
        for ((name, p), buf) in self.params.iter().zip(&mut self.momentum) {
            let saved = lookup(name).ok_or_else(|| format!("no momentum buffer for '{name}'"))?;
            if saved.size() != p.size() {
                return Err(format!(
                    "momentum buffer '{name}' has shape {:?}, the variable {:?}",
                    saved.size(),
                    p.size()
                ));
            }
            buf.f_copy_(&saved)
                .map_err(|e| format!("momentum buffer '{name}': {e}"))?;
        }
        Ok(())
    }
}
