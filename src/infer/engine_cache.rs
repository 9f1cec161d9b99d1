//! Where TensorRT engines are cached: one folder per everything an engine depends on — the
//! model file's SHA-256, the GPU (name, compute capability, SM count), the TensorRT version,
//! the precision and the batch profile — so an engine built for anything else is never loaded
//! (a changed model, a new GPU or TensorRT gets a new folder; old ones can be deleted freely).
//! ONNX Runtime's TensorRT provider keeps its engine and timing caches in that folder.

use std::path::{Path, PathBuf};

use super::EnginePrecision;

/// What an engine was built for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineKey {
    pub model_sha256: String,
    pub gpu_name: String,
    /// Compute capability, e.g. `8.9`.
    pub capability: String,
    pub multiprocessors: i32,
    /// TensorRT's version, e.g. `10.3.0`.
    pub tensorrt: String,
    /// `fp16` or `fp32`.
    pub precision: &'static str,
    /// The batch sizes the engine serves: `dyn` (ONNX Runtime's own profiles) or e.g. `1-32`.
    pub batch: String,
}

/// Lower-case letters, digits and `-` only (GPU names have spaces and slashes).
fn slug(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-').to_string()
}

impl EngineKey {
    /// The cache folder's name: every field, readable.
    pub fn folder_name(&self) -> String {
        let sha = &self.model_sha256[..self.model_sha256.len().min(16)];
        format!(
            "{sha}-{}-cc{}-{}sm-trt{}-{}-b{}",
            slug(&self.gpu_name),
            self.capability.replace('.', ""),
            self.multiprocessors,
            slug(&self.tensorrt),
            self.precision,
            slug(&self.batch)
        )
    }

    /// The folder under `engines`.
    pub fn folder(&self, engines: &Path) -> PathBuf {
        engines.join(self.folder_name())
    }
}

/// The engine cache root: `$ENDOSCAN_ENGINES`, else `engines/` of the project
/// (`$ENDOSCAN_ROOT`), else `./engines`.
pub fn engines_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("ENDOSCAN_ENGINES") {
        return PathBuf::from(dir);
    }
    match std::env::var_os("ENDOSCAN_ROOT") {
        Some(root) => PathBuf::from(root).join("engines"),
        None => PathBuf::from("engines"),
    }
}

/// The cache folder for `model` on GPU `device` at `precision` (created), or `None` when the
/// model cannot be read or the GPU is not there (the provider then fails with its own error).
pub fn for_model(model: &Path, device: i32, precision: EnginePrecision) -> Option<PathBuf> {
    let tensorrt = tensorrt_version().unwrap_or_else(|| "none".into());
    for_runtime(model, device, precision, tensorrt)
}

/// [`for_model`] for the TensorRT build `tensorrt` names (e.g. `rtx1.7.1` for TensorRT-RTX).
pub fn for_runtime(
    model: &Path,
    device: i32,
    precision: EnginePrecision,
    tensorrt: String,
) -> Option<PathBuf> {
    let report = crate::cuda::probe::probe();
    let gpu = report.gpus.get(usize::try_from(device).ok()?)?;
    let key = EngineKey {
        model_sha256: crate::util::hash::sha256_file(model).ok()?,
        gpu_name: gpu.name.clone(),
        capability: gpu.capability.to_string(),
        multiprocessors: gpu.multiprocessors,
        tensorrt,
        precision: match precision {
            EnginePrecision::Fp16 => "fp16",
            EnginePrecision::Fp32 => "fp32",
        },
        batch: "dyn".into(),
    };
    let dir = key.folder(&engines_dir());
    match std::fs::create_dir_all(&dir) {
        Ok(()) => {
            tracing::info!("TensorRT engines: {}", dir.display());
            Some(dir)
        }
        Err(e) => {
            tracing::warn!(
                "{}: cannot create the engine cache ({e}); engines are not kept",
                dir.display()
            );
            None
        }
    }
}

/// TensorRT's version from the `libnvinfer` the process can load (`getInferLibVersion`), or
/// `None` without TensorRT.
pub fn tensorrt_version() -> Option<String> {
    for name in [c"libnvinfer.so.10", c"libnvinfer.so"] {
        // SAFETY: dlopen/dlsym with valid C strings; the symbol is `int32_t (void)` in every
        // TensorRT release; the handle stays open (the provider loads the same library).
        unsafe {
            let handle = libc::dlopen(name.as_ptr(), libc::RTLD_LAZY | libc::RTLD_LOCAL);
            if handle.is_null() {
                continue;
            }
            let symbol = libc::dlsym(handle, c"getInferLibVersion".as_ptr());
            if symbol.is_null() {
                continue;
            }
            let version: extern "C" fn() -> i32 = std::mem::transmute(symbol);
            return Some(version_text(version()));
        }
    }
    None
}

/// `100300` (TensorRT 10's MAJOR·10000 + MINOR·100 + PATCH) as `10.3.0`.
fn version_text(v: i32) -> String {
    format!("{}.{}.{}", v / 10000, (v / 100) % 100, v % 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> EngineKey {
        EngineKey {
            model_sha256: "ab12".repeat(16),
            gpu_name: "NVIDIA RTX 4000 Ada Generation".into(),
            capability: "8.9".into(),
            multiprocessors: 48,
            tensorrt: "10.3.0".into(),
            precision: "fp16",
            batch: "1-32".into(),
        }
    }

    #[test]
    fn the_folder_names_every_field() {
        assert_eq!(
            key().folder_name(),
            "ab12ab12ab12ab12-nvidia-rtx-4000-ada-generation-cc89-48sm-trt10-3-0-fp16-b1-32"
        );
    }

    #[test]
    fn any_change_gets_another_folder() {
        let base = key().folder_name();
        let changes: [fn(&mut EngineKey); 7] = [
            |k| k.model_sha256 = "cd34".repeat(16),
            |k| k.gpu_name = "NVIDIA H200".into(),
            |k| k.capability = "9.0".into(),
            |k| k.multiprocessors = 132,
            |k| k.tensorrt = "10.4.0".into(),
            |k| k.precision = "fp32",
            |k| k.batch = "dyn".into(),
        ];
        let mut seen = std::collections::HashSet::from([base]);
        for change in changes {
            let mut k = key();
            change(&mut k);
            assert!(seen.insert(k.folder_name()), "{k:?} reuses a folder");
        }
    }

    #[test]
    fn tensorrt_versions_read_as_released() {
        assert_eq!(version_text(100300), "10.3.0");
        assert_eq!(version_text(101301), "10.13.1");
        // No TensorRT on the CI machines: the probe says so instead of failing.
        if std::path::Path::new("/dev/nvidiactl").exists() {
            return;
        }
        assert_eq!(tensorrt_version(), None);
    }
}
