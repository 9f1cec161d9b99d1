//! One optimization step and one validation pass of the BiT model (feature `train`).
//!
//! Global mode: images → [`BitResNet::forward_t`] → cross-entropy → backward → SGD over every
//! variable. Local mode: the backbone is frozen and runs without a graph; with the feature
//! cache (default) its pooled features of the unaugmented train and validation images are
//! computed once and each step trains the head on rows of that cache, so local runs cost
//! seconds, but see no augmentation (a linear head on fixed features gains little from it;
//! `--no-feature-cache` restores the recipe's per-step augmentation).

use tch::{Device, Kind, Reduction, TchError, Tensor};

use super::amp::Amp;
use super::args::Mode;
use super::batch::{Batch, BatchMaker};
use super::sgd::Sgd;
use crate::data::DataError;
use crate::model::torch::{BitModel, BitResNet, TorchModelError};

/// Why a step or a validation failed.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    #[error(transparent)]
    Model(#[from] TorchModelError),
    #[error(transparent)]
    Torch(#[from] TchError),
    #[error(transparent)]
    Data(#[from] DataError),
}

impl TrainError {
    /// Whether this is the device running out of memory (what `--batch auto` probes for).
    pub fn is_out_of_memory(&self) -> bool {
        let text = self.to_string().to_ascii_lowercase();
        text.contains("out of memory")
    }
}

/// Backbone features of the train and validation sets, computed once (local mode).
#[derive(Debug)]
struct FeatureCache {
    train: Tensor,
    val: Tensor,
}

/// Positive-class probabilities and the mean loss of a validation pass.
#[derive(Debug, Clone, PartialEq)]
pub struct ValScores {
    pub probabilities: Vec<f32>,
    pub labels: Vec<i64>,
    pub loss: f64,
}

/// The model with its optimizer and precision.
#[derive(Debug)]
pub struct Trainer {
    model: BitModel,
    sgd: Sgd,
    amp: Amp,
    device: Device,
    mode: Mode,
    input_size: i64,
    positive: usize,
    features: Option<FeatureCache>,
}

impl Trainer {
    /// Freezes the backbone in local mode and builds the optimizer over what trains.
    pub fn new(
        model: BitModel,
        mode: Mode,
        amp: Amp,
        input_size: usize,
        positive: usize,
        momentum: f64,
    ) -> Result<Self, TrainError> {
        if mode == Mode::Local {
            model.net().freeze_backbone();
        }
        let trainable: Vec<(String, Tensor)> = model
            .var_store()
            .variables()
            .into_iter()
            .filter(|(_, v)| v.requires_grad())
            .collect();
        let sgd = Sgd::new(trainable, momentum)?;
        let device = model.var_store().device();
        Ok(Self {
            model,
            sgd,
            amp,
            device,
            mode,
            input_size: input_size as i64,
            positive,
            features: None,
        })
    }

    /// The model.
    pub fn model(&self) -> &BitModel {
        &self.model
    }

    /// The model, mutably (loading checkpoints).
    pub fn model_mut(&mut self) -> &mut BitModel {
        &mut self.model
    }

    /// The optimizer (momentum buffers for checkpoints).
    pub fn sgd(&self) -> &Sgd {
        &self.sgd
    }

    /// The optimizer, mutably.
    pub fn sgd_mut(&mut self) -> &mut Sgd {
        &mut self.sgd
    }

    /// Mixed-precision state (fp16 loss scale for checkpoints).
    pub fn amp(&self) -> &Amp {
        &self.amp
    }

    /// Mixed-precision state, mutably.
    pub fn amp_mut(&mut self) -> &mut Amp {
        &mut self.amp
    }

    /// Computes the backbone features of `train` and `val` once (local mode with cache).
    pub fn cache_features(
        &mut self,
        train: &BatchMaker,
        val: &BatchMaker,
        batch: usize,
    ) -> Result<(), TrainError> {
        let train = self.features_of(train, batch)?;
        let val = self.features_of(val, batch)?;
        self.features = Some(FeatureCache { train, val });
        Ok(())
    }

    fn features_of(&self, maker: &BatchMaker, batch: usize) -> Result<Tensor, TrainError> {
        let _guard = tch::no_grad_guard();
        let mut parts = Vec::new();
        for b in maker.in_order(batch) {
            let xs = self.images(&b?)?;
            let f = self.amp.run(|| self.model.net().features_t(&xs, false))?;
            parts.push(f.f_to_kind(Kind::Float)?);
        }
        Ok(Tensor::f_cat(&parts, 0)?)
    }

    /// One SGD step on `batch` at learning rate `lr`; returns the batch's mean loss (before
    /// the update). An fp16 overflow skips the update (and lowers the loss scale).
    pub fn step(&mut self, batch: &Batch, lr: f64) -> Result<f64, TrainError> {
        let loss = self.loss(batch)?;
        self.sgd.zero_grad();
        self.amp.scale_loss(&loss)?.f_backward()?;
        if self.amp.unscale(self.sgd.params())? {
            self.sgd.step(lr)?;
        }
        Ok(loss.f_double_value(&[])?)
    }

    /// Forward and backward on a synthetic batch of `n` without updating anything: whether a
    /// batch of `n` fits in memory.
    pub fn try_batch(&mut self, n: usize) -> Result<(), TrainError> {
        let s = self.input_size as usize;
        let batch = Batch {
            step: 0,
            positions: vec![0; n],
            images: vec![0.0; n * 3 * s * s],
            labels: vec![0; n],
        };
        let loss = match self.mode {
            // The probe must cost what feature caching costs: the backbone on `n` images.
            Mode::Local => self.local_loss(&self.images(&batch)?, &batch)?,
            Mode::Global => self.loss(&batch)?,
        };
        self.amp.scale_loss(&loss)?.f_backward()?;
        self.sgd.zero_grad();
        Ok(())
    }

    /// Mean cross-entropy of `batch` with a graph for the trainable variables.
    fn loss(&self, batch: &Batch) -> Result<Tensor, TrainError> {
        let labels = self.labels(batch)?;
        let logits = match (&self.features, self.mode) {
            (Some(cache), _) => {
                let rows: Vec<i64> = batch.positions.iter().map(|&p| p as i64).collect();
                let idx = Tensor::f_from_slice(&rows)?.f_to_device(self.device)?;
                let f = cache.train.f_index_select(0, &idx)?;
                self.net().head_t(&f, true)?
            }
            (None, Mode::Local) => return self.local_loss(&self.images(batch)?, batch),
            (None, Mode::Global) => {
                let xs = self.images(batch)?;
                self.amp.run(|| self.net().forward_t(&xs, true))?
            }
        };
        cross_entropy(&logits, &labels)
    }

    /// Local mode without cache: the frozen backbone without a graph, then the head.
    fn local_loss(&self, xs: &Tensor, batch: &Batch) -> Result<Tensor, TrainError> {
        let f = tch::no_grad(|| self.amp.run(|| self.net().features_t(xs, true)))?;
        let logits = self.net().head_t(&f.f_to_kind(Kind::Float)?, true)?;
        cross_entropy(&logits, &self.labels(batch)?)
    }

    /// Positive-class probabilities and mean loss over `val` (unaugmented, in order).
    pub fn validate(&self, val: &BatchMaker, batch: usize) -> Result<ValScores, TrainError> {
        let _guard = tch::no_grad_guard();
        let mut out = ValScores {
            probabilities: Vec::with_capacity(val.len()),
            labels: val.labels().to_vec(),
            loss: 0.0,
        };
        let mut loss_sum = 0.0;
        let mut add = |logits: Tensor, labels: &[i64]| -> Result<(), TrainError> {
            let logits = logits.f_to_kind(Kind::Float)?;
            let ys = Tensor::f_from_slice(labels)?.f_to_device(self.device)?;
            let loss = logits
                .f_log_softmax(-1, Kind::Float)?
                .f_nll_loss::<&Tensor>(&ys, None, Reduction::Sum, -100)?;
            loss_sum += loss.f_double_value(&[])?;
            let probs = logits
                .f_softmax(-1, Kind::Float)?
                .f_select(1, self.positive as i64)?
                .f_to_device(Device::Cpu)?;
            out.probabilities.extend(Vec::<f32>::try_from(&probs)?);
            Ok(())
        };
        match &self.features {
            Some(cache) => add(self.net().head_t(&cache.val, false)?, val.labels())?,
            None => {
                for b in val.in_order(batch) {
                    let b = b?;
                    let xs = self.images(&b)?;
                    let logits = self.amp.run(|| self.net().forward_t(&xs, false))?;
                    add(logits, &b.labels)?;
                }
            }
        }
        out.loss = loss_sum / val.len().max(1) as f64;
        Ok(out)
    }

    fn net(&self) -> &BitResNet {
        self.model.net()
    }

    fn images(&self, batch: &Batch) -> Result<Tensor, TchError> {
        let s = self.input_size;
        Tensor::f_from_slice(&batch.images)?
            .f_view([batch.len() as i64, 3, s, s])?
            .f_to_device(self.device)
    }

    fn labels(&self, batch: &Batch) -> Result<Tensor, TchError> {
        Tensor::f_from_slice(&batch.labels)?.f_to_device(self.device)
    }
}

/// Mean cross-entropy in f32 (autocast logits may be half precision).
fn cross_entropy(logits: &Tensor, labels: &Tensor) -> Result<Tensor, TrainError> {
    Ok(logits
        .f_to_kind(Kind::Float)?
        .f_log_softmax(-1, Kind::Float)?
        .f_nll_loss::<&Tensor>(labels, None, Reduction::Mean, -100)?)
}
