//! Overlay: one decoded frame + its scores → the annotated frame a reader scrubs through.
//!
//! Input: a [`Frame`], its image area (or none), and the frame's raw/smoothed score and flag;
//! the study-wide smoothed scores and flags for the timeline. Output: a packed RGB image of
//! even size, the frame on top and a strip below it. Pure CPU drawing on the caller's thread;
//! never fails.
//!
//! * Everything outside the image area is black, so the tower's patient-data panel never
//!   reaches the export (a frame without a detected area is black entirely).
//! * A flagged frame gets a thick [`ALERT`] border around the image area and, for a model with
//!   a class-activation map, a [`FINDING`] box where the model's evidence is
//!   ([`crate::localize`]), on top of the border.
//! * The strip holds an "AI active" dot, a gauge of the smoothed probability with the alert
//!   threshold marked and the value printed, and a timeline of the whole study (peak score
//!   per column, flagged stretches in [`ALERT`]) with a cursor at the current frame.
//!
//! Live video draws in place on the raw frame instead ([`canvas::Canvas`], [`live`]): the same
//! primitives ([`draw::Paint`]), no strip, no timeline.

pub mod canvas;
pub mod draw;
pub mod live;
pub(crate) mod raw;
mod timeline;
pub mod yuv;

pub use timeline::Timeline;

use image::RgbImage;

use crate::capture::Frame;
use crate::preprocess::{ContentArea, FrameStatus};

/// Border and flagged-timeline colour: amber, which stands out from pink/red mucosa.
pub const ALERT: [u8; 3] = [255, 176, 0];
/// The finding's box: cyan, apart from the amber border and from the mucosa.
pub const FINDING: [u8; 3] = [0, 230, 255];
/// Gauge fill below the alert threshold.
pub const CALM: [u8; 3] = [70, 160, 220];
/// Strip background.
const STRIP_BG: [u8; 3] = [28, 28, 32];
/// Track behind the gauge and timeline.
const TRACK: [u8; 3] = [60, 60, 68];
const WHITE: [u8; 3] = [240, 240, 240];
const ACTIVE: [u8; 3] = [60, 200, 90];
/// The "AI active" dot of a frame the model did not score.
const INACTIVE: [u8; 3] = [110, 110, 118];

/// Border thickness as a fraction of the frame's short side (0 = none).
pub const DEFAULT_BORDER_FRACTION: f32 = 0.015;
/// Strip height as a fraction of the frame height, at least `MIN_STRIP` pixels.
pub const DEFAULT_STRIP_FRACTION: f32 = 0.1;
const MIN_STRIP: u32 = 24;

/// Overlay settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Settings {
    pub border_fraction: f32,
    pub strip_fraction: f32,
    /// Smoothed score at which segments start (the gauge's threshold mark).
    pub threshold: f32,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            border_fraction: DEFAULT_BORDER_FRACTION,
            strip_fraction: DEFAULT_STRIP_FRACTION,
            threshold: crate::smooth::DEFAULT_ON,
        }
    }
}

/// One frame's scores.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FrameScore {
    pub p: f32,
    pub smoothed: f32,
    pub flagged: bool,
    /// What became of the frame; only `Ok` frames were scored by the model.
    pub status: FrameStatus,
    /// Where the evidence is (frame pixels); drawn only on flagged frames.
    pub finding: Option<crate::localize::Finding>,
}

/// What the strip says instead of a score for a frame the model did not see.
pub fn status_label(status: FrameStatus) -> Option<&'static str> {
    match status {
        FrameStatus::Ok => None,
        FrameStatus::NoArea => Some("NO IMAGE AREA"),
        FrameStatus::Saturated => Some("WHITE-OUT - NOT ANALYSED"),
        FrameStatus::Uniform => Some("NO PICTURE - NOT ANALYSED"),
        FrameStatus::Corrupt => Some("CORRUPT FRAME - NOT ANALYSED"),
    }
}

/// Draws annotated frames: the per-frame drawing (mask, border, status, gauge) and, for a
/// recorded study, its [`Timeline`] in the strip.
pub struct Overlay {
    settings: Settings,
    timeline: Option<Timeline>,
}

impl Overlay {
    /// An overlay for a study whose frames have these smoothed scores and flags.
    pub fn new(settings: Settings, smoothed: Vec<f32>, flagged: Vec<bool>) -> Self {
        Self {
            settings,
            timeline: Some(Timeline::new(smoothed, flagged, settings.threshold)),
        }
    }

    /// An overlay without a study timeline (live video: the future is unknown).
    pub fn per_frame(settings: Settings) -> Self {
        Self {
            settings,
            timeline: None,
        }
    }

    /// Output size for a `width × height` frame (even, strip included).
    pub fn output_size(&self, width: u32, height: u32) -> (u32, u32) {
        let strip = self.strip_height(height);
        (
            width.next_multiple_of(2),
            (height + strip).next_multiple_of(2),
        )
    }

    fn strip_height(&self, height: u32) -> u32 {
        ((height as f32 * self.settings.strip_fraction) as u32).max(MIN_STRIP)
    }

    /// The annotated image of `frame`.
    pub fn process(
        &mut self,
        frame: &Frame,
        area: Option<&ContentArea>,
        score: FrameScore,
    ) -> RgbImage {
        let (w, h) = (frame.width, frame.height);
        let (out_w, out_h) = self.output_size(w, h);
        let mut img = RgbImage::new(out_w, out_h);
        // Only the image area is copied: the rest stays black.
        if let Some(area) = area.filter(|a| a.frame_size() == (w as usize, h as usize)) {
            let out = img.as_mut();
            for y in 0..h as usize {
                let span = area.span(y);
                if span.is_empty() {
                    continue;
                }
                let src = &frame.row(y as u32)[span.start * 3..span.end * 3];
                let dst = y * out_w as usize * 3;
                out[dst + span.start * 3..dst + span.end * 3].copy_from_slice(src);
            }
            if score.flagged {
                let b = area.bounds();
                let t = ((w.min(h) as f32 * self.settings.border_fraction).round() as i64).max(2);
                // Around the area where the frame has room (towers), over its edge where the
                // area fills the frame (capsules), never into the strip.
                let outer = (
                    (b.x as i64 - t).max(0),
                    (b.y as i64 - t).max(0),
                    ((b.x + b.width) as i64 + t).min(w as i64),
                    ((b.y + b.height) as i64 + t).min(h as i64),
                );
                draw::ring(&mut img, outer, t, ALERT);
                if let Some(f) = &score.finding {
                    let mut picture = draw::Clipped {
                        inner: &mut img,
                        width: w,
                        height: h,
                    };
                    draw::finding(&mut picture, f, (t / 2).max(2));
                }
            }
        }
        self.draw_strip(&mut img, frame.index, h, score);
        img
    }

    fn draw_strip(&mut self, img: &mut RgbImage, index: u64, top: u32, score: FrameScore) {
        let (w, h) = (img.width() as i64, img.height() as i64);
        let top = top as i64;
        let sh = h - top;
        draw::fill_rect(img, 0, top, w, h, STRIP_BG);
        let pad = (sh / 6).max(2);
        let scale = ((sh - 2 * pad) / 6).max(1);
        // "AI active" dot: grey for a frame the model did not score.
        let dot = sh / 3;
        let active = if score.status == FrameStatus::Ok {
            ACTIVE
        } else {
            INACTIVE
        };
        draw::fill_rect(
            img,
            pad,
            top + sh / 2 - dot / 2,
            pad + dot,
            top + sh / 2 + dot / 2,
            active,
        );
        // Gauge: the smoothed probability, threshold marked, value printed.
        let gx0 = pad * 2 + dot;
        let gauge_w = (w / 5).max(20);
        let (gy0, gy1) = (top + pad, h - pad);
        draw::fill_rect(img, gx0, gy0, gx0 + gauge_w, gy1, TRACK);
        let fill = (score.smoothed.clamp(0.0, 1.0) as f64 * gauge_w as f64).round() as i64;
        let colour = if score.flagged { ALERT } else { CALM };
        draw::fill_rect(img, gx0, gy0, gx0 + fill, gy1, colour);
        let tx = gx0 + (self.settings.threshold as f64 * gauge_w as f64).round() as i64;
        draw::fill_rect(img, tx - 1, gy0 - pad / 2, tx + 1, gy1 + pad / 2, WHITE);
        let text_x = gx0 + gauge_w + pad;
        let text_end = if score.smoothed.is_nan() {
            draw::text(
                img,
                text_x,
                top + (sh - 5 * scale) / 2,
                scale,
                "-.--",
                WHITE,
            )
        } else {
            let label = format!("{:.2}", score.smoothed.clamp(0.0, 1.0));
            draw::text(
                img,
                text_x,
                top + (sh - 5 * scale) / 2,
                scale,
                &label,
                WHITE,
            )
        };
        if let Some(label) =
            status_label(score.status).filter(|_| score.status != FrameStatus::NoArea)
        {
            // Over the frame's timeline, where the reader looks for the score.
            let y = top + (sh - 5 * scale) / 2;
            draw::label(img, text_end + pad, y, scale, label, WHITE);
            return;
        }
        if let Some(timeline) = &mut self.timeline {
            timeline.draw(img, index, (text_end + pad, w - pad), (gy0, gy1), top);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::preprocess::{AreaSettings, Plane, RgbView};
    use std::time::Duration;

    /// A frame with a bright disc on the left and a "text panel" of bright pixels on the right.
    fn tower_frame() -> Frame {
        let img = RgbImage::from_fn(160, 90, |x, y| {
            let (dx, dy) = (x as f32 - 50.0, y as f32 - 45.0);
            if dx * dx + dy * dy < 38.0 * 38.0 {
                image::Rgb([200, 120, 110])
            } else if x > 120 && y % 6 == 0 {
                image::Rgb([255, 255, 255])
            } else {
                image::Rgb([0, 0, 0])
            }
        });
        Frame::from_rgb_image(3, Duration::ZERO, img)
    }

    fn area_of(frame: &Frame) -> ContentArea {
        let view = RgbView::new(&frame.data, 160, 90, frame.stride).unwrap();
        ContentArea::detect(&Plane::brightness(view), &AreaSettings::default()).unwrap()
    }

    #[test]
    fn only_the_image_area_survives() {
        let frame = tower_frame();
        let area = area_of(&frame);
        let mut overlay = Overlay::new(Settings::default(), vec![0.1; 10], vec![false; 10]);
        let calm = FrameScore {
            p: 0.1,
            smoothed: 0.1,
            flagged: false,
            finding: None,
            status: FrameStatus::Ok,
        };
        let out = overlay.process(&frame, Some(&area), calm);
        assert_eq!(out.dimensions(), overlay.output_size(160, 90));
        assert_eq!(out.width() % 2, 0);
        assert_eq!(out.height() % 2, 0);
        for y in 0..90 {
            for x in 121..160 {
                assert_eq!(
                    out.get_pixel(x, y).0,
                    [0, 0, 0],
                    "panel text at {x},{y} survived"
                );
            }
        }
        assert_eq!(out.get_pixel(50, 45).0, [200, 120, 110]);
        // Without an area nothing of the frame survives.
        let blank = overlay.process(&frame, None, calm);
        assert!((0..90).all(|y| (0..160).all(|x| blank.get_pixel(x, y).0 == [0, 0, 0])));
    }

    #[test]
    fn flagged_frames_get_a_border() {
        let frame = tower_frame();
        let area = area_of(&frame);
        let b = area.bounds();
        let mut overlay = Overlay::new(Settings::default(), vec![0.9; 10], vec![true; 10]);
        let hot = FrameScore {
            p: 0.9,
            smoothed: 0.9,
            flagged: true,
            finding: None,
            status: FrameStatus::Ok,
        };
        let out = overlay.process(&frame, Some(&area), hot);
        let (x, y) = (b.x as u32 - 1, (b.y + b.height / 2) as u32);
        assert_eq!(out.get_pixel(x, y).0, ALERT);
        // The strip shows the gauge in the alert colour.
        let strip_y = 90 + (out.height() - 90) / 2;
        assert!((0..out.width()).any(|x| out.get_pixel(x, strip_y).0 == ALERT));
        // An area filling the frame still gets a visible border, inside the frame.
        let full = Frame::from_rgb_image(
            0,
            Duration::ZERO,
            RgbImage::from_pixel(64, 64, image::Rgb([200, 100, 90])),
        );
        let area = ContentArea::full(64, 64);
        let out = overlay.process(&full, Some(&area), hot);
        assert_eq!(out.get_pixel(0, 32).0, ALERT);
        assert_eq!(out.get_pixel(63, 32).0, ALERT);
        assert_eq!(out.get_pixel(32, 32).0, [200, 100, 90]);
    }

    #[test]
    fn the_finding_box_is_drawn_on_flagged_frames_only() {
        let frame = tower_frame();
        let area = area_of(&frame);
        let finding = crate::localize::Finding {
            x: 30,
            y: 20,
            width: 40,
            height: 30,
            peak_x: 50,
            peak_y: 35,
        };
        let mut overlay = Overlay::new(Settings::default(), vec![0.9; 10], vec![true; 10]);
        let score = |flagged| FrameScore {
            p: 0.9,
            smoothed: 0.9,
            flagged,
            finding: Some(finding),
            status: FrameStatus::Ok,
        };
        let out = overlay.process(&frame, Some(&area), score(true));
        // A 2-pixel ring just outside the box, between 1-pixel dark edges; the inside keeps
        // the picture away from the peak's cross.
        assert_eq!(out.get_pixel(28, 30).0, FINDING);
        assert_eq!(out.get_pixel(50, 18).0, FINDING);
        assert_eq!(out.get_pixel(26, 30).0, [0, 0, 0]);
        assert_eq!(out.get_pixel(29, 30).0, [0, 0, 0]);
        assert_eq!(out.get_pixel(50, 35).0, FINDING);
        let disc = [200, 120, 110];
        assert_eq!(out.get_pixel(35, 45).0, disc);
        let calm = overlay.process(&frame, Some(&area), score(false));
        assert_eq!(calm.get_pixel(28, 30).0, disc);
    }
}
