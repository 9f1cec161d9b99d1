//! The recipe's training augmentation with imgaug semantics (recipe.md, "Augmentation"):
//! `SomeOf((0, 2), [Fliplr, Flipud, Rot90((1, 3)), Multiply((0.8, 1.5)), GaussianBlur((0, 5))])`.
//!
//! Input and output: one 8-bit RGB image (the preprocessed square, so `Rot90` keeps the size as
//! imgaug's `keep_size=True` does). Per image: n ∈ {0, 1, 2} uniformly, then n distinct
//! augmenters uniformly (imgaug shuffles an n-hot mask), applied in list order. Randomness comes
//! from the caller's [`Rng`], seeded per image, so a run is reproducible on any thread count.
//!
//! Exactness against imgaug 0.4 / OpenCV (`aleju/imgaug` `augmenters/meta.py` `SomeOf`,
//! `arithmetic.py` `_multiply_scalar_to_uint8_lut_`, `blur.py` `blur_gaussian_`):
//! flips, rotations and `Multiply` are bit-exact (`Multiply` uses imgaug's uint8 LUT path:
//! float32 `v·f`, clipped to [0, 255], truncated; imgaug switches to OpenCV's rounding multiply
//! for images under 224·224·3 values, which this does not copy). `GaussianBlur` uses OpenCV's
//! kernel (`getGaussianKernel`), imgaug's kernel size and reflect-101 borders in f32 with
//! round-half-up; OpenCV's 8-bit fixed-point path can differ by one grey level.

use image::RgbImage;

use super::rng::Rng;

/// imgaug's threshold under which a σ counts as zero (no blur).
pub const BLUR_EPS: f64 = 1e-3;

/// One augmentation with its sampled parameter.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Op {
    /// Mirror left–right.
    Fliplr,
    /// Mirror top–bottom.
    Flipud,
    /// Rotate clockwise by k·90°.
    Rot90(u8),
    /// Multiply every channel by one factor.
    Multiply(f32),
    /// Gaussian blur with this σ (pixels).
    GaussianBlur(f64),
}

/// The five augmenters of the recipe, in list order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Fliplr,
    Flipud,
    Rot90,
    Multiply,
    GaussianBlur,
}

impl Kind {
    /// List order of `SomeOf`.
    pub const ALL: [Kind; 5] = [
        Kind::Fliplr,
        Kind::Flipud,
        Kind::Rot90,
        Kind::Multiply,
        Kind::GaussianBlur,
    ];
}

/// Ranges of the recipe's `SomeOf`; every range is inclusive as imgaug's tuples.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AugmentSettings {
    /// Fewest and most augmenters per image.
    pub ops: (usize, usize),
    /// Quarter turns for `Rot90`.
    pub rot90_k: (u8, u8),
    /// Factor range of `Multiply`.
    pub multiply: (f32, f32),
    /// σ range of `GaussianBlur`.
    pub blur_sigma: (f64, f64),
}

impl Default for AugmentSettings {
    fn default() -> Self {
        Self {
            ops: (0, 2),
            rot90_k: (1, 3),
            multiply: (0.8, 1.5),
            blur_sigma: (0.0, 5.0),
        }
    }
}

/// Settings that describe no augmentation.
#[derive(Debug, thiserror::Error, PartialEq)]
#[error("augmentation setting {name}: {why}")]
pub struct AugmentError {
    name: &'static str,
    why: String,
}

/// Draws and applies the recipe's `SomeOf`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Augmenter {
    settings: AugmentSettings,
}

impl Augmenter {
    /// Checks the ranges.
    pub fn new(settings: AugmentSettings) -> Result<Self, AugmentError> {
        let bad = |name, why: &str| {
            Err(AugmentError {
                name,
                why: why.into(),
            })
        };
        let s = &settings;
        if s.ops.0 > s.ops.1 || s.ops.1 > Kind::ALL.len() {
            return bad("ops", "expected min ≤ max ≤ 5");
        }
        if s.rot90_k.0 > s.rot90_k.1 {
            return bad("rot90_k", "expected min ≤ max");
        }
        if !(s.multiply.0 >= 0.0 && s.multiply.0 <= s.multiply.1 && s.multiply.1.is_finite()) {
            return bad("multiply", "expected 0 ≤ min ≤ max, finite");
        }
        let (lo, hi) = s.blur_sigma;
        if !(lo >= 0.0 && lo <= hi && hi <= 100.0) {
            return bad("blur_sigma", "expected 0 ≤ min ≤ max ≤ 100");
        }
        Ok(Self { settings })
    }

    /// The ranges in use.
    pub fn settings(&self) -> &AugmentSettings {
        &self.settings
    }

    /// Draws the augmentations of one image, in the order they apply.
    pub fn plan(&self, rng: &mut Rng) -> Vec<Op> {
        let s = &self.settings;
        let (lo, hi) = s.ops;
        let n = lo + rng.below((hi - lo + 1) as u64) as usize;
        let mut active = [false; 5];
        active[..n].fill(true);
        rng.shuffle(&mut active);
        Kind::ALL
            .iter()
            .zip(active)
            .filter(|(_, on)| *on)
            .map(|(kind, _)| match kind {
                Kind::Fliplr => Op::Fliplr,
                Kind::Flipud => Op::Flipud,
                Kind::Rot90 => {
                    let span = (s.rot90_k.1 - s.rot90_k.0) as u64 + 1;
                    Op::Rot90(s.rot90_k.0 + rng.below(span) as u8)
                }
                Kind::Multiply => {
                    let (a, b) = s.multiply;
                    Op::Multiply(rng.uniform(a as f64, b as f64) as f32)
                }
                Kind::GaussianBlur => {
                    let (a, b) = s.blur_sigma;
                    Op::GaussianBlur(rng.uniform(a, b))
                }
            })
            .collect()
    }

    /// Draws and applies the augmentations of one image.
    pub fn augment(&self, image: RgbImage, rng: &mut Rng) -> RgbImage {
        self.plan(rng).iter().fold(image, |img, op| apply(op, img))
    }
}

/// Applies one augmentation.
pub fn apply(op: &Op, image: RgbImage) -> RgbImage {
    match *op {
        Op::Fliplr => image::imageops::flip_horizontal(&image),
        Op::Flipud => image::imageops::flip_vertical(&image),
        Op::Rot90(k) => rot90_cw(&image, k),
        Op::Multiply(f) => multiply(image, f),
        Op::GaussianBlur(sigma) => gaussian_blur(&image, sigma),
    }
}

/// Rotates clockwise by `k`·90° (k taken mod 4).
pub fn rot90_cw(image: &RgbImage, k: u8) -> RgbImage {
    match k % 4 {
        0 => image.clone(),
        1 => image::imageops::rotate90(image),
        2 => image::imageops::rotate180(image),
        _ => image::imageops::rotate270(image),
    }
}

/// imgaug's uint8 `Multiply`: `clip(v·f, 0, 255)` in float32, then truncated.
pub fn multiply(mut image: RgbImage, factor: f32) -> RgbImage {
    let lut: [u8; 256] = std::array::from_fn(|v| (v as f32 * factor).clamp(0.0, 255.0) as u8);
    for v in image.iter_mut() {
        *v = lut[*v as usize];
    }
    image
}

/// imgaug's kernel size for σ: `3.3σ` if σ < 3, `2.9σ` if σ < 5, else `2.6σ`; at least 5;
/// truncated to an integer, then made odd by adding 1.
pub fn blur_kernel_size(sigma: f64) -> usize {
    let k = if sigma < 3.0 {
        3.3 * sigma
    } else if sigma < 5.0 {
        2.9 * sigma
    } else {
        2.6 * sigma
    };
    let k = k.max(5.0) as usize;
    if k.is_multiple_of(2) {
        k + 1
    } else {
        k
    }
}

/// OpenCV's `getGaussianKernel(ksize, σ)`: `exp(−x²/2σ²)` at `x = i − (ksize−1)/2`, summing to 1.
pub fn gaussian_kernel(ksize: usize, sigma: f64) -> Vec<f64> {
    let centre = (ksize as f64 - 1.0) * 0.5;
    let scale = -0.5 / (sigma * sigma);
    let raw: Vec<f64> = (0..ksize)
        .map(|i| (scale * (i as f64 - centre).powi(2)).exp())
        .collect();
    let sum: f64 = raw.iter().sum();
    raw.into_iter().map(|w| w / sum).collect()
}

/// OpenCV's `borderInterpolate` for `BORDER_REFLECT_101` (`gfedcb|abcdefgh|gfedcba`).
pub fn reflect101(mut p: isize, len: usize) -> usize {
    let n = len as isize;
    if n == 1 {
        return 0;
    }
    while p < 0 || p >= n {
        p = if p < 0 { -p } else { 2 * (n - 1) - p };
    }
    p as usize
}

/// imgaug's `GaussianBlur` on one image: a no-op for σ ≤ 0.001, else a separable Gaussian of
/// [`blur_kernel_size`] taps with reflect-101 borders, per channel.
pub fn gaussian_blur(image: &RgbImage, sigma: f64) -> RgbImage {
    if sigma <= BLUR_EPS || !sigma.is_finite() {
        return image.clone();
    }
    let ksize = blur_kernel_size(sigma);
    let kernel: Vec<f32> = gaussian_kernel(ksize, sigma)
        .into_iter()
        .map(|w| w as f32)
        .collect();
    let (w, h) = (image.width() as usize, image.height() as usize);
    let r = (ksize / 2) as isize;
    let taps = |len: usize| -> Vec<usize> {
        (0..len as isize)
            .flat_map(|i| (-r..=r).map(move |d| reflect101(i + d, len)))
            .collect()
    };
    let (xs, ys) = (taps(w), taps(h));
    let src = image.as_raw();
    // Horizontal pass into f32.
    let mut tmp = vec![0f32; w * h * 3];
    for y in 0..h {
        let row = &src[y * w * 3..(y + 1) * w * 3];
        for x in 0..w {
            let idx = &xs[x * ksize..(x + 1) * ksize];
            for c in 0..3 {
                let acc: f32 = idx
                    .iter()
                    .zip(&kernel)
                    .map(|(&xi, &k)| row[xi * 3 + c] as f32 * k)
                    .sum();
                tmp[(y * w + x) * 3 + c] = acc;
            }
        }
    }
    // Vertical pass, rounded to u8.
    let mut out = vec![0u8; w * h * 3];
    for y in 0..h {
        let idx = &ys[y * ksize..(y + 1) * ksize];
        for x in 0..w * 3 {
            let acc: f32 = idx
                .iter()
                .zip(&kernel)
                .map(|(&yi, &k)| tmp[yi * w * 3 + x] * k)
                .sum();
            out[y * w * 3 + x] = (acc + 0.5).clamp(0.0, 255.0) as u8;
        }
    }
    RgbImage::from_raw(w as u32, h as u32, out).expect("buffer sized w·h·3")
}

#[cfg(test)]
#[path = "augment_tests.rs"]
mod tests;
