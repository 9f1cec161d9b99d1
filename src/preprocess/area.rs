//! Content-area detection: where the endoscopic image sits in a frame.
//!
//! Input: a brightness [`Plane`] (`max(R, G, B)` per pixel, see [`Plane::brightness`]).
//! Output: a [`ContentArea`], the image area as one horizontal span per row, or `None` when
//! the frame holds no image area (black, or only text).
//!
//! The image area is a bright circle, octagon or rectangle on black; towers also draw a panel of
//! patient text beside it. Detection, exactly (so a GPU kernel can reproduce it):
//!
//! 1. A pixel is *bright* when its brightness is `> black_level`.
//! 2. The frame is cut into `cell × cell` cells (the last row and column of cells may be
//!    smaller). A cell is *on* when strictly more than half of its pixels are bright. Thin text
//!    strokes fill far less than half of any cell, so text cells stay off.
//! 3. The largest 4-connected group of on cells is the image area (ties: the group whose first
//!    cell comes first in raster order). A group of fewer than `min_area_fraction` of all cells
//!    is not an image area.
//! 4. The group is grown by one cell in all 8 directions to take in the area's edge cells,
//!    which may be less than half covered.
//! 5. Row `y`'s span runs from the leftmost to the rightmost bright pixel of that row lying in a
//!    grown-group cell (end exclusive). Rows without one have an empty span.
//! 6. The area is the convex hull of those spans' end pixels (pixel `(x, y)` as the point
//!    `(x, y)`): row `y`'s final span holds every pixel whose point lies in the hull. Image
//!    content that is dark where it touches the outline (a vignetted corner, the lumen at the
//!    edge) would otherwise cut a notch into the area and be masked as border. The bounds are
//!    the rows with a span and the union of their spans.
//!
//! Assumptions: the area is convex (circles, octagons and rectangles are; the pixel set of a
//! convex shape is exactly the pixels in its hull, so step 6 changes nothing for a fully bright
//! area), and the text panel lies at least two cells (16 px by default) away from the image
//! area, so no panel pixel falls in a grown cell; dark pixels inside the area (lumen) are kept.
//!
//! Video: a robust version feeds [`ContentArea::detect`] a per-pixel statistic of several
//! frames' brightness planes (e.g. their maximum or mean, itself a [`Plane`]) and re-detects
//! when that statistic's result changes; nothing here assumes a single frame.

use super::area_stats::{detect_from_counts, row_spans_of, CellCounts};
use super::crop::Rect;
use super::frame::Plane;

/// Default brightness at or below which a pixel counts as black border.
///
/// Tower borders are 0–16 (limited-range video puts black at 16); JPEG ringing adds a few
/// levels.
pub const DEFAULT_BLACK_LEVEL: u8 = 24;
/// Default cell side in pixels.
pub const DEFAULT_CELL: usize = 8;
/// Default smallest image area, as a fraction of the frame's cells.
pub const DEFAULT_MIN_AREA_FRACTION: f32 = 0.02;

/// How [`ContentArea::detect`] separates the image area from border and text.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AreaSettings {
    /// Brightness at or below which a pixel is black.
    pub black_level: u8,
    /// Cell side in pixels (≥ 1); text strokes must be much thinner than a cell.
    pub cell: usize,
    /// Smallest image area as a fraction of all cells, in `[0, 1]`.
    pub min_area_fraction: f32,
}

impl Default for AreaSettings {
    fn default() -> Self {
        Self {
            black_level: DEFAULT_BLACK_LEVEL,
            cell: DEFAULT_CELL,
            min_area_fraction: DEFAULT_MIN_AREA_FRACTION,
        }
    }
}

impl AreaSettings {
    /// Checks the ranges documented on the fields; the error says which is wrong.
    pub fn check(&self) -> Result<(), String> {
        if self.cell == 0 {
            return Err("area cell size must be at least 1 pixel".into());
        }
        if !(0.0..=1.0).contains(&self.min_area_fraction) {
            return Err(format!(
                "minimum area fraction must be in [0, 1], got {}",
                self.min_area_fraction
            ));
        }
        Ok(())
    }
}

/// The image area of one row: pixels `start..end` (empty when `start == end`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    pub fn is_empty(&self) -> bool {
        self.start >= self.end
    }

    pub fn contains(&self, x: usize) -> bool {
        (self.start..self.end).contains(&x)
    }
}

/// Where the endoscopic image is in a frame: one [`Span`] per row of its bounds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContentArea {
    frame_width: usize,
    frame_height: usize,
    bounds: Rect,
    /// `spans[i]` is row `bounds.y + i`.
    spans: Vec<Span>,
}

impl ContentArea {
    /// The whole `width × height` frame.
    pub fn full(width: usize, height: usize) -> Self {
        Self {
            frame_width: width,
            frame_height: height,
            bounds: Rect {
                x: 0,
                y: 0,
                width,
                height,
            },
            spans: vec![
                Span {
                    start: 0,
                    end: width
                };
                height
            ],
        }
    }

    /// Finds the image area in a brightness plane (see the module docs for the exact rule).
    pub fn detect(plane: &Plane, settings: &AreaSettings) -> Option<Self> {
        let (black, cell) = (settings.black_level, settings.cell.max(1));
        let counts = CellCounts::of(plane, black, cell);
        detect_from_counts(&counts, settings, |grown| {
            row_spans_of(plane, black, cell, grown)
        })
    }

    /// Trims per-frame-row spans to the rows that have one.
    pub(super) fn from_row_spans(
        width: usize,
        height: usize,
        row_spans: Vec<Span>,
    ) -> Option<Self> {
        let first = row_spans.iter().position(|s| !s.is_empty())?;
        let last = row_spans.iter().rposition(|s| !s.is_empty())?;
        let spans = row_spans[first..=last].to_vec();
        let used = spans.iter().filter(|s| !s.is_empty());
        let x0 = used.clone().map(|s| s.start).min()?;
        let x1 = used.map(|s| s.end).max()?;
        Some(Self {
            frame_width: width,
            frame_height: height,
            bounds: Rect {
                x: x0,
                y: first,
                width: x1 - x0,
                height: last + 1 - first,
            },
            spans,
        })
    }

    /// Width and height of the frame the area was found in.
    pub fn frame_size(&self) -> (usize, usize) {
        (self.frame_width, self.frame_height)
    }

    /// The bounding box of the area.
    pub fn bounds(&self) -> Rect {
        self.bounds
    }

    /// The area's span on frame row `y` (empty outside the bounds).
    pub fn span(&self, y: usize) -> Span {
        y.checked_sub(self.bounds.y)
            .and_then(|i| self.spans.get(i))
            .copied()
            .unwrap_or_default()
    }

    /// The spans of the rows `bounds.y ..` in order (what a GPU kernel uploads).
    pub fn spans(&self) -> &[Span] {
        &self.spans
    }

    /// Whether pixel `(x, y)` is in the area.
    pub fn contains(&self, x: usize, y: usize) -> bool {
        self.span(y).contains(x)
    }

    /// Number of pixels in the area.
    pub fn pixel_count(&self) -> usize {
        self.spans
            .iter()
            .map(|s| s.end.saturating_sub(s.start))
            .sum()
    }

    /// The pixels in both areas (`None` when they share none or come from other frame sizes).
    pub fn intersection(&self, other: &ContentArea) -> Option<ContentArea> {
        if self.frame_size() != other.frame_size() {
            return None;
        }
        let row_spans = (0..self.frame_height)
            .map(|y| {
                let (a, b) = (self.span(y), other.span(y));
                let span = Span {
                    start: a.start.max(b.start),
                    end: a.end.min(b.end),
                };
                if span.is_empty() {
                    Span::default()
                } else {
                    span
                }
            })
            .collect();
        Self::from_row_spans(self.frame_width, self.frame_height, row_spans)
    }

    /// Whether the area is the whole frame (no border to mask).
    pub fn covers_frame(&self) -> bool {
        self.pixel_count() == self.frame_width * self.frame_height
    }
}

/// The largest 4-connected group of `true` cells (first in raster order on ties) as a mask,
/// with its size; `None` if no cell is set.
pub(super) fn largest_group(on: &[bool], cols: usize, rows: usize) -> Option<(Vec<bool>, usize)> {
    let mut label = vec![0u32; on.len()];
    let mut best: Option<(u32, usize)> = None;
    let mut next = 0u32;
    let mut stack = Vec::new();
    for seed in 0..on.len() {
        if !on[seed] || label[seed] != 0 {
            continue;
        }
        next += 1;
        label[seed] = next;
        stack.push(seed);
        let mut size = 0;
        while let Some(i) = stack.pop() {
            size += 1;
            let (c, r) = (i % cols, i / cols);
            let neighbours = [
                (c > 0).then(|| i - 1),
                (c + 1 < cols).then(|| i + 1),
                (r > 0).then(|| i - cols),
                (r + 1 < rows).then(|| i + cols),
            ];
            for j in neighbours.into_iter().flatten() {
                if on[j] && label[j] == 0 {
                    label[j] = next;
                    stack.push(j);
                }
            }
        }
        if best.is_none_or(|(_, s)| size > s) {
            best = Some((next, size));
        }
    }
    let (id, size) = best?;
    Some((label.iter().map(|&l| l == id).collect(), size))
}

/// Grows a cell mask by one cell in all 8 directions.
pub(super) fn grow(mask: &[bool], cols: usize, rows: usize) -> Vec<bool> {
    let mut out = vec![false; mask.len()];
    for r in 0..rows {
        for c in 0..cols {
            if mask[r * cols + c] {
                for rr in r.saturating_sub(1)..(r + 2).min(rows) {
                    for cc in c.saturating_sub(1)..(c + 2).min(cols) {
                        out[rr * cols + cc] = true;
                    }
                }
            }
        }
    }
    out
}

#[cfg(test)]
#[path = "area_tests.rs"]
mod tests;
