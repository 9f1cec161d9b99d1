use super::super::frame::RgbView;
use super::super::testframes::{self, Outline};
use super::*;
use crate::preprocess::hull::fill_convex;

fn detect(img: &image::RgbImage) -> Option<ContentArea> {
    ContentArea::detect(
        &Plane::brightness(RgbView::from_image(img)),
        &AreaSettings::default(),
    )
}

#[test]
fn finds_each_outline_beside_a_text_panel() {
    for outline in [Outline::Circle, Outline::Octagon, Outline::Rectangle] {
        let frame = testframes::tower(1920, 1080, outline);
        let area = detect(&frame.image).expect("an image area");
        assert_eq!(area.bounds(), frame.area_bounds, "{outline:?}");
        for y in 0..1080 {
            let row: Vec<usize> = (0..1920).filter(|&x| frame.in_area(x, y)).collect();
            let want = row.first().map_or(Span::default(), |&s| Span {
                start: s,
                end: row.last().unwrap() + 1,
            });
            assert_eq!(area.span(y), want, "{outline:?} row {y}");
        }
    }
}

#[test]
fn never_takes_the_panel_even_on_small_frames() {
    let frame = testframes::tower(640, 360, Outline::Octagon);
    let area = detect(&frame.image).unwrap();
    assert_eq!(area.bounds(), frame.area_bounds);
    assert!(area.bounds().x > frame.panel.x + frame.panel.width);
}

#[test]
fn black_or_text_only_frames_have_no_area() {
    let black = image::RgbImage::new(320, 240);
    assert_eq!(detect(&black), None);
    let mut text = image::RgbImage::new(320, 240);
    testframes::draw_text_panel(
        &mut text,
        Rect {
            x: 10,
            y: 10,
            width: 200,
            height: 200,
        },
        7,
    );
    assert_eq!(detect(&text), None);
    assert_eq!(detect(&image::RgbImage::new(0, 0)), None);
}

#[test]
fn a_bright_frame_is_all_area() {
    let img = image::RgbImage::from_pixel(13, 7, image::Rgb([200, 90, 80]));
    let area = detect(&img).unwrap();
    assert_eq!(area, ContentArea::full(13, 7));
    assert!(area.covers_frame());
}

#[test]
fn dark_lumen_inside_the_area_is_kept() {
    let mut img = image::RgbImage::from_pixel(64, 64, image::Rgb([180, 80, 70]));
    for y in 20..40 {
        for x in 20..40 {
            img.put_pixel(x, y, image::Rgb([2, 2, 2]));
        }
    }
    assert!(detect(&img).unwrap().covers_frame());
}

/// A vignetted stretch of the outline: image pixels darker than the black level where the
/// top-left diagonal of the octagon (or the arc of the circle) runs.
fn darken_top_left_edge(frame: &mut testframes::TestFrame) -> usize {
    let b = frame.area_bounds;
    let (w, h) = (frame.image.width() as usize, frame.image.height() as usize);
    // The midpoint of the top-left edge, halfway between bounds corner and centre.
    let (mx, my) = (
        b.x as f32 + 0.15 * b.width as f32,
        b.y as f32 + 0.15 * b.height as f32,
    );
    let radius = 0.08 * h as f32;
    let mut darkened = 0;
    for y in 0..h {
        for x in 0..w {
            let (dx, dy) = (x as f32 - mx, y as f32 - my);
            if frame.in_area(x, y) && dx * dx + dy * dy < radius * radius {
                frame
                    .image
                    .put_pixel(x as u32, y as u32, image::Rgb([14, 12, 10]));
                darkened += 1;
            }
        }
    }
    darkened
}

#[test]
fn dark_image_content_at_the_outline_stays_in_the_area() {
    // Octagon: the dark stretch lies between the diagonal's bright end points, so the hull
    // gives back the drawn area exactly.
    let mut frame = testframes::tower(960, 540, Outline::Octagon);
    assert!(darken_top_left_edge(&mut frame) > 1000);
    let area = detect(&frame.image).unwrap();
    for y in 0..540 {
        for x in 0..960 {
            assert_eq!(area.contains(x, y), frame.in_area(x, y), "pixel ({x}, {y})");
        }
    }
    // Circle: the hull takes the chord across the dark stretch of the arc, so a sliver
    // between chord and arc (a few pixels deep) is lost; nothing outside is gained.
    let mut frame = testframes::tower(960, 540, Outline::Circle);
    darken_top_left_edge(&mut frame);
    let area = detect(&frame.image).unwrap();
    let (mut missed, mut inside) = (0, 0);
    for y in 0..540 {
        for x in 0..960 {
            assert!(
                !area.contains(x, y) || frame.in_area(x, y),
                "pixel ({x}, {y})"
            );
            inside += usize::from(frame.in_area(x, y));
            missed += usize::from(frame.in_area(x, y) && !area.contains(x, y));
        }
    }
    assert!(
        missed * 500 < inside,
        "{missed} of {inside} area pixels lost"
    );
}

#[test]
fn convex_fill_closes_a_notch_and_keeps_the_hull() {
    let spans = |rows: &[(usize, usize)]| -> Vec<Span> {
        rows.iter()
            .map(|&(start, end)| Span { start, end })
            .collect()
    };
    // A diamond-like shape whose middle row lost its left part (a dark notch): the hull of
    // the end pixels runs straight down from (1, 1) to (1, 3), so row 2 regains x = 1..=2.
    let notched = spans(&[(2, 3), (1, 4), (3, 5), (1, 4), (2, 3)]);
    assert_eq!(
        fill_convex(&notched),
        spans(&[(2, 3), (1, 4), (1, 5), (1, 4), (2, 3)])
    );
    assert_eq!(fill_convex(&spans(&[(0, 0); 3])), spans(&[(0, 0); 3]));
    let single = spans(&[(0, 0), (4, 5), (0, 0)]);
    assert_eq!(fill_convex(&single), single);
}

#[test]
fn largest_group_breaks_ties_in_raster_order() {
    #[rustfmt::skip]
    let on = [
        true, false, true,
        true, false, true,
    ];
    let (mask, size) = largest_group(&on, 3, 2).unwrap();
    assert_eq!(size, 2);
    assert_eq!(mask, [true, false, false, true, false, false]);
}
