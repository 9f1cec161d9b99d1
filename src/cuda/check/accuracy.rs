//! GPU against CPU on the same frames: every input format and size, u8 / f32 / f16 outputs of
//! `prepare_*`, and the content area and histogram of `cell_stats.cu`.

use serde::Serialize;

use super::frames::{random_frames, tower_area, CheckFrame};
use crate::cuda::device::Output;
use crate::cuda::prepare::{CudaPreparer, HostFrame};
use crate::cuda::CudaError;
use crate::model::tensor::f16_to_f32;
use crate::model::Normalization;
use crate::overlay::raw::RawLayout;
use crate::preprocess::{normalize_into, AreaSettings, ContentArea, Plane, Preprocessor, RgbView};

/// Frames per launch in the accuracy runs (so the batch index of the grid is exercised).
const BATCH: usize = 3;

/// One comparison: how far the GPU's values are from the CPU reference's.
#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    pub format: String,
    pub width: usize,
    pub height: usize,
    pub output: &'static str,
    pub values: usize,
    /// Largest |GPU − CPU| (u8 levels for u8, model-input units for f32 / f16).
    pub max_diff: f64,
    /// Values not equal to the reference (f16: not the nearest half to the CPU's f32).
    pub mismatches: usize,
    pub pass: bool,
}

/// Area detection on the GPU against the CPU on one frame.
#[derive(Debug, Clone, Serialize)]
pub struct LocateComparison {
    pub format: String,
    pub width: usize,
    pub height: usize,
    pub same_area: bool,
    pub same_histogram: bool,
}

/// What the CPU reference makes of `frames`: the u8 images and their f32 normalization.
fn reference(
    cpu: &Preprocessor,
    frames: &[CheckFrame],
    area: &ContentArea,
) -> Result<(Vec<u8>, Vec<f32>), CudaError> {
    let s = cpu.input_size();
    let (mut bytes, mut values) = (Vec::new(), vec![0f32; frames.len() * 3 * s * s]);
    for (frame, out) in frames.iter().zip(values.chunks_exact_mut(3 * s * s)) {
        let cpu_err = |e: crate::preprocess::PreprocessError| {
            CudaError::Driver(format!("CPU reference: {e}"))
        };
        let rgb = frame.layout.to_rgb(&frame.data).map_err(cpu_err)?;
        let image = cpu
            .prepare_in_area(RgbView::from_image(&rgb), area.clone())
            .map_err(cpu_err)?
            .image;
        normalize_into(&image, cpu.normalization(), out).map_err(cpu_err)?;
        bytes.extend_from_slice(image.as_raw());
    }
    Ok((bytes, values))
}

/// Whether half `bits` is the nearest half to `x` (ties to even).
fn nearest_half(bits: u16, x: f32) -> bool {
    let d = |b: u16| (f64::from(f16_to_f32(b)) - f64::from(x)).abs();
    let mine = d(bits);
    // Neighbours in magnitude (same sign); at zero, the other sign's smallest subnormal.
    let (up, down) = (bits.wrapping_add(1), bits.wrapping_sub(1));
    let beats = |other: u16| {
        let theirs = d(other);
        theirs < mine || (theirs == mine && other & 1 == 0 && bits & 1 == 1)
    };
    !(beats(up) || (bits & 0x7fff != 0 && beats(down)))
}

fn compare(output: Output, gpu: &[u8], bytes: &[u8], values: &[f32]) -> (usize, f64, usize) {
    match output {
        Output::U8 => {
            let diffs = gpu.iter().zip(bytes).map(|(a, b)| a.abs_diff(*b));
            let max = diffs.clone().max().unwrap_or(0);
            (
                bytes.len(),
                f64::from(max),
                diffs.filter(|&d| d != 0).count(),
            )
        }
        Output::F32 => {
            let got = crate::cuda::device::f32_values(gpu);
            let pairs = got.zip(values);
            let max = pairs
                .clone()
                .map(|(a, b)| f64::from((a - b).abs()))
                .fold(0.0, f64::max);
            (
                values.len(),
                max,
                pairs.filter(|(a, b)| a.to_bits() != b.to_bits()).count(),
            )
        }
        Output::F16 => {
            let got = gpu
                .chunks_exact(2)
                .map(|c| u16::from_le_bytes([c[0], c[1]]));
            let pairs = got.zip(values);
            let max = pairs
                .clone()
                .map(|(h, b)| f64::from((f16_to_f32(h) - b).abs()))
                .fold(0.0, f64::max);
            (
                values.len(),
                max,
                pairs.filter(|(h, b)| !nearest_half(*h, **b)).count(),
            )
        }
    }
}

/// Every format, size and output; `sizes` and `input_size` as the check was asked.
pub fn check_prepare(
    gpu: &CudaPreparer,
    input_size: usize,
    sizes: &[(usize, usize)],
) -> Result<Vec<Comparison>, CudaError> {
    let cpu = Preprocessor::new(input_size, Normalization::Bit)
        .map_err(|e| CudaError::Driver(e.to_string()))?;
    let mut out = Vec::new();
    for &(width, height) in sizes {
        let area = tower_area(width, height);
        for (k, format) in RawLayout::ALL.into_iter().enumerate() {
            let frames = random_frames(format, &area, BATCH, (width * 31 + height + k) as u64);
            let (bytes, values) = reference(&cpu, &frames, &area)?;
            let host: Vec<HostFrame<'_>> = frames
                .iter()
                .map(|f| HostFrame {
                    layout: f.layout,
                    data: &f.data,
                })
                .collect();
            for (output, name) in [
                (Output::U8, "u8"),
                (Output::F32, "f32"),
                (Output::F16, "f16"),
            ] {
                let result = gpu.prepare_batch(&host, &area, output)?;
                let (n, max_diff, mismatches) = compare(output, &result, &bytes, &values);
                // Within one u8 level before normalization, as the issue allows; 1/127.5 after.
                let bound = if output == Output::U8 {
                    1.0
                } else {
                    1.0 / 127.5 + 1e-3
                };
                out.push(Comparison {
                    format: format!("{format:?}"),
                    width,
                    height,
                    output: name,
                    values: n,
                    max_diff,
                    mismatches,
                    pass: max_diff <= bound,
                });
            }
        }
    }
    Ok(out)
}

/// GPU area detection against [`ContentArea::detect`] on the same frames.
pub fn check_locate(
    gpu: &CudaPreparer,
    sizes: &[(usize, usize)],
) -> Result<Vec<LocateComparison>, CudaError> {
    let settings = AreaSettings::default();
    let mut out = Vec::new();
    for &(width, height) in sizes {
        let area = tower_area(width, height);
        for format in RawLayout::ALL {
            let frame = &random_frames(format, &area, 1, (width + height) as u64)[0];
            let rgb = frame
                .layout
                .to_rgb(&frame.data)
                .map_err(|e| CudaError::Driver(e.to_string()))?;
            let plane = Plane::brightness(RgbView::from_image(&rgb));
            let mut histogram = [0u64; 256];
            (0..height).for_each(|y| {
                plane
                    .row(y)
                    .iter()
                    .for_each(|&v| histogram[v as usize] += 1)
            });
            let found = gpu.locate(
                HostFrame {
                    layout: frame.layout,
                    data: &frame.data,
                },
                &settings,
            )?;
            out.push(LocateComparison {
                format: format!("{format:?}"),
                width,
                height,
                same_area: found.area == ContentArea::detect(&plane, &settings),
                same_histogram: found.histogram == histogram,
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_nearest_half_is_recognized() {
        // 1.0 is 0x3c00; the next half up is 1 + 2^-10.
        assert!(nearest_half(0x3c00, 1.0));
        assert!(nearest_half(0x3c00, 1.0 + 2f32.powi(-12)));
        assert!(!nearest_half(0x3c00, 1.0 + 2f32.powi(-10)));
        assert!(nearest_half(0x3c01, 1.0 + 2f32.powi(-10)));
        // A tie goes to the even neighbour.
        assert!(nearest_half(0x3c00, 1.0 + 2f32.powi(-11)));
        assert!(!nearest_half(0x3c01, 1.0 + 2f32.powi(-11)));
        // -1.0 is 0xbc00; zero either way.
        assert!(nearest_half(0xbc00, -1.0));
        assert!(nearest_half(0x0000, 1e-9));
        assert!(!nearest_half(0x3c00, -1.0));
    }

    #[test]
    fn comparisons_count_what_differs() {
        let (n, max, bad) = compare(Output::U8, &[1, 5, 9], &[1, 4, 9], &[]);
        assert_eq!((n, max, bad), (3, 1.0, 1));
        let values = [0.5f32, -1.0];
        let gpu: Vec<u8> = [0.5f32, -0.75]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        let (n, max, bad) = compare(Output::F32, &gpu, &[], &values);
        assert_eq!((n, max, bad), (2, 0.25, 1));
        let gpu: Vec<u8> = [0x3800u16, 0xbc00]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        assert_eq!(compare(Output::F16, &gpu, &[], &values), (2, 0.0, 0));
    }
}
