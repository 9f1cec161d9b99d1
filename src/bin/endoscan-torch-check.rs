//! `endoscan-torch-check --out DIR [bench gpu options]`: `endoscan bench gpu` on a GPU machine
//! that has libtorch (CUDA build) but neither GStreamer nor ONNX Runtime — the libtorch scorer
//! against its CPU f32 reference, and its latency per batch size (`endoscan::bench::gpu`).
//! Exit status 0: within the bounds; 1: a difference; 2: it could not run.

use clap::Parser;

/// Command line: the options of `endoscan bench gpu`.
#[derive(Debug, Parser)]
#[command(
    name = "endoscan-torch-check",
    about = "endoscan bench gpu on a GPU machine without GStreamer or ONNX Runtime"
)]
struct Cli {
    #[command(flatten)]
    bench: endoscan::bench::gpu::BenchGpuArgs,
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    endoscan::bench::gpu::main_with(&cli.bench, "torch-check")
}
