//! How well findings point at the truth: the pointing game (the peak inside the true lesion
//! box) and the box's intersection over union, summed over frames.

use super::Finding;

/// A true lesion box in frame pixels, `[x, y, width, height]`.
pub type TruthBox = [f64; 4];

/// Intersection over union of a finding's box and a true box.
pub fn iou(f: &Finding, truth: &TruthBox) -> f64 {
    let [tx, ty, tw, th] = *truth;
    let (fx, fy) = (f64::from(f.x), f64::from(f.y));
    let (fw, fh) = (f64::from(f.width), f64::from(f.height));
    let ix = ((fx + fw).min(tx + tw) - fx.max(tx)).max(0.0);
    let iy = ((fy + fh).min(ty + th) - fy.max(ty)).max(0.0);
    let inter = ix * iy;
    let union = fw * fh + tw * th - inter;
    if union > 0.0 {
        inter / union
    } else {
        0.0
    }
}

/// Whether the finding's peak pixel (its centre) lies in the true box.
pub fn points_at(f: &Finding, truth: &TruthBox) -> bool {
    let [tx, ty, tw, th] = *truth;
    let (px, py) = (f64::from(f.peak_x) + 0.5, f64::from(f.peak_y) + 0.5);
    px >= tx && px < tx + tw && py >= ty && py < ty + th
}

/// Pointing-game hits and IoU over frames with a true lesion; a frame without a finding is a
/// miss with IoU 0.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Tally {
    pub frames: u64,
    pub hits: u64,
    pub iou_sum: f64,
}

impl Tally {
    /// Counts one frame.
    pub fn add(&mut self, finding: Option<&Finding>, truth: &TruthBox) {
        self.frames += 1;
        if let Some(f) = finding {
            self.hits += u64::from(points_at(f, truth));
            self.iou_sum += iou(f, truth);
        }
    }

    /// Share of frames whose peak is inside the lesion (0 without frames).
    pub fn pointing_rate(&self) -> f64 {
        self.hits as f64 / self.frames.max(1) as f64
    }

    /// Mean IoU of the box (0 without frames).
    pub fn mean_iou(&self) -> f64 {
        self.iou_sum / self.frames.max(1) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pointing_and_overlap_by_hand() {
        let f = Finding {
            x: 10,
            y: 10,
            width: 20,
            height: 10,
            peak_x: 25,
            peak_y: 15,
        };
        // Overlap [20, 30) × [10, 20) = 100 of 200 + 400 − 100.
        let truth = [20.0, 10.0, 20.0, 20.0];
        assert!((iou(&f, &truth) - 100.0 / 500.0).abs() < 1e-12);
        assert!(points_at(&f, &truth));
        assert!(!points_at(&f, &[26.0, 10.0, 20.0, 20.0]));
        let mut t = Tally::default();
        t.add(Some(&f), &truth);
        t.add(None, &truth);
        assert_eq!((t.frames, t.hits), (2, 1));
        assert!((t.pointing_rate() - 0.5).abs() < 1e-12);
        assert!((t.mean_iou() - 0.1).abs() < 1e-12);
    }
}
