//! Preprocessing: one RGB frame → the model's square input. The CPU reference of the GPU
//! kernels; every step is specified exactly in its module.
//!
//! 1. [`area`]: find the endoscopic image area (circle, octagon or rectangle on black), never
//!    the patient-data text panel beside it.
//! 2. [`crop`]: the largest square centred in the area's bounding box (the recipe's centred
//!    square of the short side); pixels outside the area are masked to black.
//! 3. [`resize`]: antialiased bilinear (triangle) filter in fixed point to `S × S` → the u8
//!    RGB image that training, augmentation and inference share.
//! 4. [`normalize`]: per the model's [`Normalization`] into NCHW f32.
//!
//! Input: an 8-bit RGB frame (any stride). Output: [`PreparedFrame`] with the square image and
//! the crop geometry (to map overlays back). Runs on the caller's thread, allocates per call.
//! Fails only when the frame has no image area ([`PreprocessError::NoContent`]).

pub mod area;
pub mod area_stats;
pub mod crop;
pub mod frame;
mod hull;
pub mod input_format;
pub mod load;
mod max_rgb;
pub mod normalize;
#[cfg(target_arch = "x86_64")]
mod resample;
#[cfg(all(test, target_arch = "x86_64"))]
mod resample_tests;
pub mod resize;
pub mod screen;
pub mod stage;
mod status;
#[cfg(test)]
pub(crate) mod testframes;
pub mod tracker;

use std::path::{Path, PathBuf};

use image::RgbImage;

pub use area::{AreaSettings, ContentArea, Span};
pub use crop::{Crop, Rect};
pub use frame::{Plane, RgbView};
pub use load::read_rgb;
pub use normalize::{normalize_batch, normalize_into};
pub use screen::{Look, Screening};
pub use stage::{ModelInput, Prepare};
pub use tracker::{AreaTracker, FrameStatus, Located, TrackerSettings};

use crate::model::{ModelMetadata, Normalization};

/// Largest model input side accepted.
pub const MAX_INPUT_SIZE: usize = 4096;

/// What can go wrong reading or preparing a frame.
#[derive(Debug, thiserror::Error)]
pub enum PreprocessError {
    #[error("{}: cannot read image file", .path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: not a PNG, JPEG or PPM image{}", .path.display(), .found.as_ref().map(|f| format!(" (content looks like {f})")).unwrap_or_default())]
    Format {
        path: PathBuf,
        found: Option<String>,
    },
    #[error("{}: corrupt or unsupported image ({reason})", .path.display())]
    Damaged { path: PathBuf, reason: String },
    #[error("{}: corrupt or unsupported image", .path.display())]
    Decode {
        path: PathBuf,
        #[source]
        source: image::ImageError,
    },
    #[error(
        "no endoscopic image area in the {width}x{height} frame (it is black or holds only text)"
    )]
    NoContent { width: usize, height: usize },
    #[error("model input size {0} is out of range 1..={MAX_INPUT_SIZE}")]
    InputSize(usize),
    #[error("bad content-area settings: {0}")]
    Settings(String),
    #[error(
        "content area was found in a {found_w}x{found_h} frame, not this {width}x{height} one"
    )]
    AreaMismatch {
        found_w: usize,
        found_h: usize,
        width: usize,
        height: usize,
    },
    #[error("GPU preprocessing failed: {0}")]
    Gpu(String),
    #[error("output buffer holds {got} values, the image needs {expected}")]
    BufferSize { expected: usize, got: usize },
    #[error(
        "a {len}-byte buffer cannot hold {width}x{height} RGB pixels with row stride {stride}"
    )]
    FrameLayout {
        width: usize,
        height: usize,
        stride: usize,
        len: usize,
    },
}

impl PreprocessError {
    /// The same error, naming `path` as the file it is about (file errors only).
    pub fn at(mut self, file: &Path) -> Self {
        if let Self::Read { path, .. }
        | Self::Format { path, .. }
        | Self::Decode { path, .. }
        | Self::Damaged { path, .. } = &mut self
        {
            *path = file.to_path_buf();
        }
        self
    }
}

/// A frame made ready for the model.
#[derive(Debug, Clone, PartialEq)]
pub struct PreparedFrame {
    /// The `S × S` RGB model input before normalization.
    pub image: RgbImage,
    /// Where the image area is in the frame.
    pub area: ContentArea,
    /// The frame square that `image` shows.
    pub crop: Crop,
}

/// Turns frames into model inputs of one size and normalization.
#[derive(Debug, Clone, PartialEq)]
pub struct Preprocessor {
    input_size: usize,
    normalization: Normalization,
    area: AreaSettings,
}

impl Preprocessor {
    /// A preprocessor for `input_size`-square inputs with default content-area settings.
    pub fn new(input_size: usize, normalization: Normalization) -> Result<Self, PreprocessError> {
        if !(1..=MAX_INPUT_SIZE).contains(&input_size) {
            return Err(PreprocessError::InputSize(input_size));
        }
        Ok(Self {
            input_size,
            normalization,
            area: AreaSettings::default(),
        })
    }

    /// The preprocessor a model's metadata asks for.
    pub fn for_model(meta: &ModelMetadata) -> Result<Self, PreprocessError> {
        Self::new(meta.input_size, meta.normalization)
    }

    /// Replaces the content-area settings.
    pub fn with_area_settings(mut self, area: AreaSettings) -> Result<Self, PreprocessError> {
        area.check().map_err(PreprocessError::Settings)?;
        self.area = area;
        Ok(self)
    }

    /// Side `S` of the square model input.
    pub fn input_size(&self) -> usize {
        self.input_size
    }

    pub fn normalization(&self) -> Normalization {
        self.normalization
    }

    pub fn area_settings(&self) -> &AreaSettings {
        &self.area
    }

    /// Finds the image area of `frame`, crops, masks and resizes it.
    pub fn prepare(&self, frame: &RgbImage) -> Result<PreparedFrame, PreprocessError> {
        self.prepare_view(RgbView::from_image(frame))
    }

    /// [`Preprocessor::prepare`] on a strided frame.
    pub fn prepare_view(&self, frame: RgbView<'_>) -> Result<PreparedFrame, PreprocessError> {
        let area = ContentArea::detect(&Plane::brightness(frame), &self.area).ok_or(
            PreprocessError::NoContent {
                width: frame.width(),
                height: frame.height(),
            },
        )?;
        self.prepare_in_area(frame, area)
    }

    /// Crops, masks and resizes `frame` to an image area found beforehand (e.g. from several
    /// frames of a video).
    pub fn prepare_in_area(
        &self,
        frame: RgbView<'_>,
        area: ContentArea,
    ) -> Result<PreparedFrame, PreprocessError> {
        let (found_w, found_h) = area.frame_size();
        if (found_w, found_h) != (frame.width(), frame.height()) {
            return Err(PreprocessError::AreaMismatch {
                found_w,
                found_h,
                width: frame.width(),
                height: frame.height(),
            });
        }
        let s = self.input_size;
        let crop = Crop::centred_square(area.bounds());
        // Same bytes as the general path (resizing S to S is the identity), without the work.
        let image = if frame.width() == s && frame.height() == s && area.covers_frame() {
            copy_packed(frame)
        } else {
            resize::resize_masked(frame, &area, crop.rect(), s, s)
        };
        tracing::trace!(?crop, "prepared frame");
        Ok(PreparedFrame { image, area, crop })
    }

    /// Normalizes a prepared `S × S` image into `out` (NCHW, `3·S·S` values).
    pub fn normalize_into(&self, image: &RgbImage, out: &mut [f32]) -> Result<(), PreprocessError> {
        normalize_into(image, self.normalization, out)
    }
}

/// A packed copy of a strided frame.
fn copy_packed(frame: RgbView<'_>) -> RgbImage {
    let mut data = Vec::with_capacity(frame.width() * frame.height() * 3);
    for y in 0..frame.height() {
        data.extend_from_slice(frame.row(y));
    }
    RgbImage::from_raw(frame.width() as u32, frame.height() as u32, data)
        .expect("buffer sized for the frame")
}

#[cfg(test)]
mod tests {
    use super::testframes::{self, Outline};
    use super::*;

    #[test]
    fn crops_the_tower_image_area_not_the_panel() {
        let frame = testframes::tower(1920, 1080, Outline::Circle);
        let pre = Preprocessor::new(128, Normalization::Bit).unwrap();
        let out = pre.prepare(&frame.image).unwrap();
        let b = frame.area_bounds;
        assert_eq!(out.crop, Crop::centred_square(b));
        assert_eq!(out.crop.side, b.width.min(b.height));
        assert_eq!(out.image.dimensions(), (128, 128));
        // Corners of a circle's square are black border; the centre is tissue.
        assert_eq!(out.image.get_pixel(0, 0).0, [0, 0, 0]);
        assert!(out.image.get_pixel(64, 100).0[0] > 100);
    }

    #[test]
    fn wide_rectangles_give_their_centred_square() {
        let frame = testframes::tower(1280, 720, Outline::Rectangle);
        let out = Preprocessor::new(96, Normalization::Unit)
            .unwrap()
            .prepare(&frame.image)
            .unwrap();
        let b = frame.area_bounds;
        assert!(b.width > b.height);
        assert_eq!(
            out.crop,
            Crop {
                x: b.x + (b.width - b.height) / 2,
                y: b.y,
                side: b.height
            }
        );
        for (x, y) in [(0, 0), (95, 0), (0, 95), (95, 95)] {
            assert!(
                out.image.get_pixel(x, y).0[0] > 100,
                "no border inside a rectangle"
            );
        }
    }

    #[test]
    fn a_model_sized_image_without_border_is_used_as_is() {
        let img = RgbImage::from_fn(64, 64, |x, y| testframes::texture(x as usize, y as usize));
        let out = Preprocessor::new(64, Normalization::Bit)
            .unwrap()
            .prepare(&img)
            .unwrap();
        assert_eq!(out.image, img);
        assert_eq!(
            out.crop,
            Crop {
                x: 0,
                y: 0,
                side: 64
            }
        );
        // The general path gives the same bytes.
        let general = resize::resize_masked(
            RgbView::from_image(&img),
            &out.area,
            out.crop.rect(),
            64,
            64,
        );
        assert_eq!(general, img);
    }

    #[test]
    fn strided_frames_prepare_like_packed_ones() {
        let frame = testframes::tower(640, 360, Outline::Octagon);
        let (w, h) = (640, 360);
        let stride = w * 3 + 5;
        let mut padded = vec![77u8; stride * h];
        for (y, row) in frame.image.as_raw().chunks_exact(w * 3).enumerate() {
            padded[y * stride..][..w * 3].copy_from_slice(row);
        }
        let pre = Preprocessor::new(64, Normalization::Bit).unwrap();
        let view = RgbView::new(&padded, w, h, stride).unwrap();
        assert_eq!(
            pre.prepare_view(view).unwrap(),
            pre.prepare(&frame.image).unwrap()
        );
    }

    #[test]
    fn errors_instead_of_panicking() {
        let pre = Preprocessor::new(64, Normalization::Bit).unwrap();
        let err = pre.prepare(&RgbImage::new(100, 50)).unwrap_err();
        assert!(err.to_string().contains("100x50"), "{err}");
        assert!(Preprocessor::new(0, Normalization::Bit).is_err());
        let bad = AreaSettings {
            cell: 0,
            ..Default::default()
        };
        assert!(pre.clone().with_area_settings(bad).is_err());
        let area = ContentArea::full(10, 10);
        let img = RgbImage::new(20, 20);
        assert!(pre
            .prepare_in_area(RgbView::from_image(&img), area)
            .is_err());
    }
}
