//! Content-area detection from per-cell statistics, as `kernels/cell_stats.cu` delivers them
//! (so a frame need not come back from the GPU): the same result as [`ContentArea::detect`],
//! with the per-pixel work split into two passes over the frame.
//!
//! 1. [`CellCounts`]: bright pixels per cell (and the brightness histogram, for screening).
//! 2. [`detect_from_counts`] finds the largest group and grows it on the cell grid, then asks
//!    its caller for each row's leftmost and rightmost bright pixel in the grown cells
//!    (the `row_spans` kernel, or [`row_spans_of`] on the CPU), and takes the convex hull.

use super::area::{grow, largest_group, AreaSettings, ContentArea, Span};
use super::frame::Plane;
use super::hull::fill_convex;

/// Bright-pixel counts of the `cell × cell` cells of a frame (row-major, last row and column
/// of cells clipped by the frame).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CellCounts {
    pub width: usize,
    pub height: usize,
    pub cell: usize,
    pub cols: usize,
    pub rows: usize,
    pub bright: Vec<u32>,
}

impl CellCounts {
    /// The counts of `plane` (CPU reference of the `cell_counts` kernel).
    pub fn of(plane: &Plane, black_level: u8, cell: usize) -> Self {
        let (width, height, cell) = (plane.width(), plane.height(), cell.max(1));
        let (cols, rows) = (width.div_ceil(cell), height.div_ceil(cell));
        let mut bright = vec![0u32; cols * rows];
        for y in 0..height {
            let cells = &mut bright[(y / cell) * cols..][..cols];
            for (count, run) in cells.iter_mut().zip(plane.row(y).chunks(cell)) {
                *count += run.iter().map(|&v| u32::from(v > black_level)).sum::<u32>();
            }
        }
        Self {
            width,
            height,
            cell,
            cols,
            rows,
            bright,
        }
    }

    /// Whether more than half of cell `i`'s pixels are bright.
    fn on(&self, i: usize) -> bool {
        let (col, row) = (i % self.cols, i / self.cols);
        let w = (self.width - col * self.cell).min(self.cell);
        let h = (self.height - row * self.cell).min(self.cell);
        2 * self.bright[i] as usize > w * h
    }
}

/// The image area from `counts`; `row_spans(grown)` gives each frame row's leftmost and
/// rightmost bright pixel inside the grown cells (`grown`: one flag per cell).
pub fn detect_from_counts(
    counts: &CellCounts,
    settings: &AreaSettings,
    row_spans: impl FnOnce(&[bool]) -> Vec<Span>,
) -> Option<ContentArea> {
    if counts.width == 0 || counts.height == 0 {
        return None;
    }
    let on: Vec<bool> = (0..counts.bright.len()).map(|i| counts.on(i)).collect();
    let (group, size) = largest_group(&on, counts.cols, counts.rows)?;
    if (size as f64) < f64::from(settings.min_area_fraction) * on.len() as f64 {
        return None;
    }
    let grown = grow(&group, counts.cols, counts.rows);
    let spans = row_spans(&grown);
    ContentArea::from_row_spans(counts.width, counts.height, fill_convex(&spans))
}

/// Each row's span of bright pixels in `allowed` cells (CPU reference of `row_spans`).
pub fn row_spans_of(plane: &Plane, black_level: u8, cell: usize, allowed: &[bool]) -> Vec<Span> {
    let cols = plane.width().div_ceil(cell);
    (0..plane.height())
        .map(|y| {
            let cells = &allowed[(y / cell) * cols..][..cols];
            let mut hits = plane
                .row(y)
                .iter()
                .enumerate()
                .filter(|&(x, &v)| v > black_level && cells[x / cell])
                .map(|(x, _)| x);
            match hits.next() {
                Some(start) => Span {
                    start,
                    end: hits.next_back().unwrap_or(start) + 1,
                },
                None => Span::default(),
            }
        })
        .collect()
}

/// Spans from the `row_spans` kernel's encoding: `first = width − x₀`, `last = x₁ + 1`, both 0
/// for a row without one.
pub fn decode_row_spans(width: usize, first: &[u32], last: &[u32]) -> Vec<Span> {
    first
        .iter()
        .zip(last)
        .map(|(&f, &l)| match (f, l) {
            (0, _) | (_, 0) => Span::default(),
            (f, l) => Span {
                start: width - f as usize,
                end: l as usize,
            },
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::testframes::{self, Outline};
    use super::super::RgbView;
    use super::*;

    #[test]
    fn counts_then_spans_find_the_drawn_area_for_any_cell_size() {
        let settings = AreaSettings::default();
        for (w, h, outline) in [
            (1920, 1080, Outline::Circle),
            (1280, 720, Outline::Octagon),
            (643, 357, Outline::Rectangle),
        ] {
            let frame = testframes::tower(w, h, outline);
            let plane = Plane::brightness(RgbView::from_image(&frame.image));
            for cell in [8, 5] {
                let settings = AreaSettings { cell, ..settings };
                let counts = CellCounts::of(&plane, settings.black_level, cell);
                let found = detect_from_counts(&counts, &settings, |grown| {
                    row_spans_of(&plane, settings.black_level, cell, grown)
                });
                // The drawn outline's box, not the text panel beside it (area_tests checks the
                // same through ContentArea::detect for the default cell).
                let found = found.expect("an image area");
                assert_eq!(found.bounds(), frame.area_bounds, "{w}x{h} cell {cell}");
            }
        }
        let black = Plane::filled(64, 48, 0);
        let counts = CellCounts::of(&black, 24, 8);
        assert_eq!(
            detect_from_counts(&counts, &settings, |_| unreachable!()),
            None
        );
    }

    #[test]
    fn kernel_span_encoding_decodes() {
        let spans = decode_row_spans(100, &[0, 100, 60, 1], &[0, 100, 71, 100]);
        assert_eq!(spans[0], Span::default());
        assert_eq!(spans[1], Span { start: 0, end: 100 });
        assert_eq!(spans[2], Span { start: 40, end: 71 });
        assert_eq!(
            spans[3],
            Span {
                start: 99,
                end: 100
            }
        );
    }
}
