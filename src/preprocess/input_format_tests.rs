use super::*;
use crate::overlay::yuv::Matrix;

fn rgb_frame(w: u32, h: u32) -> RgbImage {
    RgbImage::from_fn(w, h, |x, y| {
        image::Rgb([
            (x * 37 % 256) as u8,
            (y * 53 % 256) as u8,
            ((x + y) * 11 % 256) as u8,
        ])
    })
}

#[test]
fn packed_formats_read_their_channel_offsets() {
    let img = rgb_frame(7, 5);
    for format in [
        RawLayout::Rgbx,
        RawLayout::Bgrx,
        RawLayout::Rgba,
        RawLayout::Bgra,
    ] {
        let layout = InputLayout::packed(format, 7, 5);
        let [r, g, b] = format.packed().unwrap().rgb;
        let mut data = vec![0xEEu8; layout.frame_bytes()];
        for (i, p) in img.pixels().enumerate() {
            data[4 * i + r] = p.0[0];
            data[4 * i + g] = p.0[1];
            data[4 * i + b] = p.0[2];
        }
        assert_eq!(layout.to_rgb(&data).unwrap(), img, "{format:?}");
    }
    let rgb = InputLayout::packed(RawLayout::Rgb, 7, 5);
    assert_eq!(rgb.to_rgb(img.as_raw()).unwrap(), img);
}

/// NV12 and I420 bytes of a frame whose luma is `luma(x, y)` and whose chroma is constant.
fn planar(
    format: RawLayout,
    w: usize,
    h: usize,
    luma: impl Fn(usize, usize) -> u8,
    u: u8,
    v: u8,
) -> Vec<u8> {
    let layout = InputLayout::packed(format, w, h);
    let mut data = vec![0u8; layout.frame_bytes()];
    for y in 0..h {
        for x in 0..w {
            data[y * w + x] = luma(x, y);
        }
    }
    let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
    for j in 0..ch {
        for i in 0..cw {
            if format == RawLayout::Nv12 {
                data[layout.u_offset + j * layout.chroma_stride + 2 * i] = u;
                data[layout.u_offset + j * layout.chroma_stride + 2 * i + 1] = v;
            } else {
                data[layout.u_offset + j * layout.chroma_stride + i] = u;
                data[layout.v_offset + j * layout.chroma_stride + i] = v;
            }
        }
    }
    data
}

#[test]
fn limited_range_black_white_and_grey() {
    for format in [RawLayout::Nv12, RawLayout::I420] {
        let data = planar(format, 5, 3, |x, _| [16, 235, 126, 0, 255][x], 128, 128);
        let img = InputLayout::packed(format, 5, 3).to_rgb(&data).unwrap();
        let row: Vec<[u8; 3]> = (0..5).map(|x| img.get_pixel(x, 1).0).collect();
        // 126 → (126 − 16) · 255/219 = 128.08; below 16 and above 235 clamp.
        assert_eq!(
            row,
            [[0; 3], [255; 3], [128; 3], [0; 3], [255; 3]],
            "{:?}",
            format
        );
    }
}

#[test]
fn colours_agree_with_the_float_conversion_within_one_level() {
    // The float conversion of the overlay (independent arithmetic) on every 8th Y, U, V.
    for (h, matrix) in [(480, Matrix::Bt601), (720, Matrix::Bt709)] {
        let to_rgb = matrix.to_rgb();
        for u in (0..=255u8).step_by(8) {
            for v in (0..=255u8).step_by(8) {
                let data = planar(RawLayout::I420, 32, h, |x, _| (x * 8) as u8, u, v);
                let layout = InputLayout::packed(RawLayout::I420, 32, h);
                let k = layout.yuv_coefficients();
                for x in 0..32 {
                    let ours = layout.rgb_at(&data, &k, x, h - 1);
                    let float = to_rgb.convert((x * 8) as u8, u, v);
                    for c in 0..3 {
                        assert!(
                            ours[c].abs_diff(float[c]) <= 1,
                            "{matrix:?} y {} u {u} v {v}: {ours:?} vs {float:?}",
                            x * 8
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn chroma_is_the_nearest_sample_and_odd_sizes_fit() {
    // 3×3 I420: chroma 2×2; pixel (2, 2) reads chroma (1, 1).
    let layout = InputLayout::packed(RawLayout::I420, 3, 3);
    assert_eq!(layout.frame_bytes(), 9 + 4 + 4);
    let mut data = vec![128u8; 17];
    data[..9].fill(126);
    data[9 + 3] = 255; // U of chroma (1, 1): strongly blue
    let img = layout.to_rgb(&data).unwrap();
    assert!(img.get_pixel(2, 2).0[2] > 200 && img.get_pixel(0, 0).0[2] < 140);
    assert_eq!(img.get_pixel(2, 2), img.get_pixel(2, 3 - 1));
    assert!(
        layout.to_rgb(&data[..16]).is_err(),
        "a short buffer is an error"
    );
    let nv12 = InputLayout::packed(RawLayout::Nv12, 3, 3);
    assert_eq!(nv12.frame_bytes(), 9 + 2 * 4);
}
