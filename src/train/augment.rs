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
mod tests {
    use super::*;

    /// A 3×2 image whose pixel (x, y) is [10x+y, 100+10x+y, 200+x+y].
    fn known() -> RgbImage {
        RgbImage::from_fn(3, 2, |x, y| {
            image::Rgb([
                (10 * x + y) as u8,
                (100 + 10 * x + y) as u8,
                (200 + x + y) as u8,
            ])
        })
    }

    fn px(img: &RgbImage, x: u32, y: u32) -> [u8; 3] {
        img.get_pixel(x, y).0
    }

    #[test]
    fn flips_mirror_the_right_axis() {
        let img = known();
        let lr = apply(&Op::Fliplr, img.clone());
        assert_eq!(px(&lr, 0, 0), px(&img, 2, 0));
        assert_eq!(px(&lr, 2, 1), px(&img, 0, 1));
        let ud = apply(&Op::Flipud, img.clone());
        assert_eq!(px(&ud, 0, 0), px(&img, 0, 1));
        assert_eq!(px(&ud, 1, 1), px(&img, 1, 0));
    }

    #[test]
    fn rot90_turns_clockwise() {
        // Clockwise: the top-left pixel goes to the top-right; the bottom-left to the top-left.
        let img = known();
        let r1 = apply(&Op::Rot90(1), img.clone());
        assert_eq!(r1.dimensions(), (2, 3));
        assert_eq!(px(&r1, 1, 0), px(&img, 0, 0));
        assert_eq!(px(&r1, 0, 0), px(&img, 0, 1));
        assert_eq!(px(&r1, 0, 2), px(&img, 2, 1));
        let r2 = apply(&Op::Rot90(2), img.clone());
        assert_eq!(px(&r2, 0, 0), px(&img, 2, 1));
        let r3 = apply(&Op::Rot90(3), img.clone());
        assert_eq!(px(&r3, 0, 0), px(&img, 2, 0));
        assert_eq!(apply(&Op::Rot90(1), r3), img);
    }

    #[test]
    fn multiply_clips_then_truncates() {
        let img = RgbImage::from_raw(2, 1, vec![0, 1, 3, 100, 201, 255]).unwrap();
        // 1.5: 1.5→1, 4.5→4, 150, 301.5→255, 382.5→255; 0.8: 0.8→0, 2.4→2, 80, 160.8→160, 204.
        assert_eq!(
            multiply(img.clone(), 1.5).into_raw(),
            vec![0, 1, 4, 150, 255, 255]
        );
        assert_eq!(multiply(img, 0.8).into_raw(), vec![0, 0, 2, 80, 160, 204]);
    }

    #[test]
    fn blur_kernel_size_follows_imgaug() {
        // 3.3σ below 3, 2.9σ below 5, 2.6σ from 5; min 5; truncated, then odd.
        for (sigma, k) in [
            (0.5, 5),   // max(1.65, 5) = 5
            (1.0, 5),   // 3.3 → 5
            (1.6, 5),   // 5.28 → 5
            (1.9, 7),   // 6.27 → 6 → 7
            (2.0, 7),   // 6.6 → 6 → 7
            (2.5, 9),   // 8.25 → 8 → 9
            (2.99, 9),  // 9.867 → 9
            (3.0, 9),   // 8.7 → 8 → 9
            (4.0, 11),  // 11.6 → 11
            (4.99, 15), // 14.471 → 14 → 15
            (5.0, 13),  // 13.0 → 13
        ] {
            assert_eq!(blur_kernel_size(sigma), k, "σ = {sigma}");
        }
    }

    #[test]
    fn gaussian_kernel_matches_opencv() {
        // cv2.getGaussianKernel(5, 1.0) = [0.05448868, 0.24420134, 0.40261995, 0.24420134, 0.05448868]
        let k = gaussian_kernel(5, 1.0);
        let expected = [
            0.054_488_68,
            0.244_201_34,
            0.402_619_95,
            0.244_201_34,
            0.054_488_68,
        ];
        for (a, b) in k.iter().zip(expected) {
            assert!((a - b).abs() < 1e-8, "{k:?}");
        }
    }

    #[test]
    fn reflect101_mirrors_without_repeating_the_edge() {
        let got: Vec<usize> = (-3..8).map(|p| reflect101(p, 5)).collect();
        assert_eq!(got, vec![3, 2, 1, 0, 1, 2, 3, 4, 3, 2, 1]);
        assert_eq!(reflect101(-4, 1), 0);
        // Longer than the image: keeps bouncing (OpenCV loops the same way).
        assert_eq!(reflect101(9, 3), 1);
    }

    #[test]
    fn blur_of_an_impulse_is_the_kernel_and_tiny_sigma_is_a_no_op() {
        let mut img = RgbImage::new(9, 9);
        img.put_pixel(4, 4, image::Rgb([200, 100, 0]));
        assert_eq!(gaussian_blur(&img, 0.001), img);
        let out = gaussian_blur(&img, 1.0);
        let k = gaussian_kernel(5, 1.0);
        for (dy, ky) in k.iter().enumerate() {
            for (dx, kx) in k.iter().enumerate() {
                let v = 200.0 * ky * kx;
                let got = out.get_pixel(2 + dx as u32, 2 + dy as u32).0[0] as f64;
                assert!((got - v).abs() <= 0.5 + 1e-3, "({dx},{dy}): {got} vs {v}");
            }
        }
        assert_eq!(out.get_pixel(0, 0).0, [0, 0, 0]);
        // Flat images stay flat (weights sum to 1, borders reflect).
        let flat = RgbImage::from_pixel(7, 5, image::Rgb([37, 128, 250]));
        assert_eq!(gaussian_blur(&flat, 4.2), flat);
    }

    #[test]
    fn blur_reflects_at_borders() {
        // A 1-D ramp: reflect-101 at x = 0 uses x = 1, 2 as the left neighbours.
        let img = RgbImage::from_fn(6, 1, |x, _| image::Rgb([(x * 40) as u8; 3]));
        let k = gaussian_kernel(5, 1.0);
        let row = [0.0, 40.0, 80.0, 120.0, 160.0, 200.0];
        let at0: f64 = [row[2], row[1], row[0], row[1], row[2]]
            .iter()
            .zip(&k)
            .map(|(v, w)| v * w)
            .sum();
        let out = gaussian_blur(&img, 1.0);
        assert_eq!(out.get_pixel(0, 0).0[0], (at0 + 0.5) as u8);
    }

    #[test]
    fn some_of_draws_zero_one_or_two_distinct_ops_in_list_order() {
        let aug = Augmenter::default();
        let mut counts = [0usize; 3];
        let mut per_kind = [0usize; 5];
        let draws = 30_000;
        for i in 0..draws {
            let ops = aug.plan(&mut Rng::derive(42, &[i]));
            counts[ops.len()] += 1;
            let kinds: Vec<usize> = ops
                .iter()
                .map(|op| match op {
                    Op::Fliplr => 0,
                    Op::Flipud => 1,
                    Op::Rot90(k) => {
                        assert!((1..=3).contains(k));
                        2
                    }
                    Op::Multiply(f) => {
                        assert!((0.8..=1.5).contains(f));
                        3
                    }
                    Op::GaussianBlur(s) => {
                        assert!((0.0..=5.0).contains(s));
                        4
                    }
                })
                .collect();
            assert!(
                kinds.windows(2).all(|w| w[0] < w[1]),
                "not distinct in list order: {ops:?}"
            );
            for k in kinds {
                per_kind[k] += 1;
            }
        }
        // n uniform on {0, 1, 2}: 10 000 each, ±4σ (σ ≈ 82).
        for c in counts {
            assert!((c as i64 - 10_000).abs() < 330, "{counts:?}");
        }
        // Each op is chosen with probability (0 + 1/5 + 2/5) / 3 = 0.2 → 6 000 each (σ ≈ 69).
        for c in per_kind {
            assert!((c as i64 - 6_000).abs() < 280, "{per_kind:?}");
        }
    }

    #[test]
    fn augment_is_reproducible_per_seed() {
        let img = RgbImage::from_fn(16, 16, |x, y| {
            image::Rgb([(x * 16) as u8, (y * 16) as u8, 7])
        });
        let aug = Augmenter::default();
        let a = aug.augment(img.clone(), &mut Rng::derive(3, &[1]));
        let b = aug.augment(img.clone(), &mut Rng::derive(3, &[1]));
        assert_eq!(a, b);
        let changed = (0..50).any(|i| aug.augment(img.clone(), &mut Rng::derive(3, &[i])) != img);
        assert!(changed);
    }

    #[test]
    fn settings_are_checked() {
        let bad = AugmentSettings {
            ops: (3, 2),
            ..Default::default()
        };
        assert!(Augmenter::new(bad).is_err());
        let bad = AugmentSettings {
            multiply: (1.5, 0.8),
            ..Default::default()
        };
        assert!(Augmenter::new(bad)
            .unwrap_err()
            .to_string()
            .contains("multiply"));
        assert!(Augmenter::new(AugmentSettings::default()).is_ok());
    }
}
