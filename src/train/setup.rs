//! Setting up a run (feature `train`): the data (checked, split, prepared once), the starting
//! weights and their normalization, the device and the batch size.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context};
use tch::Device;

use super::args::{BatchChoice, DeviceChoice, TrainConfig, CPU_DEFAULT_BATCH, MAX_AUTO_BATCH};
use super::frames::Frames;
use super::record::SubsetCounts;
use super::trainer::Trainer;
use crate::data::split::{Split, SplitSettings, Subset, SPLIT_FILE};
use crate::data::{BadImage, DataError, DataSettings, Dataset};
use crate::model::metadata::keys;
use crate::model::torch::BitModel;
use crate::model::{Normalization, Weights};
use crate::preprocess::Preprocessor;
use crate::util::progress;

/// The data of a run.
#[derive(Debug)]
pub struct RunData {
    pub dataset: Dataset,
    pub frames: Arc<Frames>,
    /// Dataset indices of each subset, bad images left out.
    pub train: Vec<usize>,
    pub val: Vec<usize>,
    pub test: Vec<usize>,
    pub counts: SubsetCounts,
    /// Images left out with `--skip-bad`, as `path: reason`.
    pub skipped: Vec<String>,
    /// `RUN/split.csv`.
    pub split_file: PathBuf,
}

impl RunData {
    /// Class index of dataset samples.
    pub fn labels(&self, indices: &[usize]) -> Vec<i64> {
        indices
            .iter()
            .map(|&i| self.dataset.samples()[i].label as i64)
            .collect()
    }
}

/// Opens, checks and splits the data of `config` and prepares every image once.
///
/// A new run splits (or reads `--split`) and writes `RUN/split.csv`; a resumed run reads that
/// file and insists the data still hashes to `expected_hash`.
pub fn load_data(
    config: &TrainConfig,
    normalization: Normalization,
    expected_hash: Option<&str>,
    workers: usize,
) -> anyhow::Result<RunData> {
    let dataset = open_data(config, expected_hash, workers)?;
    let split_file = config.out.join(SPLIT_FILE);
    let split = if expected_hash.is_some() {
        Split::read(&dataset, &split_file)?
    } else {
        let split = match &config.split {
            Some(path) => Split::read(&dataset, path)?,
            None => Split::stratified(
                &dataset,
                &SplitSettings {
                    seed: config.seed,
                    ..SplitSettings::default()
                },
            )?,
        };
        split.write(&dataset, &split_file)?;
        split
    };
    let (frames, bad, skipped) = prepare(config, &dataset, &split, normalization, workers)?;
    let usable = |subset| -> Vec<usize> {
        split
            .indices(subset)
            .into_iter()
            .filter(|i| !bad.contains(i))
            .collect()
    };
    let (train, val, test) = (
        usable(Subset::Train),
        usable(Subset::Val),
        usable(Subset::Test),
    );
    let counts = check_subsets(&dataset, &split_file, &train, &val, &test)?;
    Ok(RunData {
        dataset,
        frames: Arc::new(frames),
        train,
        val,
        test,
        counts,
        skipped,
        split_file,
    })
}

/// Opens and checks the data of `config`; a resumed run insists it still hashes to
/// `expected_hash`.
fn open_data(
    config: &TrainConfig,
    expected_hash: Option<&str>,
    workers: usize,
) -> anyhow::Result<Dataset> {
    let settings = DataSettings {
        classes: config.classes.clone(),
        positive: config.positive.clone(),
        skip_bad: config.skip_bad,
        threads: workers,
        ..DataSettings::default()
    };
    let dataset = Dataset::open(&config.data, &settings)?;
    let hash = dataset.content_hash().unwrap_or_default().to_string();
    if let Some(expected) = expected_hash {
        if hash != expected {
            bail!(
                "{}: the data changed since the run started (content hash {hash}, the run has {expected}); exact resumption needs the same images",
                dataset.source().path().display()
            );
        }
    }
    Ok(dataset)
}

/// Prepares every image of `split` once; returns the frames, the dataset indices of images
/// that failed to decode and every image left out, as `path: reason`. Undecodable images fail
/// the run unless `--skip-bad`.
fn prepare(
    config: &TrainConfig,
    dataset: &Dataset,
    split: &Split,
    normalization: Normalization,
    workers: usize,
) -> anyhow::Result<(Frames, Vec<usize>, Vec<String>)> {
    let pre = Preprocessor::new(config.input_size, normalization)?;
    let all: Vec<usize> = (0..dataset.len())
        .filter(|&i| split.subset_of(i).is_some())
        .collect();
    let bar = progress::bar(Some(all.len() as u64), "prepare", "images");
    let (frames, bad) = Frames::prepare(dataset, &all, pre, workers, |n| bar.inc(n as u64))?;
    bar.finish_and_clear();
    let mut skipped: Vec<String> = dataset
        .bad()
        .iter()
        .map(|b| format!("{}: {}", b.path.display(), b.reason))
        .collect();
    if !bad.is_empty() {
        let images: Vec<BadImage> = bad.iter().map(|(_, b)| b.clone()).collect();
        if !config.skip_bad {
            return Err(DataError::BadImages {
                source_path: dataset.source().path().to_path_buf(),
                images,
            }
            .into());
        }
        for b in &images {
            tracing::warn!("skipping {}: {}", b.path.display(), b.reason);
            skipped.push(format!("{}: {}", b.path.display(), b.reason));
        }
    }
    Ok((frames, bad.into_iter().map(|(i, _)| i).collect(), skipped))
}

/// Class counts of the subsets; fails when a class is missing from training or validation is
/// empty.
fn check_subsets(
    dataset: &Dataset,
    split_file: &Path,
    train: &[usize],
    val: &[usize],
    test: &[usize],
) -> anyhow::Result<SubsetCounts> {
    let count = |idx: &[usize]| {
        let mut c = vec![0; dataset.classes().len()];
        for &i in idx {
            c[dataset.samples()[i].label] += 1;
        }
        c
    };
    let counts = SubsetCounts {
        train: count(train),
        val: count(val),
        test: count(test),
    };
    if let Some(c) = counts.train.iter().position(|&n| n == 0) {
        bail!(
            "{}: the training subset has no '{}' images; every class must be trained on",
            split_file.display(),
            dataset.classes()[c]
        );
    }
    if val.is_empty() {
        bail!("{}: the validation subset is empty", split_file.display());
    }
    Ok(counts)
}

/// The normalization of a new run: `--normalize`, else the checkpoint's, else `bit`.
pub fn normalization_of(
    config: &TrainConfig,
    weights: Option<&Weights>,
) -> anyhow::Result<Normalization> {
    if let Some(n) = config.normalization {
        return Ok(n);
    }
    match weights.and_then(|w| w.metadata.get(keys::NORMALIZATION)) {
        Some(text) => text.parse().map_err(|e: String| {
            anyhow::anyhow!(
                "{}: {e}",
                config.weights.as_deref().unwrap_or(Path::new("")).display()
            )
        }),
        None => Ok(Normalization::Bit),
    }
}

/// The model of a new run: `weights` (head replaced by a zero head if its class count differs)
/// or a seeded initialization.
pub fn build_model(
    config: &TrainConfig,
    weights: Option<Weights>,
    device: Device,
) -> anyhow::Result<BitModel> {
    let classes = config.classes.len();
    tch::manual_seed(config.seed as i64);
    let mut model = BitModel::new(&config.variant, classes, device)?;
    if let (Some(w), Some(path)) = (weights, &config.weights) {
        let w = w.conform(&config.variant, classes).with_context(|| {
            format!("{}: weights do not fit {}", path.display(), config.variant)
        })?;
        model
            .load_weights(&w)
            .with_context(|| format!("{}: loading into {}", path.display(), config.variant))?;
    }
    Ok(model)
}

/// `--device`: `auto` is the first GPU if libtorch sees one.
pub fn device_of(choice: DeviceChoice) -> anyhow::Result<Device> {
    match choice {
        DeviceChoice::Cpu => Ok(Device::Cpu),
        DeviceChoice::Auto => Ok(Device::cuda_if_available()),
        DeviceChoice::Cuda if tch::Cuda::is_available() => Ok(Device::Cuda(0)),
        DeviceChoice::Cuda => {
            bail!("--device cuda: libtorch sees no CUDA GPU (use --device cpu or auto)")
        }
    }
}

/// Device name for the run record.
pub fn device_name(device: Device) -> String {
    match device {
        Device::Cuda(i) => format!("cuda:{i}"),
        other => format!("{other:?}").to_lowercase(),
    }
}

/// The batch size: `--batch N`, or for `auto` the largest power of two (≤ 512 and ≤ the training
/// set) whose forward and backward pass fits the GPU, or 32 on the CPU.
pub fn batch_size(
    choice: BatchChoice,
    trainer: &mut Trainer,
    device: Device,
    n_train: usize,
) -> anyhow::Result<usize> {
    let cap = MAX_AUTO_BATCH.min(n_train).max(1);
    match choice {
        BatchChoice::Fixed(b) => Ok(b),
        BatchChoice::Auto if !device.is_cuda() => Ok(CPU_DEFAULT_BATCH.min(cap)),
        BatchChoice::Auto => {
            let mut b = 1usize << cap.ilog2();
            loop {
                match trainer.try_batch(b) {
                    Ok(()) => {
                        tracing::info!("--batch auto: {b} images per step fit the GPU");
                        return Ok(b);
                    }
                    Err(e) if e.is_out_of_memory() && b > 1 => {
                        tracing::info!("--batch auto: {b} does not fit the GPU");
                        b /= 2;
                    }
                    Err(e) => return Err(e).context("--batch auto: probing the GPU"),
                }
            }
        }
    }
}
