//! What a deployable model says about itself: stored as ONNX `metadata_props` by `export`,
//! read back by [`crate::infer::Classifier`], so inference needs nothing but the `.onnx` file.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use super::variant::Variant;

/// Name of the ONNX graph input: `[N, 3, S, S]` f32, normalized per [`Normalization`].
pub const INPUT: &str = "image";
/// Name of the ONNX output holding raw class scores `[N, classes]`.
pub const OUTPUT_LOGITS: &str = "logits";
/// Name of the ONNX output holding softmax probabilities `[N, classes]`.
pub const OUTPUT_PROBS: &str = "probs";
/// Name of the ONNX output holding the class-activation map `[N, classes, h, w]` (stride
/// [`CAM_STRIDE`]): the head applied at every location; its spatial mean is `logits`.
pub const OUTPUT_CAM: &str = "cam";
/// Input pixels per class-activation map cell (BiT's output stride).
pub const CAM_STRIDE: usize = 32;

/// Side of the class-activation map of an `input_size` input: each of BiT's five stride-2
/// steps (root convolution, max-pool, blocks 2–4) maps a side `a` to `⌈a/2⌉`, so `⌈S/32⌉`.
pub fn cam_side(input_size: usize) -> usize {
    input_size.div_ceil(CAM_STRIDE)
}

/// Metadata keys (ONNX `metadata_props`).
pub mod keys {
    pub const VARIANT: &str = "endoscan.variant";
    pub const INPUT_SIZE: &str = "endoscan.input_size";
    pub const NORMALIZATION: &str = "endoscan.normalization";
    pub const CLASSES: &str = "endoscan.classes";
    pub const POSITIVE: &str = "endoscan.positive_class";
    pub const THRESHOLD: &str = "endoscan.threshold";
    pub const WEIGHTS_SHA256: &str = "endoscan.weights_sha256";
    /// Optional: the name of the class-activation map output (models exported before it
    /// existed lack it and still work, without localization).
    pub const CAM_OUTPUT: &str = "endoscan.cam_output";
}

/// Default square input side, as the recipe (384×384).
pub const DEFAULT_INPUT_SIZE: usize = 384;
/// Default decision threshold on the positive class probability.
pub const DEFAULT_THRESHOLD: f32 = 0.5;

/// How 8-bit pixels become the model's input values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Normalization {
    /// `x / 127.5 − 1` ∈ [−1, 1]: what Google's BiT checkpoints expect.
    #[default]
    Bit,
    /// `x / 255` ∈ [0, 1]: the paper's TF-Hub input range, for models trained that way.
    Unit,
}

impl Normalization {
    /// Scale and offset so that `value = pixel * scale + offset`.
    pub fn scale_offset(self) -> (f32, f32) {
        match self {
            Normalization::Bit => (1.0 / 127.5, -1.0),
            Normalization::Unit => (1.0 / 255.0, 0.0),
        }
    }

    /// Normalizes one 8-bit value.
    pub fn apply(self, pixel: u8) -> f32 {
        let (scale, offset) = self.scale_offset();
        pixel as f32 * scale + offset
    }
}

impl fmt::Display for Normalization {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Normalization::Bit => "bit",
            Normalization::Unit => "unit",
        })
    }
}

impl FromStr for Normalization {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "bit" => Ok(Normalization::Bit),
            "unit" => Ok(Normalization::Unit),
            other => Err(format!(
                "unknown normalization '{other}' (expected bit or unit)"
            )),
        }
    }
}

/// Everything inference needs to know about a model.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelMetadata {
    pub variant: Variant,
    /// Square input side in pixels.
    pub input_size: usize,
    pub normalization: Normalization,
    /// Class names in output order.
    pub classes: Vec<String>,
    /// Index into `classes` of the positive (cancer) class.
    pub positive: usize,
    /// Decision threshold on the positive class probability.
    pub threshold: f32,
    /// SHA-256 (hex) of the weight file the model was exported from.
    pub weights_sha256: String,
    /// The graph output holding the class-activation map, when the model has one.
    pub cam_output: Option<String>,
}

/// A metadata map that lacks a key or holds a bad value.
#[derive(Debug, thiserror::Error)]
pub enum MetadataError {
    #[error("model metadata lacks '{0}' (was the model exported by `endoscan export`?)")]
    Missing(&'static str),
    #[error("model metadata '{key}' has a bad value '{value}': {why}")]
    Bad {
        key: &'static str,
        value: String,
        why: String,
    },
}

impl ModelMetadata {
    /// The positive class name.
    pub fn positive_class(&self) -> &str {
        &self.classes[self.positive]
    }

    /// Key/value pairs to store in the model file.
    pub fn to_map(&self) -> BTreeMap<String, String> {
        let mut map = BTreeMap::new();
        map.insert(keys::VARIANT.into(), self.variant.to_string());
        map.insert(keys::INPUT_SIZE.into(), self.input_size.to_string());
        map.insert(keys::NORMALIZATION.into(), self.normalization.to_string());
        map.insert(keys::CLASSES.into(), self.classes.join(","));
        map.insert(keys::POSITIVE.into(), self.positive_class().to_string());
        map.insert(keys::THRESHOLD.into(), self.threshold.to_string());
        map.insert(keys::WEIGHTS_SHA256.into(), self.weights_sha256.clone());
        if let Some(cam) = &self.cam_output {
            map.insert(keys::CAM_OUTPUT.into(), cam.clone());
        }
        map
    }

    /// Reads metadata back from key/value pairs, checking every value.
    pub fn from_map(map: &BTreeMap<String, String>) -> Result<Self, MetadataError> {
        let get = |key: &'static str| map.get(key).ok_or(MetadataError::Missing(key));
        let bad = |key: &'static str, value: &str, why: String| MetadataError::Bad {
            key,
            value: value.to_string(),
            why,
        };
        let variant_s = get(keys::VARIANT)?;
        let variant = variant_s
            .parse()
            .map_err(|e: super::variant::VariantError| {
                bad(keys::VARIANT, variant_s, e.to_string())
            })?;
        let size_s = get(keys::INPUT_SIZE)?;
        let input_size = size_s
            .parse::<usize>()
            .ok()
            .filter(|s| (32..=4096).contains(s))
            .ok_or_else(|| bad(keys::INPUT_SIZE, size_s, "expected 32..=4096".into()))?;
        let norm_s = get(keys::NORMALIZATION)?;
        let normalization = norm_s
            .parse()
            .map_err(|e: String| bad(keys::NORMALIZATION, norm_s, e))?;
        let classes_s = get(keys::CLASSES)?;
        let classes: Vec<String> = classes_s.split(',').map(str::to_string).collect();
        if classes.len() < 2 || classes.iter().any(String::is_empty) {
            return Err(bad(
                keys::CLASSES,
                classes_s,
                "expected ≥ 2 comma-separated names".into(),
            ));
        }
        let positive_s = get(keys::POSITIVE)?;
        let positive = classes
            .iter()
            .position(|c| c == positive_s)
            .ok_or_else(|| {
                bad(
                    keys::POSITIVE,
                    positive_s,
                    format!("not one of {classes_s}"),
                )
            })?;
        let threshold_s = get(keys::THRESHOLD)?;
        let threshold = threshold_s
            .parse::<f32>()
            .ok()
            .filter(|t| (0.0..=1.0).contains(t))
            .ok_or_else(|| {
                bad(
                    keys::THRESHOLD,
                    threshold_s,
                    "expected a number in [0, 1]".into(),
                )
            })?;
        let weights_sha256 = get(keys::WEIGHTS_SHA256)?.clone();
        let cam_output = match map.get(keys::CAM_OUTPUT) {
            Some(name) if name.is_empty() => {
                return Err(bad(
                    keys::CAM_OUTPUT,
                    name,
                    "expected an output name".into(),
                ))
            }
            other => other.cloned(),
        };
        Ok(Self {
            variant,
            input_size,
            normalization,
            classes,
            positive,
            threshold,
            weights_sha256,
            cam_output,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> ModelMetadata {
        ModelMetadata {
            variant: "r14x0.5".parse().unwrap(),
            input_size: 128,
            normalization: Normalization::Unit,
            classes: vec!["cancer".into(), "non-cancer".into()],
            positive: 0,
            threshold: 0.42,
            weights_sha256: "ab".repeat(32),
            cam_output: Some(OUTPUT_CAM.into()),
        }
    }

    #[test]
    fn round_trips_through_a_map() {
        let meta = sample();
        assert_eq!(ModelMetadata::from_map(&meta.to_map()).unwrap(), meta);
        // A model from before the map: no key, no map.
        let mut old = meta.to_map();
        old.remove(keys::CAM_OUTPUT);
        assert_eq!(ModelMetadata::from_map(&old).unwrap().cam_output, None);
    }

    #[test]
    fn names_the_bad_key() {
        let mut map = sample().to_map();
        map.insert(keys::POSITIVE.into(), "polyp".into());
        let err = ModelMetadata::from_map(&map).unwrap_err().to_string();
        assert!(
            err.contains(keys::POSITIVE) && err.contains("polyp"),
            "{err}"
        );
        map.remove(keys::VARIANT);
        let err = ModelMetadata::from_map(&map).unwrap_err().to_string();
        assert!(err.contains(keys::VARIANT), "{err}");
    }

    #[test]
    fn normalizations_map_the_byte_range() {
        assert_eq!(Normalization::Bit.apply(0), -1.0);
        assert!((Normalization::Bit.apply(255) - 1.0).abs() < 1e-6);
        assert_eq!(Normalization::Unit.apply(0), 0.0);
        assert!((Normalization::Unit.apply(255) - 1.0).abs() < 1e-6);
    }
}
