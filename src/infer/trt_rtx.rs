//! `--provider trt-rtx`: NVIDIA's TensorRT-RTX as an ONNX Runtime plugin execution provider
//! (the PyPI wheel `onnxruntime-ep-nv-tensorrt-rtx-cu13`, installed by `scripts/setup --gpu`,
//! never by default). The plugin library is found, its TensorRT-RTX libraries are loaded
//! first (the wheel ships them beside it without a search path), it is registered with the
//! process's ONNX Runtime once, and sessions take the GPU device it reports. TensorRT-RTX runs
//! on the RTX generations — compute capability 7.5, 8.6, 8.9 and 12.x — not on 9.0 (H100/H200).

use std::ffi::CString;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use ort::environment::Environment;

use crate::cuda::arch::ComputeCapability;

/// The provider's name in ONNX Runtime (`OrtEpDevice::ep`).
pub const EP_NAME: &str = "NvTensorRTRTXExecutionProvider";
/// The plugin library in the wheel.
pub const PLUGIN_FILE: &str = "libonnxruntime_providers_nv_tensorrt_rtx.so";
/// The wheel's Python package folder.
pub const PACKAGE_DIR: &str = "onnxruntime_ep_nv_tensorrt_rtx";
/// Environment variable naming the plugin library (or its folder).
pub const LIB_ENV: &str = "ENDOSCAN_TRT_RTX_LIB";
/// The libraries the plugin needs from its own folder, in load order (name prefixes).
const SIBLINGS: [&str; 3] = [
    "libcudart.so.13",
    "libtensorrt_rtx.so.1",
    "libtensorrt_onnxparser_rtx.so.1",
];

/// Whether TensorRT-RTX runs on a GPU of compute capability `cc`.
pub fn supports(cc: ComputeCapability) -> bool {
    matches!((cc.major, cc.minor), (7, 5) | (8, 6) | (8, 9) | (12, _))
}

/// Why TensorRT-RTX does not run on `cc`, or `None` when it does.
pub fn unsupported_reason(cc: ComputeCapability) -> Option<String> {
    (!supports(cc)).then(|| {
        format!("TensorRT-RTX does not run on compute capability {cc} (it runs on 7.5, 8.6, 8.9 and 12.x: RTX GPUs)")
    })
}

/// Where the plugin may be: `explicit` (a file, or a folder holding [`PLUGIN_FILE`]), else
/// the wheel's folder in `<root>/.venv` for each of `roots`.
pub fn candidates(explicit: Option<&Path>, roots: &[PathBuf]) -> Vec<PathBuf> {
    if let Some(path) = explicit {
        return vec![if path.is_dir() {
            path.join(PLUGIN_FILE)
        } else {
            path.to_path_buf()
        }];
    }
    let mut found = Vec::new();
    for root in roots {
        let lib = root.join(".venv").join("lib");
        let Ok(entries) = std::fs::read_dir(&lib) else {
            found.push(
                lib.join("python3.*/site-packages")
                    .join(PACKAGE_DIR)
                    .join(PLUGIN_FILE),
            );
            continue;
        };
        let mut pythons: Vec<PathBuf> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                p.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with("python3"))
            })
            .collect();
        pythons.sort();
        found.extend(
            pythons
                .into_iter()
                .map(|p| p.join("site-packages").join(PACKAGE_DIR).join(PLUGIN_FILE)),
        );
    }
    found
}

/// The plugin library of this machine, or why there is none.
pub fn find_plugin() -> Result<PathBuf, String> {
    let explicit = std::env::var_os(LIB_ENV)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from);
    let mut roots: Vec<PathBuf> = std::env::var_os("ENDOSCAN_ROOT")
        .map(PathBuf::from)
        .into_iter()
        .collect();
    let here = PathBuf::from(".");
    let same = |a: &Path, b: &Path| {
        a.canonicalize()
            .ok()
            .is_some_and(|a| b.canonicalize().ok() == Some(a))
    };
    if !roots.iter().any(|r| same(r, &here)) {
        roots.push(here);
    }
    let looked = candidates(explicit.as_deref(), &roots);
    if let Some(found) = looked.iter().find(|p| p.is_file()) {
        return Ok(found.clone());
    }
    let list: Vec<String> = looked.iter().map(|p| p.display().to_string()).collect();
    Err(format!(
        "the TensorRT-RTX plugin is not installed (looked for {}); install it with `bash scripts/setup --gpu` or set {LIB_ENV} to {PLUGIN_FILE}",
        list.join(", ")
    ))
}

static REGISTERED: OnceLock<Result<PathBuf, String>> = OnceLock::new();

/// Finds the plugin and registers it with `env` (once per process; a failure is remembered
/// and returned again). Returns the library registered.
pub fn register(env: &Environment) -> Result<PathBuf, String> {
    REGISTERED
        .get_or_init(|| {
            let path = find_plugin()?;
            register_plugin(env, &path)?;
            Ok(path)
        })
        .clone()
}

/// Loads the plugin library at `path` (and the TensorRT-RTX libraries beside it) into `env`.
pub fn register_plugin(env: &Environment, path: &Path) -> Result<(), String> {
    load_siblings(path)?;
    env.register_ep_library("endoscan.nv_tensorrt_rtx", path)
        .map_err(|e| {
            format!(
                "{}: cannot load the TensorRT-RTX plugin: {e}",
                path.display()
            )
        })?;
    tracing::info!(plugin = %path.display(), "registered the TensorRT-RTX provider");
    Ok(())
}

/// Loads the TensorRT-RTX libraries beside `plugin` into the global namespace, so the
/// plugin's dependencies resolve to them (the wheel sets no search path). Missing ones are
/// left to the loader's path.
fn load_siblings(plugin: &Path) -> Result<(), String> {
    let dir = plugin.parent().unwrap_or(Path::new("."));
    for prefix in SIBLINGS {
        let Some(file) = sibling(dir, prefix) else {
            continue;
        };
        let name = CString::new(file.as_os_str().as_encoded_bytes())
            .map_err(|_| format!("{}: a path with a NUL byte", file.display()))?;
        // SAFETY: dlopen with a valid C string; the handle stays open for the process, as the
        // plugin needs the library for as long as ONNX Runtime runs.
        let handle = unsafe { libc::dlopen(name.as_ptr(), libc::RTLD_NOW | libc::RTLD_GLOBAL) };
        if handle.is_null() {
            return Err(format!("{}: cannot load: {}", file.display(), dl_error()));
        }
    }
    Ok(())
}

/// The library in `dir` whose name starts with `prefix` (the longest name: the real file).
fn sibling(dir: &Path, prefix: &str) -> Option<PathBuf> {
    std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with(prefix))
        })
        .max_by_key(|p| p.as_os_str().len())
}

fn dl_error() -> String {
    // SAFETY: dlerror returns null or a C string valid until the next dl* call on this thread.
    unsafe {
        let e = libc::dlerror();
        if e.is_null() {
            "unknown error".to_string()
        } else {
            std::ffi::CStr::from_ptr(e).to_string_lossy().into_owned()
        }
    }
}

/// TensorRT-RTX's version from the library beside `plugin` (`libtensorrt_rtx.so.1.7.1` →
/// `1.7.1`), part of the runtime cache's key.
pub fn version(plugin: &Path) -> Option<String> {
    let lib = sibling(plugin.parent()?, "libtensorrt_rtx.so.")?;
    let name = lib.file_name()?.to_string_lossy().into_owned();
    Some(name.strip_prefix("libtensorrt_rtx.so.")?.to_string())
}

/// The provider's GPU devices, in the order ONNX Runtime reports them.
pub fn devices(env: &Environment) -> Vec<ort::device::Device<'_>> {
    env.devices()
        .filter(|d| d.ep().is_ok_and(|name| name == EP_NAME))
        .collect()
}

/// Session options of the provider: its runtime cache (compiled kernels) in `cache`.
pub fn session_options(cache: Option<&Path>) -> Vec<(String, String)> {
    cache
        .map(|dir| {
            vec![(
                format!("{EP_NAME}.nv_runtime_cache_path"),
                dir.display().to_string(),
            )]
        })
        .unwrap_or_default()
}

#[cfg(test)]
#[path = "trt_rtx_tests.rs"]
mod tests;
