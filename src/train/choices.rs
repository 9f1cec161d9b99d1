//! The enumerated choices of `endoscan train`: mode, device, precision, checkpoint selection,
//! threshold rule and batch size.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Which variables train.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Everything trains (the paper's global fine-tuning).
    #[default]
    Global,
    /// The backbone is frozen, only the head trains (the paper's local fine-tuning).
    Local,
}

/// Where to train.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeviceChoice {
    /// The first CUDA GPU if there is one, else the CPU.
    #[default]
    Auto,
    Cuda,
    Cpu,
}

/// Arithmetic of the forward and backward passes (weights and updates stay f32).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    #[default]
    Fp32,
    /// CUDA autocast to bfloat16.
    Bf16,
    /// CUDA autocast to float16 with dynamic loss scaling.
    Fp16,
}

impl fmt::Display for Precision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Precision::Fp32 => "fp32",
            Precision::Bf16 => "bf16",
            Precision::Fp16 => "fp16",
        })
    }
}

/// Which validation number picks the best checkpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Select {
    /// Highest ROC AUC (threshold-free); ties go to the lower validation loss.
    #[default]
    Auc,
    /// Highest accuracy at probability 0.5; ties go to the lower validation loss.
    Accuracy,
    /// Lowest cross-entropy.
    Loss,
}

/// How the decision threshold stored in `model.onnx` is chosen on the validation set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ThresholdRule {
    /// Maximize Youden's J = sensitivity + specificity − 1.
    #[default]
    Youden,
    /// Maximize accuracy.
    Accuracy,
    /// Keep 0.5 (the argmax of two classes).
    Half,
    /// The highest threshold whose validation sensitivity reaches `--min-sensitivity`: a
    /// screening operating point, trading false alarms for missed lesions.
    Sensitivity,
}

/// `--batch N` or `--batch auto`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BatchChoice {
    /// The largest batch that fits the GPU; [`CPU_DEFAULT_BATCH`] on the CPU.
    #[default]
    Auto,
    Fixed(usize),
}

impl FromStr for BatchChoice {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "auto" => Ok(BatchChoice::Auto),
            n => match n.parse::<usize>() {
                Ok(b) if b >= 1 => Ok(BatchChoice::Fixed(b)),
                _ => Err(format!("expected a batch size ≥ 1 or 'auto', got '{s}'")),
            },
        }
    }
}

impl fmt::Display for BatchChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BatchChoice::Auto => f.write_str("auto"),
            BatchChoice::Fixed(b) => write!(f, "{b}"),
        }
    }
}
