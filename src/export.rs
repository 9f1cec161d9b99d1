//! `endoscan export`: BiT weights (`.npz` or safetensors) → a self-describing ONNX model.
//!
//! Settings resolve as: command-line flag, else the safetensors `__metadata__` or the `.onnx`
//! model's metadata (keys of
//! [`crate::model::metadata::keys`]), else the defaults below. The weights are checked strictly
//! against `--variant`; a head of another class count is replaced by zeros (with a warning).
//! The model is written atomically.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use clap::Args;

use crate::model::layout::HEAD_BIAS;
use crate::model::metadata::{keys, DEFAULT_INPUT_SIZE, DEFAULT_THRESHOLD};
use crate::model::onnx::{self, OnnxError};
use crate::model::{ModelMetadata, Normalization, Variant, Weights};

/// Class names when neither flags nor the weight file give any.
pub const DEFAULT_CLASSES: [&str; 2] = ["cancer", "non-cancer"];
/// Positive class when neither flags nor the weight file give one.
pub const DEFAULT_POSITIVE: &str = "cancer";

/// Arguments of `endoscan export`.
#[derive(Debug, Clone, Args)]
pub struct ExportArgs {
    /// Weight file: Google's BiT `.npz`, an endoscan safetensors checkpoint, or an endoscan
    /// `.onnx` model (re-exported with what this version adds, settings from its metadata).
    #[arg(long, value_name = "FILE")]
    pub weights: PathBuf,
    /// Model variant, e.g. r50x1, r101x3, r14x0.5.
    #[arg(long, value_name = "VARIANT")]
    pub variant: Variant,
    /// Class names in output order [default: from the checkpoint, else cancer,non-cancer].
    #[arg(long, value_delimiter = ',', value_name = "NAMES")]
    pub classes: Option<Vec<String>>,
    /// The positive (cancer) class [default: from the checkpoint, else cancer].
    #[arg(long, value_name = "NAME")]
    pub positive: Option<String>,
    /// Square input side in pixels [default: from the checkpoint, else 384].
    #[arg(long, value_name = "PIXELS")]
    pub input_size: Option<usize>,
    /// Input normalization [default: from the checkpoint, else bit].
    #[arg(long = "normalize", value_enum, value_name = "MODE")]
    pub normalization: Option<Normalization>,
    /// Decision threshold on the positive probability [default: from the checkpoint, else 0.5].
    #[arg(long, value_name = "P")]
    pub threshold: Option<f32>,
    /// Output ONNX file.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
}

/// Top-level entry point of `endoscan export`.
pub fn run(args: &ExportArgs) -> anyhow::Result<()> {
    let path = &args.weights;
    let weights = Weights::load(path)?;
    let meta = resolve(args, &weights.metadata, &weights.sha256)
        .with_context(|| format!("{}: model settings", path.display()))?;
    if weights.tensors.get(HEAD_BIAS).map(|b| b.shape.as_slice()) != Some(&[meta.classes.len()]) {
        tracing::warn!(
            "{}: no {}-class head; exporting a zero head, so every probability will be {:.3}",
            path.display(),
            meta.classes.len(),
            1.0 / meta.classes.len() as f32
        );
    }
    let weights = weights
        .conform(&meta.variant, meta.classes.len())
        .with_context(|| format!("{}: weights do not fit {}", path.display(), meta.variant))?;
    let bytes = export_onnx(&weights, &meta, &args.out)?;
    println!(
        "{}: {} {}×{} {} classes [{}] positive '{}' threshold {} ({:.1} MB, weights sha256 {})",
        args.out.display(),
        meta.variant,
        meta.input_size,
        meta.input_size,
        meta.normalization,
        meta.classes.join(","),
        meta.positive_class(),
        meta.threshold,
        bytes as f64 / 1e6,
        &meta.weights_sha256[..meta.weights_sha256.len().min(12)],
    );
    Ok(())
}

/// Writes the ONNX model of `weights` (already conformed to `meta`) to `out`, atomically;
/// returns the file size in bytes.
pub fn export_onnx(weights: &Weights, meta: &ModelMetadata, out: &Path) -> Result<u64, OnnxError> {
    onnx::write(weights, meta, out)
}

/// Resolves every model setting: flag, else checkpoint metadata, else default.
fn resolve(
    args: &ExportArgs,
    stored: &BTreeMap<String, String>,
    sha256: &str,
) -> anyhow::Result<ModelMetadata> {
    let get = |key: &str| stored.get(key).map(String::as_str);
    let classes: Vec<String> = match (&args.classes, get(keys::CLASSES)) {
        (Some(c), _) => c.clone(),
        (None, Some(c)) => c.split(',').map(str::to_string).collect(),
        (None, None) => DEFAULT_CLASSES.map(str::to_string).to_vec(),
    };
    if classes.len() < 2 || classes.iter().any(|c| c.is_empty() || c.contains(',')) {
        bail!("classes {classes:?}: expected at least two non-empty names");
    }
    if let Some(dup) = classes
        .iter()
        .enumerate()
        .find(|(i, c)| classes[..*i].contains(c))
    {
        bail!("class '{}' is listed twice", dup.1);
    }
    let positive_name = match (&args.positive, get(keys::POSITIVE)) {
        (Some(p), _) => p.as_str(),
        (None, Some(p)) => p,
        (None, None) => DEFAULT_POSITIVE,
    };
    let Some(positive) = classes.iter().position(|c| c == positive_name) else {
        bail!(
            "positive class '{positive_name}' is not one of the classes {} (set --positive)",
            classes.join(",")
        );
    };
    let input_size = match (args.input_size, get(keys::INPUT_SIZE)) {
        (Some(s), _) => s,
        (None, Some(s)) => s
            .parse()
            .with_context(|| format!("checkpoint metadata {}='{s}'", keys::INPUT_SIZE))?,
        (None, None) => DEFAULT_INPUT_SIZE,
    };
    if !(32..=4096).contains(&input_size) {
        bail!("input size {input_size}: expected 32..=4096 pixels");
    }
    let normalization = match (args.normalization, get(keys::NORMALIZATION)) {
        (Some(n), _) => n,
        (None, Some(n)) => n
            .parse()
            .map_err(|e: String| anyhow::anyhow!(e))
            .with_context(|| format!("checkpoint metadata {}", keys::NORMALIZATION))?,
        (None, None) => Normalization::Bit,
    };
    let threshold = match (args.threshold, get(keys::THRESHOLD)) {
        (Some(t), _) => t,
        (None, Some(t)) => t
            .parse()
            .with_context(|| format!("checkpoint metadata {}='{t}'", keys::THRESHOLD))?,
        (None, None) => DEFAULT_THRESHOLD,
    };
    if !(0.0..=1.0).contains(&threshold) {
        bail!("threshold {threshold}: expected a probability in [0, 1]");
    }
    Ok(ModelMetadata {
        variant: args.variant,
        input_size,
        normalization,
        classes,
        positive,
        threshold,
        weights_sha256: sha256.to_string(),
        cam_output: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: ExportArgs,
    }

    fn args(extra: &[&str]) -> ExportArgs {
        let base = [
            "x",
            "--weights",
            "w.npz",
            "--variant",
            "r14x0.5",
            "--out",
            "m.onnx",
        ];
        Cli::try_parse_from(base.iter().chain(extra)).unwrap().args
    }

    #[test]
    fn defaults_apply_without_flags_or_metadata() {
        let meta = resolve(&args(&[]), &BTreeMap::new(), "ab").unwrap();
        assert_eq!(meta.classes, ["cancer", "non-cancer"]);
        assert_eq!(
            (meta.positive, meta.input_size, meta.threshold),
            (0, 384, 0.5)
        );
        assert_eq!(meta.normalization, Normalization::Bit);
        assert_eq!(meta.weights_sha256, "ab");
    }

    #[test]
    fn flags_override_checkpoint_metadata() {
        let stored: BTreeMap<String, String> = [
            (keys::CLASSES, "benign,egc"),
            (keys::POSITIVE, "egc"),
            (keys::THRESHOLD, "0.3"),
            (keys::NORMALIZATION, "unit"),
            (keys::INPUT_SIZE, "128"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let meta = resolve(&args(&[]), &stored, "").unwrap();
        assert_eq!((meta.positive_class(), meta.threshold), ("egc", 0.3));
        assert_eq!(
            (meta.input_size, meta.normalization),
            (128, Normalization::Unit)
        );
        let meta = resolve(
            &args(&["--threshold", "0.7", "--normalize", "bit"]),
            &stored,
            "",
        )
        .unwrap();
        assert_eq!(
            (meta.threshold, meta.normalization),
            (0.7, Normalization::Bit)
        );
    }

    #[test]
    fn rejects_bad_settings() {
        let none = BTreeMap::new();
        for (flags, needle) in [
            (&["--classes", "a,b"][..], "positive class 'cancer'"),
            (&["--classes", "cancer"], "two"),
            (&["--classes", "cancer,cancer"], "twice"),
            (&["--threshold", "1.5"], "threshold"),
            (&["--input-size", "16"], "32..=4096"),
        ] {
            let err = format!("{:#}", resolve(&args(flags), &none, "").unwrap_err());
            assert!(err.contains(needle), "{flags:?}: {err}");
        }
        let stored = BTreeMap::from([(keys::THRESHOLD.to_string(), "high".to_string())]);
        let err = format!("{:#}", resolve(&args(&[]), &stored, "").unwrap_err());
        assert!(
            err.contains(keys::THRESHOLD) && err.contains("high"),
            "{err}"
        );
    }
}
