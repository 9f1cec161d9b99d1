//! Raw video frame layouts: which planes a frame has, how big each must be, and reading a frame
//! as packed RGB.
//!
//! Input: a layout, a size and each plane's bytes and stride. Output: the planes checked
//! ([`CanvasError`] names layout, plane and sizes when they do not fit), a pixel's sRGB colour,
//! or the whole frame as an [`image::RgbImage`] ([`raw_to_rgb`]). See [`super::canvas`] for
//! the layouts' details and the colour matrices.

use super::yuv::Matrix;

/// How a raw frame's pixels lie in its planes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RawLayout {
    Rgb,
    Bgr,
    Rgbx,
    Bgrx,
    Rgba,
    Bgra,
    Nv12,
    I420,
}

/// Where a packed layout keeps its channels: bytes per pixel, R/G/B byte index, alpha index.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Packed {
    pub(crate) bpp: usize,
    pub(crate) rgb: [usize; 3],
    pub(crate) alpha: Option<usize>,
}

impl RawLayout {
    /// Every layout, for tests and checks.
    pub const ALL: [RawLayout; 8] = [
        Self::Rgb,
        Self::Bgr,
        Self::Rgbx,
        Self::Bgrx,
        Self::Rgba,
        Self::Bgra,
        Self::Nv12,
        Self::I420,
    ];

    /// How many planes a frame of this layout has.
    pub fn planes(self) -> usize {
        match self {
            Self::Nv12 => 2,
            Self::I420 => 3,
            _ => 1,
        }
    }

    pub(crate) fn packed(self) -> Option<Packed> {
        let (bpp, rgb, alpha) = match self {
            Self::Rgb => (3, [0, 1, 2], None),
            Self::Bgr => (3, [2, 1, 0], None),
            Self::Rgbx => (4, [0, 1, 2], None),
            Self::Bgrx => (4, [2, 1, 0], None),
            Self::Rgba => (4, [0, 1, 2], Some(3)),
            Self::Bgra => (4, [2, 1, 0], Some(3)),
            Self::Nv12 | Self::I420 => return None,
        };
        Some(Packed { bpp, rgb, alpha })
    }

    /// Bytes in one row and number of rows of plane `plane` of a `width × height` frame.
    pub fn plane_size(self, plane: usize, width: u32, height: u32) -> (usize, usize) {
        let (w, h) = (width as usize, height as usize);
        let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
        match (self.packed(), self, plane) {
            (Some(p), _, _) => (w * p.bpp, h),
            (None, _, 0) => (w, h),
            (None, Self::Nv12, _) => (2 * cw, ch),
            (None, _, _) => (cw, ch),
        }
    }
}

/// Planes that do not fit the layout and size.
#[derive(Debug, thiserror::Error)]
pub enum CanvasError {
    #[error("{layout:?} frame of {width}×{height}: a frame needs at least one pixel")]
    Empty {
        layout: RawLayout,
        width: u32,
        height: u32,
    },
    #[error("{layout:?} frame: expected {expected} plane(s), got {got}")]
    PlaneCount {
        layout: RawLayout,
        expected: usize,
        got: usize,
    },
    #[error(
        "{layout:?} plane {plane}: stride {stride} is shorter than a row of {row_bytes} bytes"
    )]
    Stride {
        layout: RawLayout,
        plane: usize,
        stride: usize,
        row_bytes: usize,
    },
    #[error(
        "{layout:?} plane {plane}: {len} bytes is too small for {rows} rows of stride {stride} \
         ({needed} needed)"
    )]
    TooSmall {
        layout: RawLayout,
        plane: usize,
        len: usize,
        rows: usize,
        stride: usize,
        needed: usize,
    },
}

/// Checks that planes of these lengths and strides hold a `width × height` frame of `layout`
/// (the last row may stop at its last pixel instead of its stride).
pub(super) fn check_planes(
    layout: RawLayout,
    width: u32,
    height: u32,
    planes: impl ExactSizeIterator<Item = (usize, usize)>,
) -> Result<(), CanvasError> {
    if width == 0 || height == 0 {
        return Err(CanvasError::Empty {
            layout,
            width,
            height,
        });
    }
    if planes.len() != layout.planes() {
        return Err(CanvasError::PlaneCount {
            layout,
            expected: layout.planes(),
            got: planes.len(),
        });
    }
    for (plane, (len, stride)) in planes.enumerate() {
        let (row_bytes, rows) = layout.plane_size(plane, width, height);
        if stride < row_bytes {
            return Err(CanvasError::Stride {
                layout,
                plane,
                stride,
                row_bytes,
            });
        }
        let needed = stride
            .checked_mul(rows - 1)
            .and_then(|n| n.checked_add(row_bytes))
            .unwrap_or(usize::MAX);
        if len < needed {
            return Err(CanvasError::TooSmall {
                layout,
                plane,
                len,
                rows,
                stride,
                needed,
            });
        }
    }
    Ok(())
}

pub(super) fn put_packed(px: &mut [u8], p: Packed, rgb: [u8; 3]) {
    for (c, &i) in p.rgb.iter().enumerate() {
        px[i] = rgb[c];
    }
    if let Some(a) = p.alpha {
        px[a] = 255;
    }
}

/// Pixel (`x`, `y`) of checked planes as sRGB.
pub(super) fn pixel<B: AsRef<[u8]>>(
    layout: RawLayout,
    matrix: Matrix,
    planes: &[(B, usize)],
    x: usize,
    y: usize,
) -> [u8; 3] {
    let at = |i: usize, offset: usize| planes[i].0.as_ref()[offset];
    let stride = |i: usize| planes[i].1;
    if let Some(p) = layout.packed() {
        let base = y * stride(0) + x * p.bpp;
        return p.rgb.map(|i| at(0, base + i));
    }
    let luma = at(0, y * stride(0) + x);
    let (cx, cy) = (x / 2, y / 2);
    let (u, v) = if layout == RawLayout::Nv12 {
        let base = cy * stride(1) + 2 * cx;
        (at(1, base), at(1, base + 1))
    } else {
        (at(1, cy * stride(1) + cx), at(2, cy * stride(2) + cx))
    };
    matrix.to_rgb().convert(luma, u, v)
}

/// Converts a raw frame to packed RGB (what the model path takes); same matrices as `fill_rect`.
pub fn raw_to_rgb(
    layout: RawLayout,
    width: u32,
    height: u32,
    planes: &[(&[u8], usize)],
) -> Result<image::RgbImage, CanvasError> {
    check_planes(
        layout,
        width,
        height,
        planes.iter().map(|(b, s)| (b.len(), *s)),
    )?;
    let (w, h) = (width as usize, height as usize);
    let mut out = image::RgbImage::new(width, height);
    let rows = out.as_mut().chunks_exact_mut(w * 3);
    if let Some(p) = layout.packed() {
        let (plane, stride) = planes[0];
        for (y, dst) in rows.enumerate() {
            let src = &plane[y * stride..y * stride + w * p.bpp];
            for (d, s) in dst.chunks_exact_mut(3).zip(src.chunks_exact(p.bpp)) {
                d.copy_from_slice(&p.rgb.map(|i| s[i]));
            }
        }
        return Ok(out);
    }
    let to_rgb = Matrix::for_height(height).to_rgb();
    let (luma, ls) = planes[0];
    for (y, dst) in rows.enumerate() {
        let (src, cy) = (&luma[y * ls..y * ls + w], y / 2);
        for (x, (d, &l)) in dst.chunks_exact_mut(3).zip(src).enumerate() {
            let cx = x / 2;
            let (u, v) = if layout == RawLayout::Nv12 {
                let base = cy * planes[1].1 + 2 * cx;
                (planes[1].0[base], planes[1].0[base + 1])
            } else {
                (
                    planes[1].0[cy * planes[1].1 + cx],
                    planes[2].0[cy * planes[2].1 + cx],
                )
            };
            d.copy_from_slice(&to_rgb.convert(l, u, v));
        }
    }
    debug_assert_eq!(h, out.height() as usize);
    Ok(out)
}
