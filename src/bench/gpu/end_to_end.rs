//! The end-to-end row of `bench gpu`: one 1080p host frame → its probability (area detection,
//! crop/resize/normalize on the `--preprocess` side, scoring), timed together. With CUDA
//! preprocessing and a scorer that takes device input (libtorch CUDA) the prepared batch
//! stays on the GPU, checked against the host-input path on the same frame. It works on
//! host images, not on capture frames, so the GPU machine's check binary needs no GStreamer.

use anyhow::Context;
use image::RgbImage;
use ndarray::Array4;

use super::report::EndToEnd;
use super::timing::time_calls;
use crate::cuda::device::{f32_values, Output};
use crate::cuda::prepare::{CudaPreparer, HostFrame};
use crate::cuda::select::PreprocessChoice;
use crate::infer::Scorer;
use crate::overlay::raw::RawLayout;
use crate::preprocess::input_format::InputLayout;
use crate::preprocess::{ContentArea, Plane, Preprocessor, RgbView};

/// Where the frame is prepared.
enum FramePrep {
    Cpu,
    /// Straight to normalized f32 NCHW on the GPU.
    Cuda(Box<CudaPreparer>),
}

impl FramePrep {
    /// `choice`: `auto` takes the GPU when it can and says why not otherwise.
    fn new(choice: PreprocessChoice, reference: &Preprocessor) -> anyhow::Result<Self> {
        let gpu = || CudaPreparer::new(reference.input_size(), reference.normalization());
        Ok(match choice {
            PreprocessChoice::Cpu => Self::Cpu,
            PreprocessChoice::Cuda => Self::Cuda(Box::new(gpu().context("--preprocess cuda")?)),
            PreprocessChoice::Auto => gpu().map(|g| Self::Cuda(Box::new(g))).unwrap_or_else(|e| {
                eprintln!("bench gpu: end to end with preprocessing on the CPU: {e}");
                Self::Cpu
            }),
        })
    }

    fn name(&self) -> String {
        match self {
            Self::Cpu => "cpu".into(),
            Self::Cuda(gpu) => format!("cuda ({})", gpu.gpu_name()),
        }
    }

    /// The model input of `frame` in `area`, normalized into `out` (`3·S·S` values).
    fn prepare(
        &self,
        reference: &Preprocessor,
        frame: &RgbImage,
        area: &ContentArea,
        out: &mut [f32],
    ) -> anyhow::Result<()> {
        match self {
            Self::Cpu => {
                let prepared =
                    reference.prepare_in_area(RgbView::from_image(frame), area.clone())?;
                Ok(reference.normalize_into(&prepared.image, out)?)
            }
            Self::Cuda(gpu) => {
                let bytes = gpu.prepare_batch(&[host_frame(frame)], area, Output::F32)?;
                for (value, got) in out.iter_mut().zip(f32_values(&bytes)) {
                    *value = got;
                }
                Ok(())
            }
        }
    }
}

/// Times `frame` → probability through `scorer` for `runs` calls.
pub fn measure(
    scorer: &mut dyn Scorer,
    reference: &Preprocessor,
    choice: PreprocessChoice,
    frame: &RgbImage,
    runs: usize,
) -> anyhow::Result<EndToEnd> {
    let prep = FramePrep::new(choice, reference)?;
    if let FramePrep::Cuda(gpu) = &prep {
        if let Some(row) = device_resident(scorer, reference, gpu, frame, runs)? {
            return Ok(row);
        }
    }
    let side = reference.input_size();
    let mut input = Array4::<f32>::zeros((1, 3, side, side));
    let latency = time_calls(runs, || {
        let area = locate(reference, frame)?;
        let values = input.as_slice_mut().expect("a fresh array is contiguous");
        prep.prepare(reference, frame, &area, values)?;
        scorer.score_with_maps(input.view()).map(drop)
    })?;
    Ok(EndToEnd {
        preprocess: prep.name(),
        latency,
        device_vs_host_dp: None,
    })
}

/// A packed RGB image as the GPU preparer takes it.
fn host_frame(frame: &RgbImage) -> HostFrame<'_> {
    let (w, h) = (frame.width() as usize, frame.height() as usize);
    HostFrame {
        layout: InputLayout::packed(RawLayout::Rgb, w, h),
        data: frame.as_raw(),
    }
}

/// The frame's image area (as the tracker would find it).
fn locate(reference: &Preprocessor, frame: &RgbImage) -> anyhow::Result<ContentArea> {
    let plane = Plane::brightness(RgbView::from_image(frame));
    ContentArea::detect(&plane, reference.area_settings())
        .context("the benchmark frame shows no image area")
}

/// The end-to-end row with the prepared batch handed to the model on the GPU, when the scorer
/// takes device input (libtorch CUDA): its probability against the host-input path's on the
/// same frame, and its latency. `None` when the scorer takes host batches only.
fn device_resident(
    scorer: &mut dyn Scorer,
    reference: &Preprocessor,
    gpu: &CudaPreparer,
    frame: &RgbImage,
    runs: usize,
) -> anyhow::Result<Option<EndToEnd>> {
    let host = host_frame(frame);
    let area = locate(reference, frame)?;
    let Some(on_device) =
        gpu.prepare_on_device(&[host], &area, Output::F32, |b| scorer.score_device(b))??
    else {
        return Ok(None);
    };
    let side = reference.input_size();
    let bytes = gpu.prepare_batch(&[host], &area, Output::F32)?;
    let values: Vec<f32> = f32_values(&bytes).collect();
    let input = Array4::from_shape_vec((1, 3, side, side), values)?;
    let via_host = scorer.score(input.view())?;
    let latency = time_calls(runs, || {
        let area = locate(reference, frame)?;
        gpu.prepare_on_device(&[host], &area, Output::F32, |b| scorer.score_device(b))??
            .context("the scorer stopped taking device input")
            .map(drop)
    })?;
    Ok(Some(EndToEnd {
        preprocess: format!("cuda ({}), device-resident input", gpu.gpu_name()),
        latency,
        device_vs_host_dp: Some(super::max_abs_diff(&on_device.p, &via_host)),
    }))
}
