//! The end-to-end row of `bench gpu`: one 1080p host frame → its probability (area detection,
//! crop/resize/normalize on the `--preprocess` side, scoring), timed together. It works on
//! host images, not on capture frames, so the GPU machine's check binary needs no GStreamer.

use anyhow::Context;
use image::RgbImage;
use ndarray::Array4;

use super::report::EndToEnd;
use super::timing::time_calls;
use crate::cuda::device::Output;
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
                let (w, h) = (frame.width() as usize, frame.height() as usize);
                let host = HostFrame {
                    layout: InputLayout::packed(RawLayout::Rgb, w, h),
                    data: frame.as_raw(),
                };
                let bytes = gpu.prepare_batch(&[host], area, Output::F32)?;
                for (value, le) in out.iter_mut().zip(bytes.chunks_exact(4)) {
                    *value = f32::from_le_bytes([le[0], le[1], le[2], le[3]]);
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
    let side = reference.input_size();
    let mut input = Array4::<f32>::zeros((1, 3, side, side));
    let latency = time_calls(runs, || {
        let plane = Plane::brightness(RgbView::from_image(frame));
        let area = ContentArea::detect(&plane, reference.area_settings())
            .context("the benchmark frame shows no image area")?;
        let values = input.as_slice_mut().expect("a fresh array is contiguous");
        prep.prepare(reference, frame, &area, values)?;
        scorer.score_with_maps(input.view()).map(drop)
    })?;
    Ok(EndToEnd {
        preprocess: prep.name(),
        latency,
    })
}
