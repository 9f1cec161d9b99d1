//! `--provider auto`: the fastest execution provider this machine can run, and why each faster
//! one was passed over — TensorRT, then TensorRT-RTX (the plugin, on RTX GPUs), then libtorch
//! CUDA (fp16, cuDNN), then ONNX Runtime's CUDA (fp32), then the CPU. A provider asked for by name is never swapped for another (it fails
//! with its reason instead).

use super::{ClassifierOptions, ExecutionProvider};

/// What the machine offers the GPU providers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Availability {
    /// Why no GPU can be used (no driver, no device), or `None` when GPU 0 is usable.
    pub gpu: Option<String>,
    /// Whether the loaded ONNX Runtime library has the CUDA / TensorRT provider.
    pub cuda_ep: bool,
    pub tensorrt_ep: bool,
    /// Why the TensorRT-RTX plugin cannot run (not installed, or GPU 0 is not an RTX
    /// generation), or `None` when it can.
    pub trt_rtx: Option<String>,
    /// Why libtorch cannot run on the GPU (a build without libtorch, or one whose libtorch has
    /// no CUDA), or `None` when it can; commands that run on ONNX Runtime only pass
    /// `Some` here.
    pub torch_cuda: Option<String>,
}

/// A resolved choice: the provider, and for `auto`, one reason per faster provider not taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    pub provider: ExecutionProvider,
    pub passed_over: Vec<String>,
}

impl Choice {
    /// The log line for `auto`: what it picked and why not the others.
    pub fn describe(&self) -> String {
        if self.passed_over.is_empty() {
            format!("--provider auto: {}", self.provider)
        } else {
            format!(
                "--provider auto: {} ({})",
                self.provider,
                self.passed_over.join("; ")
            )
        }
    }
}

/// Resolves `wanted` against `available` (only `auto` is resolved; the rest stay as asked).
pub fn choose(wanted: ExecutionProvider, available: &Availability) -> Choice {
    if wanted != ExecutionProvider::Auto {
        return Choice {
            provider: wanted,
            passed_over: Vec::new(),
        };
    }
    let mut passed_over = Vec::new();
    let not_in_build = |provider: ExecutionProvider| {
        format!("{provider}: not in this ONNX Runtime library (the CPU-only PyPI onnxruntime; onnxruntime-gpu has it)")
    };
    let candidates = [
        (
            ExecutionProvider::TensorRt,
            (!available.tensorrt_ep).then(|| not_in_build(ExecutionProvider::TensorRt)),
        ),
        (
            ExecutionProvider::TrtRtx,
            available
                .trt_rtx
                .as_ref()
                .map(|why| format!("{}: {why}", ExecutionProvider::TrtRtx)),
        ),
        (
            ExecutionProvider::TorchCuda,
            available
                .torch_cuda
                .as_ref()
                .map(|why| format!("{}: {why}", ExecutionProvider::TorchCuda)),
        ),
        (
            ExecutionProvider::Cuda,
            (!available.cuda_ep).then(|| not_in_build(ExecutionProvider::Cuda)),
        ),
    ];
    for (provider, unusable) in candidates {
        match (&available.gpu, unusable) {
            (Some(why), _) => passed_over.push(format!("{provider}: {why}")),
            (None, Some(why)) => passed_over.push(why),
            (None, None) => {
                return Choice {
                    provider,
                    passed_over,
                }
            }
        }
    }
    Choice {
        provider: ExecutionProvider::Cpu,
        passed_over,
    }
}

/// `options` with `auto` resolved (and logged, with the reasons); others unchanged. `torch`:
/// whether the caller can run the libtorch providers.
pub fn resolve(options: &ClassifierOptions, torch: bool) -> ClassifierOptions {
    if options.provider != ExecutionProvider::Auto {
        return *options;
    }
    let mut available = probe();
    if !torch {
        available.torch_cuda = Some("this command runs on ONNX Runtime only".to_string());
    }
    let choice = choose(ExecutionProvider::Auto, &available);
    tracing::info!("{}", choice.describe());
    ClassifierOptions {
        provider: choice.provider,
        ..*options
    }
}

/// What this machine offers, probed once (the CUDA driver and ONNX Runtime's providers).
pub fn probe() -> Availability {
    use ort::ep::ExecutionProvider as _;
    let report = crate::cuda::probe::probe();
    // The GPU providers need the driver and a device, not NVRTC (that is the kernels').
    let gpu = match (&report.driver, report.gpus.is_empty()) {
        (Err(e), _) => Some(e.to_string()),
        (Ok(_), true) => Some(crate::cuda::CudaError::NoDevice.to_string()),
        (Ok(_), false) => None,
    };
    let loaded = super::runtime::environment().is_ok();
    Availability {
        gpu,
        cuda_ep: loaded && matches!(ort::ep::CUDA::is_available(), Ok(true)),
        tensorrt_ep: loaded && matches!(ort::ep::TensorRT::is_available(), Ok(true)),
        trt_rtx: trt_rtx_unavailable(report.gpus.first()),
        torch_cuda: super::torch_cuda_unavailable(),
    }
}

/// Why TensorRT-RTX cannot run on `gpu`: an unsupported generation, or no plugin.
fn trt_rtx_unavailable(gpu: Option<&crate::cuda::probe::Gpu>) -> Option<String> {
    if let Some(why) = gpu.and_then(|g| super::trt_rtx::unsupported_reason(g.capability)) {
        return Some(why);
    }
    super::trt_rtx::find_plugin().err()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn available(gpu: Option<&str>, cuda_ep: bool, tensorrt_ep: bool) -> Availability {
        Availability {
            gpu: gpu.map(str::to_string),
            cuda_ep,
            tensorrt_ep,
            trt_rtx: Some("the TensorRT-RTX plugin is not installed".to_string()),
            torch_cuda: Some("built without libtorch".to_string()),
        }
    }

    fn with_torch(mut a: Availability) -> Availability {
        a.torch_cuda = None;
        a
    }

    #[test]
    fn auto_takes_the_fastest_provider_there_is() {
        let pick = |a: &Availability| choose(ExecutionProvider::Auto, a).provider;
        assert_eq!(
            pick(&available(None, true, true)),
            ExecutionProvider::TensorRt
        );
        assert_eq!(pick(&available(None, true, false)), ExecutionProvider::Cuda);
        assert_eq!(pick(&available(None, false, false)), ExecutionProvider::Cpu);
        // libtorch's CUDA comes after TensorRT and before ONNX Runtime's CUDA.
        let torch = |cuda_ep, tensorrt_ep| with_torch(available(None, cuda_ep, tensorrt_ep));
        assert_eq!(pick(&torch(true, true)), ExecutionProvider::TensorRt);
        assert_eq!(pick(&torch(true, false)), ExecutionProvider::TorchCuda);
        assert_eq!(pick(&torch(false, false)), ExecutionProvider::TorchCuda);
        assert_eq!(
            pick(&with_torch(available(Some("no CUDA driver"), true, true))),
            ExecutionProvider::Cpu
        );
        // TensorRT-RTX comes after TensorRT and before libtorch.
        let rtx = |tensorrt_ep| {
            let mut a = with_torch(available(None, true, tensorrt_ep));
            a.trt_rtx = None;
            a
        };
        assert_eq!(pick(&rtx(true)), ExecutionProvider::TensorRt);
        assert_eq!(pick(&rtx(false)), ExecutionProvider::TrtRtx);
        // Providers in the library are no use without a GPU.
        assert_eq!(
            pick(&available(Some("no CUDA driver"), true, true)),
            ExecutionProvider::Cpu
        );
    }

    #[test]
    fn auto_says_why_it_passed_each_faster_one_over() {
        let c = choose(ExecutionProvider::Auto, &available(None, true, false));
        assert_eq!(c.passed_over.len(), 3);
        assert!(
            c.passed_over[0].starts_with("tensorrt: not in this ONNX Runtime"),
            "{c:?}"
        );
        assert_eq!(
            c.passed_over[1],
            "trt-rtx: the TensorRT-RTX plugin is not installed"
        );
        assert_eq!(c.passed_over[2], "torch-cuda: built without libtorch");
        let c = choose(
            ExecutionProvider::Auto,
            &available(Some("no CUDA driver"), false, false),
        );
        assert_eq!(
            c.describe(),
            "--provider auto: cpu (tensorrt: no CUDA driver; trt-rtx: no CUDA driver; torch-cuda: no CUDA driver; cuda: no CUDA driver)"
        );
    }

    #[test]
    fn a_provider_asked_for_by_name_is_kept() {
        let none = available(Some("no CUDA driver"), false, false);
        for p in [
            ExecutionProvider::Cpu,
            ExecutionProvider::Cuda,
            ExecutionProvider::TensorRt,
            ExecutionProvider::TrtRtx,
            ExecutionProvider::TorchCuda,
            ExecutionProvider::TorchCpu,
        ] {
            assert_eq!(
                choose(p, &none),
                Choice {
                    provider: p,
                    passed_over: vec![]
                }
            );
        }
    }
}
