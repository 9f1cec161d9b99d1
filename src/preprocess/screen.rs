//! Frame screening: does a frame look like an endoscopic picture, so that it may count as
//! evidence of where the image area is?
//!
//! Computed from the brightness plane (`max(R, G, B)`) of one frame, exactly:
//!
//! * `bright` — pixels with brightness `> black_level`; `saturated` — pixels `≥ 250`;
//! * `dominant` — the most bright pixels in any window of [`UNIFORM_WINDOW`] consecutive
//!   brightness levels (a flat fill, a menu background, a decoder's gray concealment).
//!
//! [`Look::Saturated`] when more than [`SATURATED_FRACTION`] of the frame's pixels are
//! saturated (white balance, a white-out, a flash over the whole screen); else
//! [`Look::Uniform`] when the frame has bright pixels and `dominant` holds more than
//! [`UNIFORM_FRACTION`] of them (a uniform gray or coloured frame, a menu screen on a flat
//! background); else [`Look::Picture`]. Real mucosa has shading and texture: its brightness
//! spreads over far more than 17 levels, and the black border and text panel are not bright.
//!
//! [`Screening::abrupt_after`] compares two consecutive frames: a jump of the bright fraction
//! by more than [`ABRUPT_BRIGHT_FRACTION`] of the frame, or of the mean brightness by more
//! than [`ABRUPT_MEAN`] levels, is an abrupt global change (a cut to a menu, a flash, a
//! scope change); such a frame is still scored but not used as area evidence.

use super::frame::Plane;

/// Brightness at or above which a pixel is saturated.
pub const SATURATED_LEVEL: u8 = 250;
/// Share of saturated pixels above which a frame is a white-out.
pub const SATURATED_FRACTION: f64 = 0.5;
/// Width in brightness levels of the window that finds a flat fill.
pub const UNIFORM_WINDOW: usize = 17;
/// Share of the bright pixels inside one window above which a frame is uniform.
pub const UNIFORM_FRACTION: f64 = 0.6;
/// Jump of the bright fraction between consecutive frames that is an abrupt change.
pub const ABRUPT_BRIGHT_FRACTION: f64 = 0.2;
/// Jump of the mean brightness (levels) between consecutive frames that is an abrupt change.
pub const ABRUPT_MEAN: f64 = 64.0;

/// What a frame looks like.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Look {
    /// Could be an endoscopic picture (possibly dark: a dark frame simply has no area).
    Picture,
    /// Mostly saturated white: never evidence of the image area, never scored.
    Saturated,
    /// A flat fill (gray concealment, a uniform or menu screen): never evidence, never scored.
    Uniform,
}

impl Look {
    /// Whether the frame shows a picture the model can score.
    pub fn is_picture(self) -> bool {
        self == Look::Picture
    }

    /// The name used in `frames.csv` and the logs.
    pub fn name(self) -> &'static str {
        match self {
            Look::Picture => "ok",
            Look::Saturated => "saturated",
            Look::Uniform => "uniform",
        }
    }
}

/// The screening figures of one frame.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Screening {
    pub look: Look,
    /// Share of bright pixels in the frame.
    pub bright_fraction: f64,
    /// Mean brightness of the frame.
    pub mean: f64,
}

impl Screening {
    /// Screens one brightness plane.
    pub fn of(plane: &Plane, black_level: u8) -> Self {
        // Four partial histograms: consecutive equal pixels (most of a frame) would otherwise
        // wait on each other's increment of one counter.
        let mut parts = [[0u32; 256]; 4];
        for y in 0..plane.height() {
            let row = plane.row(y);
            let mut quads = row.chunks_exact(4);
            for q in &mut quads {
                for (part, &v) in parts.iter_mut().zip(q) {
                    part[usize::from(v)] += 1;
                }
            }
            for &v in quads.remainder() {
                parts[0][usize::from(v)] += 1;
            }
        }
        let mut histogram = [0u64; 256];
        for (level, count) in histogram.iter_mut().enumerate() {
            *count = parts.iter().map(|p| u64::from(p[level])).sum();
        }
        Self::from_histogram(&histogram, black_level)
    }

    /// Screens a frame given its brightness histogram.
    pub fn from_histogram(histogram: &[u64; 256], black_level: u8) -> Self {
        let total: u64 = histogram.iter().sum();
        if total == 0 {
            return Self {
                look: Look::Picture,
                bright_fraction: 0.0,
                mean: 0.0,
            };
        }
        let bright_levels = &histogram[usize::from(black_level) + 1..];
        let bright: u64 = bright_levels.iter().sum();
        let saturated: u64 = histogram[usize::from(SATURATED_LEVEL)..].iter().sum();
        let dominant = bright_levels
            .windows(UNIFORM_WINDOW.min(bright_levels.len().max(1)))
            .map(|w| w.iter().sum::<u64>())
            .max()
            .unwrap_or(0);
        let weighted: u64 = histogram
            .iter()
            .enumerate()
            .map(|(v, &n)| v as u64 * n)
            .sum();
        let look = if saturated as f64 > SATURATED_FRACTION * total as f64 {
            Look::Saturated
        } else if bright > 0 && dominant as f64 > UNIFORM_FRACTION * bright as f64 {
            Look::Uniform
        } else {
            Look::Picture
        };
        Self {
            look,
            bright_fraction: bright as f64 / total as f64,
            mean: weighted as f64 / total as f64,
        }
    }

    /// Whether this frame differs abruptly from the frame before it.
    pub fn abrupt_after(&self, previous: &Screening) -> bool {
        (self.bright_fraction - previous.bright_fraction).abs() > ABRUPT_BRIGHT_FRACTION
            || (self.mean - previous.mean).abs() > ABRUPT_MEAN
    }
}

#[cfg(test)]
mod tests {
    use super::super::frame::RgbView;
    use super::super::testframes::{self, Outline};
    use super::*;

    fn screen(img: &image::RgbImage) -> Screening {
        Screening::of(&Plane::brightness(RgbView::from_image(img)), 24)
    }

    #[test]
    fn tower_frames_are_pictures_and_fills_are_not() {
        for outline in [Outline::Circle, Outline::Octagon, Outline::Rectangle] {
            let frame = testframes::tower(640, 360, outline);
            assert_eq!(screen(&frame.image).look, Look::Picture, "{outline:?}");
        }
        let white = image::RgbImage::from_pixel(64, 48, image::Rgb([255, 255, 255]));
        assert_eq!(screen(&white).look, Look::Saturated);
        let gray = image::RgbImage::from_pixel(64, 48, image::Rgb([128, 128, 128]));
        assert_eq!(screen(&gray).look, Look::Uniform);
        let black = image::RgbImage::new(64, 48);
        assert_eq!(screen(&black).look, Look::Picture);
        assert_eq!(screen(&black).bright_fraction, 0.0);
    }

    #[test]
    fn a_menu_on_a_flat_background_is_uniform() {
        let mut menu = image::RgbImage::from_pixel(320, 240, image::Rgb([20, 40, 120]));
        testframes::draw_text_panel(
            &mut menu,
            super::super::crop::Rect {
                x: 10,
                y: 10,
                width: 300,
                height: 220,
            },
            3,
        );
        assert_eq!(screen(&menu).look, Look::Uniform);
    }

    #[test]
    fn jumps_in_brightness_or_coverage_are_abrupt() {
        let frame = testframes::tower(640, 360, Outline::Octagon);
        let picture = screen(&frame.image);
        let white = screen(&image::RgbImage::from_pixel(
            640,
            360,
            image::Rgb([255, 255, 255]),
        ));
        assert!(white.abrupt_after(&picture) && picture.abrupt_after(&white));
        assert!(!picture.abrupt_after(&picture));
    }
}
