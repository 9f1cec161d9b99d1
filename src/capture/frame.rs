//! The frame every stage passes on: index, presentation time, capture time, size, format,
//! row stride and pixels, which live in host memory or in a mapped GStreamer buffer (no copy).
//! Device memory (CUDA) is the next kind of [`Pixels`].

use std::time::{Duration, Instant};

use gstreamer as gst;

/// How a frame's bytes encode its pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PixelFormat {
    /// Packed 8-bit R, G, B.
    Rgb,
}

/// Where a frame's bytes are.
pub enum Pixels {
    /// A copy in host memory.
    Host(Vec<u8>),
    /// The decoder's buffer, mapped readable: no copy, but it holds the buffer until dropped.
    Mapped(gst::MappedBuffer<gst::buffer::Readable>),
}

impl Pixels {
    /// `host` or `mapped`, for logs.
    pub fn kind(&self) -> &'static str {
        match self {
            Pixels::Host(_) => "host",
            Pixels::Mapped(_) => "mapped",
        }
    }
}

impl std::ops::Deref for Pixels {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match self {
            Pixels::Host(v) => v,
            Pixels::Mapped(m) => m.as_slice(),
        }
    }
}

impl Clone for Pixels {
    /// A clone is always a host copy (a mapped buffer is the decoder's).
    fn clone(&self) -> Self {
        Pixels::Host(self.to_vec())
    }
}

impl PartialEq for Pixels {
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

impl PartialEq for Frame {
    fn eq(&self, other: &Self) -> bool {
        (
            self.index,
            self.pts,
            self.duration,
            self.width,
            self.height,
            self.stride,
        ) == (
            other.index,
            other.pts,
            other.duration,
            other.width,
            other.height,
            other.stride,
        ) && self.format == other.format
            && self.data == other.data
            && self.corrupt == other.corrupt
    }
}

/// One decoded frame: packed RGB, 3 bytes per pixel, rows `stride` bytes apart
/// (`stride ≥ width * 3`; GStreamer pads rows to 4 bytes, so never assume `width * 3`).
/// Equality compares everything but [`Frame::captured`].
#[derive(Clone)]
pub struct Frame {
    /// 0-based position in decode order (= presentation order for the streams we read).
    pub index: u64,
    /// Presentation time from the start of the stream.
    pub pts: Duration,
    /// Frame duration when the stream says so.
    pub duration: Option<Duration>,
    pub width: u32,
    pub height: u32,
    /// Bytes from one row to the next.
    pub stride: usize,
    /// Pixel layout of `data`.
    pub format: PixelFormat,
    /// `height * stride` bytes, in host memory or in the decoder's mapped buffer.
    pub data: Pixels,
    /// When the frame reached endoscan (live latency is measured from here).
    pub captured: Instant,
    /// Why the frame is not a trustworthy picture (a damaged image file, a buffer the decoder
    /// marked corrupted); its pixels are then black or decoder concealment.
    pub corrupt: Option<String>,
}

impl Frame {
    /// The `width * 3` pixel bytes of row `y`.
    pub fn row(&self, y: u32) -> &[u8] {
        let start = y as usize * self.stride;
        &self.data[start..start + self.width as usize * 3]
    }

    /// The RGB value at (`x`, `y`).
    pub fn pixel(&self, x: u32, y: u32) -> [u8; 3] {
        let i = y as usize * self.stride + x as usize * 3;
        [self.data[i], self.data[i + 1], self.data[i + 2]]
    }

    /// Presentation time in milliseconds.
    pub fn pts_ms(&self) -> f64 {
        self.pts.as_secs_f64() * 1e3
    }

    /// The frame as a tightly packed `image::RgbImage` (copies).
    pub fn to_rgb_image(&self) -> image::RgbImage {
        let mut packed = Vec::with_capacity(self.width as usize * self.height as usize * 3);
        for y in 0..self.height {
            packed.extend_from_slice(self.row(y));
        }
        image::RgbImage::from_raw(self.width, self.height, packed)
            .expect("packed buffer holds width * height * 3 bytes")
    }

    /// A frame from a tightly packed RGB image.
    pub fn from_rgb_image(index: u64, pts: Duration, img: image::RgbImage) -> Self {
        let (width, height) = img.dimensions();
        Self {
            index,
            pts,
            duration: None,
            width,
            height,
            stride: width as usize * 3,
            format: PixelFormat::Rgb,
            data: Pixels::Host(img.into_raw()),
            captured: Instant::now(),
            corrupt: None,
        }
    }
}

impl std::fmt::Debug for Frame {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Frame")
            .field("index", &self.index)
            .field("pts", &self.pts)
            .field("width", &self.width)
            .field("height", &self.height)
            .field("stride", &self.stride)
            .field("format", &self.format)
            .field("pixels", &self.data.kind())
            .field("corrupt", &self.corrupt)
            .finish_non_exhaustive()
    }
}
