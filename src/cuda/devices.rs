//! `endoscan devices`: what this machine offers endoscan's GPU paths, in one report; exits 0
//! on a machine with none of it.

use ort::ep::ExecutionProvider;

use super::arch::SUPPORTED;
use super::probe::{probe, version_text, CudaReport};

/// Arguments of `endoscan devices`.
#[derive(Debug, clap::Args)]
pub struct DevicesArgs {
    /// Print the report as JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// ONNX Runtime's execution providers in this build of its library, or why it cannot load.
fn onnx_providers() -> Result<Vec<&'static str>, String> {
    crate::infer::runtime::environment().map_err(|e| e.to_string())?;
    let known = [
        (ort::ep::CPU::NAME, ort::ep::CPU::is_available()),
        (ort::ep::CUDA::NAME, ort::ep::CUDA::is_available()),
        (ort::ep::TensorRT::NAME, ort::ep::TensorRT::is_available()),
    ];
    Ok(known
        .into_iter()
        .filter(|(_, ok)| matches!(ok, Ok(true)))
        .map(|(name, _)| name)
        .collect())
}

/// The report as lines of text.
fn text(report: &CudaReport, providers: &Result<Vec<&str>, String>) -> Vec<String> {
    let mut lines = vec![match &report.driver {
        Ok(v) => format!("CUDA driver: {} (CUDA {})", v, version_text(*v)),
        Err(e) => format!("CUDA driver: none: {e}"),
    }];
    if report.gpus.is_empty() {
        lines.push("GPUs: none".into());
    }
    for g in &report.gpus {
        lines.push(format!(
            "GPU {}: {}, compute capability {}, {:.1} GiB, {} SMs",
            g.ordinal,
            g.name,
            g.capability,
            g.memory_bytes as f64 / f64::from(1u32 << 30),
            g.multiprocessors
        ));
    }
    let targets: Vec<String> = SUPPORTED.iter().map(|c| c.to_string()).collect();
    lines.push(match &report.nvrtc {
        Ok((major, minor)) => format!(
            "NVRTC: {major}.{minor} (kernels compile for compute capability {})",
            targets.join(", ")
        ),
        Err(e) => format!("NVRTC: none: {e}"),
    });
    lines.push(match providers {
        Ok(p) => format!(
            "ONNX Runtime: {} ({})",
            crate::infer::runtime::dylib_path().display(),
            p.join(", ")
        ),
        Err(e) => format!("ONNX Runtime: none: {e}"),
    });
    lines.push(match crate::infer::trt_rtx::find_plugin() {
        Ok(path) => format!(
            "TensorRT-RTX plugin: {} (--provider trt-rtx)",
            path.display()
        ),
        Err(why) => format!("TensorRT-RTX plugin: none: {why}"),
    });
    lines.push(match crate::infer::torch_cuda_unavailable() {
        None => "libtorch: CUDA (--provider torch-cuda)".into(),
        Some(why) => format!("libtorch: no CUDA: {why}"),
    });
    lines.push(match report.unusable() {
        None => "--preprocess auto: CUDA on GPU 0".into(),
        Some(why) => format!("--preprocess auto: CPU ({why})"),
    });
    lines.push(provider_auto().describe());
    lines
}

/// What `--provider auto` picks here.
fn provider_auto() -> crate::infer::select::Choice {
    use crate::infer::{select, ExecutionProvider};
    select::choose(ExecutionProvider::Auto, &select::probe())
}

/// Runs `endoscan devices`.
pub fn run(args: &DevicesArgs) -> anyhow::Result<()> {
    let report = probe();
    let providers = onnx_providers();
    if args.json {
        let auto = provider_auto();
        let err = |e: &dyn std::fmt::Display| serde_json::json!({ "error": e.to_string() });
        let json = serde_json::json!({
            "cuda_driver": report.driver.as_ref().map(|v| serde_json::json!(version_text(*v))).unwrap_or_else(|e| err(e)),
            "gpus": report.gpus,
            "nvrtc": report.nvrtc.as_ref().map(|(a, b)| serde_json::json!(format!("{a}.{b}"))).unwrap_or_else(|e| err(e)),
            "kernel_targets": SUPPORTED.iter().map(|c| c.to_string()).collect::<Vec<_>>(),
            "onnxruntime_providers": providers.as_ref().map(|p| serde_json::json!(p)).unwrap_or_else(|e| err(e)),
            "preprocess_auto": if report.unusable().is_none() { "cuda" } else { "cpu" },
            "trt_rtx_plugin": crate::infer::trt_rtx::find_plugin().map_or_else(|why| err(&why), |p| serde_json::json!(p)),
            "libtorch_cuda": crate::infer::torch_cuda_unavailable().map_or_else(|| serde_json::json!(true), |why| err(&why)),
            "provider_auto": auto.provider.to_string(),
            "provider_auto_passed_over": auto.passed_over,
        });
        println!("{}", serde_json::to_string_pretty(&json)?);
    } else {
        for line in text(&report, &providers) {
            println!("{line}");
        }
    }
    Ok(())
}
