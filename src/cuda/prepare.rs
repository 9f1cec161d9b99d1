//! The prepare stage on a GPU: [`CudaPreparer`] implements [`Prepare`] with
//! `kernels/prepare.cu`, byte for byte the CPU reference's output, and prepares whole batches
//! straight into normalized f32 / f16 NCHW for GPU inference.

use std::sync::Mutex;

use image::RgbImage;

use cudarc::driver::DevicePtr;

use super::device::{Device, DevicePlan, Output};
use super::layout::PreparePlan;
use super::CudaError;
use crate::capture::Frame;
use crate::model::Normalization;
use crate::overlay::raw::RawLayout;
use crate::preprocess::input_format::InputLayout;
use crate::preprocess::{ContentArea, Crop, Prepare, PreprocessError, MAX_INPUT_SIZE};

/// The GPU and the plan of the area it last prepared (reused while the area stays).
struct State {
    device: Device,
    plan: Option<(ContentArea, DevicePlan)>,
}

/// Prepares frames on GPU 0.
pub struct CudaPreparer {
    input_size: usize,
    normalization: Normalization,
    state: Mutex<State>,
    gpu_name: String,
}

/// A frame in host memory and its layout.
#[derive(Debug, Clone, Copy)]
pub struct HostFrame<'a> {
    pub layout: InputLayout,
    pub data: &'a [u8],
}

impl CudaPreparer {
    /// A preparer for `input_size`-square inputs on GPU 0; fails when there is no usable GPU.
    pub fn new(input_size: usize, normalization: Normalization) -> Result<Self, CudaError> {
        if !(1..=MAX_INPUT_SIZE).contains(&input_size) {
            return Err(CudaError::Driver(format!(
                "input size {input_size} out of range"
            )));
        }
        let device = Device::open()?;
        let gpu_name = device.name.clone();
        Ok(Self {
            input_size,
            normalization,
            state: Mutex::new(State { device, plan: None }),
            gpu_name,
        })
    }

    /// The GPU's name.
    pub fn gpu_name(&self) -> &str {
        &self.gpu_name
    }

    /// Prepares `frames` (one size and layout, image area `area`) in one launch and returns
    /// the output bytes: `N × S × S × 3` u8, or `N × 3 × S × S` f32 / f16 (little-endian).
    pub fn prepare_batch(
        &self,
        frames: &[HostFrame<'_>],
        area: &ContentArea,
        output: Output,
    ) -> Result<Vec<u8>, CudaError> {
        if frames.is_empty() {
            return Ok(Vec::new());
        }
        self.run_batch(frames, area, output, |device, bytes| {
            let out = device.output.as_ref().expect("written by the launch");
            let mut host = vec![0u8; bytes];
            device.stream.memcpy_dtoh(&out.slice(..bytes), &mut host)?;
            device.stream.synchronize()?;
            Ok(host)
        })
    }

    /// Prepares `frames` as [`CudaPreparer::prepare_batch`] does and hands the output, still
    /// on the GPU, to `use_output` (device-resident model input: no trip through host memory).
    /// The buffer is valid only during the call; the next batch overwrites it.
    pub fn prepare_on_device<R>(
        &self,
        frames: &[HostFrame<'_>],
        area: &ContentArea,
        output: Output,
        use_output: impl FnOnce(&DeviceBatch) -> R,
    ) -> Result<R, CudaError> {
        let (images, side) = (frames.len(), self.input_size);
        self.run_batch(frames, area, output, |device, bytes| {
            // Finished before anyone else's stream reads it.
            device.stream.synchronize()?;
            let out = device.output.as_ref().expect("written by the launch");
            let (ptr, _sync) = out.device_ptr(&device.stream);
            let batch = DeviceBatch {
                ptr,
                bytes,
                images,
                side,
                output,
                ordinal: 0, // the preparer runs on GPU 0
            };
            Ok(use_output(&batch))
        })
    }

    /// Uploads and prepares `frames` in one launch, then `finish(device, output bytes)`.
    fn run_batch<R>(
        &self,
        frames: &[HostFrame<'_>],
        area: &ContentArea,
        output: Output,
        finish: impl FnOnce(&mut Device, usize) -> Result<R, CudaError>,
    ) -> Result<R, CudaError> {
        let Some(first) = frames.first() else {
            return Err(CudaError::Driver("an empty batch".into()));
        };
        if let Some(other) = frames.iter().find(|f| f.layout != first.layout) {
            return Err(CudaError::Driver(format!(
                "a batch mixes frame layouts ({:?} and {:?})",
                first.layout, other.layout
            )));
        }
        frames.iter().try_for_each(check_length)?;
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let state = &mut *state;
        if state.plan.as_ref().is_none_or(|(a, _)| a != area) {
            let crop = Crop::centred_square(area.bounds());
            let plan = PreparePlan::new(area, crop, self.input_size)?;
            state.plan = Some((area.clone(), state.device.upload_plan(plan)?));
        }
        let (_, plan) = state.plan.as_ref().expect("set above");
        let device = &mut state.device;
        let data: Vec<&[u8]> = frames
            .iter()
            .map(|f| &f.data[..f.layout.frame_bytes()])
            .collect();
        device.upload_frames(&data)?;
        let pointers = device.frame_pointers(frames.len());
        let scale_offset = self.normalization.scale_offset();
        device.launch_prepare(&pointers, &first.layout, plan, output, scale_offset)?;
        let bytes = frames.len() * 3 * self.input_size * self.input_size * output.value_bytes();
        finish(device, bytes)
    }
}

/// A prepared batch in GPU memory: `images × 3 × side × side` normalized values (`output`
/// F32 or F16), NCHW, at device address `ptr` on GPU `ordinal`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeviceBatch {
    pub ptr: u64,
    pub bytes: usize,
    pub images: usize,
    pub side: usize,
    pub output: Output,
    pub ordinal: usize,
}

impl Prepare for CudaPreparer {
    fn input_size(&self) -> usize {
        self.input_size
    }

    fn prepare(&self, frame: &Frame, area: &ContentArea) -> Result<RgbImage, PreprocessError> {
        let (width, height) = (frame.width as usize, frame.height as usize);
        if area.frame_size() != (width, height) {
            let (found_w, found_h) = area.frame_size();
            return Err(PreprocessError::AreaMismatch {
                found_w,
                found_h,
                width,
                height,
            });
        }
        let layout = InputLayout {
            stride: frame.stride,
            ..InputLayout::packed(RawLayout::Rgb, width, height)
        };
        let host = HostFrame {
            layout,
            data: &frame.data,
        };
        let bytes = self
            .prepare_batch(&[host], area, Output::U8)
            .map_err(|e| PreprocessError::Gpu(e.to_string()))?;
        let s = self.input_size as u32;
        Ok(RgbImage::from_raw(s, s, bytes).expect("the kernel wrote S × S × 3 bytes"))
    }
}

impl CudaPreparer {
    /// The image area and brightness histogram of `frame`, computed on the GPU.
    pub fn locate(
        &self,
        frame: HostFrame<'_>,
        settings: &crate::preprocess::AreaSettings,
    ) -> Result<super::locate::GpuArea, CudaError> {
        check_length(&frame)?;
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let device = &mut state.device;
        device.upload_frames(&[&frame.data[..frame.layout.frame_bytes()]])?;
        device.locate_slot0(&frame.layout, settings)
    }
}

/// A frame shorter than its layout needs is an error naming both sizes.
fn check_length(f: &HostFrame<'_>) -> Result<(), CudaError> {
    if f.data.len() >= f.layout.frame_bytes() {
        return Ok(());
    }
    Err(CudaError::Driver(format!(
        "a {}x{} {:?} frame needs {} bytes, got {}",
        f.layout.width,
        f.layout.height,
        f.layout.format,
        f.layout.frame_bytes(),
        f.data.len()
    )))
}
