//! Drawing in place on raw video frames, as the GStreamer element receives them.
//!
//! Input: a frame's layout ([`RawLayout`]), size and planes (bytes and stride each). Output:
//! the same bytes with rectangles filled ([`Canvas::fill_rect`], and through
//! [`super::draw::Paint`] every primitive of [`super::draw`]) or everything outside the image
//! area blacked out ([`Canvas::mask_outside`]); or the frame as packed RGB
//! ([`raw_to_rgb`]). Fails only when the planes do not fit the layout and size
//! ([`CanvasError`], naming layout, plane and sizes); drawing itself never fails and clips.
//!
//! * Packed layouts: 3 bytes (RGB, BGR) or 4 (RGBx, BGRx: the x byte is padding and is never
//!   written; RGBA, BGRA: alpha is written as 255).
//! * NV12: a Y plane and one interleaved U,V plane; I420: Y, U and V planes. Chroma is at half
//!   resolution both ways, sizes rounded up for odd widths and heights. Colours use
//!   [`Matrix::for_height`] (BT.601 below 720 lines, BT.709 otherwise), limited range. A
//!   rectangle writes every chroma sample whose 2×2 pixel block it touches.
//! * Bytes between a row's end and its stride are never touched.

use crate::preprocess::ContentArea;

use super::raw::{check_planes, pixel, put_packed};
use super::yuv::{Matrix, BLACK_YUV};

pub use super::raw::{raw_to_rgb, CanvasError, RawLayout};

/// A raw frame to draw on in place (see the module docs).
pub struct Canvas<'a> {
    layout: RawLayout,
    width: u32,
    height: u32,
    planes: Vec<(&'a mut [u8], usize)>,
    matrix: Matrix,
}

impl<'a> Canvas<'a> {
    /// `planes`: each plane's bytes and stride, in the layout's plane order.
    pub fn new(
        layout: RawLayout,
        width: u32,
        height: u32,
        planes: Vec<(&'a mut [u8], usize)>,
    ) -> Result<Self, CanvasError> {
        check_planes(
            layout,
            width,
            height,
            planes.iter().map(|(b, s)| (b.len(), *s)),
        )?;
        Ok(Self {
            layout,
            width,
            height,
            planes,
            matrix: Matrix::for_height(height),
        })
    }

    /// Width in pixels.
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Height in pixels.
    pub fn height(&self) -> u32 {
        self.height
    }

    /// The pixel layout.
    pub fn layout(&self) -> RawLayout {
        self.layout
    }

    /// The Y′CbCr matrix of a YUV canvas (by height; unused for packed layouts).
    pub fn matrix(&self) -> Matrix {
        self.matrix
    }

    /// Fills [x0, x1) × [y0, y1), clipped, with an sRGB colour (YUV layouts: BT.601 limited-range for height < 720, BT.709 otherwise; chroma samples whose 2×2 block the rect touches).
    pub fn fill_rect(&mut self, x0: i64, y0: i64, x1: i64, y1: i64, rgb: [u8; 3]) {
        let (w, h) = (i64::from(self.width), i64::from(self.height));
        let (x0, x1) = (x0.clamp(0, w) as usize, x1.clamp(0, w) as usize);
        let (y0, y1) = (y0.clamp(0, h) as usize, y1.clamp(0, h) as usize);
        if x0 >= x1 || y0 >= y1 {
            return;
        }
        match self.layout.packed() {
            Some(p) => {
                let (plane, stride) = &mut self.planes[0];
                for y in y0..y1 {
                    let row = &mut plane[y * *stride..];
                    for px in row[x0 * p.bpp..x1 * p.bpp].chunks_exact_mut(p.bpp) {
                        put_packed(px, p, rgb);
                    }
                }
            }
            None => {
                let yuv = self.matrix.rgb_to_yuv(rgb);
                self.fill_yuv((x0, x1), (y0, y1), yuv);
            }
        }
    }

    /// Writes `yuv` to luma `[x0, x1) × [y0, y1)` (clipped already) and every chroma sample
    /// whose block the rectangle touches.
    fn fill_yuv(&mut self, (x0, x1): (usize, usize), (y0, y1): (usize, usize), yuv: [u8; 3]) {
        let (luma, stride) = &mut self.planes[0];
        for y in y0..y1 {
            luma[y * *stride + x0..y * *stride + x1].fill(yuv[0]);
        }
        let (cx0, cx1) = (x0 / 2, x1.div_ceil(2));
        for cy in y0 / 2..y1.div_ceil(2) {
            self.fill_chroma_row(cy, cx0, cx1, [yuv[1], yuv[2]]);
        }
    }

    /// Sets chroma samples `[cx0, cx1)` of chroma row `cy` to `uv`.
    fn fill_chroma_row(&mut self, cy: usize, cx0: usize, cx1: usize, [u, v]: [u8; 2]) {
        if cx0 >= cx1 {
            return;
        }
        if self.layout == RawLayout::Nv12 {
            let (plane, stride) = &mut self.planes[1];
            let row = &mut plane[cy * *stride..];
            for pair in row[2 * cx0..2 * cx1].chunks_exact_mut(2) {
                pair.copy_from_slice(&[u, v]);
            }
        } else {
            for (i, value) in [(1, u), (2, v)] {
                let (plane, stride) = &mut self.planes[i];
                plane[cy * *stride + cx0..cy * *stride + cx1].fill(value);
            }
        }
    }

    /// Blacks out every pixel outside `area` (None: the whole frame). Fails closed: a chroma sample any of whose pixels is outside becomes neutral; an area whose frame_size() differs from the canvas masks the whole frame.
    pub fn mask_outside(&mut self, area: Option<&ContentArea>) {
        let (w, h) = (self.width as usize, self.height as usize);
        let area = area.filter(|a| a.frame_size() == (w, h));
        // The inside of row `y` as `start..end` (empty: the whole row is outside).
        let inside = |y: usize| match area {
            Some(a) => {
                let s = a.span(y);
                (s.start.min(w), s.end.min(w).max(s.start.min(w)))
            }
            None => (0, 0),
        };
        let packed = self.layout.packed();
        for y in 0..h {
            let (start, end) = inside(y);
            match packed {
                Some(_) => {
                    self.fill_rect(0, y as i64, start as i64, y as i64 + 1, [0, 0, 0]);
                    self.fill_rect(end as i64, y as i64, w as i64, y as i64 + 1, [0, 0, 0]);
                }
                None => {
                    let (luma, stride) = &mut self.planes[0];
                    let row = &mut luma[y * *stride..y * *stride + w];
                    row[..start].fill(BLACK_YUV[0]);
                    row[end..].fill(BLACK_YUV[0]);
                }
            }
        }
        if packed.is_some() {
            return;
        }
        let neutral = [BLACK_YUV[1], BLACK_YUV[2]];
        let cw = w.div_ceil(2);
        for cy in 0..h.div_ceil(2) {
            // A sample is kept only when all its pixels, in both of its rows, are inside.
            let rows = (2 * cy..(2 * cy + 2).min(h)).map(inside);
            let (start, end) = rows.fold((0, w), |(s, e), (rs, re)| (s.max(rs), e.min(re)));
            let keep0 = start.div_ceil(2);
            let keep1 = if end >= w { cw } else { end / 2 };
            if keep0 >= keep1 {
                self.fill_chroma_row(cy, 0, cw, neutral);
            } else {
                self.fill_chroma_row(cy, 0, keep0, neutral);
                self.fill_chroma_row(cy, keep1, cw, neutral);
            }
        }
    }

    /// The sRGB colour of pixel (`x`, `y`), None outside the frame (YUV: converted back).
    pub fn rgb_at(&self, x: u32, y: u32) -> Option<[u8; 3]> {
        if x >= self.width || y >= self.height {
            return None;
        }
        Some(pixel(
            self.layout,
            self.matrix,
            &self.planes,
            x as usize,
            y as usize,
        ))
    }
}

impl super::draw::Paint for Canvas<'_> {
    fn size(&self) -> (u32, u32) {
        (self.width, self.height)
    }

    fn fill_rect(&mut self, x0: i64, y0: i64, x1: i64, y1: i64, rgb: [u8; 3]) {
        Canvas::fill_rect(self, x0, y0, x1, y1, rgb);
    }
}

#[cfg(test)]
#[path = "canvas_tests.rs"]
mod tests;
