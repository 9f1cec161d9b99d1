//! The SIMD resize gives the reference's bytes: random frames and areas, down- and upscales,
//! odd sizes, extreme ratios, crops touching the frame's edges, and a geometry change between
//! frames of one thread (the cached plan).

use image::RgbImage;

use super::area::{AreaSettings, ContentArea};
use super::crop::{Crop, Rect};
use super::frame::{Plane, RgbView};
use super::resample;
use super::resize::resize_reference;
use super::testframes::{self, Outline};
use crate::rng::{Rng, Train};

fn noise(width: usize, height: usize, seed: u64) -> RgbImage {
    let mut rng = Rng::<Train>::new(seed);
    let mut img = RgbImage::new(width as u32, height as u32);
    for b in img.iter_mut() {
        *b = rng.next_u64() as u8;
    }
    img
}

fn same_bytes(frame: RgbView<'_>, area: &ContentArea, src: Rect, w: usize, h: usize) {
    let fast = resample::resize_masked(frame, area, src, w, h);
    let reference = resize_reference(frame, area, src, w, h);
    assert_eq!(fast.dimensions(), reference.dimensions());
    if let Some(i) = fast.iter().zip(reference.iter()).position(|(a, b)| a != b) {
        panic!(
            "{src:?} → {w}x{h}: byte {i} (pixel {}, {}) is {} not {}",
            (i / 3) % w,
            i / 3 / w,
            fast.as_raw()[i],
            reference.as_raw()[i]
        );
    }
}

#[test]
fn the_simd_path_runs_on_this_machine() {
    // Every x86-64 CI machine has SSSE3; without it the project would be on the slow path.
    assert!(resample::available());
}

#[test]
fn tower_frames_resize_to_the_reference_bytes() {
    for (w, h, outline, out) in [
        (1920, 1080, Outline::Circle, 384),
        (1280, 720, Outline::Octagon, 224),
        (1280, 720, Outline::Rectangle, 480),
        (720, 576, Outline::Circle, 128),
    ] {
        let frame = testframes::tower(w, h, outline);
        let view = RgbView::from_image(&frame.image);
        let area = ContentArea::detect(&Plane::brightness(view), &AreaSettings::default()).unwrap();
        let crop = Crop::centred_square(area.bounds());
        same_bytes(view, &area, crop.rect(), out, out);
    }
}

#[test]
fn random_pixels_and_rectangles_resize_to_the_reference_bytes() {
    let mut rng = Rng::<Train>::new(11);
    for case in 0..60u64 {
        let (fw, fh) = (rng.between(1, 300) as usize, rng.between(1, 300) as usize);
        let img = noise(fw, fh, case);
        let view = RgbView::from_image(&img);
        let x = rng.below(fw as u64) as usize;
        let y = rng.below(fh as u64) as usize;
        let src = Rect {
            x,
            y,
            width: rng.between(1, (fw - x) as u32) as usize,
            height: rng.between(1, (fh - y) as u32) as usize,
        };
        let (ow, oh) = (rng.between(1, 400) as usize, rng.between(1, 400) as usize);
        same_bytes(view, &ContentArea::full(fw, fh), src, ow, oh);
    }
}

#[test]
fn masked_areas_resize_to_the_reference_bytes() {
    // A capsule-like disc with a notch, on noise so a wrongly unmasked pixel shows.
    let (w, h) = (333, 301);
    let img = noise(w, h, 5);
    let mut plane = Plane::filled(w, h, 0);
    for y in 0..h {
        for (x, v) in plane.row_mut(y).iter_mut().enumerate() {
            let (dx, dy) = (x as f64 - 160.0, y as f64 - 150.0);
            if dx * dx + dy * dy < 140.0 * 140.0 && !(x > 250 && y < 60) {
                *v = 200;
            }
        }
    }
    let area = ContentArea::detect(&plane, &AreaSettings::default()).unwrap();
    let view = RgbView::from_image(&img);
    for side in [1, 2, 7, 64, 299, 333, 700] {
        same_bytes(view, &area, area.bounds(), side, side);
        same_bytes(
            view,
            &area,
            Rect {
                x: 0,
                y: 0,
                width: w,
                height: h,
            },
            side,
            side + 3,
        );
    }
}

#[test]
fn extreme_ratios_and_edges_resize_to_the_reference_bytes() {
    let img = noise(1000, 40, 9);
    let view = RgbView::from_image(&img);
    let full = ContentArea::full(1000, 40);
    let all = Rect {
        x: 0,
        y: 0,
        width: 1000,
        height: 40,
    };
    for (ow, oh) in [(3, 1), (1, 40), (1000, 40), (4000, 3), (2, 160)] {
        same_bytes(view, &full, all, ow, oh);
    }
    // The last column and row of the frame as the crop.
    let corner = Rect {
        x: 999,
        y: 39,
        width: 1,
        height: 1,
    };
    same_bytes(view, &full, corner, 5, 5);
}

#[test]
fn a_geometry_change_between_frames_rebuilds_the_plan() {
    let a = noise(200, 150, 1);
    let b = noise(90, 300, 2);
    for (img, out) in [(&a, 64), (&b, 64), (&a, 64), (&a, 50), (&b, 120)] {
        let (w, h) = img.dimensions();
        let (w, h) = (w as usize, h as usize);
        let rect = Rect {
            x: 0,
            y: 0,
            width: w,
            height: h,
        };
        same_bytes(
            RgbView::from_image(img),
            &ContentArea::full(w, h),
            rect,
            out,
            out,
        );
    }
}
