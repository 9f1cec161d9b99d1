//! [`Classifier`]: an ONNX Runtime session over an endoscan model, configured only from the
//! model file (its metadata says input size, normalization and classes).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use image::RgbImage;
use ndarray::{s, Array2, Array4, ArrayView4, Axis};
use ort::session::Session;
use ort::value::{TensorElementType, TensorRef, ValueType};

use super::contract::{self, Contract, OutputKind, Port};
use super::options::{ClassifierOptions, ExecutionProvider};
use super::{runtime, softmax, InferError};
use crate::model::metadata::INPUT;
use crate::model::ModelMetadata;
use crate::preprocess::{normalize_batch, Preprocessor};

/// A loaded model. `classify_*` take `&mut self`: one session runs one batch at a time.
#[derive(Debug)]
pub struct Classifier {
    path: PathBuf,
    session: Session,
    meta: ModelMetadata,
    contract: Contract,
    preprocessor: Preprocessor,
}

impl Classifier {
    /// Loads the model at `path` and checks its graph against its metadata.
    pub fn load(path: &Path, options: &ClassifierOptions) -> Result<Self, InferError> {
        let file = || path.to_path_buf();
        if std::fs::metadata(path).is_err() {
            return Err(InferError::ModelNotFound { path: file() });
        }
        let env = runtime::environment()?;
        let session_err = |source: ort::Error| InferError::Session {
            path: file(),
            source,
        };
        let mut builder = Session::builder(env).map_err(session_err)?;
        if let Some(threads) = options.intra_threads {
            builder = builder
                .with_intra_threads(threads)
                .map_err(|e| session_err(e.into()))?;
        }
        if options.shares_cpu {
            builder = builder
                .with_intra_op_spinning(false)
                .map_err(|e| session_err(e.into()))?;
        }
        let options = &super::select::resolve(options, false);
        if options.provider.is_torch() {
            return Err(InferError::NotOnnxRuntime {
                path: file(),
                provider: options.provider,
            });
        }
        let engines = (options.provider == ExecutionProvider::TensorRt)
            .then(|| {
                super::engine_cache::for_model(path, options.device_id, options.engine_precision)
            })
            .flatten();
        let providers = options.provider.dispatch(
            options.device_id,
            engines.as_deref(),
            options.engine_precision,
        );
        if !providers.is_empty() {
            builder =
                builder
                    .with_execution_providers(providers)
                    .map_err(|e| InferError::Provider {
                        path: file(),
                        provider: options.provider,
                        source: e.into(),
                    })?;
        }
        if options.provider == ExecutionProvider::TrtRtx {
            builder = super::trt_rtx_session::attach(builder, env, path, options)?;
        }
        let session = builder
            .commit_from_file(path)
            .map_err(|source| InferError::LoadModel {
                path: file(),
                source,
            })?;
        let meta = read_metadata(&session).map_err(|source| InferError::Metadata {
            path: file(),
            source,
        })?;
        let contract = contract::check(&ports(session.inputs()), &ports(session.outputs()), &meta)
            .map_err(|problem| InferError::Contract {
                path: file(),
                problem,
            })?;
        let preprocessor = Preprocessor::for_model(&meta)?;
        tracing::info!(
            model = %path.display(),
            variant = %meta.variant,
            input_size = meta.input_size,
            provider = %options.provider,
            "loaded classifier"
        );
        Ok(Self {
            path: file(),
            session,
            meta,
            contract,
            preprocessor,
        })
    }

    /// The model file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// What the model says about itself.
    pub fn metadata(&self) -> &ModelMetadata {
        &self.meta
    }

    /// The preprocessing this model expects.
    pub fn preprocessor(&self) -> &Preprocessor {
        &self.preprocessor
    }

    /// Whether a row of class probabilities flags the positive (cancer) class.
    pub fn is_positive(&self, probs: &[f32]) -> bool {
        probs
            .get(self.meta.positive)
            .is_some_and(|&p| p >= self.meta.threshold)
    }

    /// Class probabilities `[N, classes]` of a normalized `[N, 3, S, S]` batch of any size
    /// (graphs with a fixed batch run in chunks, the last zero-padded).
    pub fn classify_batch(
        &mut self,
        input: ArrayView4<'_, f32>,
    ) -> Result<Array2<f32>, InferError> {
        Ok(self.classify_with_maps(input)?.probs)
    }

    /// Whether the model has a class-activation map output.
    pub fn has_maps(&self) -> bool {
        self.contract.cam.is_some()
    }

    /// [`Self::classify_batch`], with the class-activation maps `[N, classes, h, w]` when the
    /// model has them.
    pub fn classify_with_maps(
        &mut self,
        input: ArrayView4<'_, f32>,
    ) -> Result<Outputs, InferError> {
        let s = self.meta.input_size;
        let (n, c, h, w) = input.dim();
        if (c, h, w) != (3, s, s) {
            return Err(InferError::InputShape {
                expected: format!("[N, 3, {s}, {s}]"),
                got: format!("{:?}", input.shape()),
            });
        }
        let chunk = self.contract.fixed_batch.unwrap_or(n.max(1));
        let input = input.as_standard_layout();
        let mut parts = Vec::new();
        for start in (0..n).step_by(chunk) {
            let end = (start + chunk).min(n);
            let part = input.slice(s![start..end, .., .., ..]);
            let out = if end - start == chunk {
                self.run(part)?
            } else {
                // A fixed-batch graph needs exactly `chunk` images: pad with zeros.
                let mut padded = ndarray::Array4::<f32>::zeros((chunk, 3, s, s));
                padded
                    .slice_mut(s![..end - start, .., .., ..])
                    .assign(&part);
                self.run(padded.view())?.first(end - start)
            };
            parts.push(out);
        }
        let mut out = Outputs::concat(parts, self.meta.classes.len());
        if self.contract.kind == OutputKind::Logits {
            softmax::softmax_rows(&mut out.probs);
        }
        Ok(out)
    }

    /// Preprocesses frames of any size and classifies them in batches of `batch`.
    pub fn classify_images(
        &mut self,
        images: &[RgbImage],
        batch: usize,
    ) -> Result<Array2<f32>, InferError> {
        let mut probs = Array2::<f32>::zeros((0, self.meta.classes.len()));
        for group in images.chunks(batch.max(1)) {
            let prepared = group
                .iter()
                .map(|img| self.preprocessor.prepare(img))
                .collect::<Result<Vec<_>, _>>()?;
            let squares: Vec<&RgbImage> = prepared.iter().map(|p| &p.image).collect();
            let input = normalize_batch(&squares, self.meta.normalization)?;
            let rows = self.classify_batch(input.view())?;
            probs
                .append(Axis(0), rows.view())
                .expect("rows have the class count");
        }
        Ok(probs)
    }

    /// One session run on a contiguous batch; returns the outputs as stored.
    fn run(&mut self, input: ArrayView4<'_, f32>) -> Result<Outputs, InferError> {
        let run_err = |source: ort::Error| InferError::Run {
            path: self.path.clone(),
            source,
        };
        let tensor = TensorRef::from_array_view(input).map_err(run_err)?;
        let outputs = self
            .session
            .run(ort::inputs![INPUT => tensor])
            .map_err(|source| InferError::Run {
                path: self.path.clone(),
                source,
            })?;
        let bad = |problem: String| InferError::Output {
            path: self.path.clone(),
            problem,
        };
        let read = |name: &str, rank: usize| {
            let value = outputs
                .get(name)
                .ok_or_else(|| bad(format!("no '{name}' in the results")))?;
            let view = value
                .try_extract_array::<f32>()
                .map_err(|e| bad(format!("'{name}': {e}")))?;
            let (n, classes) = (input.dim().0, self.meta.classes.len());
            let shape = view.shape();
            if shape.len() != rank || shape[0] != n || shape[1] != classes {
                return Err(bad(format!(
                    "'{name}' has shape {shape:?}, expected [{n}, {classes}{}]",
                    if rank == 4 { ", h, w" } else { "" }
                )));
            }
            Ok(view.to_owned())
        };
        let probs = read(&self.contract.output, 2)?
            .into_dimensionality()
            .expect("shape checked to be 2-D");
        let maps = match &self.contract.cam {
            Some(name) => Some(
                read(name, 4)?
                    .into_dimensionality()
                    .expect("shape checked to be 4-D"),
            ),
            None => None,
        };
        Ok(Outputs { probs, maps })
    }
}

/// What one batch gave: class probabilities `[N, classes]` (logits until the softmax), and
/// the class-activation maps `[N, classes, h, w]` of a model that has them.
#[derive(Debug, Clone, PartialEq)]
pub struct Outputs {
    pub probs: Array2<f32>,
    pub maps: Option<Array4<f32>>,
}

impl Outputs {
    /// The first `n` images only (a zero-padded fixed batch).
    fn first(self, n: usize) -> Self {
        Self {
            probs: self.probs.slice(s![..n, ..]).to_owned(),
            maps: self.maps.map(|m| m.slice(s![..n, .., .., ..]).to_owned()),
        }
    }

    /// The parts in order as one batch (`classes` columns when there is none).
    fn concat(parts: Vec<Self>, classes: usize) -> Self {
        let mut probs = Array2::<f32>::zeros((0, classes));
        let mut maps: Option<Array4<f32>> = None;
        for (i, part) in parts.into_iter().enumerate() {
            probs
                .append(Axis(0), part.probs.view())
                .expect("rows have the class count");
            maps = match (i, maps, part.maps) {
                (0, _, m) => m,
                (_, Some(mut all), Some(m)) => {
                    all.append(Axis(0), m.view()).expect("maps have one shape");
                    Some(all)
                }
                _ => None,
            };
        }
        Self { probs, maps }
    }
}

/// The session's custom metadata as endoscan [`ModelMetadata`].
fn read_metadata(
    session: &Session,
) -> Result<ModelMetadata, crate::model::metadata::MetadataError> {
    let map: BTreeMap<String, String> = match session.metadata() {
        Ok(md) => md
            .custom_keys()
            .unwrap_or_default()
            .into_iter()
            .filter_map(|key| md.custom(&key).map(|value| (key, value)))
            .collect(),
        Err(_) => BTreeMap::new(),
    };
    ModelMetadata::from_map(&map)
}

/// Graph inputs or outputs as plain [`Port`]s.
fn ports(outlets: &[ort::value::Outlet]) -> Vec<Port> {
    outlets
        .iter()
        .map(|o| match o.dtype() {
            ValueType::Tensor { ty, shape, .. } => Port {
                name: o.name().to_string(),
                is_f32: *ty == TensorElementType::Float32,
                dims: shape.to_vec(),
            },
            _ => Port {
                name: o.name().to_string(),
                is_f32: false,
                dims: Vec::new(),
            },
        })
        .collect()
}
