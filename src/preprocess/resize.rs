//! Resizing: an antialiased bilinear (triangle) filter in 14-bit fixed point.
//!
//! **Filter.** Output sample `i` of an axis resized from `n` to `m` samples sits at input
//! coordinate `c = (i + ½)·s`, `s = n / m`. Its taps are the input samples `j` with
//! `⌊c − r + ½⌋ ≤ j < ⌊c + r + ½⌋` (clipped to `0..n`), `r = max(s, 1)`, weighted
//! `max(0, 1 − |j + ½ − c| / r)` and normalized to sum 1. This is PIL's `BILINEAR` and
//! `torch.nn.functional.interpolate(mode="bilinear", antialias=True)`:
//! - on a downscale the triangle widens to the scale factor, so every input pixel contributes
//!   and fine texture (and JPEG/sensor noise) does not alias, as plain bilinear would at the
//!   2–3× reductions of 1080p towers to 384²;
//! - on an upscale (small capsule frames) it is plain bilinear, without area-averaging's blocks;
//! - at scale 1 it is the identity;
//! - it is what torchvision / PIL training pipelines use, so pretrained models saw it.
//!
//! **Exact arithmetic**, so a GPU kernel given the same [`ResizeTable`]s reproduces every byte:
//! weights are quantized to integers summing to `2^14` (each `round(w · 2^14)` in f64, the
//! rounding remainder added to the first largest weight, zero taps trimmed). The horizontal pass
//! runs first and keeps 7 fraction bits: `t = (Σ wₖ·pₖ + 2^6) >> 7` (≤ 32640, a `u16`). The
//! vertical pass gives `out = (Σ wₖ·tₖ + 2^20) >> 21` (`u32` throughout, no overflow).
//! Pixels outside the [`ContentArea`] read as 0.

use image::RgbImage;

use super::area::ContentArea;
use super::crop::Rect;
use super::frame::RgbView;

/// Fixed-point weight bits: weights of one output sample sum to `1 << WEIGHT_BITS`.
pub const WEIGHT_BITS: u32 = 14;
/// Fraction bits kept between the horizontal and the vertical pass.
pub const MID_BITS: u32 = 7;

const WEIGHT_ONE: u32 = 1 << WEIGHT_BITS;
const H_SHIFT: u32 = WEIGHT_BITS - MID_BITS;
const V_SHIFT: u32 = WEIGHT_BITS + MID_BITS;

/// Quantized filter taps of one axis: for each output sample, the first input sample and the
/// weights of consecutive samples from there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResizeTable {
    input: usize,
    first: Vec<usize>,
    /// `weights[i]` holds output `i`'s weights.
    weights: Vec<Vec<u32>>,
}

impl ResizeTable {
    /// The antialiased triangle filter from `input` to `output` samples (both ≥ 1).
    pub fn triangle(input: usize, output: usize) -> Self {
        assert!(input > 0 && output > 0, "resize axes must be non-empty");
        let scale = input as f64 / output as f64;
        let support = scale.max(1.0);
        let (first, weights) = (0..output)
            .map(|i| {
                let centre = (i as f64 + 0.5) * scale;
                let lo = ((centre - support + 0.5).floor().max(0.0)) as usize;
                let hi = ((centre + support + 0.5).floor() as usize).min(input);
                let raw: Vec<f64> = (lo..hi)
                    .map(|j| (1.0 - ((j as f64 + 0.5 - centre) / support).abs()).max(0.0))
                    .collect();
                quantize(lo, &raw)
            })
            .unzip();
        Self {
            input,
            first,
            weights,
        }
    }

    /// Number of input samples.
    pub fn input_len(&self) -> usize {
        self.input
    }

    /// Number of output samples.
    pub fn output_len(&self) -> usize {
        self.first.len()
    }

    /// Output `i`'s first input sample and its weights.
    pub fn taps(&self, i: usize) -> (usize, &[u32]) {
        (self.first[i], &self.weights[i])
    }
}

/// Normalizes `raw` weights starting at input `lo` and quantizes them to sum to `2^14`.
fn quantize(lo: usize, raw: &[f64]) -> (usize, Vec<u32>) {
    let sum: f64 = raw.iter().sum();
    if sum <= 0.0 {
        // Unreachable for non-empty axes (the nearest sample weighs ≥ ½); keep a valid tap.
        return (lo, vec![WEIGHT_ONE]);
    }
    let mut q: Vec<u32> = raw
        .iter()
        .map(|w| (w / sum * f64::from(WEIGHT_ONE)).round() as u32)
        .collect();
    let total: u32 = q.iter().sum();
    let biggest = (0..q.len()).fold(0, |b, k| if q[k] > q[b] { k } else { b });
    q[biggest] = (i64::from(q[biggest]) + i64::from(WEIGHT_ONE) - i64::from(total)) as u32;
    let start = q.iter().position(|&w| w != 0).unwrap_or(biggest);
    let end = q.iter().rposition(|&w| w != 0).unwrap_or(biggest) + 1;
    (lo + start, q[start..end].to_vec())
}

/// Resizes rectangle `src` of `frame` to `out_width × out_height` with the triangle filter;
/// pixels outside `area` count as black. `src` must lie inside the frame and be non-empty.
///
/// Runs the SIMD path of [`super::resample`] where the CPU has it (every x86-64 one), else
/// [`resize_reference`]; both give the same bytes.
pub fn resize_masked(
    frame: RgbView<'_>,
    area: &ContentArea,
    src: Rect,
    out_width: usize,
    out_height: usize,
) -> RgbImage {
    #[cfg(target_arch = "x86_64")]
    if super::resample::available() {
        return super::resample::resize_masked(frame, area, src, out_width, out_height);
    }
    resize_reference(frame, area, src, out_width, out_height)
}

/// The filter exactly as documented above, one tap at a time: the portable path and the
/// reference the SIMD path is tested against.
pub fn resize_reference(
    frame: RgbView<'_>,
    area: &ContentArea,
    src: Rect,
    out_width: usize,
    out_height: usize,
) -> RgbImage {
    let hx = ResizeTable::triangle(src.width, out_width);
    let hy = ResizeTable::triangle(src.height, out_height);
    // Horizontal pass over every source row, 7 fraction bits kept.
    let mut mid = vec![0u16; src.height * out_width * 3];
    for (r, out_row) in mid.chunks_exact_mut(out_width * 3).enumerate() {
        let y = src.y + r;
        let span = area.span(y);
        let row = frame.row(y);
        for (i, out_px) in out_row.chunks_exact_mut(3).enumerate() {
            let (first, weights) = hx.taps(i);
            let mut acc = [0u32; 3];
            for (k, &w) in weights.iter().enumerate() {
                let x = src.x + first + k;
                if span.contains(x) {
                    for (a, &v) in acc.iter_mut().zip(&row[3 * x..3 * x + 3]) {
                        *a += w * u32::from(v);
                    }
                }
            }
            for (o, a) in out_px.iter_mut().zip(acc) {
                *o = ((a + (1 << (H_SHIFT - 1))) >> H_SHIFT) as u16;
            }
        }
    }
    // Vertical pass.
    let mut out = RgbImage::new(out_width as u32, out_height as u32);
    let mut acc = vec![0u32; out_width * 3];
    for (j, out_row) in out.chunks_exact_mut(out_width * 3).enumerate() {
        acc.fill(1 << (V_SHIFT - 1));
        let (first, weights) = hy.taps(j);
        for (k, &w) in weights.iter().enumerate() {
            let row = &mid[(first + k) * out_width * 3..][..out_width * 3];
            for (a, &t) in acc.iter_mut().zip(row) {
                *a += w * u32::from(t);
            }
        }
        for (o, &a) in out_row.iter_mut().zip(&acc) {
            *o = (a >> V_SHIFT).min(255) as u8;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::frame::Plane;
    use super::*;

    fn sums_to_one(table: &ResizeTable) {
        for i in 0..table.output_len() {
            let (first, w) = table.taps(i);
            assert_eq!(w.iter().sum::<u32>(), WEIGHT_ONE, "output {i}");
            assert!(first + w.len() <= table.input_len());
        }
    }

    #[test]
    fn tables_are_normalized_for_any_ratio() {
        for (n, m) in [
            (1, 1),
            (1, 384),
            (1000, 384),
            (384, 384),
            (256, 384),
            (1081, 3),
            (7, 5),
        ] {
            sums_to_one(&ResizeTable::triangle(n, m));
        }
    }

    #[test]
    fn same_size_is_the_identity() {
        let table = ResizeTable::triangle(5, 5);
        for i in 0..5 {
            assert_eq!(table.taps(i), (i, &[WEIGHT_ONE][..]));
        }
        let img = RgbImage::from_fn(9, 9, |x, y| image::Rgb([x as u8 * 20, y as u8 * 25, 7]));
        let out = resize_masked(
            RgbView::from_image(&img),
            &ContentArea::full(9, 9),
            Rect {
                x: 0,
                y: 0,
                width: 9,
                height: 9,
            },
            9,
            9,
        );
        assert_eq!(out, img);
    }

    #[test]
    fn halving_weights_pixels_by_the_widened_triangle() {
        // 4 → 2: support 2, centres 1 and 3; raw weights [¾, ¾, ¼] / 1.75, the rounding
        // remainder (−1) taken from the first largest weight.
        let table = ResizeTable::triangle(4, 2);
        assert_eq!(table.taps(0), (0, &[7021, 7022, 2341][..]));
        assert_eq!(table.taps(1), (1, &[2341, 7021, 7022][..]));
    }

    #[test]
    fn flat_images_stay_flat() {
        let img = RgbImage::from_pixel(30, 20, image::Rgb([255, 128, 1]));
        let rect = Rect {
            x: 5,
            y: 0,
            width: 20,
            height: 20,
        };
        let out = resize_masked(
            RgbView::from_image(&img),
            &ContentArea::full(30, 20),
            rect,
            7,
            7,
        );
        assert!(out.pixels().all(|p| p.0 == [255, 128, 1]));
    }

    #[test]
    fn pixels_outside_the_area_read_black() {
        // Left half bright, right half dim grey at the black level: the area is the left half.
        let img = RgbImage::from_fn(16, 16, |x, _| {
            image::Rgb(if x < 8 { [200; 3] } else { [20; 3] })
        });
        let view = RgbView::from_image(&img);
        let area = ContentArea::detect(&Plane::brightness(view), &Default::default()).unwrap();
        assert_eq!(
            area.bounds(),
            Rect {
                x: 0,
                y: 0,
                width: 8,
                height: 16
            }
        );
        let all = Rect {
            x: 0,
            y: 0,
            width: 16,
            height: 16,
        };
        let out = resize_masked(view, &area, all, 16, 16);
        assert!(out
            .enumerate_pixels()
            .all(|(x, _, p)| p.0 == if x < 8 { [200; 3] } else { [0; 3] }));
    }
}
