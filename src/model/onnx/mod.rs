//! ONNX export of the BiT classifier, in pure Rust: the graph ([`graph`]), folded kernels
//! ([`fold`]) and a minimal protobuf encoder ([`proto`]).
//!
//! Input [`INPUT`] `[batch, 3, S, S]` f32 (dynamic batch); outputs [`OUTPUT_LOGITS`] and
//! [`OUTPUT_PROBS`] `[batch, classes]`, and the class-activation map [`OUTPUT_CAM`]
//! `[batch, classes, ⌈S/32⌉, ⌈S/32⌉]` (declared in the metadata). Opset 17, IR version 8. Weight standardization is
//! folded into the convolution initializers, which keep the checkpoint names; the model's
//! [`ModelMetadata`] is stored as `metadata_props`. Files are written atomically.

mod fold;
mod graph;
mod proto;
pub mod read;

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use super::metadata::{
    cam_side, MetadataError, ModelMetadata, INPUT, OUTPUT_CAM, OUTPUT_LOGITS, OUTPUT_PROBS,
};
use super::weights::{Weights, WeightsError};
use crate::util::atomic;
use proto::{DataType, Dim, Message, Model, OpsetId, Sink, ValueInfo, Writer};

/// ONNX operator set of the default domain.
pub const OPSET: i64 = 17;
/// ONNX IR version (ONNX 1.13+, opset 17).
pub const IR_VERSION: i64 = 8;
/// Name of the dynamic batch dimension.
pub const BATCH_DIM: &str = "batch";
/// The largest protobuf ONNX Runtime parses (2 GiB − 1).
const MAX_MODEL_BYTES: u64 = (1 << 31) - 1;

/// Why a model could not be exported.
#[derive(Debug, thiserror::Error)]
pub enum OnnxError {
    #[error(transparent)]
    Weights(#[from] WeightsError),
    #[error("weights lack tensor '{0}'")]
    MissingTensor(String),
    #[error("tensor '{name}' has unusable shape {shape:?}")]
    BadTensor { name: String, shape: Vec<usize> },
    #[error("bad model metadata: {0}")]
    Metadata(String),
    #[error("model would be {bytes} bytes, over ONNX's 2 GiB protobuf limit")]
    TooLarge { bytes: u64 },
    #[error("{}: cannot write ONNX model", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

impl From<MetadataError> for OnnxError {
    fn from(e: MetadataError) -> Self {
        OnnxError::Metadata(e.to_string())
    }
}

/// Checks `meta` and the weights against each other and builds the model message.
fn build<'w>(weights: &'w Weights, meta: &ModelMetadata) -> Result<Model<'w>, OnnxError> {
    let meta = &ModelMetadata {
        cam_output: Some(OUTPUT_CAM.to_string()),
        ..meta.clone()
    };
    let classes = meta.classes.len();
    if meta.positive >= classes {
        return Err(OnnxError::Metadata(format!(
            "positive class index {} out of {classes} classes",
            meta.positive
        )));
    }
    // What `infer` will read back must parse.
    ModelMetadata::from_map(&meta.to_map())?;
    weights.check(&meta.variant, classes)?;

    let g = graph::GraphBuilder::bit(weights, &meta.variant, INPUT)?;
    let size = meta.input_size as i64;
    let batch = || Dim::Param(BATCH_DIM.to_string());
    let output = |name: &str| ValueInfo {
        name: name.to_string(),
        elem_type: DataType::Float,
        dims: vec![batch(), Dim::Value(classes as i64)],
    };
    Ok(Model {
        ir_version: IR_VERSION,
        opset: vec![OpsetId {
            domain: String::new(),
            version: OPSET,
        }],
        producer_name: "endoscan".into(),
        producer_version: env!("CARGO_PKG_VERSION").into(),
        doc_string: format!(
            "BiT ResNet-v2 {} classifier ({}); weight standardization folded into the kernels",
            meta.variant,
            meta.classes.join(", ")
        ),
        graph: proto::Graph {
            name: format!("bit_{}", meta.variant),
            nodes: g.nodes,
            initializers: g.initializers,
            inputs: vec![ValueInfo {
                name: INPUT.to_string(),
                elem_type: DataType::Float,
                dims: vec![batch(), Dim::Value(3), Dim::Value(size), Dim::Value(size)],
            }],
            outputs: vec![
                output(OUTPUT_LOGITS),
                output(OUTPUT_PROBS),
                ValueInfo {
                    name: OUTPUT_CAM.to_string(),
                    elem_type: DataType::Float,
                    dims: vec![
                        batch(),
                        Dim::Value(classes as i64),
                        Dim::Value(cam_side(meta.input_size) as i64),
                        Dim::Value(cam_side(meta.input_size) as i64),
                    ],
                },
            ],
        },
        metadata: meta.to_map().into_iter().collect(),
    })
}

/// The ONNX model for `weights` (which must match `meta.variant` and `meta.classes` exactly;
/// see [`Weights::conform`]) as bytes.
pub fn to_bytes(weights: &Weights, meta: &ModelMetadata) -> Result<Vec<u8>, OnnxError> {
    let model = build(weights, meta)?;
    let bytes = model.encoded_len();
    if bytes > MAX_MODEL_BYTES {
        return Err(OnnxError::TooLarge { bytes });
    }
    Ok(proto::to_vec(&model))
}

/// Writes the ONNX model for `weights` to `path` atomically; returns the bytes written.
///
/// A model over ONNX's 2 GiB protobuf limit (r152x4) keeps its large initializers in
/// `<path>.data` next to it (ONNX external data, 4 KiB-aligned), written first.
pub fn write(weights: &Weights, meta: &ModelMetadata, path: &Path) -> Result<u64, OnnxError> {
    write_with_limit(weights, meta, path, MAX_MODEL_BYTES)
}

/// [`write`] with the model-file size over which initializers go to `<path>.data` as a
/// parameter (ONNX's limit is 2 GiB), so the external-data layout can be tried on small models.
pub fn write_with_limit(
    weights: &Weights,
    meta: &ModelMetadata,
    path: &Path,
    max_bytes: u64,
) -> Result<u64, OnnxError> {
    let write_err = |path: &Path| {
        let path = path.to_path_buf();
        move |source| OnnxError::Write { path, source }
    };
    let mut model = build(weights, meta)?;
    let mut total = 0;
    if model.encoded_len() > max_bytes {
        let data_path = external_data_path(path).map_err(write_err(path))?;
        total += externalize(&mut model.graph.initializers, &data_path);
        let bytes = model.encoded_len();
        if bytes > max_bytes {
            return Err(OnnxError::TooLarge { bytes });
        }
        atomic::replace(&data_path, |tmp| {
            write_file(tmp, |w| {
                let mut at = 0;
                for init in &model.graph.initializers {
                    if let Some(ext) = &init.external {
                        w.put(&vec![0; (ext.offset - at) as usize])?;
                        init.write_data(w)?;
                        at = ext.offset + ext.length;
                    }
                }
                Ok(())
            })
        })
        .map_err(write_err(&data_path))?;
    }
    total += model.encoded_len();
    atomic::replace(path, |tmp| write_file(tmp, |w| model.write_fields(w)))
        .map_err(write_err(path))?;
    Ok(total)
}

/// Alignment of external tensors (ONNX's `convert_model_to_external_data` default).
const EXTERNAL_ALIGN: u64 = 4096;
/// Tensors smaller than this stay inline.
const EXTERNAL_MIN_BYTES: u64 = 1024;

/// `dir/model.onnx.data` for `dir/model.onnx`.
fn external_data_path(path: &Path) -> io::Result<PathBuf> {
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "the path names no file"))?;
    let mut data_name = name.to_os_string();
    data_name.push(".data");
    Ok(path.with_file_name(data_name))
}

/// Moves every large initializer to `data_path` (4 KiB-aligned offsets); returns the file size.
fn externalize(initializers: &mut [proto::TensorProto<'_>], data_path: &Path) -> u64 {
    let location = data_path
        .file_name()
        .expect("external_data_path names a file")
        .to_string_lossy()
        .into_owned();
    let mut end: u64 = 0;
    for init in initializers.iter_mut() {
        let length = init.data_len();
        if length >= EXTERNAL_MIN_BYTES {
            let offset = end.div_ceil(EXTERNAL_ALIGN) * EXTERNAL_ALIGN;
            init.external = Some(proto::External {
                location: location.clone(),
                offset,
                length,
            });
            end = offset + length;
        }
    }
    end
}

/// Creates `path`, streams into it, flushes and syncs.
fn write_file(
    path: &Path,
    body: impl FnOnce(&mut Writer<&mut BufWriter<File>>) -> io::Result<()>,
) -> io::Result<()> {
    let mut out = BufWriter::with_capacity(1 << 20, File::create(path)?);
    body(&mut Writer(&mut out))?;
    out.flush()?;
    out.into_inner().map_err(|e| e.into_error())?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::metadata::Normalization;
    use crate::model::Variant;

    fn meta(variant: Variant) -> ModelMetadata {
        ModelMetadata {
            variant,
            input_size: 64,
            normalization: Normalization::Bit,
            classes: vec!["cancer".into(), "non-cancer".into()],
            positive: 0,
            threshold: 0.5,
            weights_sha256: String::new(),
            cam_output: None,
        }
    }

    #[test]
    fn graph_is_modest_and_deterministic() {
        let variant: Variant = "r14x0.5".parse().unwrap();
        let weights = Weights::random(&variant, 2, 1);
        let model = build(&weights, &meta(variant)).unwrap();
        // 13 GroupNorms × 7 nodes, 17 convs, root pad + pool, 4 adds, pool, head, cam,
        // flatten, softmax.
        assert_eq!(model.graph.nodes.len(), 13 * 7 + 17 + 2 + 4 + 5);
        let outputs: std::collections::BTreeSet<_> = model
            .graph
            .nodes
            .iter()
            .flat_map(|n| n.outputs.clone())
            .collect();
        assert_eq!(outputs.len(), model.graph.nodes.len(), "outputs are SSA");
        for name in weights.tensors.keys() {
            assert!(
                model.graph.initializers.iter().any(|i| &i.name == name),
                "{name}"
            );
        }
        let a = to_bytes(&weights, &meta(variant)).unwrap();
        assert_eq!(a, to_bytes(&weights, &meta(variant)).unwrap());
    }

    #[test]
    fn large_models_move_initializers_to_an_external_file() {
        let dir = std::env::temp_dir().join(format!("endoscan-onnx-ext-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let variant: Variant = "r14x0.5".parse().unwrap();
        let weights = Weights::random(&variant, 2, 1);
        let path = dir.join("m.onnx");
        let total = write_with_limit(&weights, &meta(variant), &path, 1 << 20).unwrap();
        let model = std::fs::metadata(&path).unwrap().len();
        let data = std::fs::metadata(dir.join("m.onnx.data")).unwrap().len();
        assert!(model < 1 << 16 && data > 7 << 20, "{model} {data}");
        assert_eq!(total, model + data);
        let err = write_with_limit(&weights, &meta(variant), &path, 1 << 10).unwrap_err();
        assert!(matches!(err, OnnxError::TooLarge { .. }), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn refuses_weights_of_another_shape_and_bad_metadata() {
        let variant: Variant = "r14x0.5".parse().unwrap();
        let weights = Weights::random(&variant, 3, 1);
        let err = to_bytes(&weights, &meta(variant)).unwrap_err().to_string();
        assert!(err.contains(crate::model::layout::HEAD_KERNEL), "{err}");
        let weights = Weights::random(&variant, 2, 1);
        let mut bad = meta(variant);
        bad.positive = 2;
        assert!(to_bytes(&weights, &bad)
            .unwrap_err()
            .to_string()
            .contains("positive"));
        bad = meta(variant);
        bad.input_size = 8;
        let err = to_bytes(&weights, &bad).unwrap_err().to_string();
        assert!(err.contains("input_size"), "{err}");
    }
}
