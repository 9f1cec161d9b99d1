//! `endoscan-gpu-check`: the GPU preprocessing on a benchmark machine, in one command —
//! kernels against the CPU reference on random frames of every format and several sizes, CUDA
//! event timings at batch 1 and 32, and a device-to-device copy for the bandwidth they reach.
//! Writes `results.json` and `summary.md` into the folder named by `--out`.
//!
//! The binary uses no GStreamer and no ONNX Runtime: it runs on a machine with only the NVIDIA
//! driver and NVRTC (`scripts/gpu-check` finds NVRTC).

pub mod accuracy;
pub mod frames;
mod report;
pub mod timing;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

use super::device::Device;
use super::prepare::CudaPreparer;
use super::probe::{probe, version_text};
use crate::model::Normalization;

/// Command line of `endoscan-gpu-check`.
#[derive(Debug, Parser)]
#[command(
    name = "endoscan-gpu-check",
    about = "Checks and times endoscan's CUDA preprocessing against its CPU reference"
)]
pub struct CheckArgs {
    /// Folder for results.json and summary.md (created).
    #[arg(long)]
    pub out: PathBuf,
    /// Side of the model input.
    #[arg(long, default_value_t = 384)]
    pub input_size: usize,
    /// Timed launches per configuration (the median is reported).
    #[arg(long, default_value_t = 100)]
    pub runs: usize,
    /// Megabytes of the device-to-device copy.
    #[arg(long, default_value_t = 1024)]
    pub copy_mb: usize,
}

/// Entry point of the binary: exit 0 when every comparison passed, 1 when one failed, 2 when
/// the check could not run (no GPU, no NVRTC, an unwritable folder).
pub fn main() -> ExitCode {
    let args = CheckArgs::parse();
    match run(&args) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => {
            eprintln!("gpu-check: some GPU outputs differ from the CPU reference (see summary.md)");
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("gpu-check: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// Runs every check; `Ok(false)` when a comparison failed.
pub fn run(args: &CheckArgs) -> anyhow::Result<bool> {
    use anyhow::Context;
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("{}: cannot create the output folder", args.out.display()))?;
    let report = probe();
    if let Some(why) = report.unusable() {
        anyhow::bail!("no usable GPU: {why}");
    }
    let gpu = &report.gpus[0];
    eprintln!(
        "gpu-check: {} (compute capability {}, {} MiB), driver {}, NVRTC {}",
        gpu.name,
        gpu.capability,
        gpu.memory_bytes >> 20,
        report
            .driver
            .as_ref()
            .map_or("?".into(), |v| version_text(*v)),
        report
            .nvrtc
            .as_ref()
            .map_or("?".into(), |(a, b)| format!("{a}.{b}")),
    );
    let preparer = CudaPreparer::new(args.input_size, Normalization::Bit)?;
    eprintln!("gpu-check: comparing every format, size and output with the CPU reference");
    let comparisons = accuracy::check_prepare(&preparer, args.input_size, &frames::SIZES)?;
    let locates = accuracy::check_locate(&preparer, &frames::SIZES)?;
    drop(preparer);
    let mut device = Device::open()?;
    eprintln!("gpu-check: device-to-device copy of {} MiB", args.copy_mb);
    let copy = timing::copy_bandwidth(&mut device, args.copy_mb, args.runs.min(50))?;
    let mut timings = Vec::new();
    for case in timing::cases(args.input_size) {
        eprintln!(
            "gpu-check: timing {:?} {}x{} → {}² {:?}, batch {}",
            case.format, case.width, case.height, case.input_size, case.output, case.batch
        );
        timings.push(timing::time_prepare(&mut device, case, args.runs, &copy)?);
    }
    let results = report::Results::new(&report, comparisons, locates, copy, timings);
    results.write(&args.out)?;
    print!("{}", results.summary());
    Ok(results.all_pass())
}
