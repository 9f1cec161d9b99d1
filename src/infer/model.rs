//! [`Model`]: a model file loaded on the runtime `--provider` names — ONNX Runtime
//! ([`Classifier`]) or libtorch ([`super::torch_scorer::TorchScorer`], builds with the `train`
//! feature) — behind the score stage's [`Scorer`] trait, with what every mode needs beside it.

use std::path::Path;

use ndarray::ArrayView4;

use super::{select, Classifier, ClassifierOptions, ExecutionProvider, InferError, Scorer, Scores};
use crate::model::ModelMetadata;
use crate::preprocess::Preprocessor;

/// A loaded model: its scorer, its metadata and the preprocessing it expects.
pub struct Model {
    scorer: Box<dyn Scorer>,
    meta: ModelMetadata,
    preprocessor: Preprocessor,
    provider: ExecutionProvider,
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Model")
            .field("variant", &self.meta.variant)
            .field("provider", &self.provider)
            .finish_non_exhaustive()
    }
}

impl Model {
    /// Loads `path` on `options.provider` (`auto` resolved, the libtorch providers included).
    pub fn load(path: &Path, options: &ClassifierOptions) -> Result<Self, InferError> {
        let options = select::resolve(options, true);
        if options.provider.is_torch() {
            return load_torch(path, &options);
        }
        let classifier = Classifier::load(path, &options)?;
        let meta = classifier.metadata().clone();
        Ok(Self {
            preprocessor: classifier.preprocessor().clone(),
            scorer: Box::new(classifier),
            meta,
            provider: options.provider,
        })
    }

    /// What the model says about itself.
    pub fn metadata(&self) -> &ModelMetadata {
        &self.meta
    }

    /// The preprocessing this model expects.
    pub fn preprocessor(&self) -> &Preprocessor {
        &self.preprocessor
    }

    /// Where it runs (never `auto`).
    pub fn provider(&self) -> ExecutionProvider {
        self.provider
    }

    /// The scorer, for a stage that owns it.
    pub fn into_scorer(self) -> Box<dyn Scorer> {
        self.scorer
    }
}

impl Scorer for Model {
    fn score(&mut self, batch: ArrayView4<'_, f32>) -> anyhow::Result<Vec<f32>> {
        self.scorer.score(batch)
    }

    fn score_with_maps(&mut self, batch: ArrayView4<'_, f32>) -> anyhow::Result<Scores> {
        self.scorer.score_with_maps(batch)
    }

    fn score_device(
        &mut self,
        batch: &crate::cuda::prepare::DeviceBatch,
    ) -> anyhow::Result<Option<Scores>> {
        self.scorer.score_device(batch)
    }
}

#[cfg(feature = "train")]
fn load_torch(path: &Path, options: &ClassifierOptions) -> Result<Model, InferError> {
    let scorer = super::torch_scorer::TorchScorer::load(path, options)?;
    let meta = scorer.metadata().clone();
    Ok(Model {
        preprocessor: Preprocessor::for_model(&meta)?,
        scorer: Box::new(scorer),
        meta,
        provider: options.provider,
    })
}

#[cfg(not(feature = "train"))]
fn load_torch(_path: &Path, options: &ClassifierOptions) -> Result<Model, InferError> {
    Err(InferError::NoLibtorch {
        provider: options.provider,
    })
}

/// Why libtorch cannot run on the GPU here, or `None` when it can.
#[cfg(feature = "train")]
pub fn torch_cuda_unavailable() -> Option<String> {
    (!tch::Cuda::is_available()).then(|| {
        "libtorch sees no CUDA device (no GPU or driver, or a CPU-only libtorch)".to_string()
    })
}

/// Why libtorch cannot run on the GPU here, or `None` when it can.
#[cfg(not(feature = "train"))]
pub fn torch_cuda_unavailable() -> Option<String> {
    Some("this endoscan was built without libtorch (feature `train`)".to_string())
}
