//! The rule from an evidence map to a box in frame coordinates (`docs/localization.md`):
//!
//! 1. The map is sampled bilinearly on a grid of [`STEP`]-pixel squares of the `S × S` model
//!    input ([`UPSAMPLE`] per map cell along each side; edges clamped). Map cell `i` is centred
//!    on input pixel `32·i` (each of BiT's five stride-2 steps centres its output `j` on its
//!    input `2j`: a "same"-padded 7×7, a 3×3 max-pool after a 1-pixel pad, and 3×3 or 1×1
//!    convolutions), so a square whose centre is at input coordinate `u` samples map
//!    coordinate `(u − 0.5) / 32`.
//! 2. The peak is the grid point of the highest evidence (the first in row order on a tie).
//! 3. Points at or above `min + RELATIVE_THRESHOLD · (peak − min)` are the finding's
//!    candidates; the finding is the 4-connected component of candidates holding the peak.
//! 4. Its bounding box, in model-input pixels, is mapped through the crop back into the frame, rounded outwards to whole pixels and clipped to
//!    the crop (which lies inside the image area: a box never covers the patient panel).
//!
//! A flat map (`peak − min` below [`MIN_CONTRAST`]) points nowhere: no finding.

use serde::{Deserialize, Serialize};

use super::EvidenceMap;
use crate::model::metadata::CAM_STRIDE;
use crate::preprocess::Crop;

/// Grid points per map cell along each side.
pub const UPSAMPLE: usize = 8;
/// Model-input pixels per grid square.
pub const STEP: usize = CAM_STRIDE / UPSAMPLE;
/// Where between the map's minimum (0) and its peak (1) a location joins the finding.
pub const RELATIVE_THRESHOLD: f32 = 0.5;
/// The least `peak − min` (logits) for a map to point anywhere.
pub const MIN_CONTRAST: f32 = 1e-4;

/// Where the model looked: a box and the peak, in frame pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// The box `[x, x + width) × [y, y + height)`.
    pub x: u32,
    pub y: u32,
    pub width: u32,
    pub height: u32,
    /// The frame pixel under the map's peak (inside the box).
    pub peak_x: u32,
    pub peak_y: u32,
}

impl Finding {
    /// Whether frame pixel `(x, y)` is inside the box.
    pub fn contains(&self, x: f64, y: f64) -> bool {
        x >= f64::from(self.x)
            && x < f64::from(self.x + self.width)
            && y >= f64::from(self.y)
            && y < f64::from(self.y + self.height)
    }
}

/// The map sampled on the grid of step 1.
struct Grid {
    width: usize,
    height: usize,
    values: Vec<f32>,
}

impl Grid {
    /// The grid over an `input_size` square input.
    fn sample(map: &EvidenceMap, input_size: usize) -> Self {
        let side = input_size.div_ceil(STEP);
        let taps = |g: usize, cells: usize| {
            let centre = (g * STEP) as f32 + STEP as f32 / 2.0;
            let c = ((centre - 0.5) / CAM_STRIDE as f32).clamp(0.0, (cells - 1) as f32);
            let lo = c.floor() as usize;
            (lo, (lo + 1).min(cells - 1), c - lo as f32)
        };
        let mut values = Vec::with_capacity(side * side);
        for gy in 0..side {
            let (y0, y1, fy) = taps(gy, map.height);
            for gx in 0..side {
                let (x0, x1, fx) = taps(gx, map.width);
                let top = map.at(x0, y0) * (1.0 - fx) + map.at(x1, y0) * fx;
                let bottom = map.at(x0, y1) * (1.0 - fx) + map.at(x1, y1) * fx;
                values.push(top * (1.0 - fy) + bottom * fy);
            }
        }
        Self {
            width: side,
            height: side,
            values,
        }
    }

    /// The index of the highest value, and the lowest and highest values.
    fn peak(&self) -> (usize, f32, f32) {
        let mut best = 0;
        let (mut lo, mut hi) = (f32::INFINITY, f32::NEG_INFINITY);
        for (i, &v) in self.values.iter().enumerate() {
            lo = lo.min(v);
            if v > hi {
                hi = v;
                best = i;
            }
        }
        (best, lo, hi)
    }

    /// Bounding box `(x0, y0, x1, y1)`, inclusive, of the 4-connected component of points
    /// `≥ threshold` that holds `seed`.
    fn component_bounds(&self, seed: usize, threshold: f32) -> (usize, usize, usize, usize) {
        let mut seen = vec![false; self.values.len()];
        let mut stack = vec![seed];
        seen[seed] = true;
        let (mut x0, mut y0) = (seed % self.width, seed / self.width);
        let (mut x1, mut y1) = (x0, y0);
        while let Some(i) = stack.pop() {
            let (x, y) = (i % self.width, i / self.width);
            (x0, y0, x1, y1) = (x0.min(x), y0.min(y), x1.max(x), y1.max(y));
            let neighbours = [
                (x > 0).then(|| i - 1),
                (x + 1 < self.width).then(|| i + 1),
                (y > 0).then(|| i - self.width),
                (y + 1 < self.height).then(|| i + self.width),
            ];
            for n in neighbours.into_iter().flatten() {
                if !seen[n] && self.values[n] >= threshold {
                    seen[n] = true;
                    stack.push(n);
                }
            }
        }
        (x0, y0, x1, y1)
    }
}

/// The finding of `map` for a model input of side `input_size` cut from the frame at `crop`;
/// `None` for a flat or non-finite map.
pub fn locate(map: &EvidenceMap, crop: &Crop, input_size: usize) -> Option<Finding> {
    if map.values.iter().any(|v| !v.is_finite()) || crop.side == 0 || input_size == 0 {
        return None;
    }
    let grid = Grid::sample(map, input_size);
    let (peak, lo, hi) = grid.peak();
    if hi - lo < MIN_CONTRAST {
        return None;
    }
    let threshold = lo + RELATIVE_THRESHOLD * (hi - lo);
    let (gx0, gy0, gx1, gy1) = grid.component_bounds(peak, threshold);
    // Grid square → model-input pixels (the last square may overhang the input) → frame.
    let input = |g: usize| ((g * STEP) as f64).min(input_size as f64);
    let to_frame = |u: f64, v: f64| crop.to_frame(u, v, input_size);
    let (fx0, fy0) = to_frame(input(gx0), input(gy0));
    let (fx1, fy1) = to_frame(input(gx1 + 1), input(gy1 + 1));
    let (px, py) = (peak % grid.width, peak / grid.width);
    let centre = |g: usize| (input(g) + input(g + 1)) / 2.0;
    let (fpx, fpy) = to_frame(centre(px), centre(py));
    let clip_x = |v: f64| v.clamp(crop.x as f64, (crop.x + crop.side) as f64);
    let clip_y = |v: f64| v.clamp(crop.y as f64, (crop.y + crop.side) as f64);
    let (x0, y0) = (clip_x(fx0).floor() as u32, clip_y(fy0).floor() as u32);
    let (x1, y1) = (clip_x(fx1).ceil() as u32, clip_y(fy1).ceil() as u32);
    if x1 <= x0 || y1 <= y0 {
        return None;
    }
    Some(Finding {
        x: x0,
        y: y0,
        width: x1 - x0,
        height: y1 - y0,
        peak_x: (fpx.floor() as u32).clamp(x0, x1 - 1),
        peak_y: (fpy.floor() as u32).clamp(y0, y1 - 1),
    })
}
