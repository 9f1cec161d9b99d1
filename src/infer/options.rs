//! How a [`super::Classifier`] runs: execution provider, device and threads.

use std::fmt;

use ort::ep::{self, ExecutionProviderDispatch};

/// Default intra-op threads: `None` lets ONNX Runtime use one per physical core.
pub const DEFAULT_INTRA_THREADS: Option<usize> = None;

/// Where ONNX Runtime runs the graph.
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
    /// The fastest this machine runs: TensorRT, CUDA, else the CPU (one log line says why).
    Auto,
}

impl ExecutionProvider {
    /// The providers to register, in priority order; each fails loudly instead of silently
    /// falling back to the CPU.
    /// `engines` is the TensorRT engine and timing cache folder.
    pub(crate) fn dispatch(
        self,
        device_id: i32,
        engines: Option<&std::path::Path>,
    ) -> Vec<ExecutionProviderDispatch> {
        let cuda = || {
            ep::CUDA::default()
                .with_device_id(device_id)
                .build()
                .error_on_failure()
        };
        match self {
            // `Auto` is resolved before a session is built ([`super::select`]).
            ExecutionProvider::Cpu | ExecutionProvider::Auto => Vec::new(),
            ExecutionProvider::Cuda => vec![cuda()],
            ExecutionProvider::TensorRt => {
                let mut trt = ep::TensorRT::default()
                    .with_device_id(device_id)
                    .with_fp16(true);
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
            ExecutionProvider::Auto => "auto",
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
}
