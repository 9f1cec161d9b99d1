//! Kernel times measured with CUDA events (median of many launches, frames already on the
//! device), the host-to-output time of a batch through the pinned staging buffers, and a
//! device-to-device copy in the same run: the bandwidth each prepare launch is held against.

use std::time::Instant;

use cudarc::driver::sys::CUevent_flags;
use cudarc::driver::CudaEvent;
use serde::Serialize;

use super::frames::{crop_bytes, random_frames, tower_area};
use crate::cuda::device::{Device, Output};
use crate::cuda::layout::PreparePlan;
use crate::cuda::CudaError;
use crate::model::Normalization;
use crate::overlay::raw::RawLayout;
use crate::preprocess::Crop;

/// One timed configuration.
#[derive(Debug, Clone, Serialize)]
pub struct Timing {
    pub format: String,
    pub width: usize,
    pub height: usize,
    pub input_size: usize,
    pub output: &'static str,
    pub batch: usize,
    /// Median kernel time of one launch (events), and per frame.
    pub kernel_ms: f64,
    pub kernel_ms_per_frame: f64,
    /// Crop bytes read at least once plus output bytes written, per launch.
    pub bytes_moved: usize,
    /// `bytes_moved / kernel time`, GB/s, and its fraction of the device-to-device copy's.
    pub gbps: f64,
    pub fraction_of_copy: f64,
    /// Host frames → output on the device: wall time per frame (pinned staging, upload, kernel).
    pub host_to_output_ms_per_frame: f64,
}

/// The device-to-device copy: bytes moved (read + written) per second.
#[derive(Debug, Clone, Serialize)]
pub struct CopyBandwidth {
    pub buffer_bytes: usize,
    pub median_ms: f64,
    pub gbps: f64,
}

fn timing_event(device: &Device) -> Result<CudaEvent, CudaError> {
    Ok(device
        .stream
        .record_event(Some(CUevent_flags::CU_EVENT_DEFAULT))?)
}

/// Median of `runs` event-timed calls of `job` on the device's stream.
fn median_event_ms(
    device: &mut Device,
    runs: usize,
    mut job: impl FnMut(&mut Device) -> Result<(), CudaError>,
) -> Result<f64, CudaError> {
    for _ in 0..3 {
        job(device)?;
    }
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs.max(1) {
        let start = timing_event(device)?;
        job(device)?;
        let end = timing_event(device)?;
        times.push(f64::from(start.elapsed_ms(&end)?));
    }
    times.sort_by(f64::total_cmp);
    Ok(times[times.len() / 2])
}

/// A `megabytes` device-to-device copy, median of `runs`.
pub fn copy_bandwidth(
    device: &mut Device,
    megabytes: usize,
    runs: usize,
) -> Result<CopyBandwidth, CudaError> {
    let bytes = megabytes << 20;
    let src = device.stream.alloc_zeros::<u8>(bytes)?;
    let mut dst = device.stream.alloc_zeros::<u8>(bytes)?;
    let median_ms = median_event_ms(device, runs, |d| {
        Ok(d.stream.memcpy_dtod(&src, &mut dst)?)
    })?;
    Ok(CopyBandwidth {
        buffer_bytes: bytes,
        median_ms,
        gbps: 2.0 * bytes as f64 / (median_ms * 1e-3) / 1e9,
    })
}

/// What to time.
#[derive(Debug, Clone, Copy)]
pub struct TimingCase {
    pub format: RawLayout,
    pub width: usize,
    pub height: usize,
    pub input_size: usize,
    pub output: Output,
    pub batch: usize,
}

fn output_name(output: Output) -> &'static str {
    match output {
        Output::U8 => "u8",
        Output::F32 => "f32",
        Output::F16 => "f16",
    }
}

/// Times `case`: kernel alone (events) and host frames → device output (wall clock).
pub fn time_prepare(
    device: &mut Device,
    case: TimingCase,
    runs: usize,
    copy: &CopyBandwidth,
) -> Result<Timing, CudaError> {
    let area = tower_area(case.width, case.height);
    let crop = Crop::centred_square(area.bounds());
    // At least 32 frames on the device, launches cycling through them, so that no launch
    // finds its frame in the L2 cache the previous one filled (60 MB on an H200).
    let sets = (32 / case.batch).max(1);
    let frames = random_frames(case.format, &area, case.batch * sets, 77);
    let layout = frames[0].layout;
    let plan = device.upload_plan(PreparePlan::new(&area, crop, case.input_size)?)?;
    let data: Vec<&[u8]> = frames.iter().map(|f| &f.data[..]).collect();
    device.upload_frames(&data)?;
    let all = device.frame_pointers(frames.len());
    let pointers = all
        .chunks(case.batch)
        .map(|set| device.stream.clone_htod(set))
        .collect::<Result<Vec<_>, _>>()?;
    let norm = Normalization::Bit.scale_offset();
    let mut launch = 0;
    let kernel_ms = median_event_ms(device, runs, |d| {
        launch += 1;
        d.launch_prepare_on(&pointers[launch % sets], &layout, &plan, case.output, norm)
    })?;
    let data = &data[..case.batch];
    let s = case.input_size;
    let bytes_moved =
        case.batch * (crop_bytes(case.format, crop.side) + 3 * s * s * case.output.value_bytes());
    let gbps = bytes_moved as f64 / (kernel_ms * 1e-3) / 1e9;
    // Host → output: the staging copy, the upload and the kernel, waited for each time.
    let rounds = (runs / 4).max(3);
    let start = Instant::now();
    for _ in 0..rounds {
        device.upload_frames(data)?;
        let host_pointers = device.frame_pointers(case.batch);
        device.launch_prepare(&host_pointers, &layout, &plan, case.output, norm)?;
        device.stream.synchronize()?;
    }
    let host_ms = start.elapsed().as_secs_f64() * 1e3 / (rounds * case.batch) as f64;
    Ok(Timing {
        format: format!("{:?}", case.format),
        width: case.width,
        height: case.height,
        input_size: s,
        output: output_name(case.output),
        batch: case.batch,
        kernel_ms,
        kernel_ms_per_frame: kernel_ms / case.batch as f64,
        bytes_moved,
        gbps,
        fraction_of_copy: gbps / copy.gbps,
        host_to_output_ms_per_frame: host_ms,
    })
}

/// The configurations timed: 1080p and a capsule frame, every format to f16 at batch 1 and 32,
/// and 1080p RGB to each output.
pub fn cases(input_size: usize) -> Vec<TimingCase> {
    let mut cases = Vec::new();
    for (width, height) in [(1920, 1080), (576, 576)] {
        for format in RawLayout::ALL {
            for batch in [1, 32] {
                cases.push(TimingCase {
                    format,
                    width,
                    height,
                    input_size,
                    output: Output::F16,
                    batch,
                });
            }
        }
    }
    for output in [Output::U8, Output::F32] {
        for batch in [1, 32] {
            cases.push(TimingCase {
                format: RawLayout::Rgb,
                width: 1920,
                height: 1080,
                input_size,
                output,
                batch,
            });
        }
    }
    cases
}
