//! One GPU ready for endoscan's kernels: context, stream, compiled functions, and the
//! buffers a batch needs, kept between batches (grown, never shrunk: no allocation per frame).

use std::sync::Arc;

use cudarc::driver::{
    CudaContext, CudaFunction, CudaSlice, CudaStream, DevicePtr, LaunchConfig, PinnedHostSlice,
    PushKernelArg,
};

use super::kernels::{CELL_STATS, PREPARE};
use super::layout::{FrameLayoutArg, PreparePlan};
use super::nvrtc::{compile_cached, default_cache_dir};
use super::probe::probe;
use super::CudaError;
use crate::preprocess::input_format::InputLayout;

/// What `prepare_*` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    /// Packed RGB u8, `N × S × S × 3` (the CPU reference's image).
    U8,
    /// Normalized f32 NCHW.
    F32,
    /// Normalized f16 NCHW.
    F16,
}

/// The values of an `F32` output's little-endian bytes.
pub fn f32_values(bytes: &[u8]) -> impl Iterator<Item = f32> + Clone + '_ {
    bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
}

impl Output {
    /// Bytes of one value.
    pub fn value_bytes(self) -> usize {
        match self {
            Output::U8 => 1,
            Output::F32 => 4,
            Output::F16 => 2,
        }
    }
}

/// The compiled entry points.
pub(super) struct Functions {
    pub prepare_u8: CudaFunction,
    pub prepare_f32: CudaFunction,
    pub prepare_f16: CudaFunction,
    pub cell_counts: CudaFunction,
    pub row_spans: CudaFunction,
}

/// A plan's arrays on the device.
pub(super) struct DevicePlan {
    pub plan: PreparePlan,
    pub spans: CudaSlice<i32>,
    pub x_first: CudaSlice<i32>,
    pub x_weights: CudaSlice<i32>,
    pub y_first: CudaSlice<i32>,
    pub y_weights: CudaSlice<i32>,
}

/// A GPU with endoscan's kernels loaded.
pub struct Device {
    pub(super) ctx: Arc<CudaContext>,
    pub(super) stream: Arc<CudaStream>,
    pub(super) functions: Functions,
    /// GPU name, for logs.
    pub name: String,
    /// Two pinned staging buffers: frame `i + 1` is copied into one while the other uploads.
    staging: [Option<PinnedHostSlice<u8>>; 2],
    /// One device buffer per frame slot of a batch.
    frames: Vec<CudaSlice<u8>>,
    /// Bytes of every staging buffer and frame slot.
    capacity: usize,
    pub(super) output: Option<CudaSlice<u8>>,
}

impl Device {
    /// GPU 0 with the kernels compiled for it (from the on-disk cache when there).
    pub fn open() -> Result<Self, CudaError> {
        let report = probe();
        if let Some(why) = report.unusable() {
            return Err(CudaError::Driver(why));
        }
        let gpu = &report.gpus[0];
        let arch = gpu
            .capability
            .ptx_target()
            .ok_or_else(|| CudaError::Unsupported {
                name: gpu.name.clone(),
                capability: gpu.capability.to_string(),
            })?;
        let ctx = CudaContext::new(0)?;
        let stream = ctx.new_stream()?;
        let cache = default_cache_dir();
        let load = |kernel| -> Result<_, CudaError> {
            let ptx = compile_cached(kernel, arch, &cache)?;
            Ok(ctx.load_module(cudarc::nvrtc::Ptx::from_src(ptx))?)
        };
        let prepare = load(&PREPARE)?;
        let stats = load(&CELL_STATS)?;
        let functions = Functions {
            prepare_u8: prepare.load_function("prepare_u8")?,
            prepare_f32: prepare.load_function("prepare_f32")?,
            prepare_f16: prepare.load_function("prepare_f16")?,
            cell_counts: stats.load_function("cell_counts")?,
            row_spans: stats.load_function("row_spans")?,
        };
        tracing::info!(gpu = %gpu.name, capability = %gpu.capability, "CUDA kernels loaded");
        Ok(Self {
            ctx,
            stream,
            functions,
            name: gpu.name.clone(),
            staging: [None, None],
            frames: Vec::new(),
            capacity: 0,
            output: None,
        })
    }

    /// The plan's arrays uploaded.
    pub(super) fn upload_plan(&self, plan: PreparePlan) -> Result<DevicePlan, CudaError> {
        let s = &self.stream;
        Ok(DevicePlan {
            spans: s.clone_htod(&plan.spans)?,
            x_first: s.clone_htod(&plan.x_first)?,
            x_weights: s.clone_htod(&plan.x_weights)?,
            y_first: s.clone_htod(&plan.y_first)?,
            y_weights: s.clone_htod(&plan.y_weights)?,
            plan,
        })
    }

    /// Copies host frames into the device frame slots through the pinned staging buffers,
    /// alternating: the host copy of frame `i + 1` overlaps the upload of frame `i` (the
    /// pinned buffer's event makes the copy into it wait for its upload two frames before).
    /// Slots and staging buffers all hold `capacity` bytes, the largest frame so far.
    pub(super) fn upload_frames(&mut self, frames: &[&[u8]]) -> Result<(), CudaError> {
        let largest = frames.iter().map(|f| f.len()).max().unwrap_or(0);
        if largest > self.capacity {
            self.capacity = largest;
            self.frames.clear();
            self.staging = [None, None];
        }
        while self.frames.len() < frames.len() {
            let slot = self.stream.alloc_zeros::<u8>(self.capacity.max(1))?;
            self.frames.push(slot);
        }
        for (i, frame) in frames.iter().enumerate() {
            let staging = &mut self.staging[i % 2];
            if staging.is_none() {
                // SAFETY: the bytes are host memory only ever read after being written.
                let buf = unsafe {
                    self.ctx
                        .alloc_pinned_with_flags::<u8>(self.capacity.max(1), 0)
                }?;
                *staging = Some(buf);
            }
            let buf = staging.as_mut().expect("allocated above");
            buf.as_mut_slice()?[..frame.len()].copy_from_slice(frame);
            self.stream.memcpy_htod(buf, &mut self.frames[i])?;
        }
        Ok(())
    }

    /// Device addresses of the first `n` frame slots.
    pub(super) fn frame_pointers(&self, n: usize) -> Vec<u64> {
        self.frames[..n]
            .iter()
            .map(|f| f.device_ptr(&self.stream).0)
            .collect()
    }

    /// Launches `prepare_*` over `n` frames at the device addresses `frames` (uploaded or
    /// decoded into device memory), writing into the output buffer (grown as needed).
    pub(super) fn launch_prepare(
        &mut self,
        frames: &[u64],
        layout: &InputLayout,
        plan: &DevicePlan,
        output: Output,
        scale_offset: (f32, f32),
    ) -> Result<(), CudaError> {
        let pointers = self.stream.clone_htod(frames)?;
        self.launch_prepare_on(&pointers, layout, plan, output, scale_offset)
    }

    /// [`Device::launch_prepare`] with the frame addresses already on the device (one per
    /// frame of the batch).
    pub(super) fn launch_prepare_on(
        &mut self,
        pointers: &CudaSlice<u64>,
        layout: &InputLayout,
        plan: &DevicePlan,
        output: Output,
        scale_offset: (f32, f32),
    ) -> Result<(), CudaError> {
        let layout = FrameLayoutArg::new(layout)?;
        let size = plan.plan.resize.size as usize;
        let bytes = pointers.len() * 3 * size * size * output.value_bytes();
        if self.output.as_ref().is_none_or(|o| o.len() < bytes) {
            self.output = Some(self.stream.alloc_zeros::<u8>(bytes)?);
        }
        let out = self.output.as_mut().expect("allocated above");
        let f = &self.functions;
        let func = match output {
            Output::U8 => &f.prepare_u8,
            Output::F32 => &f.prepare_f32,
            Output::F16 => &f.prepare_f16,
        };
        let (scale, offset) = scale_offset;
        let mut launch = self.stream.launch_builder(func);
        launch
            .arg(pointers)
            .arg(&layout)
            .arg(&plan.spans)
            .arg(&plan.x_first)
            .arg(&plan.x_weights)
            .arg(&plan.y_first)
            .arg(&plan.y_weights)
            .arg(&plan.plan.resize);
        if output != Output::U8 {
            launch.arg(&scale).arg(&offset);
        }
        launch.arg(out);
        let config = LaunchConfig {
            grid_dim: (
                (size as u32).div_ceil(32),
                (size as u32).div_ceil(8),
                pointers.len() as u32,
            ),
            block_dim: (32, 8, 1),
            shared_mem_bytes: 0,
        };
        // SAFETY: the arguments match prepare.cu's signature in order and type; every buffer
        // holds what the plan and the batch size index.
        unsafe { launch.launch(config) }?;
        Ok(())
    }
}
