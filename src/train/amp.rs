//! Mixed precision on CUDA: autocast (weights, gradients and updates stay f32; convolutions run
//! in bf16 or fp16) plus, for fp16, dynamic loss scaling as PyTorch's `GradScaler` (scale
//! 2¹⁶, halved and the step skipped on an overflow, doubled after 2000 clean steps).
//!
//! tch's `autocast` uses libtorch's CUDA autocast dtype, fp16 by default; bf16 is set through
//! `at::autocast::set_autocast_dtype`, looked up at run time (it has no C binding) so a
//! libtorch without it only loses bf16. On the CPU, training is always fp32.

use tch::{Device, Kind, Tensor};

use super::args::Precision;

/// Initial fp16 loss scale (PyTorch's `GradScaler` default).
pub const INITIAL_SCALE: f64 = 65536.0;
/// Clean steps before the loss scale doubles.
pub const GROWTH_INTERVAL: u64 = 2000;

/// How forward and backward passes run.
#[derive(Debug, Clone, PartialEq)]
pub struct Amp {
    precision: Precision,
    /// fp16 only: current loss scale and clean steps since the last change.
    pub scale: f64,
    pub clean_steps: u64,
}

impl Amp {
    /// The precision to use on `device` for `requested`: mixed precision needs CUDA (a warning
    /// says so on the CPU), bf16 needs a libtorch that can set the autocast dtype.
    pub fn new(requested: Precision, device: Device) -> Result<Self, String> {
        let precision = match (requested, device.is_cuda()) {
            (Precision::Fp32, _) => Precision::Fp32,
            (p, false) => {
                tracing::warn!("--precision {p}: mixed precision runs on CUDA only; training in fp32 on the CPU");
                Precision::Fp32
            }
            (p, true) => {
                let dtype = if p == Precision::Bf16 {
                    Kind::BFloat16
                } else {
                    Kind::Half
                };
                set_cuda_autocast_dtype(dtype).or_else(|e| {
                    if p == Precision::Fp16 {
                        Ok(()) // fp16 is libtorch's default autocast dtype anyway
                    } else {
                        Err(e)
                    }
                })?;
                p
            }
        };
        Ok(Self {
            precision,
            scale: INITIAL_SCALE,
            clean_steps: 0,
        })
    }

    /// The precision in effect.
    pub fn precision(&self) -> Precision {
        self.precision
    }

    /// Runs `f` under autocast when mixed precision is on.
    pub fn run<T>(&self, f: impl FnOnce() -> T) -> T {
        if self.precision == Precision::Fp32 {
            f()
        } else {
            tch::autocast(true, f)
        }
    }

    /// The loss to call `backward` on (scaled for fp16).
    pub fn scale_loss(&self, loss: &Tensor) -> Result<Tensor, tch::TchError> {
        match self.precision {
            Precision::Fp16 => loss.f_mul_scalar(self.scale),
            _ => Ok(loss.shallow_clone()),
        }
    }

    /// After `backward`: unscales fp16 gradients and says whether the step should be taken
    /// (all finite), updating the scale; always true otherwise.
    pub fn unscale<'a>(
        &mut self,
        params: impl Iterator<Item = &'a Tensor>,
    ) -> Result<bool, tch::TchError> {
        if self.precision != Precision::Fp16 {
            return Ok(true);
        }
        let _guard = tch::no_grad_guard();
        let inv = 1.0 / self.scale;
        let mut finite = true;
        for p in params {
            let mut g = p.grad();
            if !g.defined() {
                continue;
            }
            let _ = g.f_mul_scalar_(inv)?;
            if finite {
                let sum = g.f_sum(Kind::Float)?.f_double_value(&[])?;
                finite = sum.is_finite();
            }
        }
        if finite {
            self.clean_steps += 1;
            if self.clean_steps >= GROWTH_INTERVAL {
                self.scale *= 2.0;
                self.clean_steps = 0;
            }
        } else {
            self.scale /= 2.0;
            self.clean_steps = 0;
            tracing::debug!(scale = self.scale, "fp16 gradient overflow: step skipped");
        }
        Ok(finite)
    }
}

/// `at::autocast::set_autocast_dtype(at::kCUDA, dtype)`, found by name in the loaded libtorch.
#[cfg(target_os = "linux")]
fn set_cuda_autocast_dtype(dtype: Kind) -> Result<(), String> {
    use std::ffi::{c_char, c_void};
    extern "C" {
        fn dlsym(handle: *mut c_void, symbol: *const c_char) -> *mut c_void;
    }
    /// glibc's `RTLD_DEFAULT`: search the executable and every library it loaded.
    const RTLD_DEFAULT: *mut c_void = std::ptr::null_mut();
    /// c10::DeviceType::CUDA.
    const CUDA: i8 = 1;
    let scalar_type: i8 = match dtype {
        Kind::Half => 5,
        Kind::BFloat16 => 15,
        other => return Err(format!("autocast to {other:?} is not supported")),
    };
    const SYMBOL: &std::ffi::CStr =
        c"_ZN2at8autocast18set_autocast_dtypeEN3c1010DeviceTypeENS1_10ScalarTypeE";
    // SAFETY: dlsym only reads the NUL-terminated name.
    let f = unsafe { dlsym(RTLD_DEFAULT, SYMBOL.as_ptr()) };
    if f.is_null() {
        return Err("this libtorch cannot set the autocast dtype, so bf16 is unavailable (use --precision fp16)".into());
    }
    // SAFETY: the symbol is `void at::autocast::set_autocast_dtype(c10::DeviceType,
    // c10::ScalarType)`; both enums are `int8_t`-based and passed as integers by the Itanium
    // C++ ABI, like C `int8_t` arguments.
    let set: extern "C" fn(i8, i8) = unsafe { std::mem::transmute(f) };
    set(CUDA, scalar_type);
    Ok(())
}

#[cfg(not(target_os = "linux"))]
fn set_cuda_autocast_dtype(_dtype: Kind) -> Result<(), String> {
    Err("bf16 autocast is only wired up on Linux (use --precision fp16)".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cpu_trains_in_fp32() {
        for p in [Precision::Fp32, Precision::Bf16, Precision::Fp16] {
            assert_eq!(
                Amp::new(p, Device::Cpu).unwrap().precision(),
                Precision::Fp32
            );
        }
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn libtorch_exports_the_autocast_dtype_setter() {
        // A tensor op makes the test binary load libtorch; setting the CUDA autocast dtype is
        // a plain global, harmless without a GPU.
        let _ = tch::Tensor::zeros([1], (Kind::Float, Device::Cpu));
        set_cuda_autocast_dtype(Kind::BFloat16).unwrap();
        set_cuda_autocast_dtype(Kind::Half).unwrap();
    }
}
