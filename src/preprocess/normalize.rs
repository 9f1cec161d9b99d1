//! Normalization: 8-bit RGB image → planar (NCHW) f32 model input.
//!
//! Layout: channel-major, `out[c·H·W + y·W + x]` for channel `c` ∈ {R, G, B}. Value:
//! `pixel as f32 * scale + offset` with `(scale, offset)` from
//! [`Normalization::scale_offset`], one f32 multiply then one f32 add (a fused multiply-add
//! differs by at most one ulp).

use image::RgbImage;
use ndarray::Array4;

use super::PreprocessError;
use crate::model::Normalization;

/// Writes `image` normalized into `out` (NCHW, exactly `3 · width · height` values).
pub fn normalize_into(
    image: &RgbImage,
    norm: Normalization,
    out: &mut [f32],
) -> Result<(), PreprocessError> {
    let plane = image.width() as usize * image.height() as usize;
    if out.len() != 3 * plane {
        return Err(PreprocessError::BufferSize {
            expected: 3 * plane,
            got: out.len(),
        });
    }
    let (scale, offset) = norm.scale_offset();
    let (r, rest) = out.split_at_mut(plane);
    let (g, b) = rest.split_at_mut(plane);
    for (i, p) in image.as_raw().chunks_exact(3).enumerate() {
        r[i] = f32::from(p[0]) * scale + offset;
        g[i] = f32::from(p[1]) * scale + offset;
        b[i] = f32::from(p[2]) * scale + offset;
    }
    Ok(())
}

/// Normalizes equally sized square images into one `[N, 3, S, S]` batch.
pub fn normalize_batch(
    images: &[&RgbImage],
    norm: Normalization,
) -> Result<Array4<f32>, PreprocessError> {
    let (w, h) = images
        .first()
        .map_or((0, 0), |i| (i.width() as usize, i.height() as usize));
    let mut batch = Array4::<f32>::zeros((images.len(), 3, h, w));
    let data = batch
        .as_slice_mut()
        .expect("a freshly allocated array is contiguous");
    for (image, out) in images.iter().zip(data.chunks_exact_mut((3 * w * h).max(1))) {
        normalize_into(image, norm, out)?;
    }
    Ok(batch)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_planes_in_rgb_order() {
        let img = RgbImage::from_fn(2, 1, |x, _| image::Rgb([x as u8, 255, 0]));
        let mut out = [0.0; 6];
        normalize_into(&img, Normalization::Unit, &mut out).unwrap();
        assert_eq!(out, [0.0, 1.0 / 255.0, 1.0, 1.0, 0.0, 0.0]);
        normalize_into(&img, Normalization::Bit, &mut out).unwrap();
        assert_eq!(out[..2], [-1.0, 1.0f32 / 127.5 - 1.0]);
        assert!((out[2] - 1.0).abs() < 1e-6);
    }

    #[test]
    fn rejects_a_wrong_buffer_and_mixed_sizes() {
        let img = RgbImage::new(2, 2);
        assert!(normalize_into(&img, Normalization::Bit, &mut [0.0; 11]).is_err());
        let other = RgbImage::new(3, 3);
        assert!(normalize_batch(&[&img, &other], Normalization::Bit).is_err());
        assert_eq!(
            normalize_batch(&[&img, &img], Normalization::Bit)
                .unwrap()
                .dim(),
            (2, 3, 2, 2)
        );
    }
}
