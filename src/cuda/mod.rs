//! endoscan's own CUDA code: the kernels of `kernels/` compiled at run time by NVRTC and
//! launched through `cudarc`, both loaded dynamically, so the program builds and runs on
//! machines without CUDA and finds out at run time what it has ([`probe`]).
//!
//! - [`kernels`]: the sources; [`nvrtc`]: compiling them (cached on disk);
//! - [`layout`]: the launch parameters, built on the CPU (and tested there);
//! - [`probe`]: driver, devices and NVRTC, for `endoscan devices` and for choosing a path.

pub mod arch;
pub mod check;
pub mod device;
pub mod devices;
pub mod kernels;
pub mod layout;
pub mod locate;
pub mod nvrtc;
pub mod prepare;
pub mod probe;
pub mod select;

pub use arch::ComputeCapability;

/// What can go wrong finding CUDA or running endoscan's kernels.
#[derive(Debug, thiserror::Error)]
pub enum CudaError {
    #[error("no CUDA driver (libcuda.so.1 not found: no NVIDIA driver installed)")]
    NoDriver,
    #[error("the CUDA driver reports no GPU")]
    NoDevice,
    #[error("NVRTC not found (libnvrtc.so.13: install the PyPI wheel nvidia-cuda-nvrtc==13.0.88 and put its lib/ on LD_LIBRARY_PATH, see scripts/env.sh)")]
    NoNvrtc,
    #[error("kernel {file} does not compile for compute capability {arch}:\n{log}")]
    Compile {
        file: String,
        arch: String,
        log: String,
    },
    #[error("GPU {name} (compute capability {capability}) is older than any endoscan compiles kernels for (7.5 and newer)")]
    Unsupported { name: String, capability: String },
    #[error("CUDA: {0}")]
    Driver(String),
}

impl From<cudarc::driver::DriverError> for CudaError {
    fn from(e: cudarc::driver::DriverError) -> Self {
        CudaError::Driver(e.to_string())
    }
}
