//! `endoscan bench gpu`: the score stage on a provider, timed and checked. Per model and
//! precision: agreement with the CPU f32 reference on the same images (|Δp|), model-only
//! latency p50/p99 per batch size (host batch in, probabilities and maps out: the product's
//! path), throughput, and end to end from a 1080p host frame (locate, prepare, normalize,
//! score); fp16 against fp32; and with `--peer`, PyTorch/timm timed in the same run
//! (`scripts/torch-peer.py`). CPU providers make it a smoke test. `endoscan-torch-check` runs
//! it on a GPU machine that has neither GStreamer nor ONNX Runtime.

mod args;
mod end_to_end;
mod inputs;
mod peer;
mod report;
mod subject;
mod timing;
#[cfg(feature = "train")]
mod train_steps;

use std::process::ExitCode;

pub use args::BenchGpuArgs;
pub use args::TrainBatch;
pub use inputs::{images, tower_frame};
pub use report::{BatchTiming, PrecisionGap, Report, Row, TrainRow};
pub use timing::{time_calls, Latency};

use crate::infer::{select, ClassifierOptions, EnginePrecision, ExecutionProvider, Scorer};
use subject::{Setup, Subject};

/// Largest accepted |Δp| against the CPU f32 reference, per precision.
pub const FP32_BOUND: f32 = 1e-5;
pub const FP16_BOUND: f32 = 1e-3;
/// Images in the agreement batch.
const PROBE_BATCH: usize = 2;

/// `endoscan bench gpu`: prints the report; an error when a result is off its bound.
pub fn command(args: &BenchGpuArgs) -> anyhow::Result<()> {
    let report = run(args)?;
    if !report.all_pass() {
        anyhow::bail!(
            "bench gpu: some probabilities differ from the CPU reference by more than their bound (see the table)"
        );
    }
    Ok(())
}

/// A benchmark binary's `main`: 0 when every result is within its bound, 1 when one is not,
/// 2 when the benchmark could not run.
pub fn main_with(args: &BenchGpuArgs, name: &str) -> ExitCode {
    match run(args) {
        Ok(report) if report.all_pass() => ExitCode::SUCCESS,
        Ok(_) => {
            eprintln!("{name}: some probabilities differ from the CPU reference (see bench.md)");
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("{name}: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// Runs the benchmark, writes `bench.json` / `bench.md` into the output folder (`--out`, or
/// a new one under the temporary directory), prints the report (or its JSON with `--json`),
/// then runs the peer when asked.
pub fn run(args: &BenchGpuArgs) -> anyhow::Result<Report> {
    args.check()?;
    let provider = select::resolve(
        &ClassifierOptions {
            provider: args.provider,
            device_id: args.device,
            ..ClassifierOptions::default()
        },
        true,
    )
    .provider;
    if let Some(why) = gpu_missing(provider) {
        anyhow::bail!("--provider {provider}: {why}");
    }
    if !args.precisions.iter().any(|&p| offers(provider, p)) {
        anyhow::bail!(
            "--precision {}: {provider} runs fp32 only (tensorrt and torch-cuda run fp16)",
            args.precisions
                .iter()
                .map(|p| p.to_string())
                .collect::<Vec<_>>()
                .join(",")
        );
    }
    let subjects = args.subjects()?;
    let side = subjects
        .first()
        .map_or(args.input_size, |s| s.meta.input_size);
    let mut report = Report::new(provider, side, args.runs);
    report.train_runs = args.train_runs;
    let out = args.out_dir()?;
    // Written after every model, so a run cut short by a time limit keeps what it measured.
    for mut subject in subjects {
        bench_subject(&mut subject, provider, args, &mut report)?;
        report.write(&out)?;
    }
    if args.train {
        bench_training(args, provider, &mut report)?;
        report.write(&out)?;
    }
    if report.rows.is_empty() {
        anyhow::bail!("nothing was timed: {}", report.skipped.join("; "));
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", report.markdown());
    }
    if args.peer {
        peer::run(args, &out, provider)?;
    }
    Ok(report)
}

/// Why the GPU `provider` needs is not there, said before any reference is computed.
fn gpu_missing(provider: ExecutionProvider) -> Option<String> {
    match provider {
        ExecutionProvider::TorchCuda => crate::infer::torch_cuda_unavailable(),
        ExecutionProvider::Cuda | ExecutionProvider::TensorRt | ExecutionProvider::TrtRtx => {
            select::probe().gpu
        }
        _ => None,
    }
}

/// Every precision (and layout) of one model on `provider`.
fn bench_subject(
    subject: &mut Subject,
    provider: ExecutionProvider,
    args: &BenchGpuArgs,
    report: &mut Report,
) -> anyhow::Result<()> {
    let probe = images(PROBE_BATCH, subject.meta.input_size, 11);
    let reference = if provider.is_torch() {
        ExecutionProvider::TorchCpu
    } else {
        ExecutionProvider::Cpu
    };
    eprintln!(
        "bench gpu: {} at {}²: CPU f32 reference ({reference})",
        subject.label, subject.meta.input_size
    );
    let want = subject
        .scorer(Setup {
            provider: reference,
            precision: EnginePrecision::Fp32,
            device: args.device,
            channels_last: false,
        })?
        .score(probe.view())?;
    let layouts: &[bool] = if args.channels_last && provider.is_torch() {
        &[false, true]
    } else {
        &[false]
    };
    for &precision in &args.precisions {
        if !offers(provider, precision) {
            report.skipped.push(format!(
                "{} {precision}: {provider} runs fp32 only (tensorrt and torch-cuda run fp16)",
                subject.label
            ));
            continue;
        }
        for &channels_last in layouts {
            let setup = Setup {
                provider,
                precision,
                device: args.device,
                channels_last,
            };
            report.push(bench_row(subject, setup, args, &probe, &want)?);
        }
    }
    if args.channels_last && !provider.is_torch() {
        report
            .skipped
            .push(format!("channels-last: libtorch only, not {provider}"));
    }
    Ok(())
}

/// One row: agreement with `want` on `probe`, the batch timings, end to end.
fn bench_row(
    subject: &mut Subject,
    setup: Setup,
    args: &BenchGpuArgs,
    probe: &ndarray::Array4<f32>,
    want: &[f32],
) -> anyhow::Result<Row> {
    let layout = if setup.channels_last { "nhwc" } else { "nchw" };
    let name = format!("{} {} {layout}", subject.label, setup.precision);
    eprintln!("bench gpu: {name} on {}: loading", setup.provider);
    let mut scorer = subject.scorer(setup)?;
    let got = scorer.score(probe.view())?;
    let side = subject.meta.input_size;
    let mut timings = Vec::new();
    for &batch in &args.batches {
        eprintln!("bench gpu: {name} batch {batch}");
        timings.push(time_batch(scorer.as_mut(), batch, side, args.runs)?);
    }
    let reference = subject.preprocessor()?;
    let frame = tower_frame();
    let end_to_end = end_to_end::measure(
        scorer.as_mut(),
        &reference,
        args.preprocess,
        &frame,
        args.runs,
    )?;
    let bound = match setup.precision {
        EnginePrecision::Fp32 => FP32_BOUND,
        EnginePrecision::Fp16 => FP16_BOUND,
    };
    let max_abs_dp = max_abs_diff(want, &got);
    // The device-resident input must give what the host input gives.
    let device_ok = end_to_end
        .device_vs_host_dp
        .is_none_or(|dp| dp <= FP32_BOUND);
    Ok(Row {
        model: subject.label.clone(),
        variant: subject.meta.variant.to_string(),
        precision: setup.precision.to_string(),
        layout: layout.to_string(),
        max_abs_dp,
        bound,
        pass: max_abs_dp <= bound && device_ok,
        timings,
        end_to_end,
        probe: got,
    })
}

/// `--train`: training steps of each random variant at each precision, on libtorch.
#[cfg(feature = "train")]
fn bench_training(
    args: &BenchGpuArgs,
    provider: ExecutionProvider,
    report: &mut Report,
) -> anyhow::Result<()> {
    let device = match provider {
        ExecutionProvider::TorchCuda => {
            tch::Device::Cuda(usize::try_from(args.device).unwrap_or_default())
        }
        ExecutionProvider::TorchCpu => tch::Device::Cpu,
        other => {
            report.skipped.push(format!(
                "training: {other} does not train (libtorch does: --provider torch-cuda)"
            ));
            return Ok(());
        }
    };
    if args.model.is_some() {
        report
            .skipped
            .push("training: random variants only (not --model)".into());
        return Ok(());
    }
    for &variant in &args.variants {
        for &precision in &args.precisions {
            if !offers(provider, precision) {
                continue;
            }
            let rows = train_steps::measure(
                variant,
                args.input_size,
                device,
                precision,
                &args.train_batches,
                args.train_runs,
            )?;
            report.training.extend(rows);
        }
    }
    Ok(())
}

#[cfg(not(feature = "train"))]
fn bench_training(
    _args: &BenchGpuArgs,
    _provider: ExecutionProvider,
    report: &mut Report,
) -> anyhow::Result<()> {
    report
        .skipped
        .push("training: this endoscan was built without libtorch (feature `train`)".into());
    Ok(())
}

/// Whether `provider` runs the model at `precision`: fp16 needs TensorRT or libtorch CUDA
/// (ONNX Runtime's CPU and CUDA providers run the f32 graph as it is).
pub fn offers(provider: ExecutionProvider, precision: EnginePrecision) -> bool {
    precision == EnginePrecision::Fp32
        || matches!(
            provider,
            ExecutionProvider::TensorRt | ExecutionProvider::TorchCuda
        )
}

/// Largest |a − b| over two equally long lists.
pub fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0f32, f32::max)
}

fn time_batch(
    scorer: &mut dyn Scorer,
    batch: usize,
    side: usize,
    runs: usize,
) -> anyhow::Result<BatchTiming> {
    let input = images(batch, side, batch as u64);
    let latency = time_calls(runs, || scorer.score_with_maps(input.view()).map(drop))?;
    Ok(BatchTiming::new(batch, latency))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fp16_is_offered_by_tensorrt_and_libtorch_cuda_only() {
        use ExecutionProvider::*;
        for provider in [Cpu, Cuda, TensorRt, TorchCuda, TorchCpu] {
            assert!(offers(provider, EnginePrecision::Fp32), "{provider}");
        }
        let fp16: Vec<_> = [Cpu, Cuda, TensorRt, TorchCuda, TorchCpu]
            .into_iter()
            .filter(|&p| offers(p, EnginePrecision::Fp16))
            .collect();
        assert_eq!(fp16, [TensorRt, TorchCuda]);
    }

    #[test]
    fn the_largest_difference_is_found_wherever_it_is() {
        assert_eq!(max_abs_diff(&[0.5, 0.25, 0.0], &[0.5, 0.5, 0.125]), 0.25);
        assert_eq!(max_abs_diff(&[0.75], &[0.25]), 0.5);
        assert_eq!(max_abs_diff(&[], &[]), 0.0);
    }
}
