//! How a [`super::Classifier`] runs: execution provider, device and threads.

use std::fmt;

use ort::ep::{self, ExecutionProviderDispatch};

/// Default intra-op threads: `None` lets ONNX Runtime use one per physical core.
pub const DEFAULT_INTRA_THREADS: Option<usize> = None;

/// Where the model runs: an ONNX Runtime execution provider, or libtorch (builds with the
/// `train` feature).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ExecutionProvider {
    /// The CPU (always available).
    #[default]
    Cpu,
    /// NVIDIA CUDA (needs an ONNX Runtime built with CUDA).
    Cuda,
    /// NVIDIA TensorRT, with CUDA for the nodes TensorRT does not take (fp16; engines cached
    /// under `engines/`).
    #[value(name = "tensorrt")]
    TensorRt,
    /// NVIDIA TensorRT-RTX, ONNX Runtime's plugin provider for RTX GPUs (compute capability
    /// 7.5, 8.6, 8.9, 12.x; not H100/H200). `scripts/setup --gpu` installs it.
    #[value(name = "trt-rtx")]
    TrtRtx,
    /// libtorch on the GPU (the model's own definition, weights read from the `.onnx`; fp16
    /// autocast, cuDNN autotuning). Needs a build with the `train` feature.
    #[value(name = "torch-cuda")]
    TorchCuda,
    /// libtorch on the CPU (fp32): the reference the GPU path is checked against.
    #[value(name = "torch-cpu")]
    TorchCpu,
    /// The fastest this machine runs: TensorRT, TensorRT-RTX, libtorch CUDA, CUDA, else the
    /// CPU (one log line says why).
    Auto,
}

impl ExecutionProvider {
    /// Whether libtorch, not ONNX Runtime, runs the model.
    pub fn is_torch(self) -> bool {
        matches!(
            self,
            ExecutionProvider::TorchCuda | ExecutionProvider::TorchCpu
        )
    }

    /// The providers to register, in priority order; each fails loudly instead of silently
    /// falling back to the CPU.
    /// `engines` is the TensorRT engine and timing cache folder.
    pub(crate) fn dispatch(
        self,
        device_id: i32,
        engines: Option<&std::path::Path>,
        precision: EnginePrecision,
    ) -> Vec<ExecutionProviderDispatch> {
        let cuda = || {
            ep::CUDA::default()
                .with_device_id(device_id)
                .build()
                .error_on_failure()
        };
        match self {
            // `Auto` is resolved before a session is built ([`super::select`]); the libtorch
            // providers never reach ONNX Runtime ([`super::Model::load`]).
            // TensorRT-RTX is a plugin: sessions take its device instead ([`super::trt_rtx`]).
            ExecutionProvider::Cpu
            | ExecutionProvider::Auto
            | ExecutionProvider::TrtRtx
            | ExecutionProvider::TorchCuda
            | ExecutionProvider::TorchCpu => Vec::new(),
            ExecutionProvider::Cuda => vec![cuda()],
            ExecutionProvider::TensorRt => {
                let mut trt = ep::TensorRT::default()
                    .with_device_id(device_id)
                    .with_fp16(precision == EnginePrecision::Fp16);
                if let Some(dir) = engines {
                    let dir = dir.display().to_string();
                    trt = trt
                        .with_engine_cache(true)
                        .with_engine_cache_path(&dir)
                        .with_timing_cache(true)
                        .with_timing_cache_path(&dir);
                }
                vec![trt.build().error_on_failure(), cuda()]
            }
        }
    }
}

impl fmt::Display for ExecutionProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ExecutionProvider::Cpu => "cpu",
            ExecutionProvider::Cuda => "cuda",
            ExecutionProvider::TensorRt => "tensorrt",
            ExecutionProvider::TrtRtx => "trt-rtx",
            ExecutionProvider::TorchCuda => "torch-cuda",
            ExecutionProvider::TorchCpu => "torch-cpu",
            ExecutionProvider::Auto => "auto",
        })
    }
}

/// The arithmetic TensorRT builds its engines in (part of the engine cache key).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum EnginePrecision {
    /// fp16 kernels where TensorRT finds them faster (the default).
    #[default]
    Fp16,
    /// f32 only: the reference the fp16 engine is checked against.
    Fp32,
}

impl fmt::Display for EnginePrecision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            EnginePrecision::Fp16 => "fp16",
            EnginePrecision::Fp32 => "fp32",
        })
    }
}

/// Options of [`super::Classifier::load`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ClassifierOptions {
    pub provider: ExecutionProvider,
    /// GPU index for CUDA / TensorRT.
    pub device_id: i32,
    /// Intra-op threads; `None` = ONNX Runtime's default.
    pub intra_threads: Option<usize>,
    /// Other busy threads (decode, preprocessing) share the CPU cores: idle intra-op threads
    /// then sleep instead of spinning (ONNX Runtime's `session.intra_op.allow_spinning = 0`),
    /// which gives those cores back to the other stages at a small cost in latency.
    pub shares_cpu: bool,
    /// TensorRT's engine precision (`--provider tensorrt`).
    pub engine_precision: EnginePrecision,
}
