//! The pixel formats decoders and capture cards deliver, and their exact conversion to the
//! 8-bit RGB the model input is made from: the CPU reference of `kernels/prelude.cuh`'s
//! `fetch_rgb`.
//!
//! - Packed formats: R, G, B read from their byte offsets (alpha or padding ignored).
//! - NV12 / I420 (4:2:0, limited range): the chroma sample of pixel `(x, y)` is the one at
//!   `(x / 2, y / 2)` (nearest, no interpolation); with `c = 2^14`-scaled coefficients `k` of
//!   the frame's matrix (BT.601 under 720 lines, BT.709 from 720 on, as
//!   [`crate::overlay::yuv::Matrix::for_height`]):
//!   `R = clamp((ky·(Y−16) + krv·(V−128) + 2^13) >> 14)`,
//!   `G = clamp((ky·(Y−16) − kgu·(U−128) − kgv·(V−128) + 2^13) >> 14)`,
//!   `B = clamp((ky·(Y−16) + kbu·(U−128) + 2^13) >> 14)` (arithmetic shifts).

use image::RgbImage;

use super::PreprocessError;
use crate::overlay::raw::RawLayout;
use crate::overlay::yuv::Matrix;

/// Byte layout of one frame of `format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InputLayout {
    pub format: RawLayout,
    pub width: usize,
    pub height: usize,
    /// Row stride of the packed or luma plane.
    pub stride: usize,
    /// Row stride of the chroma plane(s).
    pub chroma_stride: usize,
    /// Start of the NV12 UV plane or the I420 U plane.
    pub u_offset: usize,
    /// Start of the I420 V plane.
    pub v_offset: usize,
}

impl InputLayout {
    /// The tightly packed layout of a `width × height` frame (planar formats need even sizes'
    /// chroma rounded up: `ceil(w / 2) × ceil(h / 2)`).
    pub fn packed(format: RawLayout, width: usize, height: usize) -> Self {
        let (cw, ch) = (width.div_ceil(2), height.div_ceil(2));
        let (stride, chroma_stride, u, v) = match format.packed() {
            Some(p) => (width * p.bpp, 0, 0, 0),
            None if format == RawLayout::Nv12 => (width, 2 * cw, width * height, 0),
            None => (width, cw, width * height, width * height + cw * ch),
        };
        Self {
            format,
            width,
            height,
            stride,
            chroma_stride,
            u_offset: u,
            v_offset: v,
        }
    }

    /// Bytes a frame of this layout needs.
    pub fn frame_bytes(&self) -> usize {
        let rows = self.height.saturating_sub(1);
        match self.format.packed() {
            Some(p) if self.height > 0 => rows * self.stride + self.width * p.bpp,
            Some(_) => 0,
            None => {
                let (cw, ch) = (self.width.div_ceil(2), self.height.div_ceil(2));
                let row = if self.format == RawLayout::Nv12 {
                    2 * cw
                } else {
                    cw
                };
                let chroma_end =
                    |start: usize| start + ch.saturating_sub(1) * self.chroma_stride + row;
                let luma = rows * self.stride + self.width;
                match self.format {
                    RawLayout::Nv12 => luma.max(chroma_end(self.u_offset)),
                    _ => luma
                        .max(chroma_end(self.u_offset))
                        .max(chroma_end(self.v_offset)),
                }
            }
        }
    }

    /// The 2^14 fixed-point Y′CbCr → RGB coefficients for this frame's height.
    pub fn yuv_coefficients(&self) -> [i32; 5] {
        Matrix::for_height(self.height as u32)
            .to_rgb()
            .fixed_point()
    }

    /// The RGB bytes of pixel `(x, y)` of `frame` (see the module docs).
    #[inline]
    pub fn rgb_at(&self, frame: &[u8], coefficients: &[i32; 5], x: usize, y: usize) -> [u8; 3] {
        if let Some(packed) = self.format.packed() {
            let p = &frame[y * self.stride + x * packed.bpp..];
            return packed.rgb.map(|c| p[c]);
        }
        let row = (y / 2) * self.chroma_stride;
        let (u, v) = if self.format == RawLayout::Nv12 {
            let at = self.u_offset + row + 2 * (x / 2);
            (frame[at], frame[at + 1])
        } else {
            (
                frame[self.u_offset + row + x / 2],
                frame[self.v_offset + row + x / 2],
            )
        };
        let [ky, krv, kgu, kgv, kbu] = *coefficients;
        let c = ky * (i32::from(frame[y * self.stride + x]) - 16);
        let (d, e) = (i32::from(u) - 128, i32::from(v) - 128);
        let to_u8 = |v: i32| ((v + 8192) >> 14).clamp(0, 255) as u8;
        [
            to_u8(c + krv * e),
            to_u8(c - kgu * d - kgv * e),
            to_u8(c + kbu * d),
        ]
    }

    /// `frame` converted to packed RGB.
    pub fn to_rgb(&self, frame: &[u8]) -> Result<RgbImage, PreprocessError> {
        if frame.len() < self.frame_bytes() {
            return Err(PreprocessError::FrameLayout {
                width: self.width,
                height: self.height,
                stride: self.stride,
                len: frame.len(),
            });
        }
        let k = self.yuv_coefficients();
        Ok(RgbImage::from_fn(
            self.width as u32,
            self.height as u32,
            |x, y| image::Rgb(self.rgb_at(frame, &k, x as usize, y as usize)),
        ))
    }
}

#[cfg(test)]
#[path = "input_format_tests.rs"]
mod tests;
