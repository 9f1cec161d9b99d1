//! What this machine offers: CUDA driver, GPUs, NVRTC. Never panics: each library is looked
//! for before its first call (cudarc panics on a call into a library it cannot load).

use cudarc::driver::{result, sys};

use super::arch::ComputeCapability;
use super::nvrtc::nvrtc_version;
use super::CudaError;

/// One GPU as the driver reports it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Gpu {
    pub ordinal: usize,
    pub name: String,
    #[serde(serialize_with = "as_text")]
    pub capability: ComputeCapability,
    pub memory_bytes: usize,
    pub multiprocessors: i32,
}

fn as_text<S: serde::Serializer>(c: &ComputeCapability, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&c.to_string())
}

/// The machine's CUDA, as far as endoscan can use it.
#[derive(Debug)]
pub struct CudaReport {
    /// The driver's CUDA version (e.g. 13000 for 13.0), or why there is none.
    pub driver: Result<i32, CudaError>,
    pub gpus: Vec<Gpu>,
    /// NVRTC's version, or why it cannot be loaded.
    pub nvrtc: Result<(i32, i32), CudaError>,
}

/// Whether `libcuda` can be loaded.
pub fn driver_present() -> bool {
    // SAFETY: only tries to dlopen the library by its candidate names.
    unsafe { sys::is_culib_present() }
}

/// The driver's CUDA version after initializing it.
pub fn driver_version() -> Result<i32, CudaError> {
    if !driver_present() {
        return Err(CudaError::NoDriver);
    }
    result::init()?;
    let mut version = 0;
    // SAFETY: the library is loaded and initialized; the call writes one int.
    unsafe { sys::cuDriverGetVersion(&mut version) }.result()?;
    Ok(version)
}

/// The GPUs the driver sees (empty without a driver).
pub fn gpus() -> Result<Vec<Gpu>, CudaError> {
    driver_version()?;
    let count = result::device::get_count()?;
    (0..count).map(|i| gpu(i as usize)).collect()
}

fn gpu(ordinal: usize) -> Result<Gpu, CudaError> {
    use sys::CUdevice_attribute::*;
    let dev = result::device::get(ordinal as i32)?;
    // SAFETY: `dev` is a valid device of an initialized driver.
    let attr = |a| unsafe { result::device::get_attribute(dev, a) };
    let major = attr(CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR)?;
    let minor = attr(CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR)?;
    Ok(Gpu {
        ordinal,
        name: result::device::get_name(dev)?,
        capability: ComputeCapability::new(major as u32, minor as u32),
        // SAFETY: as above.
        memory_bytes: unsafe { result::device::total_mem(dev) }?,
        multiprocessors: attr(CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT)?,
    })
}

/// Driver, GPUs and NVRTC in one report.
pub fn probe() -> CudaReport {
    let driver = driver_version();
    let gpus = match &driver {
        Ok(_) => gpus().unwrap_or_else(|e| {
            tracing::warn!("cannot list GPUs: {e}");
            Vec::new()
        }),
        Err(_) => Vec::new(),
    };
    CudaReport {
        driver,
        gpus,
        nvrtc: nvrtc_version(),
    }
}

impl CudaReport {
    /// Why endoscan's kernels cannot run here, or `None` when they can (on GPU 0).
    pub fn unusable(&self) -> Option<String> {
        match (&self.driver, self.gpus.first(), &self.nvrtc) {
            (Err(e), _, _) => Some(e.to_string()),
            (Ok(_), None, _) => Some(CudaError::NoDevice.to_string()),
            (_, _, Err(e)) => Some(e.to_string()),
            (Ok(_), Some(gpu), Ok(_)) if gpu.capability.ptx_target().is_none() => Some(
                CudaError::Unsupported {
                    name: gpu.name.clone(),
                    capability: gpu.capability.to_string(),
                }
                .to_string(),
            ),
            _ => None,
        }
    }
}

/// `13000` as `13.0`.
pub fn version_text(v: i32) -> String {
    format!("{}.{}", v / 1000, (v % 1000) / 10)
}
