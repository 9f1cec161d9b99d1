//! Frame geometry: where the round or octagonal endoscope image sits in the frame, and where
//! a video tower puts its on-screen data panel. Pure geometry, in pixel coordinates with
//! pixel `(x, y)` covering `[x, x + 1) × [y, y + 1)`.

use std::fmt;

/// Default `--size` of the tower layout.
pub const DEFAULT_TOWER_SIZE: (u32, u32) = (960, 540);
/// Default `--size` of the capsule layout.
pub const DEFAULT_CAPSULE_SIZE: (u32, u32) = (384, 384);
/// Capsule frames are square with a side in this range.
pub const CAPSULE_SIDES: std::ops::RangeInclusive<u32> = 256..=512;
/// Tower frames have a width in this range (height is smaller).
pub const TOWER_WIDTHS: std::ops::RangeInclusive<u32> = 320..=3840;
/// Tower frames have a height in this range.
pub const TOWER_HEIGHTS: std::ops::RangeInclusive<u32> = 160..=2160;

/// How the endoscope image is presented in the frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, clap::ValueEnum)]
pub enum Layout {
    /// Video-tower monitor: wide frame, octagonal image on the right, patient panel on the left.
    Tower,
    /// Capsule endoscope: a round image filling a square frame.
    Capsule,
}

impl Layout {
    /// The default frame size of this layout.
    pub fn default_size(self) -> (u32, u32) {
        match self {
            Layout::Tower => DEFAULT_TOWER_SIZE,
            Layout::Capsule => DEFAULT_CAPSULE_SIZE,
        }
    }

    /// Checks that `width × height` suits this layout; the error says why not.
    pub fn check_size(self, width: u32, height: u32) -> Result<(), String> {
        match self {
            Layout::Capsule if width != height => Err(format!(
                "capsule frames must be square, got {width}x{height}"
            )),
            Layout::Capsule if !CAPSULE_SIDES.contains(&width) => Err(format!(
                "capsule side must be in {}..={}, got {width}",
                CAPSULE_SIDES.start(),
                CAPSULE_SIDES.end()
            )),
            Layout::Tower if width <= height => Err(format!(
                "tower frames must be wider than high, got {width}x{height}"
            )),
            Layout::Tower if !TOWER_WIDTHS.contains(&width) || !TOWER_HEIGHTS.contains(&height) => {
                Err(format!(
                    "tower size must be within {}x{} and {}x{}, got {width}x{height}",
                    TOWER_WIDTHS.start(),
                    TOWER_HEIGHTS.start(),
                    TOWER_WIDTHS.end(),
                    TOWER_HEIGHTS.end()
                ))
            }
            _ => Ok(()),
        }
    }

    /// The frame geometry of this layout at `width × height` (assumed valid, see
    /// [`Layout::check_size`]).
    pub fn geometry(self, width: u32, height: u32) -> FrameGeometry {
        let (w, h) = (width as f32, height as f32);
        match self {
            Layout::Capsule => FrameGeometry {
                width,
                height,
                area: ImageArea {
                    shape: Shape::Circle,
                    cx: w / 2.0,
                    cy: h / 2.0,
                    half: w / 2.0 - 1.0,
                },
                panel: None,
            },
            Layout::Tower => {
                // The image is as tall as it fits, right-aligned; the panel takes the rest.
                let half = (0.47 * h).min(0.5 * (w - 0.25 * h) - 2.0).floor();
                let margin = (0.03 * h).round();
                let cx = w - margin - half;
                let panel_w = (cx - half - 2.0 * margin).max(0.0) as u32;
                FrameGeometry {
                    width,
                    height,
                    area: ImageArea {
                        shape: Shape::Octagon { cut: 0.42 },
                        cx,
                        cy: h / 2.0,
                        half,
                    },
                    panel: Some(Rect {
                        x: margin as u32,
                        y: margin as u32,
                        w: panel_w,
                        h: height.saturating_sub(2 * margin as u32),
                    }),
                }
            }
        }
    }
}

impl fmt::Display for Layout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Layout::Tower => "tower",
            Layout::Capsule => "capsule",
        })
    }
}

/// Outline of the image area.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Shape {
    /// A disc of radius `half`.
    Circle,
    /// A square of half-side `half` whose corners are cut by `cut × half` along each edge.
    Octagon {
        /// Fraction of the half-side removed at each corner, in `(0, 1)`.
        cut: f32,
    },
}

/// The region of the frame showing the endoscope image; black outside.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ImageArea {
    /// Outline.
    pub shape: Shape,
    /// Centre x in pixels.
    pub cx: f32,
    /// Centre y in pixels.
    pub cy: f32,
    /// Radius (circle) or half-side (octagon) in pixels.
    pub half: f32,
}

impl ImageArea {
    /// Signed distance in pixels from point `(x, y)` to the outline; negative inside.
    /// Exact for the circle, a close lower bound for the octagon.
    pub fn signed_distance(&self, x: f32, y: f32) -> f32 {
        let (dx, dy) = ((x - self.cx).abs(), (y - self.cy).abs());
        match self.shape {
            Shape::Circle => (dx * dx + dy * dy).sqrt() - self.half,
            Shape::Octagon { cut } => {
                let diagonal =
                    (dx + dy - self.half * (2.0 - cut)) * std::f32::consts::FRAC_1_SQRT_2;
                (dx - self.half).max(dy - self.half).max(diagonal)
            }
        }
    }

    /// Whether the point `(x, y)` (pixel units) lies inside.
    pub fn contains_point(&self, x: f32, y: f32) -> bool {
        self.signed_distance(x, y) <= 0.0
    }

    /// Whether pixel `(x, y)` belongs to the image area (its centre lies inside). Synthetic
    /// frames are exactly black outside and never black inside.
    pub fn contains(&self, x: u32, y: u32) -> bool {
        self.contains_point(x as f32 + 0.5, y as f32 + 0.5)
    }

    /// Whether every pixel of `rect` belongs to the image area (the area is convex, so the
    /// four corner pixels decide).
    pub fn contains_rect(&self, rect: Rect) -> bool {
        if rect.w == 0 || rect.h == 0 {
            return false;
        }
        let (x1, y1) = (rect.x + rect.w - 1, rect.y + rect.h - 1);
        [(rect.x, rect.y), (x1, rect.y), (rect.x, y1), (x1, y1)]
            .into_iter()
            .all(|(x, y)| self.contains(x, y))
    }

    /// The smallest pixel rectangle holding the area, clipped to a `width × height` frame.
    pub fn bounds(&self, width: u32, height: u32) -> Rect {
        let x0 = (self.cx - self.half).floor().max(0.0) as u32;
        let y0 = (self.cy - self.half).floor().max(0.0) as u32;
        let x1 = ((self.cx + self.half).ceil() as u32).min(width);
        let y1 = ((self.cy + self.half).ceil() as u32).min(height);
        Rect {
            x: x0,
            y: y0,
            w: x1.saturating_sub(x0),
            h: y1.saturating_sub(y0),
        }
    }
}

/// An axis-aligned pixel rectangle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Rect {
    /// Left column.
    pub x: u32,
    /// Top row.
    pub y: u32,
    /// Width in pixels.
    pub w: u32,
    /// Height in pixels.
    pub h: u32,
}

/// Where everything sits in one frame.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FrameGeometry {
    /// Frame width in pixels.
    pub width: u32,
    /// Frame height in pixels.
    pub height: u32,
    /// The endoscope image.
    pub area: ImageArea,
    /// The on-screen data panel (tower only).
    pub panel: Option<Rect>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capsule_circle_fills_the_square() {
        let g = Layout::Capsule.geometry(256, 256);
        assert!(g.area.contains(128, 128));
        assert!(g.area.contains(2, 128));
        assert!(!g.area.contains(0, 0));
        assert!(!g.area.contains(255, 255));
        assert!(g.panel.is_none());
    }

    #[test]
    fn tower_octagon_is_right_of_the_panel() {
        let g = Layout::Tower.geometry(960, 540);
        let panel = g.panel.expect("tower has a panel");
        assert!(panel.x + panel.w < (g.area.cx - g.area.half) as u32);
        assert!(g.area.cx + g.area.half <= 960.0);
        assert!(g.area.contains(g.area.cx as u32, 20));
        // Corners of the square are cut.
        let corner = (g.area.cx + g.area.half - 2.0) as u32;
        assert!(!g
            .area
            .contains(corner, (g.area.cy - g.area.half + 2.0) as u32));
    }

    #[test]
    fn sizes_are_checked_per_layout() {
        assert!(Layout::Capsule.check_size(384, 384).is_ok());
        assert!(Layout::Capsule.check_size(384, 380).is_err());
        assert!(Layout::Capsule.check_size(600, 600).is_err());
        assert!(Layout::Tower.check_size(960, 540).is_ok());
        assert!(Layout::Tower.check_size(540, 960).is_err());
        assert!(Layout::Tower.check_size(100_000, 540).is_err());
    }

    #[test]
    fn contains_rect_needs_all_corners() {
        let g = Layout::Capsule.geometry(256, 256);
        assert!(g.area.contains_rect(Rect {
            x: 100,
            y: 100,
            w: 50,
            h: 50
        }));
        assert!(!g.area.contains_rect(Rect {
            x: 5,
            y: 5,
            w: 50,
            h: 50
        }));
    }
}
