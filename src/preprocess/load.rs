//! Reading still images: PNG, JPEG and PPM (any PNM), recognized by content, not by name.

use std::io::{BufRead, Cursor, Seek};
use std::path::Path;

use image::{ImageFormat, ImageReader, RgbImage};

use super::PreprocessError;
use crate::capture::integrity;

/// Reads the image at `path` as 8-bit RGB (grey and alpha are converted, alpha dropped).
/// A file that fails the [`integrity`] checks (truncated JPEG or PNG, bad CRC) is an error:
/// decoders would fill the missing part with gray and return a picture.
pub fn read_rgb(path: &Path) -> Result<RgbImage, PreprocessError> {
    let bytes = std::fs::read(path).map_err(|source| PreprocessError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    integrity::check(&bytes).map_err(|reason| PreprocessError::Damaged {
        path: path.to_path_buf(),
        reason,
    })?;
    decode_rgb(Cursor::new(bytes)).map_err(|e| e.at(path))
}

/// Decodes an image from a reader; errors carry no path (see [`read_rgb`]).
pub fn decode_rgb<R: BufRead + Seek>(reader: R) -> Result<RgbImage, PreprocessError> {
    let unnamed = || Path::new("<memory>").to_path_buf();
    let reader = ImageReader::new(reader)
        .with_guessed_format()
        .map_err(|source| PreprocessError::Read {
            path: unnamed(),
            source,
        })?;
    match reader.format() {
        Some(ImageFormat::Png | ImageFormat::Jpeg | ImageFormat::Pnm) => {}
        found => {
            return Err(PreprocessError::Format {
                path: unnamed(),
                found: found.map(|f| format!("{f:?}")),
            })
        }
    }
    let image = reader.decode().map_err(|source| PreprocessError::Decode {
        path: unnamed(),
        source,
    })?;
    Ok(image.into_rgb8())
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;

    use super::*;

    #[test]
    fn decodes_binary_ppm_by_content() {
        let ppm = b"P6\n2 1\n255\n\x01\x02\x03\xff\x80\x00";
        let img = decode_rgb(Cursor::new(&ppm[..])).unwrap();
        assert_eq!(img.as_raw(), &[1, 2, 3, 255, 128, 0]);
    }

    #[test]
    fn a_truncated_file_is_damaged_not_a_gray_picture() {
        let dir = std::env::temp_dir().join(format!("endoscan-load-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let img = RgbImage::from_fn(64, 48, |x, y| image::Rgb([x as u8 * 3, y as u8 * 4, 77]));
        let path = dir.join("cut.png");
        img.save(&path).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        assert!(read_rgb(&path).is_ok());
        std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
        let err = read_rgb(&path).unwrap_err().to_string();
        assert!(
            err.contains("cut.png") && err.contains("truncated"),
            "{err}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn names_what_it_cannot_read() {
        let err = decode_rgb(Cursor::new(&b"hello, not an image"[..])).unwrap_err();
        assert!(err.to_string().contains("not a PNG, JPEG or PPM"), "{err}");
        let gif = decode_rgb(Cursor::new(&b"GIF89a\x01\x00\x01\x00"[..])).unwrap_err();
        assert!(gif.to_string().contains("Gif"), "{gif}");
        let truncated = decode_rgb(Cursor::new(&b"\x89PNG\r\n\x1a\n\0\0"[..])).unwrap_err();
        assert!(truncated.to_string().contains("corrupt"), "{truncated}");
        let err = read_rgb(Path::new("/no/such/frame.png")).unwrap_err();
        assert!(err.to_string().starts_with("/no/such/frame.png: "), "{err}");
    }
}
