//! A session on the TensorRT-RTX plugin ([`super::trt_rtx`]): after the GPU and its generation
//! are checked, the plugin is registered once and the session takes its GPU device `--device`,
//! with its runtime cache in the engine cache.

use std::path::Path;

use ort::environment::Environment;
use ort::session::builder::SessionBuilder;

use super::{engine_cache, trt_rtx, ClassifierOptions, InferError};

/// `builder` running on TensorRT-RTX's GPU `options.device_id`, or why it cannot.
pub fn attach(
    builder: SessionBuilder,
    env: &Environment,
    path: &Path,
    options: &ClassifierOptions,
) -> Result<SessionBuilder, InferError> {
    let unavailable = |why: String| InferError::Unavailable {
        path: path.to_path_buf(),
        provider: options.provider,
        why,
    };
    let report = crate::cuda::probe::probe();
    if let Err(e) = &report.driver {
        return Err(unavailable(e.to_string()));
    }
    let ordinal = usize::try_from(options.device_id)
        .map_err(|_| unavailable(format!("bad GPU index {}", options.device_id)))?;
    let gpu = report
        .gpus
        .get(ordinal)
        .ok_or_else(|| unavailable(format!("no GPU {ordinal} ({} found)", report.gpus.len())))?;
    if let Some(why) = trt_rtx::unsupported_reason(gpu.capability) {
        return Err(unavailable(format!("GPU {ordinal}, {}: {why}", gpu.name)));
    }
    let plugin = trt_rtx::register(env).map_err(unavailable)?;
    let device = trt_rtx::devices(env)
        .into_iter()
        .nth(ordinal)
        .ok_or_else(|| unavailable(format!("the TensorRT-RTX plugin reports no GPU {ordinal}")))?;
    let runtime = format!("rtx{}", trt_rtx::version(&plugin).unwrap_or_default());
    let cache =
        engine_cache::for_runtime(path, options.device_id, options.engine_precision, runtime);
    let session_options = trt_rtx::session_options(cache.as_deref());
    builder
        .with_devices([device], Some(&session_options))
        .map_err(|e| InferError::Provider {
            path: path.to_path_buf(),
            provider: options.provider,
            source: e.into(),
        })
}
