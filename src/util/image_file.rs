//! Still-image files: the one list of extensions read as images (what the `image` dependency
//! is built with) and the one decoder of their bytes, shared by datasets and capture.

use std::io::Cursor;

use image::RgbImage;

/// File extensions read as images, lower case.
pub const IMAGE_EXTENSIONS: [&str; 7] = ["png", "jpg", "jpeg", "ppm", "pgm", "pbm", "pnm"];

/// Whether `ext` (without the dot, any case) is one of [`IMAGE_EXTENSIONS`].
pub fn is_image_extension(ext: &str) -> bool {
    IMAGE_EXTENSIONS.iter().any(|e| e.eq_ignore_ascii_case(ext))
}

/// Decodes an image file's bytes to 8-bit RGB (grey and alpha converted); `Err` is the reason
/// they are not a usable image.
pub fn decode_rgb_bytes(bytes: &[u8]) -> Result<RgbImage, String> {
    if bytes.is_empty() {
        return Err("empty file".into());
    }
    let reader = image::ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| format!("cannot read: {e}"))?;
    if reader.format().is_none() {
        return Err("not an image in a supported format (PNG, JPEG, PNM)".into());
    }
    let img = reader.decode().map_err(|e| format!("cannot decode: {e}"))?;
    Ok(img.into_rgb8())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extensions_match_in_any_case() {
        assert!(is_image_extension("PNG") && is_image_extension("pbm"));
        assert!(!is_image_extension("bmp") && !is_image_extension(""));
    }

    #[test]
    fn decoding_names_the_problem() {
        assert_eq!(decode_rgb_bytes(b"").unwrap_err(), "empty file");
        assert!(decode_rgb_bytes(b"hello")
            .unwrap_err()
            .contains("supported format"));
        let img = decode_rgb_bytes(b"P6\n1 1\n255\n\x01\x02\x03").unwrap();
        assert_eq!(img.get_pixel(0, 0).0, [1, 2, 3]);
    }
}
