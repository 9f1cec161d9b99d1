//! sRGB ↔ limited-range Y′CbCr for drawing on and reading raw YUV video frames.
//!
//! Input: an 8-bit sRGB (gamma-encoded R′G′B′) colour, or an 8-bit Y/U/V sample triple.
//! Output: the other, rounded to nearest and clamped to 0–255. Never fails. The matrix follows
//! the video's usual convention by size: BT.601 below 720 lines, BT.709 from 720 lines on;
//! limited range (Y 16–235, U/V 16–240, neutral chroma 128).

/// A Y′CbCr matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Matrix {
    Bt601,
    Bt709,
}

/// Limited-range black and neutral chroma: (Y, U, V).
pub const BLACK_YUV: [u8; 3] = [16, 128, 128];

fn to_u8(v: f32) -> u8 {
    v.round().clamp(0.0, 255.0) as u8
}

impl Matrix {
    /// BT.601 for frames under 720 lines (SD), BT.709 otherwise (HD).
    pub fn for_height(height: u32) -> Self {
        if height < 720 {
            Self::Bt601
        } else {
            Self::Bt709
        }
    }

    /// The luma weights `(Kr, Kb)`.
    fn weights(self) -> (f32, f32) {
        match self {
            Self::Bt601 => (0.299, 0.114),
            Self::Bt709 => (0.2126, 0.0722),
        }
    }

    /// `rgb` as limited-range `[Y, U, V]`.
    pub fn rgb_to_yuv(self, rgb: [u8; 3]) -> [u8; 3] {
        let (kr, kb) = self.weights();
        let [r, g, b] = rgb.map(|c| f32::from(c) / 255.0);
        let ey = kr * r + (1.0 - kr - kb) * g + kb * b;
        [
            to_u8(16.0 + 219.0 * ey),
            to_u8(128.0 + 224.0 * (b - ey) / (2.0 * (1.0 - kb))),
            to_u8(128.0 + 224.0 * (r - ey) / (2.0 * (1.0 - kr))),
        ]
    }

    /// The coefficients [`ToRgb::convert`] uses.
    pub fn to_rgb(self) -> ToRgb {
        let (kr, kb) = self.weights();
        let kg = 1.0 - kr - kb;
        let c = 255.0 / 224.0;
        ToRgb {
            y: 255.0 / 219.0,
            rv: c * 2.0 * (1.0 - kr),
            gu: c * 2.0 * kb * (1.0 - kb) / kg,
            gv: c * 2.0 * kr * (1.0 - kr) / kg,
            bu: c * 2.0 * (1.0 - kb),
        }
    }
}

/// Precomputed limited-range Y′CbCr → sRGB coefficients of one [`Matrix`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ToRgb {
    y: f32,
    rv: f32,
    gu: f32,
    gv: f32,
    bu: f32,
}

impl ToRgb {
    /// The coefficients `[y, rv, gu, gv, bu]` in 2^14 fixed point, rounded to nearest: what
    /// the integer conversion of model inputs (CPU reference and CUDA kernels) uses.
    pub fn fixed_point(&self) -> [i32; 5] {
        [self.y, self.rv, self.gu, self.gv, self.bu].map(|c| (c * 16384.0).round() as i32)
    }

    /// The sRGB colour of samples `y`, `u`, `v`.
    #[inline]
    pub fn convert(&self, y: u8, u: u8, v: u8) -> [u8; 3] {
        let l = self.y * (f32::from(y) - 16.0);
        let (u, v) = (f32::from(u) - 128.0, f32::from(v) - 128.0);
        [
            to_u8(l + self.rv * v),
            to_u8(l - self.gu * u - self.gv * v),
            to_u8(l + self.bu * u),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_colours_in_both_matrices() {
        // White and black: Y 235 / 16, neutral chroma, in any matrix.
        for m in [Matrix::Bt601, Matrix::Bt709] {
            assert_eq!(m.rgb_to_yuv([255, 255, 255]), [235, 128, 128]);
            assert_eq!(m.rgb_to_yuv([0, 0, 0]), BLACK_YUV);
        }
        // Red, BT.601: Y = 16 + 219·0.299 = 81.5, U = 128 − 112·0.299/0.886 = 90.2, V = 240.
        assert_eq!(Matrix::Bt601.rgb_to_yuv([255, 0, 0]), [81, 90, 240]);
        // Red, BT.709: Y = 16 + 219·0.2126 = 62.6, U = 128 − 112·0.2126/0.9278 = 102.3.
        assert_eq!(Matrix::Bt709.rgb_to_yuv([255, 0, 0]), [63, 102, 240]);
        // Blue, BT.601: Y = 16 + 219·0.114 = 41.0, U = 240, V = 128 − 112·0.114/0.701 = 109.8.
        assert_eq!(Matrix::Bt601.rgb_to_yuv([0, 0, 255]), [41, 240, 110]);
        assert_eq!(Matrix::for_height(719), Matrix::Bt601);
        assert_eq!(Matrix::for_height(720), Matrix::Bt709);
    }

    #[test]
    fn back_to_rgb() {
        for m in [Matrix::Bt601, Matrix::Bt709] {
            let c = m.to_rgb();
            assert_eq!(c.convert(235, 128, 128), [255, 255, 255]);
            assert_eq!(c.convert(16, 128, 128), [0, 0, 0]);
            // Below black and above white clamp.
            assert_eq!(c.convert(0, 128, 128), [0, 0, 0]);
            assert_eq!(c.convert(255, 128, 128), [255, 255, 255]);
        }
        let c = Matrix::Bt601.to_rgb();
        for rgb in [
            [255, 0, 0],
            [0, 255, 0],
            [0, 0, 255],
            [128, 128, 128],
            [255, 176, 0],
        ] {
            let [y, u, v] = Matrix::Bt601.rgb_to_yuv(rgb);
            let back = c.convert(y, u, v);
            for (a, b) in back.iter().zip(rgb) {
                assert!(
                    (i32::from(*a) - i32::from(b)).abs() <= 2,
                    "{rgb:?} → {back:?}"
                );
            }
        }
    }
}
