//! The frames `endoscan-gpu-check` feeds both paths: random bytes in every input format, black
//! (in that format) outside a tower-like image area, so that detection, masking and every
//! conversion are exercised on content no filter smooths away.

use crate::overlay::raw::RawLayout;
use crate::preprocess::input_format::InputLayout;
use crate::preprocess::{AreaSettings, ContentArea, Plane};
use crate::rng::{Rng, Train};

/// Frame sizes checked: 1080p and 720p towers, PAL SD, a square capsule frame and an odd size.
pub const SIZES: [(usize, usize); 5] = [
    (1920, 1080),
    (1280, 720),
    (720, 576),
    (576, 576),
    (333, 201),
];

/// One frame in one input format.
#[derive(Debug, Clone)]
pub struct CheckFrame {
    pub layout: InputLayout,
    pub data: Vec<u8>,
}

/// A disc right of centre (a tower's image, the panel's place left of it black), found the
/// way the product finds areas.
pub fn tower_area(width: usize, height: usize) -> ContentArea {
    let mut plane = Plane::filled(width, height, 0);
    let (cx, cy) = (0.6 * width as f64, 0.5 * height as f64);
    let r = 0.45 * width.min(height) as f64;
    for y in 0..height {
        for (x, v) in plane.row_mut(y).iter_mut().enumerate() {
            let (dx, dy) = (x as f64 + 0.5 - cx, y as f64 + 0.5 - cy);
            if dx * dx + dy * dy <= r * r {
                *v = 255;
            }
        }
    }
    ContentArea::detect(&plane, &AreaSettings::default())
        .unwrap_or_else(|| ContentArea::full(width, height))
}

/// `count` random frames of `format` (seeded by `seed`), black outside `area`.
pub fn random_frames(
    format: RawLayout,
    area: &ContentArea,
    count: usize,
    seed: u64,
) -> Vec<CheckFrame> {
    let (width, height) = area.frame_size();
    let layout = InputLayout::packed(format, width, height);
    (0..count as u64)
        .map(|i| {
            let mut rng = Rng::<Train>::new(seed.wrapping_mul(1_000_003).wrapping_add(i));
            let mut data = vec![0u8; layout.frame_bytes()];
            for chunk in data.chunks_mut(8) {
                let bytes = rng.next_u64().to_le_bytes();
                chunk.copy_from_slice(&bytes[..chunk.len()]);
            }
            blacken_outside(&layout, area, &mut data);
            CheckFrame { layout, data }
        })
        .collect()
}

/// Sets every pixel outside `area` to black: RGB 0, or Y 16 and (where none of a chroma
/// sample's pixels is inside) U = V = 128.
fn blacken_outside(layout: &InputLayout, area: &ContentArea, data: &mut [u8]) {
    let (w, h) = (layout.width, layout.height);
    if let Some(packed) = layout.format.packed() {
        for y in 0..h {
            for x in (0..w).filter(|&x| !area.contains(x, y)) {
                let at = y * layout.stride + x * packed.bpp;
                packed.rgb.iter().for_each(|&c| data[at + c] = 0);
            }
        }
        return;
    }
    for y in 0..h {
        for x in (0..w).filter(|&x| !area.contains(x, y)) {
            data[y * layout.stride + x] = 16;
        }
    }
    for cy in 0..h.div_ceil(2) {
        for cx in 0..w.div_ceil(2) {
            let inside = (2 * cy..(2 * cy + 2).min(h))
                .any(|y| (2 * cx..(2 * cx + 2).min(w)).any(|x| area.contains(x, y)));
            if inside {
                continue;
            }
            let row = cy * layout.chroma_stride;
            if layout.format == RawLayout::Nv12 {
                let at = layout.u_offset + row + 2 * cx;
                data[at..at + 2].fill(128);
            } else {
                data[layout.u_offset + row + cx] = 128;
                data[layout.v_offset + row + cx] = 128;
            }
        }
    }
}

/// Bytes of the crop a prepare launch must read at least once: the square's pixels in this
/// format (4:2:0 formats: luma plus both quarter-size chroma planes).
pub fn crop_bytes(format: RawLayout, side: usize) -> usize {
    match format.packed() {
        Some(p) => side * side * p.bpp,
        None => side * side + 2 * side.div_ceil(2).pow(2),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outside_the_area_every_format_reads_black() {
        let area = tower_area(64, 48);
        for format in RawLayout::ALL {
            let frame = &random_frames(format, &area, 1, 3)[0];
            let rgb = frame.layout.to_rgb(&frame.data).unwrap();
            // A pixel whose 2×2 chroma block touches the area keeps its random chroma.
            let block_outside = |x: usize, y: usize| {
                (y & !1..(y & !1) + 2)
                    .all(|yy| (x & !1..(x & !1) + 2).all(|xx| !area.contains(xx, yy)))
            };
            for (x, y, p) in rgb.enumerate_pixels() {
                if block_outside(x as usize, y as usize) {
                    // Limited-range Y 16 with neutral chroma is RGB 0 exactly.
                    assert_eq!(p.0, [0, 0, 0], "{format:?} at ({x}, {y})");
                }
            }
            let inside = rgb
                .enumerate_pixels()
                .filter(|(x, y, _)| area.contains(*x as usize, *y as usize));
            assert!(inside.clone().any(|(_, _, p)| p.0.iter().any(|&c| c > 24)));
        }
    }

    #[test]
    fn the_area_is_the_disc_right_of_centre() {
        let area = tower_area(1920, 1080);
        let b = area.bounds();
        // Disc of radius 486 around (1152, 540), found on the 8-pixel cell grid.
        assert!(
            (b.x as i64 - 666).abs() <= 8 && (b.width as i64 - 972).abs() <= 16,
            "{b:?}"
        );
        assert!(!area.contains(100, 540) && area.contains(1152, 540));
    }
}
