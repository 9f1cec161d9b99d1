//! The process-wide ONNX Runtime: loaded once from `ORT_DYLIB_PATH` (`load-dynamic`).
//!
//! `ort` panics when its first API call cannot load the library, so every session is built
//! through [`environment`], which loads it explicitly and turns failure into an error.

use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};

use ort::environment::Environment;

use super::InferError;

/// Environment variable naming the ONNX Runtime shared library.
pub const DYLIB_ENV: &str = "ORT_DYLIB_PATH";

static ENVIRONMENT: OnceLock<Environment> = OnceLock::new();
static INIT: Mutex<()> = Mutex::new(());

/// The library `ort` is told to load: `$ORT_DYLIB_PATH`, else the platform name searched on
/// the loader path (`libonnxruntime.so`).
pub fn dylib_path() -> PathBuf {
    match std::env::var_os(DYLIB_ENV) {
        Some(path) if !path.is_empty() => PathBuf::from(path),
        _ => PathBuf::from(format!(
            "{}onnxruntime{}",
            std::env::consts::DLL_PREFIX,
            std::env::consts::DLL_SUFFIX
        )),
    }
}

/// The shared ONNX Runtime environment, loading the library on first use. A failed load is
/// retried on the next call.
pub fn environment() -> Result<&'static Environment, InferError> {
    if let Some(env) = ENVIRONMENT.get() {
        return Ok(env);
    }
    let _guard = INIT.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(env) = ENVIRONMENT.get() {
        return Ok(env);
    }
    let path = dylib_path();
    if path.components().count() > 1 && !path.exists() {
        return Err(InferError::Runtime {
            why: format!("{} does not exist", path.display()),
        });
    }
    let builder = ort::init_from(&path).map_err(|e| InferError::Runtime { why: e.to_string() })?;
    let env = builder
        .with_name("endoscan")
        .build()
        .map_err(|e| InferError::Runtime { why: e.to_string() })?;
    tracing::debug!(path = %path.display(), "loaded ONNX Runtime");
    Ok(ENVIRONMENT.get_or_init(|| env))
}
