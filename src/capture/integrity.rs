//! Integrity checks of image files before they are decoded: decoders fill what a truncated
//! file lacks with gray and report no error, so a damaged capsule image would be scored as a
//! picture. The format is told by content, not by the file name.
//!
//! * JPEG: starts with SOI, holds a start-of-scan and ends with the EOI marker (trailing zero
//!   padding allowed).
//! * PNG: the signature, then chunks whose CRC-32 match, an `IHDR` first, at least one `IDAT`,
//!   and `IEND`.
//! * Binary PNM (`P5`/`P6`): the header's width × height × depth bytes are all there.
//!
//! Other content is left to the decoder.

/// The image formats told apart by content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageKind {
    Jpeg,
    Png,
    Pnm,
    Other,
}

impl ImageKind {
    /// The format of `bytes`, from their magic number.
    pub fn of(bytes: &[u8]) -> Self {
        if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
            ImageKind::Jpeg
        } else if bytes.starts_with(PNG_SIGNATURE) {
            ImageKind::Png
        } else if bytes.len() > 2 && bytes[0] == b'P' && matches!(bytes[1], b'5' | b'6') {
            ImageKind::Pnm
        } else {
            ImageKind::Other
        }
    }

    /// File extensions this format goes by.
    pub fn extensions(self) -> &'static [&'static str] {
        match self {
            ImageKind::Jpeg => &["jpg", "jpeg"],
            ImageKind::Png => &["png"],
            ImageKind::Pnm => &["ppm", "pgm", "pnm"],
            ImageKind::Other => &[],
        }
    }
}

const PNG_SIGNATURE: &[u8] = &[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];

/// Checks an image file's bytes; the error says what is damaged.
pub fn check(bytes: &[u8]) -> Result<ImageKind, String> {
    let kind = ImageKind::of(bytes);
    match kind {
        ImageKind::Jpeg => check_jpeg(bytes),
        ImageKind::Png => check_png(bytes),
        ImageKind::Pnm => check_pnm(bytes),
        ImageKind::Other => Ok(()),
    }
    .map(|()| kind)
}

fn check_jpeg(bytes: &[u8]) -> Result<(), String> {
    let end = bytes.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
    if end < 4 || bytes[end - 2..end] != [0xFF, 0xD9] {
        return Err(format!(
            "JPEG without its end-of-image marker: truncated after {} bytes",
            bytes.len()
        ));
    }
    if !bytes.windows(2).any(|w| w == [0xFF, 0xDA]) {
        return Err("JPEG without image data (no start-of-scan marker)".into());
    }
    Ok(())
}

fn check_png(bytes: &[u8]) -> Result<(), String> {
    let mut at = PNG_SIGNATURE.len();
    let mut seen_idat = false;
    let mut first = true;
    loop {
        let Some(header) = bytes.get(at..at + 8) else {
            return Err(format!(
                "PNG without its IEND chunk: truncated after {} bytes",
                bytes.len()
            ));
        };
        let len = u32::from_be_bytes([header[0], header[1], header[2], header[3]]) as usize;
        let kind = &header[4..8];
        let name = String::from_utf8_lossy(kind).into_owned();
        let Some(body) = bytes.get(at + 4..at + 8 + len) else {
            return Err(format!(
                "PNG chunk {name} at byte {at} runs past the end of the file ({} bytes): truncated",
                bytes.len()
            ));
        };
        let Some(stored) = bytes.get(at + 8 + len..at + 12 + len) else {
            return Err(format!(
                "PNG chunk {name} at byte {at} lacks its CRC: truncated"
            ));
        };
        let stored = u32::from_be_bytes([stored[0], stored[1], stored[2], stored[3]]);
        if crc32fast::hash(body) != stored {
            return Err(format!("PNG chunk {name} at byte {at} fails its CRC check"));
        }
        if first && kind != b"IHDR" {
            return Err(format!("PNG starts with chunk {name}, not IHDR"));
        }
        first = false;
        match kind {
            b"IDAT" => seen_idat = true,
            b"IEND" if !seen_idat => return Err("PNG without image data (no IDAT)".into()),
            b"IEND" => return Ok(()),
            _ => {}
        }
        at += 12 + len;
    }
}

fn check_pnm(bytes: &[u8]) -> Result<(), String> {
    let depth = if bytes[1] == b'6' { 3 } else { 1 };
    let mut fields = Vec::new();
    let mut at = 2;
    while fields.len() < 3 {
        while at < bytes.len() && (bytes[at].is_ascii_whitespace() || bytes[at] == b'#') {
            if bytes[at] == b'#' {
                while at < bytes.len() && bytes[at] != b'\n' {
                    at += 1;
                }
            } else {
                at += 1;
            }
        }
        let start = at;
        while at < bytes.len() && bytes[at].is_ascii_digit() {
            at += 1;
        }
        let field = std::str::from_utf8(&bytes[start..at])
            .ok()
            .and_then(|t| t.parse::<u64>().ok())
            .ok_or("PNM header is damaged")?;
        fields.push(field);
    }
    let sample_bytes = if fields[2] > 255 { 2 } else { 1 };
    let need = fields[0] * fields[1] * depth * sample_bytes;
    let have = bytes.len().saturating_sub(at + 1) as u64;
    if have < need {
        return Err(format!(
            "PNM holds {have} of its {need} pixel bytes: truncated"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoded(format: image::ImageFormat) -> Vec<u8> {
        let img =
            image::RgbImage::from_fn(40, 30, |x, y| image::Rgb([x as u8 * 6, y as u8 * 8, 90]));
        if format == image::ImageFormat::Pnm {
            // Binary PPM (P6); the image crate writes PAM (P7) for Pnm.
            let mut bytes = b"P6\n40 30\n255\n".to_vec();
            bytes.extend_from_slice(img.as_raw());
            return bytes;
        }
        let mut out = std::io::Cursor::new(Vec::new());
        img.write_to(&mut out, format).unwrap();
        out.into_inner()
    }

    #[test]
    fn whole_files_pass_and_cut_files_fail() {
        for (format, kind) in [
            (image::ImageFormat::Jpeg, ImageKind::Jpeg),
            (image::ImageFormat::Png, ImageKind::Png),
            (image::ImageFormat::Pnm, ImageKind::Pnm),
        ] {
            let bytes = encoded(format);
            assert_eq!(check(&bytes), Ok(kind), "{format:?}");
            let cut = &bytes[..bytes.len() * 2 / 3];
            let err = check(cut).unwrap_err();
            assert!(err.contains("truncated"), "{format:?}: {err}");
        }
    }

    #[test]
    fn a_flipped_png_byte_fails_its_crc() {
        let mut bytes = encoded(image::ImageFormat::Png);
        let i = bytes.len() / 2;
        bytes[i] ^= 0x40;
        let err = check(&bytes).unwrap_err();
        assert!(err.contains("CRC"), "{err}");
    }

    #[test]
    fn jpeg_padding_after_the_end_marker_is_fine() {
        let mut bytes = encoded(image::ImageFormat::Jpeg);
        bytes.extend([0u8; 16]);
        assert_eq!(check(&bytes), Ok(ImageKind::Jpeg));
        assert_eq!(check(b"GIF89a..."), Ok(ImageKind::Other));
    }
}
