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
    /// NVIDIA TensorRT, with CUDA for the nodes TensorRT does not take.
    #[value(name = "tensorrt")]
    TensorRt,
}

impl ExecutionProvider {
    /// The providers to register, in priority order; each fails loudly instead of silently
    /// falling back to the CPU.
    pub(crate) fn dispatch(self, device_id: i32) -> Vec<ExecutionProviderDispatch> {
        let cuda = || {
            ep::CUDA::default()
                .with_device_id(device_id)
                .build()
                .error_on_failure()
        };
        match self {
            ExecutionProvider::Cpu => Vec::new(),
            ExecutionProvider::Cuda => vec![cuda()],
            ExecutionProvider::TensorRt => vec![
                ep::TensorRT::default()
                    .with_device_id(device_id)
                    .build()
                    .error_on_failure(),
                cuda(),
            ],
        }
    }
}

impl fmt::Display for ExecutionProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ExecutionProvider::Cpu => "cpu",
            ExecutionProvider::Cuda => "cuda",
            ExecutionProvider::TensorRt => "tensorrt",
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
