//! The libtorch backend of [`Scorer`] (`--provider torch-cuda | torch-cpu`): the model's own
//! definition ([`crate::model::torch::BitResNet`]) with the weights and metadata read back from
//! the endoscan `.onnx` file, so the same file serves both runtimes.
//!
//! On CUDA the convolutions run under fp16 autocast (weights stay f32, as in training; the
//! `fp32` engine precision turns it off) with cuDNN autotuning; on the CPU in f32, where it
//! must agree with ONNX Runtime's CPU provider (`tests/torch_scorer.rs`).

use std::path::{Path, PathBuf};

use ndarray::{Array4, ArrayView4};
use tch::{Device, Kind, Tensor};

use super::scorer::evidence_maps;
use super::{ClassifierOptions, EnginePrecision, ExecutionProvider, InferError, Scorer, Scores};
use crate::cuda::device::Output;
use crate::cuda::prepare::DeviceBatch;
use crate::model::torch::{to_channels_last, BitModel, KernelFormat};
use crate::model::{ModelMetadata, Weights};
use crate::train::amp::Amp;
use crate::train::args::Precision;

/// A model loaded into libtorch. Runs on the caller's thread, one batch at a time.
#[derive(Debug)]
pub struct TorchScorer {
    path: PathBuf,
    model: BitModel,
    meta: ModelMetadata,
    device: Device,
    amp: Amp,
    provider: ExecutionProvider,
    /// Inputs and kernels in channels-last strides ([`TorchScorer::with_channels_last`]).
    channels_last: bool,
}

impl TorchScorer {
    /// Loads the endoscan ONNX model at `path` for `options.provider` (a libtorch one).
    pub fn load(path: &Path, options: &ClassifierOptions) -> Result<Self, InferError> {
        let provider = options.provider;
        let torch_err = |why: String| InferError::Torch {
            path: path.to_path_buf(),
            provider,
            why,
        };
        if std::fs::metadata(path).is_err() {
            return Err(InferError::ModelNotFound {
                path: path.to_path_buf(),
            });
        }
        let device = match provider {
            ExecutionProvider::TorchCuda => {
                if let Some(why) = super::torch_cuda_unavailable() {
                    return Err(torch_err(why));
                }
                tch::Cuda::cudnn_set_benchmark(true);
                Device::Cuda(
                    usize::try_from(options.device_id)
                        .map_err(|_| torch_err(format!("bad GPU index {}", options.device_id)))?,
                )
            }
            ExecutionProvider::TorchCpu => {
                if let Some(threads) = options.intra_threads {
                    tch::set_num_threads(threads as i32);
                }
                Device::Cpu
            }
            other => return Err(torch_err(format!("{other} is not a libtorch provider"))),
        };
        let weights = Weights::load(path).map_err(|e| torch_err(e.to_string()))?;
        let meta =
            ModelMetadata::from_map(&weights.metadata).map_err(|source| InferError::Metadata {
                path: path.to_path_buf(),
                source,
            })?;
        let precision = match (device, options.engine_precision) {
            (Device::Cpu, _) | (_, EnginePrecision::Fp32) => Precision::Fp32,
            (_, EnginePrecision::Fp16) => Precision::Fp16,
        };
        let scorer = Self::from_weights(path, &weights, meta, device, precision)?;
        tracing::info!(
            model = %path.display(),
            variant = %scorer.meta.variant,
            input_size = scorer.meta.input_size,
            provider = %provider,
            precision = %scorer.amp.precision(),
            "loaded model into libtorch"
        );
        Ok(scorer)
    }

    /// A scorer over `weights` described by `meta` on `device` at `precision` (fp16/bf16
    /// autocast on CUDA only); `path` names the model in errors.
    pub fn from_weights(
        path: &Path,
        weights: &Weights,
        meta: ModelMetadata,
        device: Device,
        precision: Precision,
    ) -> Result<Self, InferError> {
        let provider = match device {
            Device::Cpu => ExecutionProvider::TorchCpu,
            _ => ExecutionProvider::TorchCuda,
        };
        let torch_err = |why: String| InferError::Torch {
            path: path.to_path_buf(),
            provider,
            why,
        };
        let model = BitModel::from_weights(weights, &meta.variant, device)
            .map_err(|e| torch_err(format!("the weights do not fit {}: {e}", meta.variant)))?;
        if model.net().classes() != meta.classes.len() {
            return Err(torch_err(format!(
                "the head has {} classes, the metadata names {}",
                model.net().classes(),
                meta.classes.len()
            )));
        }
        let amp = Amp::new(precision, device).map_err(torch_err)?;
        let mut scorer = Self {
            path: path.to_path_buf(),
            model,
            meta,
            device,
            amp,
            provider,
            channels_last: false,
        };
        scorer.standardize(false)?;
        Ok(scorer)
    }

    /// Keeps kernels and inputs in channels-last (NHWC) strides, which cuDNN's tensor-core
    /// kernels prefer: the same values, so the same scores within rounding.
    pub fn with_channels_last(mut self) -> Result<Self, InferError> {
        self.standardize(true)?;
        self.channels_last = true;
        Ok(self)
    }

    /// Inference only: the kernels standardized once, in the convolutions' arithmetic.
    fn standardize(&mut self, channels_last: bool) -> Result<(), InferError> {
        let kind = match self.amp.precision() {
            Precision::Fp16 => Kind::Half,
            Precision::Bf16 => Kind::BFloat16,
            Precision::Fp32 => Kind::Float,
        };
        let format = KernelFormat {
            kind,
            channels_last,
        };
        self.model
            .standardize_kernels_once(format)
            .map_err(|e| InferError::Torch {
                path: self.path.clone(),
                provider: self.provider,
                why: format!("cannot standardize the kernels: {e}"),
            })
    }

    /// What the model says about itself.
    pub fn metadata(&self) -> &ModelMetadata {
        &self.meta
    }

    /// The arithmetic in effect (fp32 on the CPU whatever was asked).
    pub fn precision(&self) -> Precision {
        self.amp.precision()
    }

    /// Class probabilities `[N, classes]` (row-major) and, when the model declares a map, the
    /// class-activation maps `[N, classes, h, w]`, both on the host.
    fn run(
        &self,
        batch: ArrayView4<'_, f32>,
    ) -> Result<(Vec<f32>, Option<Array4<f32>>), InferError> {
        let (n, channels, height, width) = batch.dim();
        let side = self.meta.input_size;
        if channels != 3 || height != side || width != side || n == 0 {
            return Err(InferError::InputShape {
                expected: format!("[N ≥ 1, 3, {side}, {side}]"),
                got: format!("{:?}", batch.shape()),
            });
        }
        let run_err = |e: String| InferError::Torch {
            path: self.path.clone(),
            provider: self.provider,
            why: format!("inference failed: {e}"),
        };
        let dims = [n as i64, 3, side as i64, side as i64];
        let host = batch.as_standard_layout();
        let pixels = host.as_slice().expect("standard layout is contiguous");
        let xs = Tensor::f_from_slice(pixels)
            .and_then(|t| t.f_view(dims))
            .and_then(|t| t.f_to_device(self.device))
            .map_err(|e| run_err(e.to_string()))?;
        self.run_tensor(&xs)
    }

    /// [`TorchScorer::run`] on an input tensor already on the model's device.
    fn run_tensor(&self, xs: &Tensor) -> Result<(Vec<f32>, Option<Array4<f32>>), InferError> {
        let run_err = |e: String| InferError::Torch {
            path: self.path.clone(),
            provider: self.provider,
            why: format!("inference failed: {e}"),
        };
        let _guard = tch::no_grad_guard();
        let laid_out;
        let xs = if self.channels_last {
            laid_out = to_channels_last(xs).map_err(|e| run_err(e.to_string()))?;
            &laid_out
        } else {
            xs
        };
        let net = self.model.net();
        let (logits, cam) = if self.meta.cam_output.is_some() {
            // The logits are the map's spatial mean (the head is linear), so one pass gives both.
            let cam = self
                .amp
                .run(|| net.cam_t(xs, false))
                .map_err(|e| run_err(e.to_string()))?
                .to_kind(Kind::Float);
            let logits = cam
                .f_mean_dim([2i64, 3].as_slice(), false, Kind::Float)
                .map_err(|e| run_err(e.to_string()))?;
            (logits, Some(cam))
        } else {
            let logits = self
                .amp
                .run(|| net.forward_t(xs, false))
                .map_err(|e| run_err(e.to_string()))?;
            (logits.to_kind(Kind::Float), None)
        };
        let to_host = |t: &Tensor| -> Result<Vec<f32>, InferError> {
            let flat = t
                .f_to_device(Device::Cpu)
                .and_then(|t| t.f_flatten(0, -1))
                .map_err(|e| run_err(e.to_string()))?;
            Vec::<f32>::try_from(&flat).map_err(|e| run_err(e.to_string()))
        };
        let probs = to_host(&logits.softmax(-1, Kind::Float))?;
        let maps = match cam {
            Some(cam) => {
                let dims: Vec<usize> = cam.size().iter().map(|&d| d as usize).collect();
                let values = to_host(&cam)?;
                let shape = (dims[0], dims[1], dims[2], dims[3]);
                Some(
                    Array4::from_shape_vec(shape, values).map_err(|e| InferError::Output {
                        path: self.path.clone(),
                        problem: format!("class-activation map: {e}"),
                    })?,
                )
            }
            None => None,
        };
        Ok((probs, maps))
    }
}

impl TorchScorer {
    /// The scores of `run`'s output.
    fn scores(&self, (probs, maps): (Vec<f32>, Option<Array4<f32>>)) -> anyhow::Result<Scores> {
        let classes = self.meta.classes.len();
        let positive = self.meta.positive;
        let p = probs.chunks(classes).map(|row| row[positive]).collect();
        let maps = maps
            .map(|cams| evidence_maps(cams.view(), positive, &self.path))
            .transpose()?;
        Ok(Scores { p, maps })
    }

    /// The tensor over a device batch (f32; an f16 batch converted on the GPU).
    fn device_tensor(&self, batch: &DeviceBatch) -> Result<Tensor, InferError> {
        let side = self.meta.input_size;
        let (kind, value_bytes) = match batch.output {
            Output::F32 => (Kind::Float, 4),
            Output::F16 => (Kind::Half, 2),
            Output::U8 => (Kind::Uint8, 1),
        };
        let expected = batch.images * 3 * side * side * value_bytes;
        if batch.side != side || kind == Kind::Uint8 || batch.bytes != expected || batch.images == 0
        {
            return Err(InferError::InputShape {
                expected: format!("[N ≥ 1, 3, {side}, {side}] normalized f32 or f16 on the GPU"),
                got: format!(
                    "{:?} of {}×3×{}² ({} bytes)",
                    batch.output, batch.images, batch.side, batch.bytes
                ),
            });
        }
        let dims = [batch.images as i64, 3, side as i64, side as i64];
        // SAFETY: `batch` describes a live allocation of `bytes` bytes on this GPU, valid for
        // this call (`CudaPreparer::prepare_on_device`), its producer synchronized; libtorch
        // only reads it, and every use ends before `run_tensor` returns (its results are
        // copied to the host, which waits for the GPU).
        let xs =
            unsafe { Tensor::f_from_blob(batch.ptr as *const u8, &dims, &[], kind, self.device) };
        xs.and_then(|t| t.f_to_kind(Kind::Float))
            .map_err(|e| InferError::Torch {
                path: self.path.clone(),
                provider: self.provider,
                why: format!("cannot read the device batch: {e}"),
            })
    }
}

impl Scorer for TorchScorer {
    fn score(&mut self, batch: ArrayView4<'_, f32>) -> anyhow::Result<Vec<f32>> {
        Ok(self.score_with_maps(batch)?.p)
    }

    fn score_with_maps(&mut self, batch: ArrayView4<'_, f32>) -> anyhow::Result<Scores> {
        let out = self.run(batch)?;
        self.scores(out)
    }

    fn score_device(&mut self, batch: &DeviceBatch) -> anyhow::Result<Option<Scores>> {
        if self.device != Device::Cuda(batch.ordinal) {
            return Ok(None);
        }
        let xs = self.device_tensor(batch)?;
        let out = self.run_tensor(&xs)?;
        Ok(Some(self.scores(out)?))
    }
}

#[cfg(test)]
#[path = "torch_scorer_tests.rs"]
mod tests;
