//! The positive-class evidence map of one image, from the model's class-activation map.

use ndarray::ArrayView3;

/// Per-location evidence for the positive class, `height × width` row-major: the positive
/// class's map minus the mean of the other classes' maps. For a two-class model its spatial
/// mean is the decision logit (`logit_positive − logit_other`).
#[derive(Debug, Clone, PartialEq)]
pub struct EvidenceMap {
    pub width: usize,
    pub height: usize,
    pub values: Vec<f32>,
}

impl EvidenceMap {
    /// The evidence map of one image's class-activation map `[classes, h, w]`.
    ///
    /// `None` when `positive` is not a class or the map has no cell.
    pub fn from_cam(cam: ArrayView3<'_, f32>, positive: usize) -> Option<Self> {
        let (classes, height, width) = cam.dim();
        if positive >= classes || height == 0 || width == 0 {
            return None;
        }
        let others = (classes - 1).max(1) as f32;
        let mut values = Vec::with_capacity(height * width);
        for y in 0..height {
            for x in 0..width {
                let pos = cam[[positive, y, x]];
                let rest: f32 = (0..classes)
                    .filter(|&c| c != positive)
                    .map(|c| cam[[c, y, x]])
                    .sum();
                values.push(pos - rest / others);
            }
        }
        Some(Self {
            width,
            height,
            values,
        })
    }

    /// The value at cell `(x, y)`.
    pub fn at(&self, x: usize, y: usize) -> f32 {
        self.values[y * self.width + x]
    }

    /// The spatial mean (for a two-class model, the decision logit).
    pub fn mean(&self) -> f32 {
        let sum: f64 = self.values.iter().map(|&v| f64::from(v)).sum();
        (sum / self.values.len() as f64) as f32
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array3;

    #[test]
    fn positive_minus_the_other_classes() {
        // Two classes, positive = 1: value = cam[1] − cam[0].
        let cam = Array3::from_shape_fn(
            (2, 2, 3),
            |(c, y, x)| {
                if c == 1 {
                    (y * 3 + x) as f32
                } else {
                    1.0
                }
            },
        );
        let map = EvidenceMap::from_cam(cam.view(), 1).unwrap();
        assert_eq!((map.width, map.height), (3, 2));
        assert_eq!(map.values, vec![-1.0, 0.0, 1.0, 2.0, 3.0, 4.0]);
        assert_eq!(map.at(2, 1), 4.0);
        assert!((map.mean() - 1.5).abs() < 1e-6);
        // Three classes: minus the mean of the two others.
        let cam = Array3::from_shape_fn((3, 1, 1), |(c, _, _)| [4.0, 1.0, 3.0][c]);
        let map = EvidenceMap::from_cam(cam.view(), 0).unwrap();
        assert_eq!(map.values, vec![2.0]);
        assert!(EvidenceMap::from_cam(cam.view(), 3).is_none());
    }
}
