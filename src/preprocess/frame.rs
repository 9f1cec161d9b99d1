//! Borrowed views of 8-bit frames: packed RGB with a row stride, and one-channel planes.
//!
//! Video frames arrive with a row stride that may exceed `width * 3`, so every stage reads
//! pixels through [`RgbView`] instead of assuming a packed buffer.

use image::RgbImage;

use super::PreprocessError;

/// A borrowed 8-bit RGB frame: row `y` starts at byte `y * stride`, pixel `x` of that row at
/// `3 * x` within it.
#[derive(Debug, Clone, Copy)]
pub struct RgbView<'a> {
    data: &'a [u8],
    width: usize,
    height: usize,
    stride: usize,
}

impl<'a> RgbView<'a> {
    /// A view of `data` as `width × height` RGB pixels with rows `stride` bytes apart.
    pub fn new(
        data: &'a [u8],
        width: usize,
        height: usize,
        stride: usize,
    ) -> Result<Self, PreprocessError> {
        let row = width.checked_mul(3);
        let needed = match (row, height) {
            (Some(_), 0) => Some(0),
            (Some(row), h) => stride.checked_mul(h - 1).and_then(|n| n.checked_add(row)),
            (None, _) => None,
        };
        match (row, needed) {
            (Some(row), Some(needed)) if stride >= row && data.len() >= needed => Ok(Self {
                data,
                width,
                height,
                stride,
            }),
            _ => Err(PreprocessError::FrameLayout {
                width,
                height,
                stride,
                len: data.len(),
            }),
        }
    }

    /// A view of a packed [`RgbImage`].
    pub fn from_image(image: &'a RgbImage) -> Self {
        let (width, height) = (image.width() as usize, image.height() as usize);
        Self {
            data: image.as_raw(),
            width,
            height,
            stride: width * 3,
        }
    }

    pub fn width(&self) -> usize {
        self.width
    }

    pub fn height(&self) -> usize {
        self.height
    }

    /// The `width * 3` bytes of row `y` (`y < height`).
    pub fn row(&self, y: usize) -> &'a [u8] {
        let start = y * self.stride;
        &self.data[start..start + self.width * 3]
    }
}

/// An owned one-channel 8-bit plane, packed row-major (`width * height` bytes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plane {
    width: usize,
    height: usize,
    data: Vec<u8>,
}

impl Plane {
    /// A plane filled with `value`.
    pub fn filled(width: usize, height: usize, value: u8) -> Self {
        Self {
            width,
            height,
            data: vec![value; width * height],
        }
    }

    /// The brightness plane of a frame: per pixel `max(R, G, B)`.
    ///
    /// The maximum (not luma) is used so that a saturated red or blue image area counts as
    /// bright as much as a grey one does.
    pub fn brightness(frame: RgbView<'_>) -> Self {
        let width = frame.width();
        let mut data = vec![0u8; width * frame.height()];
        for (y, out) in data.chunks_exact_mut(width.max(1)).enumerate() {
            super::max_rgb::max_rgb_row(frame.row(y), out);
        }
        Self {
            width: frame.width(),
            height: frame.height(),
            data,
        }
    }

    pub fn width(&self) -> usize {
        self.width
    }

    pub fn height(&self) -> usize {
        self.height
    }

    /// Row `y` (`y < height`).
    pub fn row(&self, y: usize) -> &[u8] {
        &self.data[y * self.width..(y + 1) * self.width]
    }

    /// Row `y` (`y < height`), mutable.
    pub fn row_mut(&mut self, y: usize) -> &mut [u8] {
        &mut self.data[y * self.width..(y + 1) * self.width]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn views_respect_the_stride() {
        // 2×2 pixels with 2 padding bytes per row.
        let data = [1, 2, 3, 4, 5, 6, 0, 0, 7, 8, 9, 10, 11, 12];
        let view = RgbView::new(&data, 2, 2, 8).unwrap();
        assert_eq!(view.row(1), &[7, 8, 9, 10, 11, 12]);
        assert_eq!(Plane::brightness(view).row(1), &[9, 12]);
    }

    #[test]
    fn rejects_short_buffers_and_strides() {
        let data = [0u8; 11];
        assert!(RgbView::new(&data, 2, 2, 6).is_err());
        assert!(RgbView::new(&data, 2, 2, 5).is_err());
        assert!(RgbView::new(&data, usize::MAX, 2, 6).is_err());
        assert!(RgbView::new(&data, 2, 0, 6).is_ok());
    }
}
