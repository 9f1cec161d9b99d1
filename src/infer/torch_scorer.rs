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
use crate::model::torch::BitModel;
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
        let mut model = model;
        // Inference only: standardize the kernels once, in the convolutions' arithmetic.
        let kind = match amp.precision() {
            Precision::Fp16 => Kind::Half,
            Precision::Bf16 => Kind::BFloat16,
            Precision::Fp32 => Kind::Float,
        };
        model
            .standardize_kernels_once(kind)
            .map_err(|e| torch_err(format!("cannot standardize the kernels: {e}")))?;
        Ok(Self {
            path: path.to_path_buf(),
            model,
            meta,
            device,
            amp,
            provider,
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
        let _guard = tch::no_grad_guard();
        let host = batch.as_standard_layout();
        let pixels = host.as_slice().expect("standard layout is contiguous");
        let xs = Tensor::f_from_slice(pixels)
            .and_then(|t| t.f_view(dims))
            .and_then(|t| t.f_to_device(self.device))
            .map_err(|e| run_err(e.to_string()))?;
        let net = self.model.net();
        let (logits, cam) = if self.meta.cam_output.is_some() {
            // The logits are the map's spatial mean (the head is linear), so one pass gives both.
            let cam = self
                .amp
                .run(|| net.cam_t(&xs, false))
                .map_err(|e| run_err(e.to_string()))?
                .to_kind(Kind::Float);
            let logits = cam
                .f_mean_dim([2i64, 3].as_slice(), false, Kind::Float)
                .map_err(|e| run_err(e.to_string()))?;
            (logits, Some(cam))
        } else {
            let logits = self
                .amp
                .run(|| net.forward_t(&xs, false))
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

impl Scorer for TorchScorer {
    fn score(&mut self, batch: ArrayView4<'_, f32>) -> anyhow::Result<Vec<f32>> {
        Ok(self.score_with_maps(batch)?.p)
    }

    fn score_with_maps(&mut self, batch: ArrayView4<'_, f32>) -> anyhow::Result<Scores> {
        let classes = self.meta.classes.len();
        let positive = self.meta.positive;
        let (probs, maps) = self.run(batch)?;
        let p = probs.chunks(classes).map(|row| row[positive]).collect();
        let maps = maps
            .map(|cams| evidence_maps(cams.view(), positive, &self.path))
            .transpose()?;
        Ok(Scores { p, maps })
    }
}
