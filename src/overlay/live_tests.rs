use super::*;
use crate::overlay::canvas::RawLayout;
use crate::preprocess::{AreaSettings, Plane, RgbView};

const GREY: [u8; 3] = [50, 50, 50];

/// A 640 × 480 packed RGB frame of `GREY`, as bytes.
fn grey_rgb() -> Vec<u8> {
    GREY.repeat(640 * 480)
}

fn rgb_canvas(bytes: &mut [u8]) -> Canvas<'_> {
    Canvas::new(RawLayout::Rgb, 640, 480, vec![(bytes, 640 * 3)]).unwrap()
}

/// The image area x 120..520, y 40..440 of a 640 × 480 frame, found as `detect` would.
fn square_area() -> ContentArea {
    let img = image::RgbImage::from_fn(640, 480, |x, y| {
        let inside = (120..520).contains(&x) && (40..440).contains(&y);
        image::Rgb(if inside { [200; 3] } else { [0; 3] })
    });
    let area = ContentArea::detect(
        &Plane::brightness(RgbView::from_image(&img)),
        &AreaSettings::default(),
    )
    .unwrap();
    let b = area.bounds();
    assert_eq!((b.x, b.y, b.width, b.height), (120, 40, 400, 400));
    area
}

fn view(area: Option<&ContentArea>, alert: bool) -> LiveView<'_> {
    LiveView {
        area,
        smoothed: if alert { 0.8 } else { 0.3 },
        threshold: 0.5,
        alert,
        status: AiStatus::On,
        age_frames: 3,
        finding: None,
    }
}

/// The points just outside the middle of each edge of the bounds (x 120..520, y 40..440).
const EDGES: [(u32, u32); 4] = [(119, 240), (520, 240), (320, 39), (320, 440)];

#[test]
fn labels() {
    assert_eq!(AiStatus::On.label(), "AI ON");
    assert_eq!(AiStatus::Off.label(), "AI OFF");
    assert_eq!(AiStatus::Degraded.label(), "AI DEGRADED");
}

#[test]
fn an_alert_borders_the_area_and_only_then() {
    let area = square_area();
    let mut bytes = grey_rgb();
    let mut c = rgb_canvas(&mut bytes);
    draw_live(&mut c, &view(Some(&area), true));
    // Border thickness round(480 · 0.015) = 7: from 7 px outside the bounds to the edge.
    for (x, y) in EDGES {
        assert_eq!(c.rgb_at(x, y), Some(ALERT), "{x},{y}");
    }
    assert_eq!(c.rgb_at(113, 240), Some(ALERT));
    assert_eq!(c.rgb_at(112, 240), Some(GREY), "7 px thick");
    assert_eq!(c.rgb_at(120, 240), Some(GREY), "the image is not covered");
    assert_eq!(c.rgb_at(320, 240), Some(GREY));
    drop(c);
    let mut bytes = grey_rgb();
    let mut c = rgb_canvas(&mut bytes);
    draw_live(&mut c, &view(Some(&area), false));
    for (x, y) in EDGES {
        assert_eq!(c.rgb_at(x, y), Some(GREY), "{x},{y}");
    }
    drop(c);
    assert!(
        bytes.chunks_exact(3).all(|p| p != ALERT),
        "no amber anywhere without an alert"
    );
}

#[test]
fn without_an_area_the_border_runs_along_the_frame() {
    let mut bytes = grey_rgb();
    let mut c = rgb_canvas(&mut bytes);
    draw_live(&mut c, &view(None, true));
    assert_eq!(c.rgb_at(0, 240), Some(ALERT));
    assert_eq!(c.rgb_at(639, 240), Some(ALERT));
    assert_eq!(c.rgb_at(320, 479), Some(ALERT));
    assert_eq!(c.rgb_at(7, 240), Some(GREY));
}

#[test]
fn the_ai_off_shows_no_border_even_when_told_to() {
    let area = square_area();
    let mut bytes = grey_rgb();
    let mut c = rgb_canvas(&mut bytes);
    let off = LiveView {
        status: AiStatus::Off,
        ..view(Some(&area), true)
    };
    draw_live(&mut c, &off);
    drop(c);
    assert!(bytes.chunks_exact(3).all(|p| p != ALERT));
    assert!(
        bytes.chunks_exact(3).any(|p| p == INACTIVE),
        "grey status dot"
    );
}

#[test]
fn badges_stay_in_the_corners() {
    let area = square_area();
    let mut bytes = grey_rgb();
    let mut c = rgb_canvas(&mut bytes);
    draw_live(&mut c, &view(Some(&area), false));
    drop(c);
    // Everything drawn (not grey) lies in the left 45 % of the top or bottom 12 % of rows.
    for (i, p) in bytes.chunks_exact(3).enumerate() {
        let (x, y) = (i % 640, i / 640);
        if p != GREY {
            assert!(x < 288 && !(58..422).contains(&y), "drawn at {x},{y}");
        }
    }
    // The status dot (scale 3, margin 6: 6..21) is green, the gauge fill (0.3) calm blue.
    assert_eq!(&bytes[(10 * 640 + 10) * 3..][..3], &ACTIVE);
    assert!(bytes.chunks_exact(3).any(|p| p == CALM));
}

#[test]
fn no_signal_is_dark_but_for_its_text() {
    let mut bytes: Vec<u8> = (0..640 * 480 * 3).map(|i| (i * 7 % 251) as u8).collect();
    let mut c = rgb_canvas(&mut bytes);
    draw_no_signal(&mut c);
    drop(c);
    let allowed = [NO_SIGNAL_BG, WHITE, STRIP_BG, INACTIVE];
    let mut white_rows = Vec::new();
    for (i, p) in bytes.chunks_exact(3).enumerate() {
        assert!(allowed.iter().any(|a| a == p), "pixel {i}: {p:?}");
        if p == WHITE && i / 640 > 100 {
            white_rows.push(i / 640);
        }
    }
    // "NO SIGNAL" at 5 font pixels: 35 rows centred on row 240 (222..257).
    assert_eq!(white_rows.iter().min(), Some(&222));
    assert_eq!(white_rows.iter().max(), Some(&256));
}

#[test]
fn nv12_and_rgbx_canvases_take_the_same_overlay() {
    let area = square_area();
    // NV12, 640 × 480 (BT.601), Y of mid grey.
    let (mut y, mut uv) = (vec![126u8; 640 * 480], vec![128u8; 640 * 240]);
    let mut c = Canvas::new(
        RawLayout::Nv12,
        640,
        480,
        vec![(&mut y[..], 640), (&mut uv[..], 640)],
    )
    .unwrap();
    draw_live(&mut c, &view(Some(&area), true));
    for (x, y) in EDGES {
        let got = c.rgb_at(x, y).unwrap();
        let close = got
            .iter()
            .zip(ALERT)
            .all(|(&a, b)| (i32::from(a) - i32::from(b)).abs() <= 3);
        assert!(close, "{x},{y}: {got:?}");
    }
    draw_no_signal(&mut c);
    drop(c);
    // Dark: Y of NO_SIGNAL_BG is 16 + 219·(16.4/255) ≈ 30; text is Y 222 (white 240).
    assert!(y
        .iter()
        .all(|&v| v <= 31 || v >= 200 || (40..=120).contains(&v)));
    assert!(y.iter().filter(|&&v| v <= 31).count() > 640 * 480 * 9 / 10);
    // RGBx: the padding byte stays.
    let mut px = [50u8, 50, 50, 7].repeat(640 * 480);
    let mut c = Canvas::new(RawLayout::Rgbx, 640, 480, vec![(&mut px[..], 640 * 4)]).unwrap();
    draw_live(&mut c, &view(Some(&area), true));
    assert_eq!(c.rgb_at(119, 240), Some(ALERT));
    drop(c);
    assert!(px.chunks_exact(4).all(|p| p[3] == 7));
}

#[test]
fn the_finding_is_boxed_on_top_while_the_alert_is_on() {
    let area = square_area();
    let finding = crate::localize::Finding {
        x: 200,
        y: 100,
        width: 80,
        height: 60,
        peak_x: 240,
        peak_y: 130,
    };
    for alert in [true, false] {
        let mut bytes = grey_rgb();
        let mut c = rgb_canvas(&mut bytes);
        let v = LiveView {
            finding: Some(finding),
            ..view(Some(&area), alert)
        };
        draw_live(&mut c, &v);
        // Thickness round(480 · 0.015 / 2) = 4: the ring spans x 195..199 left of the box,
        // between dark edges at 194 and 199.
        let want = |colour| Some(if alert { colour } else { GREY });
        assert_eq!(
            c.rgb_at(197, 130),
            want(crate::overlay::FINDING),
            "alert {alert}"
        );
        assert_eq!(c.rgb_at(199, 130), want([0, 0, 0]), "alert {alert}");
        assert_eq!(
            c.rgb_at(240, 130),
            want(crate::overlay::FINDING),
            "peak, alert {alert}"
        );
        assert_eq!(c.rgb_at(260, 150), Some(GREY), "inside the box");
    }
}
