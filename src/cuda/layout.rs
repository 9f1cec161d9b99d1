//! Kernel launch parameters, built on the CPU: the frame layout, the crop and the resize
//! tables flattened for `kernels/prepare.cu`. The structs mirror `kernels/prelude.cuh` and
//! `prepare.cu` field for field (`#[repr(C)]`, all `i32`).

use cudarc::driver::DeviceRepr;

use crate::overlay::raw::RawLayout;
use crate::preprocess::input_format::InputLayout;
use crate::preprocess::resize::ResizeTable;
use crate::preprocess::{ContentArea, Crop};

use super::CudaError;

/// `FrameLayout` of `kernels/prelude.cuh`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FrameLayoutArg {
    pub kind: i32,
    pub width: i32,
    pub height: i32,
    pub bytes_per_pixel: i32,
    pub r: i32,
    pub g: i32,
    pub b: i32,
    pub stride: i32,
    pub chroma_stride: i32,
    pub u_offset: i32,
    pub v_offset: i32,
    pub coefficients: [i32; 5],
}

// SAFETY: plain `#[repr(C)]` integers, laid out as the kernel's struct.
unsafe impl DeviceRepr for FrameLayoutArg {}

/// `Resize` of `kernels/prepare.cu`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ResizeArg {
    pub crop_x: i32,
    pub crop_y: i32,
    pub size: i32,
    pub taps_x: i32,
    pub taps_y: i32,
}

// SAFETY: plain `#[repr(C)]` integers, laid out as the kernel's struct.
unsafe impl DeviceRepr for ResizeArg {}

fn to_i32(what: &str, v: usize) -> Result<i32, CudaError> {
    i32::try_from(v)
        .map_err(|_| CudaError::Driver(format!("{what} {v} is too large for the kernels")))
}

impl FrameLayoutArg {
    /// The kernel's view of `layout`.
    pub fn new(layout: &InputLayout) -> Result<Self, CudaError> {
        to_i32("frame size in bytes", layout.frame_bytes())?;
        let (kind, bpp, [r, g, b]) = match layout.format.packed() {
            Some(p) => (0, p.bpp, p.rgb),
            None if layout.format == RawLayout::Nv12 => (1, 0, [0; 3]),
            None => (2, 0, [0; 3]),
        };
        Ok(Self {
            kind,
            width: to_i32("width", layout.width)?,
            height: to_i32("height", layout.height)?,
            bytes_per_pixel: bpp as i32,
            r: r as i32,
            g: g as i32,
            b: b as i32,
            stride: to_i32("stride", layout.stride)?,
            chroma_stride: to_i32("chroma stride", layout.chroma_stride)?,
            u_offset: to_i32("chroma offset", layout.u_offset)?,
            v_offset: to_i32("chroma offset", layout.v_offset)?,
            coefficients: layout.yuv_coefficients(),
        })
    }
}

/// Everything `prepare_*` needs besides the frames: geometry, row spans and weight tables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreparePlan {
    pub resize: ResizeArg,
    /// `[start, end)` of the area on each crop row, frame x coordinates, 2 values a row.
    pub spans: Vec<i32>,
    pub x_first: Vec<i32>,
    /// `size × taps_x` weights, zero-padded.
    pub x_weights: Vec<i32>,
    pub y_first: Vec<i32>,
    pub y_weights: Vec<i32>,
}

impl PreparePlan {
    /// The plan for resizing `crop` of a frame with image area `area` to `size × size`.
    pub fn new(area: &ContentArea, crop: Crop, size: usize) -> Result<Self, CudaError> {
        let hx = ResizeTable::triangle(crop.side, size);
        let hy = ResizeTable::triangle(crop.side, size);
        let (x_first, x_weights, taps_x) = flatten(&hx);
        let (y_first, y_weights, taps_y) = flatten(&hy);
        let mut spans = Vec::with_capacity(2 * crop.side);
        for row in 0..crop.side {
            let span = area.span(crop.y + row);
            spans.push(to_i32("span", span.start)?);
            spans.push(to_i32("span", span.end.max(span.start))?);
        }
        Ok(Self {
            resize: ResizeArg {
                crop_x: to_i32("crop x", crop.x)?,
                crop_y: to_i32("crop y", crop.y)?,
                size: to_i32("input size", size)?,
                taps_x,
                taps_y,
            },
            spans,
            x_first,
            x_weights,
            y_first,
            y_weights,
        })
    }
}

/// A table as first-sample and zero-padded weight arrays, with the row length.
fn flatten(table: &ResizeTable) -> (Vec<i32>, Vec<i32>, i32) {
    let n = table.output_len();
    let taps = (0..n)
        .map(|i| table.taps(i).1.len())
        .max()
        .unwrap_or(1)
        .max(1);
    let mut first = Vec::with_capacity(n);
    let mut weights = vec![0i32; n * taps];
    for i in 0..n {
        let (f, w) = table.taps(i);
        first.push(f as i32);
        for (slot, &v) in weights[i * taps..].iter_mut().zip(w) {
            *slot = v as i32;
        }
    }
    (first, weights, taps as i32)
}

#[cfg(test)]
#[path = "layout_tests.rs"]
mod tests;
