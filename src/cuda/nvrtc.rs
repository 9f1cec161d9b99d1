//! Run-time compilation of `kernels/` with NVRTC (loaded dynamically: the PyPI
//! `nvidia-cuda-nvrtc` wheel, or a CUDA toolkit's `libnvrtc.so.13` on `LD_LIBRARY_PATH`), with
//! an on-disk cache of the PTX keyed by program text, architecture and NVRTC version.

use std::path::{Path, PathBuf};

use cudarc::nvrtc::{self, CompileError, CompileOptions};
use sha2::{Digest, Sha256};

use super::arch::ComputeCapability;
use super::kernels::KernelSource;
use super::CudaError;

/// Whether `libnvrtc` can be loaded (never panics, unlike the first NVRTC call without it).
pub fn nvrtc_present() -> bool {
    // SAFETY: only tries to dlopen the library by its candidate names.
    unsafe { nvrtc::sys::is_culib_present() }
}

/// NVRTC's `(major, minor)` version.
pub fn nvrtc_version() -> Result<(i32, i32), CudaError> {
    if !nvrtc_present() {
        return Err(CudaError::NoNvrtc);
    }
    let (mut major, mut minor) = (0, 0);
    // SAFETY: the library is present; the call writes two ints.
    let status = unsafe { nvrtc::sys::nvrtcVersion(&mut major, &mut minor) };
    if status != nvrtc::sys::nvrtcResult::NVRTC_SUCCESS {
        return Err(CudaError::Driver(format!(
            "nvrtcVersion failed: {status:?}"
        )));
    }
    Ok((major, minor))
}

/// Compiles `kernel` to PTX for `arch`; the error carries NVRTC's log, which names the file
/// and line of each problem.
pub fn compile(kernel: &KernelSource, arch: ComputeCapability) -> Result<String, CudaError> {
    compile_text(kernel.file, &kernel.program(), arch)
}

/// Compiles a program `text` whose file name is `file` (used for messages).
pub fn compile_text(file: &str, text: &str, arch: ComputeCapability) -> Result<String, CudaError> {
    if !nvrtc_present() {
        return Err(CudaError::NoNvrtc);
    }
    if text.contains('\0') {
        return Err(CudaError::Compile {
            file: file.into(),
            arch: arch.to_string(),
            log: "the source holds a NUL byte".into(),
        });
    }
    let options = CompileOptions {
        name: Some(file.to_string()),
        options: vec![
            format!("--gpu-architecture={}", arch.virtual_arch()),
            "--std=c++17".into(),
        ],
        ..Default::default()
    };
    let ptx = nvrtc::compile_ptx_with_opts(text, options).map_err(|e| match e {
        CompileError::CompileError { log, .. } => CudaError::Compile {
            file: file.into(),
            arch: arch.to_string(),
            log: log.to_string_lossy().trim_end().to_string(),
        },
        other => CudaError::Driver(format!("NVRTC on {file}: {other:?}")),
    })?;
    Ok(ptx.to_src())
}

/// PTX of `kernel` for `arch`, from the cache in `dir` when it holds it, else compiled and
/// stored there (a cache that cannot be written only costs the compile next time).
pub fn compile_cached(
    kernel: &KernelSource,
    arch: ComputeCapability,
    dir: &Path,
) -> Result<String, CudaError> {
    let (major, minor) = nvrtc_version()?;
    let program = kernel.program();
    let mut hash = Sha256::new();
    hash.update(program.as_bytes());
    hash.update(format!("{} nvrtc {major}.{minor}", arch.virtual_arch()));
    let key: String = hash.finalize()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let stem = kernel.file.trim_end_matches(".cu");
    let path = dir.join(format!("{stem}-{}-{key}.ptx", arch.virtual_arch()));
    if let Ok(ptx) = std::fs::read_to_string(&path) {
        tracing::debug!(path = %path.display(), "kernel from the cache");
        return Ok(ptx);
    }
    let ptx = compile_text(kernel.file, &program, arch)?;
    if let Err(e) = store(&path, &ptx) {
        tracing::warn!("cannot cache compiled kernel in {}: {e}", path.display());
    }
    Ok(ptx)
}

/// Writes `text` to `path` through a temporary file, so readers never see half a file.
fn store(path: &Path, text: &str) -> std::io::Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, path)
}

/// The kernel cache folder: `$ENDOSCAN_KERNEL_CACHE`, else `$XDG_CACHE_HOME/endoscan/kernels`,
/// else `~/.cache/endoscan/kernels`, else one under the temporary folder.
pub fn default_cache_dir() -> PathBuf {
    let env = |name| std::env::var_os(name).filter(|v| !v.is_empty());
    if let Some(dir) = env("ENDOSCAN_KERNEL_CACHE") {
        return dir.into();
    }
    let base = env("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| env("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    base.join("endoscan").join("kernels")
}

#[cfg(test)]
#[path = "nvrtc_tests.rs"]
mod tests;
