use super::*;
use crate::overlay::draw;
use crate::preprocess::{AreaSettings, Plane, RgbView, Span};

/// Bytes no drawing should touch unless it means to.
const UNTOUCHED: u8 = 0xAA;
const PACKED: [RawLayout; 6] = [
    RawLayout::Rgb,
    RawLayout::Bgr,
    RawLayout::Rgbx,
    RawLayout::Bgrx,
    RawLayout::Rgba,
    RawLayout::Bgra,
];

/// One plane of `rows` rows of `stride` bytes, all [`UNTOUCHED`].
fn plane(stride: usize, rows: usize) -> (Vec<u8>, usize) {
    (vec![UNTOUCHED; stride * rows], stride)
}

fn canvas<'a>(layout: RawLayout, w: u32, h: u32, planes: &'a mut [(Vec<u8>, usize)]) -> Canvas<'a> {
    let planes = planes
        .iter_mut()
        .map(|(b, s)| (b.as_mut_slice(), *s))
        .collect();
    Canvas::new(layout, w, h, planes).unwrap()
}

/// The planes of a `w × h` frame of `layout` with `pad` padding bytes after every row.
fn frame(layout: RawLayout, w: u32, h: u32, pad: usize) -> Vec<(Vec<u8>, usize)> {
    (0..layout.planes())
        .map(|i| {
            let (row, rows) = layout.plane_size(i, w, h);
            plane(row + pad, rows)
        })
        .collect()
}

/// An area found in a hand-drawn frame: bright where `inside(x, y)`, black elsewhere.
fn area(w: u32, h: u32, inside: impl Fn(u32, u32) -> bool) -> ContentArea {
    let img = image::RgbImage::from_fn(w, h, |x, y| {
        image::Rgb(if inside(x, y) { [200; 3] } else { [0; 3] })
    });
    let settings = AreaSettings {
        cell: 1,
        min_area_fraction: 0.0,
        ..AreaSettings::default()
    };
    ContentArea::detect(&Plane::brightness(RgbView::from_image(&img)), &settings).unwrap()
}

#[test]
fn packed_layouts_write_their_channel_order_and_nothing_else() {
    let expected: [[u8; 4]; 6] = [
        [10, 20, 30, 0],
        [30, 20, 10, 0],
        [10, 20, 30, UNTOUCHED],
        [30, 20, 10, UNTOUCHED],
        [10, 20, 30, 255],
        [30, 20, 10, 255],
    ];
    for (layout, want) in PACKED.into_iter().zip(expected) {
        let mut planes = frame(layout, 5, 3, 3);
        canvas(layout, 5, 3, &mut planes).fill_rect(1, 1, 4, 9, [10, 20, 30]);
        let (bytes, stride) = &planes[0];
        let bpp = layout.plane_size(0, 1, 1).0;
        for y in 0..3 {
            for x in 0..5 {
                let px = &bytes[y * stride + x * bpp..y * stride + (x + 1) * bpp];
                if (1..4).contains(&x) && y >= 1 {
                    assert_eq!(px, &want[..bpp], "{layout:?} {x},{y}");
                } else {
                    assert!(px.iter().all(|&b| b == UNTOUCHED), "{layout:?} {x},{y}");
                }
            }
            let pad = &bytes[y * stride + 5 * bpp..(y + 1) * stride];
            assert!(pad.iter().all(|&b| b == UNTOUCHED), "{layout:?} padding");
        }
    }
}

#[test]
fn nv12_red_in_bt601_with_an_odd_size() {
    // 5 × 3: Y stride 7 (2 padding), chroma 3 × 2 samples, UV stride 8 (2 padding).
    let mut planes = vec![plane(7, 3), plane(8, 2)];
    canvas(RawLayout::Nv12, 5, 3, &mut planes).fill_rect(1, 0, 3, 1, [255, 0, 0]);
    let (y, uv) = (&planes[0].0, &planes[1].0);
    for (i, &b) in y.iter().enumerate() {
        let want = if i == 1 || i == 2 { 81 } else { UNTOUCHED };
        assert_eq!(b, want, "Y byte {i}");
    }
    // x 1..3 touches chroma columns 0 and 1 of chroma row 0.
    for (i, &b) in uv.iter().enumerate() {
        let want = match i {
            0 | 2 => 90,
            1 | 3 => 240,
            _ => UNTOUCHED,
        };
        assert_eq!(b, want, "UV byte {i}");
    }
}

#[test]
fn i420_white_fills_every_plane_up_to_the_odd_edge() {
    // 5 × 3: chroma 3 × 2, every plane with one padding byte.
    let mut planes = vec![plane(6, 3), plane(4, 2), plane(4, 2)];
    canvas(RawLayout::I420, 5, 3, &mut planes).fill_rect(-10, -10, 100, 100, [255, 255, 255]);
    for (i, (bytes, stride)) in planes.iter().enumerate() {
        let (fill, row) = if i == 0 { (235, 5) } else { (128, 3) };
        for (j, &b) in bytes.iter().enumerate() {
            let want = if j % stride < row { fill } else { UNTOUCHED };
            assert_eq!(b, want, "plane {i} byte {j}");
        }
    }
}

#[test]
fn hd_frames_use_bt709() {
    let mut planes = frame(RawLayout::I420, 4, 720, 0);
    canvas(RawLayout::I420, 4, 720, &mut planes).fill_rect(0, 0, 2, 2, [255, 0, 0]);
    assert_eq!(
        [planes[0].0[0], planes[1].0[0], planes[2].0[0]],
        [63, 102, 240]
    );
    assert_eq!(planes[1].0[1], UNTOUCHED);
}

#[test]
fn planes_that_do_not_fit_are_rejected_with_their_sizes() {
    let mut a = [0u8; 100];
    let err = Canvas::new(RawLayout::Nv12, 4, 4, vec![(&mut a[..], 4)])
        .err()
        .unwrap();
    assert_eq!(err.to_string(), "Nv12 frame: expected 2 plane(s), got 1");
    let (mut y, mut uv) = (vec![0u8; 16], vec![0u8; 7]);
    let err = Canvas::new(
        RawLayout::Nv12,
        4,
        4,
        vec![(&mut y[..], 4), (&mut uv[..], 4)],
    );
    assert_eq!(
        err.err().unwrap().to_string(),
        "Nv12 plane 1: 7 bytes is too small for 2 rows of stride 4 (8 needed)"
    );
    let mut rgb = [0u8; 100];
    let err = Canvas::new(RawLayout::Rgbx, 4, 2, vec![(&mut rgb[..], 12)])
        .err()
        .unwrap();
    assert_eq!(
        err.to_string(),
        "Rgbx plane 0: stride 12 is shorter than a row of 16 bytes"
    );
    let err = Canvas::new(RawLayout::Rgb, 0, 2, vec![(&mut rgb[..], 12)])
        .err()
        .unwrap();
    assert!(err.to_string().contains("0×2"), "{err}");
    let err = raw_to_rgb(RawLayout::I420, 4, 4, &[(&[0u8; 16][..], 4)]).unwrap_err();
    assert!(err.to_string().contains("expected 3"), "{err}");
    // The last row may end at its last pixel: 2 rows of stride 10 need 10 + 6 bytes.
    let mut tight = [0u8; 16];
    assert!(Canvas::new(RawLayout::Rgb, 2, 2, vec![(&mut tight[..], 10)]).is_ok());
}

#[test]
fn masking_a_packed_frame_keeps_exactly_the_inside() {
    // A diamond-ish convex area in 8 × 6.
    let inside = |x: u32, y: u32| (1..5).contains(&y) && (2..6).contains(&x) && !(y == 1 && x == 2);
    let area = area(8, 6, inside);
    assert_eq!(area.span(0), Span::default());
    assert_eq!(area.span(1), Span { start: 3, end: 6 });
    assert_eq!(area.span(2), Span { start: 2, end: 6 });
    let mut planes = vec![(vec![77u8; 8 * 6 * 4], 32)];
    canvas(RawLayout::Bgra, 8, 6, &mut planes).mask_outside(Some(&area));
    for y in 0..6u32 {
        for x in 0..8u32 {
            let i = (y * 32 + x * 4) as usize;
            let want = if area.contains(x as usize, y as usize) {
                [77; 4]
            } else {
                [0, 0, 0, 255]
            };
            assert_eq!(planes[0].0[i..i + 4], want, "{x},{y}");
        }
    }
    // Without an area, or with one of another frame, everything goes.
    for other in [None, Some(&ContentArea::full(8, 5))] {
        let mut planes = vec![(vec![77u8; 8 * 6 * 3], 24)];
        canvas(RawLayout::Rgb, 8, 6, &mut planes).mask_outside(other);
        assert!(planes[0].0.iter().all(|&b| b == 0));
    }
}

#[test]
fn masking_nv12_fails_closed_on_chroma() {
    // Area x 3..7, y 1..5 in 8 × 6; chroma 4 × 3 samples.
    let area = area(8, 6, |x, y| (3..7).contains(&x) && (1..5).contains(&y));
    let mut planes = vec![(vec![200u8; 48], 8), (vec![60u8; 24], 8)];
    canvas(RawLayout::Nv12, 8, 6, &mut planes).mask_outside(Some(&area));
    for y in 0..6 {
        for x in 0..8 {
            let inside = (3..7).contains(&x) && (1..5).contains(&y);
            let want = if inside { 200 } else { 16 };
            assert_eq!(planes[0].0[y * 8 + x], want, "Y {x},{y}");
        }
    }
    // Only chroma sample (2, 1) (pixels 4..6 × 2..4) lies wholly inside.
    for cy in 0..3 {
        for cx in 0..4 {
            let want = if (cx, cy) == (2, 1) {
                [60, 60]
            } else {
                [128, 128]
            };
            let i = cy * 8 + 2 * cx;
            assert_eq!(planes[1].0[i..i + 2], want, "UV {cx},{cy}");
        }
    }
}

#[test]
fn masking_i420_keeps_the_full_frame_area_whole() {
    let mut planes = vec![(vec![90u8; 15], 5), (vec![70u8; 6], 3), (vec![80u8; 6], 3)];
    canvas(RawLayout::I420, 5, 3, &mut planes).mask_outside(Some(&ContentArea::full(5, 3)));
    assert!(planes[0].0.iter().all(|&b| b == 90));
    assert!(
        planes[1].0.iter().all(|&b| b == 70),
        "odd edge samples are inside"
    );
    assert!(planes[2].0.iter().all(|&b| b == 80));
}

#[test]
fn packed_frames_convert_to_rgb_exactly() {
    let bgrx = [3u8, 2, 1, 9, 6, 5, 4, 9, 0, 0];
    let img = raw_to_rgb(RawLayout::Bgrx, 2, 1, &[(&bgrx[..], 10)]).unwrap();
    assert_eq!(img.as_raw(), &vec![1, 2, 3, 4, 5, 6]);
    for layout in PACKED {
        let mut planes = frame(layout, 3, 2, 5);
        let colour = |x: u32, y: u32| [x as u8 * 40, y as u8 * 90 + 1, 200 - x as u8];
        let mut c = canvas(layout, 3, 2, &mut planes);
        for y in 0..2 {
            for x in 0..3 {
                c.fill_rect(x, y, x + 1, y + 1, colour(x as u32, y as u32));
            }
        }
        assert_eq!(c.rgb_at(2, 1), Some(colour(2, 1)));
        assert_eq!(c.rgb_at(3, 0), None);
        drop(c);
        let views: Vec<(&[u8], usize)> = planes.iter().map(|(b, s)| (&b[..], *s)).collect();
        let img = raw_to_rgb(layout, 3, 2, &views).unwrap();
        for (x, y, p) in img.enumerate_pixels() {
            assert_eq!(p.0, colour(x, y), "{layout:?} {x},{y}");
        }
    }
}

#[test]
fn yuv_frames_convert_to_rgb_within_two() {
    let colours = [
        [128, 128, 128],
        [255, 0, 0],
        [0, 255, 0],
        [0, 0, 255],
        [255, 255, 255],
        [0, 0, 0],
    ];
    for (layout, w, h) in [
        (RawLayout::Nv12, 7, 5),
        (RawLayout::I420, 7, 5),
        (RawLayout::Nv12, 4, 720),
        (RawLayout::I420, 3, 720),
    ] {
        for rgb in colours {
            let mut planes = frame(layout, w, h, 2);
            draw::fill_rect(&mut canvas(layout, w, h, &mut planes), 0, 0, 99, 999, rgb);
            let views: Vec<(&[u8], usize)> = planes.iter().map(|(b, s)| (&b[..], *s)).collect();
            let img = raw_to_rgb(layout, w, h, &views).unwrap();
            for p in img.pixels() {
                for (a, b) in p.0.iter().zip(rgb) {
                    assert!(
                        (i32::from(*a) - i32::from(b)).abs() <= 2,
                        "{layout:?} {h} {rgb:?} → {:?}",
                        p.0
                    );
                }
            }
        }
    }
}
