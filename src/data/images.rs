//! One image of a dataset: decoding it, checking it (size, content hash) and preparing it
//! for a model exactly as deployment does.

use std::path::Path;

use image::RgbImage;
use sha2::{Digest, Sha256};

use super::{BadImage, DataError};
use crate::preprocess::{read_rgb, Preprocessor};
use crate::util::image_file::decode_rgb_bytes;

/// Image extensions recognised but not decodable by this build: listed as bad, not ignored.
pub(super) const UNSUPPORTED_EXTENSIONS: [&str; 6] = ["bmp", "tif", "tiff", "webp", "gif", "dcm"];

/// Reads and decodes an image file to 8-bit RGB.
pub fn decode_rgb(path: &Path) -> Result<RgbImage, DataError> {
    let bytes = std::fs::read(path).map_err(|source| DataError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    decode_rgb_bytes(&bytes).map_err(|reason| DataError::Image {
        path: path.to_path_buf(),
        reason,
    })
}

/// Reads, hashes and decodes one file; `Err` is the reason it is unusable.
pub(super) fn check_image(path: &Path, min_side: u32) -> Result<[u8; 32], String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read: {e}"))?;
    let img = decode_rgb_bytes(&bytes)?;
    let (w, h) = img.dimensions();
    if w.min(h) < min_side {
        return Err(format!("odd size {w}×{h} (sides under {min_side} px)"));
    }
    Ok(Sha256::digest(&bytes).into())
}

/// Reads and prepares one image; the error is the reason it cannot be used. How `train` and
/// `eval` prepare the images of a dataset.
pub fn prepare_one(pre: &Preprocessor, path: &std::path::Path) -> Result<RgbImage, BadImage> {
    read_rgb(path)
        .and_then(|frame| pre.prepare(&frame))
        .map(|p| p.image)
        .map_err(|e| BadImage {
            path: path.to_path_buf(),
            reason: reason(&e, path),
        })
}

/// An error and its causes, without the leading file name.
fn reason(e: &dyn std::error::Error, path: &std::path::Path) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    let prefix = format!("{}: ", path.display());
    text.strip_prefix(&prefix)
        .map(str::to_string)
        .unwrap_or(text)
}
