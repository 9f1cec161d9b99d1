//! The peer of `bench gpu --peer`: `scripts/torch-peer.py` times PyTorch with timm's BiT at
//! the sizes and precisions of `bench.json`, in the same run, and writes the ratio table
//! (`peer.md`), printed here.

use std::path::Path;
use std::process::Command;

use anyhow::Context;

use super::BenchGpuArgs;
use crate::infer::ExecutionProvider;

/// The peer script, found beside the working directory or under `$ENDOSCAN_ROOT`.
pub const SCRIPT: &str = "scripts/torch-peer.py";

/// Runs the peer on the rows in `out/bench.json`; says why and returns when it cannot.
pub fn run(args: &BenchGpuArgs, out: &Path, provider: ExecutionProvider) -> anyhow::Result<()> {
    let python = &args.peer_python;
    let script = crate::infer::bundled(SCRIPT)
        .with_context(|| format!("--peer: {SCRIPT} not found (run from the project folder)"))?;
    let has_timm = Command::new(python)
        .args(["-c", "import torch, timm"])
        .output()
        .map(|o| o.status.success());
    match has_timm {
        Ok(true) => {}
        Ok(false) => {
            eprintln!(
                "bench gpu: no peer: {} cannot import torch and timm (pip install timm)",
                python.display()
            );
            return Ok(());
        }
        Err(e) => {
            eprintln!("bench gpu: no peer: cannot run {}: {e}", python.display());
            return Ok(());
        }
    }
    let device = match provider {
        ExecutionProvider::Cpu | ExecutionProvider::TorchCpu => "cpu",
        _ => "cuda",
    };
    let status = Command::new(python)
        .arg(&script)
        .arg(out)
        .args(["--device", device, "--runs", &args.runs.to_string()])
        .status()
        .with_context(|| format!("cannot run {}", script.display()))?;
    if !status.success() {
        anyhow::bail!("the peer ({}) failed: {status}", script.display());
    }
    let table = out.join("peer.md");
    let text = std::fs::read_to_string(&table)
        .with_context(|| format!("{}: the peer wrote no table", table.display()))?;
    if !args.json {
        print!("\n{text}");
    }
    Ok(())
}
