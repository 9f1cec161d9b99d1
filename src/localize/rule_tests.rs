use super::*;
use crate::preprocess::testframes::{tower, Outline};
use crate::preprocess::{ContentArea, Crop, Preprocessor, Rect, RgbView};

fn map(width: usize, height: usize, f: impl Fn(usize, usize) -> f32) -> EvidenceMap {
    let values = (0..height)
        .flat_map(|y| (0..width).map(move |x| (x, y)))
        .map(|(x, y)| f(x, y))
        .collect();
    EvidenceMap {
        width,
        height,
        values,
    }
}

#[test]
fn one_hot_cell_gives_that_cell_in_frame_pixels() {
    // 4×4 map over a 128² input; the crop is 320 frame pixels, 2.5 a model-input pixel. Cell
    // (2, 1) is centred on input (64.5, 32.5). Grid square g (4 pixels) samples map coordinate
    // (4g + 1.5) / 32: the nearest to 2 and 1 are squares 16 and 8 (2.047, 1.047), weight
    // 0.953 each, so the peak is square (16, 8), centre input (66, 34) = frame (265, 105), and
    // the threshold is half of 0.953². Along the peak's row and column a square joins while
    // 0.953 · (1 − |d|) ≥ 0.953² / 2, |d| ≤ 0.523 cells: squares 12..=19 in x (input 48..80)
    // and 4..=11 in y (16..48), frame [220, 300) × [60, 140); no other row or column reaches
    // further.
    let m = map(4, 4, |x, y| if (x, y) == (2, 1) { 1.0 } else { 0.0 });
    let crop = Crop {
        x: 100,
        y: 20,
        side: 320,
    };
    let f = locate(&m, &crop, 128).unwrap();
    assert_eq!(
        f,
        Finding {
            x: 220,
            y: 60,
            width: 80,
            height: 80,
            peak_x: 265,
            peak_y: 105
        }
    );
}

#[test]
fn keeps_the_component_of_the_peak_and_clips_to_the_crop() {
    // Two blobs: a weaker one at (4, 4) and the peak in the corner cell (0, 0).
    let m = map(6, 6, |x, y| match (x, y) {
        (0, 0) => 3.0,
        (4, 4) => 2.9,
        _ => 0.0,
    });
    let crop = Crop {
        x: 7,
        y: 3,
        side: 192,
    };
    let f = locate(&m, &crop, 192).unwrap();
    // Cell (0, 0) is centred on input pixel (0.5, 0.5): square g samples (4g + 1.5) / 32,
    // weight 1 − that; the peak is square (0, 0) (0.953² · 3 = 2.73 against the other blob's
    // 0.953² · 2.9), and along its row a square joins while 0.953 (1 − m) ≥ 0.953² / 2, up to
    // square 3: input [0, 16), frame [7, 23) × [3, 19). Nothing of the other blob joins.
    assert_eq!((f.x, f.y, f.width, f.height), (7, 3, 16, 16));
    assert!(f.contains(f64::from(f.peak_x), f64::from(f.peak_y)));
    assert!(!f.contains(4.5 * 32.0 + 7.0, 4.5 * 32.0 + 3.0));
}

#[test]
fn a_flat_or_broken_map_points_nowhere() {
    let crop = Crop {
        x: 0,
        y: 0,
        side: 64,
    };
    assert_eq!(locate(&map(2, 2, |_, _| 0.7), &crop, 64), None);
    assert_eq!(
        locate(&map(2, 2, |x, _| x as f32 * f32::NAN), &crop, 64),
        None
    );
}

/// A map that is 1 on the cells mostly inside `lesion` (frame pixels) and 0 elsewhere, for a
/// model input of `size` cut at `crop`, with `cells` cells a side; cell `i` stands for input
/// pixels `[32i − 16, 32i + 16)` (BiT's stride-32 cells, centred on pixel `32i`).
fn map_of_box(lesion: Rect, crop: &Crop, size: usize, cells: usize) -> EvidenceMap {
    let (u0, v0) = crop.to_input(lesion.x as f64, lesion.y as f64, size);
    let (u1, v1) = crop.to_input(
        (lesion.x + lesion.width) as f64,
        (lesion.y + lesion.height) as f64,
        size,
    );
    let cell = 32.0;
    let overlap = |lo: f64, hi: f64, i: usize| {
        let (a, b) = (i as f64 * cell - cell / 2.0, i as f64 * cell + cell / 2.0);
        (hi.min(b) - lo.max(a)).max(0.0) / cell
    };
    map(cells, cells, |x, y| {
        let inside = overlap(u0, u1, x) * overlap(v0, v1, y);
        if inside >= 0.5 {
            1.0
        } else {
            0.0
        }
    })
}

fn iou(a: &Finding, b: Rect) -> f64 {
    let ix = (a.x + a.width).min((b.x + b.width) as u32) as f64 - a.x.max(b.x as u32) as f64;
    let iy = (a.y + a.height).min((b.y + b.height) as u32) as f64 - a.y.max(b.y as u32) as f64;
    let inter = ix.max(0.0) * iy.max(0.0);
    let union = (a.width * a.height) as f64 + (b.width * b.height) as f64 - inter;
    inter / union
}

#[test]
fn a_box_survives_the_round_trip_through_crop_and_resize_on_both_layouts() {
    let size = 384;
    let pre = Preprocessor::new(size, Default::default()).unwrap();
    // Tower: 1920×1080, octagonal image on the right, panel on the left.
    let frame = tower(1920, 1080, Outline::Octagon);
    let tower_crop = pre
        .prepare(&frame.image)
        .map(|p| p.crop)
        .expect("the test frame has an image area");
    assert!(tower_crop.x > frame.panel.x + frame.panel.width);
    // Capsule: a square frame that is all image.
    let area = ContentArea::full(384, 384);
    let capsule = image::RgbImage::new(384, 384);
    let capsule_crop = pre
        .prepare_in_area(RgbView::from_image(&capsule), area)
        .unwrap()
        .crop;
    for (crop, lesion) in [
        (
            tower_crop,
            Rect {
                x: tower_crop.x + 300,
                y: tower_crop.y + 200,
                width: 260,
                height: 180,
            },
        ),
        (
            capsule_crop,
            Rect {
                x: 40,
                y: 200,
                width: 96,
                height: 128,
            },
        ),
    ] {
        let found = locate(&map_of_box(lesion, &crop, size, 12), &crop, size).unwrap();
        // The map resolves the box to whole cells: each edge within one cell of the truth.
        let cell = crop.side as f64 / 12.0;
        for (got, want) in [
            (found.x as f64, lesion.x as f64),
            (found.y as f64, lesion.y as f64),
            (
                (found.x + found.width) as f64,
                (lesion.x + lesion.width) as f64,
            ),
            (
                (found.y + found.height) as f64,
                (lesion.y + lesion.height) as f64,
            ),
        ] {
            assert!((got - want).abs() <= cell, "{found:?} vs {lesion:?}");
        }
        assert!(iou(&found, lesion) > 0.6, "{found:?} vs {lesion:?}");
        assert!(lesion.x as u32 <= found.peak_x && found.peak_x < (lesion.x + lesion.width) as u32);
    }
}
