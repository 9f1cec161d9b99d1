//! `bench gpu --train`: global fine-tuning steps of the variant on libtorch (`endoscan train`'s
//! [`Trainer::step`]: forward, cross-entropy, backward, SGD with momentum; fp16 with loss
//! scaling) at the paper's batch 4 and at the largest batch that fits (`max`: doubling from 4
//! until the device runs out of memory, at most 256). The peer (`scripts/torch-peer.py`) times timm's step.

use tch::Device;

use super::args::TrainBatch;
use super::inputs::images;
use super::report::TrainRow;
use super::timing::{time_calls, Latency};
use crate::infer::EnginePrecision;
use crate::model::torch::BitModel;
use crate::model::Variant;
use crate::train::amp::Amp;
use crate::train::args::{Mode, Precision, MOMENTUM};
use crate::train::batch::Batch;
use crate::train::trainer::Trainer;

/// The largest batch `max` tries.
const MAX_SEARCH: usize = 256;
/// Learning rate of the timed steps (its value does not change their cost).
const LR: f64 = 1e-3;

/// Times training steps of `variant` at `side`² on `device` for each of `batches`.
pub fn measure(
    variant: Variant,
    side: usize,
    device: Device,
    precision: EnginePrecision,
    batches: &[TrainBatch],
    runs: usize,
) -> anyhow::Result<Vec<TrainRow>> {
    let precision = match precision {
        EnginePrecision::Fp16 if device != Device::Cpu => Precision::Fp16,
        _ => Precision::Fp32,
    };
    tch::manual_seed(0);
    let model = BitModel::new(&variant, 2, device)?;
    let amp = Amp::new(precision, device).map_err(anyhow::Error::msg)?;
    let mut trainer = Trainer::new(model, Mode::Global, amp, side, 0, MOMENTUM)?;
    let mut rows = Vec::new();
    for &batch in batches {
        let (size, largest) = match batch {
            TrainBatch::Fixed(n) => (n, false),
            TrainBatch::Largest => (largest_fitting(&mut trainer, side)?, true),
        };
        eprintln!("bench gpu: training {variant} {precision} batch {size}");
        let input = batch_of(size, side);
        let latency = time_calls(runs, || step(&mut trainer, &input))?;
        rows.push(row(variant, precision, size, largest, latency));
    }
    Ok(rows)
}

fn row(
    variant: Variant,
    precision: Precision,
    batch: usize,
    largest: bool,
    l: Latency,
) -> TrainRow {
    TrainRow {
        variant: variant.to_string(),
        precision: precision.to_string(),
        batch,
        largest,
        p50_ms: l.p50_ms,
        p99_ms: l.p99_ms,
        images_per_s: batch as f64 / (l.p50_ms / 1e3),
    }
}

/// A training batch of `size` random images with alternating labels.
fn batch_of(size: usize, side: usize) -> Batch {
    Batch {
        step: 0,
        positions: (0..size).collect(),
        images: images(size, side, 3).into_raw_vec_and_offset().0,
        labels: (0..size as i64).map(|i| i % 2).collect(),
    }
}

/// One step; a libtorch panic (some out-of-memory paths) becomes an error.
fn step(trainer: &mut Trainer, batch: &Batch) -> anyhow::Result<()> {
    let outcome =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| trainer.step(batch, LR)));
    match outcome {
        Ok(result) => result.map(drop).map_err(Into::into),
        Err(_) => anyhow::bail!("the training step panicked in libtorch"),
    }
}

/// The largest batch, doubling from 4, whose step runs; an error only when 4 does not.
fn largest_fitting(trainer: &mut Trainer, side: usize) -> anyhow::Result<usize> {
    let mut fits = 0;
    let mut size = 4;
    while size <= MAX_SEARCH {
        match step(trainer, &batch_of(size, side)) {
            Ok(()) => fits = size,
            Err(e) if fits > 0 => {
                eprintln!("bench gpu: training batch {size} does not fit: {e:#}");
                break;
            }
            Err(e) => return Err(e.context(format!("training batch {size}"))),
        }
        size *= 2;
    }
    Ok(fits)
}
