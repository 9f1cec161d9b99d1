//! `endoscan-torch-check`: the libtorch scorer (`--provider torch-cuda`) on a benchmark GPU —
//! its probabilities against libtorch's f32 CPU reference on the same random images (fp32 and
//! fp16 autocast), and its latency (p50/p99, host batch in, probabilities and maps out: the
//! product's path) and throughput per batch size. BiT variants with random official-layout
//! weights (timing needs no trained model). Writes `torch.json` and `torch.md` into `--out`.
//! `scripts/gpu-check` runs it and then the PyTorch/timm peer (`scripts/torch-peer.py`).

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use clap::Parser;
use ndarray::Array4;
use serde::Serialize;
use tch::Device;

use super::torch_scorer::TorchScorer;
use super::Scorer;
use crate::model::{ModelMetadata, Normalization, Variant, Weights};
use crate::train::args::Precision;

/// Largest accepted |Δp| against the CPU reference, per precision.
const FP32_BOUND: f32 = 1e-5;
const FP16_BOUND: f32 = 1e-3;
/// Images in the correctness batch.
const CHECK_BATCH: usize = 2;

/// Command line of `endoscan-torch-check`.
#[derive(Debug, Parser)]
#[command(
    name = "endoscan-torch-check",
    about = "Checks and times endoscan's libtorch scorer on a GPU"
)]
pub struct TorchCheckArgs {
    /// Folder for torch.json and torch.md (created).
    #[arg(long)]
    pub out: PathBuf,
    /// BiT variants.
    #[arg(long, value_delimiter = ',', default_values_t = ["r50x1".to_string(), "r101x3".to_string()])]
    pub variants: Vec<String>,
    /// Side of the model input.
    #[arg(long, default_value_t = 384)]
    pub input_size: usize,
    /// Batch sizes timed.
    #[arg(long, value_delimiter = ',', default_values_t = [1usize, 8, 32])]
    pub batches: Vec<usize>,
    /// Timed calls per batch size (after 5 warm-up calls).
    #[arg(long, default_value_t = 50)]
    pub runs: usize,
    /// Run on the CPU instead (a smoke test of this check on a machine without a GPU).
    #[arg(long)]
    pub cpu: bool,
}

/// One variant × precision: agreement and timings.
#[derive(Debug, Serialize)]
pub struct TorchResult {
    pub variant: String,
    pub precision: String,
    pub max_abs_dp: f32,
    pub bound: f32,
    pub pass: bool,
    pub timings: Vec<BatchTiming>,
}

/// Latency of one batch size, in milliseconds per call.
#[derive(Debug, Serialize)]
pub struct BatchTiming {
    pub batch: usize,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub images_per_s: f64,
}

/// Entry point of the binary: 0 when every precision agreed with the reference, 1 when one
/// did not, 2 when the check could not run.
pub fn main() -> ExitCode {
    let args = TorchCheckArgs::parse();
    match run(&args) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => {
            eprintln!(
                "torch-check: some GPU probabilities differ from the CPU reference (see torch.md)"
            );
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("torch-check: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// Runs the check; `Ok(false)` when a comparison failed.
pub fn run(args: &TorchCheckArgs) -> anyhow::Result<bool> {
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("{}: cannot create the output folder", args.out.display()))?;
    let device = if args.cpu {
        Device::Cpu
    } else {
        if let Some(why) = super::torch_cuda_unavailable() {
            anyhow::bail!("{why}");
        }
        tch::Cuda::cudnn_set_benchmark(true);
        Device::Cuda(0)
    };
    let mut results = Vec::new();
    for name in &args.variants {
        let variant: Variant = name.parse().map_err(anyhow::Error::msg)?;
        results.extend(check_variant(&variant, args, device)?);
    }
    let json = serde_json::to_string_pretty(&results)?;
    std::fs::write(args.out.join("torch.json"), json)?;
    let summary = summary(&results, args, device);
    std::fs::write(args.out.join("torch.md"), &summary)?;
    print!("{summary}");
    Ok(results.iter().all(|r| r.pass))
}

fn metadata(variant: &Variant, input_size: usize) -> ModelMetadata {
    ModelMetadata {
        variant: *variant,
        input_size,
        normalization: Normalization::Bit,
        classes: vec!["cancer".into(), "non-cancer".into()],
        positive: 0,
        threshold: 0.5,
        weights_sha256: "random".into(),
        cam_output: Some(crate::model::metadata::OUTPUT_CAM.into()),
    }
}

/// Deterministic pseudo-random images `[batch, 3, side, side]` in [−1, 1] (xorshift).
pub fn images(batch: usize, side: usize, seed: u64) -> Array4<f32> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    Array4::from_shape_fn((batch, 3, side, side), |_| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 40) as f32 / (1u64 << 23) as f32 - 1.0
    })
}

fn check_variant(
    variant: &Variant,
    args: &TorchCheckArgs,
    device: Device,
) -> anyhow::Result<Vec<TorchResult>> {
    let label = PathBuf::from(format!("random-{variant}"));
    let weights = Weights::random(variant, 2, 7);
    let meta = metadata(variant, args.input_size);
    let probe = images(CHECK_BATCH, args.input_size, 11);
    eprintln!(
        "torch-check: {variant} at {}²: CPU f32 reference",
        args.input_size
    );
    let mut cpu =
        TorchScorer::from_weights(&label, &weights, meta.clone(), Device::Cpu, Precision::Fp32)?;
    let want = cpu.score(probe.view())?;
    drop(cpu);
    let mut out = Vec::new();
    // Mixed precision is CUDA's: on the CPU (a smoke test) fp32 only.
    let precisions = match device {
        Device::Cpu => vec![Precision::Fp32],
        _ => vec![Precision::Fp32, Precision::Fp16],
    };
    for precision in precisions {
        let mut scorer =
            TorchScorer::from_weights(&label, &weights, meta.clone(), device, precision)?;
        let precision = scorer.precision();
        let got = scorer.score(probe.view())?;
        let max_abs_dp = want
            .iter()
            .zip(&got)
            .map(|(a, b)| (a - b).abs())
            .fold(0f32, f32::max);
        let bound = match precision {
            Precision::Fp32 => FP32_BOUND,
            _ => FP16_BOUND,
        };
        let mut timings = Vec::new();
        for &batch in &args.batches {
            eprintln!("torch-check: {variant} {precision} batch {batch}");
            timings.push(time_batch(&mut scorer, batch, args)?);
        }
        out.push(TorchResult {
            variant: variant.to_string(),
            precision: precision.to_string(),
            max_abs_dp,
            bound,
            pass: max_abs_dp <= bound,
            timings,
        });
    }
    Ok(out)
}

/// p50/p99 of `args.runs` calls at `batch` after 5 warm-up calls (cuDNN autotuning).
fn time_batch(
    scorer: &mut TorchScorer,
    batch: usize,
    args: &TorchCheckArgs,
) -> anyhow::Result<BatchTiming> {
    let input = images(batch, args.input_size, batch as u64);
    for _ in 0..5 {
        scorer.score_with_maps(input.view())?;
    }
    let mut ms = Vec::with_capacity(args.runs);
    for _ in 0..args.runs.max(1) {
        let start = Instant::now();
        scorer.score_with_maps(input.view())?;
        ms.push(start.elapsed().as_secs_f64() * 1e3);
    }
    ms.sort_by(f64::total_cmp);
    let at = |q: f64| ms[((ms.len() - 1) as f64 * q).round() as usize];
    let p50_ms = at(0.5);
    Ok(BatchTiming {
        batch,
        p50_ms,
        p99_ms: at(0.99),
        images_per_s: batch as f64 / (p50_ms / 1e3),
    })
}

fn summary(results: &[TorchResult], args: &TorchCheckArgs, device: Device) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "# libtorch scorer on {device:?}, {}², {}\n",
        args.input_size,
        crate::util::clock::utc_now()
    );
    let _ = writeln!(
        s,
        "| variant | precision | max Δp vs CPU f32 | bound | batch | p50 ms | p99 ms | images/s |"
    );
    let _ = writeln!(s, "|---|---|---|---|---|---|---|---|");
    for r in results {
        for t in &r.timings {
            let _ = writeln!(
                s,
                "| {} | {} | {:.2e} | {:.0e}{} | {} | {:.3} | {:.3} | {:.0} |",
                r.variant,
                r.precision,
                r.max_abs_dp,
                r.bound,
                if r.pass { "" } else { " **FAIL**" },
                t.batch,
                t.p50_ms,
                t.p99_ms,
                t.images_per_s
            );
        }
    }
    s
}
