//! The command line of `endoscan bench gpu` (and of `endoscan-torch-check`).

use std::path::PathBuf;

use anyhow::Context;

use super::subject::Subject;
use crate::cuda::select::PreprocessChoice;
use crate::infer::{EnginePrecision, ExecutionProvider};
use crate::model::Variant;

/// `endoscan bench gpu [--variant r101x3] [--input-size 384] [--batch 1,8,32]
/// [--precision fp16,fp32] [--provider …] [--peer] [--json]`
#[derive(Debug, Clone, clap::Args)]
pub struct BenchGpuArgs {
    /// BiT variants, with random official-layout weights (timing needs no trained model).
    #[arg(long = "variant", value_name = "VARIANTS", value_delimiter = ',', default_values_t = [Variant::new(101, 3.0).expect("r101x3 exists")])]
    pub variants: Vec<Variant>,
    /// An endoscan ONNX model to time instead of random variants (its input size).
    #[arg(long, value_name = "FILE.onnx", conflicts_with_all = ["variants", "input_size"])]
    pub model: Option<PathBuf>,
    /// Side of the model input for the random variants.
    #[arg(long, value_name = "PIXELS", default_value_t = 384)]
    pub input_size: usize,
    /// Batch sizes timed.
    #[arg(long = "batch", value_name = "SIZES", value_delimiter = ',', default_values_t = [1usize, 8, 32])]
    pub batches: Vec<usize>,
    /// Precisions timed (fp16 runs on tensorrt and torch-cuda; the others run fp32 only).
    #[arg(long = "precision", value_name = "LIST", value_enum, value_delimiter = ',', default_values_t = [EnginePrecision::Fp16, EnginePrecision::Fp32])]
    pub precisions: Vec<EnginePrecision>,
    /// Where the model runs (auto: the fastest this machine has).
    #[arg(long, value_enum, default_value_t = ExecutionProvider::Auto)]
    pub provider: ExecutionProvider,
    /// GPU index.
    #[arg(long, value_name = "ID", default_value_t = 0)]
    pub device: i32,
    /// Also time libtorch with channels-last (NHWC) kernels and inputs, as extra rows.
    #[arg(long)]
    pub channels_last: bool,
    /// Preprocessing of the end-to-end row.
    #[arg(long, value_enum, default_value_t = PreprocessChoice::Auto)]
    pub preprocess: PreprocessChoice,
    /// Timed calls per measurement (after 5 warm-up calls).
    #[arg(long, value_name = "N", default_value_t = 50)]
    pub runs: usize,
    /// Folder for bench.json and bench.md (and the peer's peer.json, peer.md) [default: a
    /// new folder under the temporary directory].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Also time PyTorch with timm's BiT at the same sizes and precisions, in the same run,
    /// and print the ratio (needs a Python with torch and timm).
    #[arg(long)]
    pub peer: bool,
    /// The Python of the peer.
    #[arg(long, value_name = "PYTHON", default_value = "python3")]
    pub peer_python: PathBuf,
    /// Also time global fine-tuning steps (on libtorch: torch-cuda, or torch-cpu as a smoke
    /// test), random weights, each precision.
    #[arg(long)]
    pub train: bool,
    /// Batch sizes of those steps: numbers, or `max` (the largest that fits, doubling from 4).
    #[arg(long = "train-batch", value_name = "SIZES", value_delimiter = ',', default_values = ["4", "max"])]
    pub train_batches: Vec<TrainBatch>,
    /// Timed steps per training batch size (after 5 warm-up steps).
    #[arg(long, value_name = "N", default_value_t = 5)]
    pub train_runs: usize,
    /// Print the report as JSON instead of tables.
    #[arg(long)]
    pub json: bool,
}

impl BenchGpuArgs {
    /// Rejects values that cannot be timed, naming the flag.
    pub fn check(&self) -> anyhow::Result<()> {
        if self.batches.is_empty() || self.batches.contains(&0) {
            anyhow::bail!("--batch: batch sizes are ≥ 1 (got {:?})", self.batches);
        }
        if self.runs == 0 || self.train_runs == 0 {
            anyhow::bail!("--runs, --train-runs: at least one timed call");
        }
        if !(16..=crate::preprocess::MAX_INPUT_SIZE).contains(&self.input_size) {
            anyhow::bail!(
                "--input-size {}: expected 16 to {}",
                self.input_size,
                crate::preprocess::MAX_INPUT_SIZE
            );
        }
        Ok(())
    }

    /// The models under test.
    pub(super) fn subjects(&self) -> anyhow::Result<Vec<Subject>> {
        match &self.model {
            Some(path) => Ok(vec![Subject::file(path)?]),
            None => Ok(self
                .variants
                .iter()
                .map(|&v| Subject::random(v, self.input_size))
                .collect()),
        }
    }

    /// `--out`, created; or a fresh folder under the temporary directory.
    pub(super) fn out_dir(&self) -> anyhow::Result<PathBuf> {
        let dir = match &self.out {
            Some(dir) => dir.clone(),
            None => std::env::temp_dir().join(format!(
                "endoscan-bench-gpu-{}",
                crate::util::clock::utc_now().replace([':', ' '], "-")
            )),
        };
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("{}: cannot create the output folder", dir.display()))?;
        Ok(dir)
    }
}

/// A batch size to time: a number, or the largest that fits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrainBatch {
    Fixed(usize),
    Largest,
}

impl std::str::FromStr for TrainBatch {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        match text {
            "max" => Ok(Self::Largest),
            n => match n.parse::<usize>() {
                Ok(n) if n > 0 => Ok(Self::Fixed(n)),
                _ => Err(format!("`{n}`: a batch size ≥ 1 or `max`")),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_sizes_are_numbers_or_max() {
        assert_eq!("4".parse(), Ok(TrainBatch::Fixed(4)));
        assert_eq!("max".parse(), Ok(TrainBatch::Largest));
        assert!("0".parse::<TrainBatch>().unwrap_err().contains("`0`"));
        assert!("big".parse::<TrainBatch>().is_err());
    }
}
