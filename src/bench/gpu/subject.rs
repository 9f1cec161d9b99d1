//! The model `bench gpu` measures: BiT with random official-layout weights (timing needs no
//! trained model), or a model file; and its scorer on a provider at a precision.

use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::infer::{ClassifierOptions, EnginePrecision, ExecutionProvider, Model, Scorer};
use crate::model::{ModelMetadata, Normalization, Variant, Weights};
use crate::preprocess::Preprocessor;

/// How a scorer is loaded for one row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Setup {
    pub provider: ExecutionProvider,
    pub precision: EnginePrecision,
    pub device: i32,
    /// Kernels and inputs in channels-last strides (libtorch only).
    pub channels_last: bool,
}

/// Seed of the random weights (fixed, so a TensorRT engine built once is found again).
const WEIGHT_SEED: u64 = 7;

/// A model under test.
pub struct Subject {
    /// What rows call it: the variant, or the file name.
    pub label: String,
    pub meta: ModelMetadata,
    source: Source,
    /// The ONNX file ONNX Runtime loads; for random weights written on first use, in the
    /// temporary folder, and removed on drop.
    onnx: Option<PathBuf>,
}

enum Source {
    Random(Box<Weights>),
    File,
}

impl Subject {
    /// `variant` with random weights at `input_size`², two classes, BiT normalization.
    pub fn random(variant: Variant, input_size: usize) -> Self {
        let meta = ModelMetadata {
            variant,
            input_size,
            normalization: Normalization::Bit,
            classes: vec!["cancer".into(), "non-cancer".into()],
            positive: 0,
            threshold: 0.5,
            weights_sha256: format!("random-seed-{WEIGHT_SEED}"),
            cam_output: Some(crate::model::metadata::OUTPUT_CAM.into()),
        };
        Self {
            label: variant.to_string(),
            meta,
            source: Source::Random(Box::new(Weights::random(&variant, 2, WEIGHT_SEED))),
            onnx: None,
        }
    }

    /// An endoscan `.onnx` model (its metadata read on the CPU provider).
    pub fn file(path: &Path) -> anyhow::Result<Self> {
        let model = Model::load(path, &ClassifierOptions::default())?;
        Ok(Self {
            label: path.file_name().map_or_else(
                || path.display().to_string(),
                |n| n.to_string_lossy().into(),
            ),
            meta: model.metadata().clone(),
            source: Source::File,
            onnx: Some(path.to_path_buf()),
        })
    }

    /// The preprocessing the model expects.
    pub fn preprocessor(&self) -> anyhow::Result<Preprocessor> {
        Ok(Preprocessor::for_model(&self.meta)?)
    }

    /// The model as `setup` says (its provider never `auto`).
    pub fn scorer(&mut self, setup: Setup) -> anyhow::Result<Box<dyn Scorer>> {
        let options = ClassifierOptions {
            provider: setup.provider,
            device_id: setup.device,
            engine_precision: setup.precision,
            ..ClassifierOptions::default()
        };
        if setup.provider.is_torch() {
            return torch_scorer(self, &options, setup.channels_last);
        }
        let path = self.onnx_file()?;
        Ok(Box::new(Model::load(&path, &options)?))
    }

    fn onnx_file(&mut self) -> anyhow::Result<PathBuf> {
        if let Some(path) = &self.onnx {
            return Ok(path.clone());
        }
        let Source::Random(weights) = &self.source else {
            unreachable!("a file subject has its path");
        };
        let path = std::env::temp_dir().join(format!(
            "endoscan-bench-{}-{}-{}.onnx",
            self.label,
            self.meta.input_size,
            std::process::id()
        ));
        eprintln!("bench gpu: writing {} for ONNX Runtime", path.display());
        crate::model::onnx::write(weights, &self.meta, &path)
            .with_context(|| format!("{}: cannot write the benchmark model", path.display()))?;
        self.onnx = Some(path.clone());
        Ok(path)
    }
}

impl Drop for Subject {
    fn drop(&mut self) {
        if let (Source::Random(_), Some(path)) = (&self.source, &self.onnx) {
            let _ = std::fs::remove_file(path);
        }
    }
}

#[cfg(feature = "train")]
fn torch_scorer(
    subject: &Subject,
    options: &ClassifierOptions,
    channels_last: bool,
) -> anyhow::Result<Box<dyn Scorer>> {
    use crate::infer::torch_scorer::TorchScorer;
    use crate::train::args::Precision;
    use tch::Device;
    let scorer = match (&subject.source, &subject.onnx) {
        (Source::Random(weights), _) => {
            let device = match options.provider {
                ExecutionProvider::TorchCuda => {
                    if let Some(why) = crate::infer::torch_cuda_unavailable() {
                        anyhow::bail!("--provider torch-cuda: {why}");
                    }
                    tch::Cuda::cudnn_set_benchmark(true);
                    let index = usize::try_from(options.device_id)
                        .context("--device: a GPU index is ≥ 0")?;
                    Device::Cuda(index)
                }
                _ => Device::Cpu,
            };
            let precision = match options.engine_precision {
                EnginePrecision::Fp16 if device != Device::Cpu => Precision::Fp16,
                _ => Precision::Fp32,
            };
            let label = PathBuf::from(format!("random-{}", subject.label));
            TorchScorer::from_weights(&label, weights, subject.meta.clone(), device, precision)?
        }
        (Source::File, Some(path)) => TorchScorer::load(path, options)?,
        (Source::File, None) => unreachable!("a file subject has its path"),
    };
    Ok(Box::new(if channels_last {
        scorer.with_channels_last()?
    } else {
        scorer
    }))
}

#[cfg(not(feature = "train"))]
fn torch_scorer(
    _subject: &Subject,
    options: &ClassifierOptions,
    _channels_last: bool,
) -> anyhow::Result<Box<dyn Scorer>> {
    Err(crate::infer::InferError::NoLibtorch {
        provider: options.provider,
    }
    .into())
}
