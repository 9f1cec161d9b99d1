//! Row-wise softmax, for graphs that only output logits.

use ndarray::{Array2, Axis};

/// Replaces each row of scores by its softmax (max-subtracted, so large scores do not
/// overflow).
pub fn softmax_rows(scores: &mut Array2<f32>) {
    for mut row in scores.axis_iter_mut(Axis(0)) {
        let max = row.fold(f32::NEG_INFINITY, |m, &v| m.max(v));
        row.mapv_inplace(|v| (v - max).exp());
        let sum = row.sum();
        row.mapv_inplace(|v| v / sum);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_sum_to_one_even_for_huge_scores() {
        let mut s = ndarray::arr2(&[[0.0f32, 0.0], [1000.0, 0.0], [1.0, 2.0]]);
        softmax_rows(&mut s);
        assert_eq!(s.row(0).to_vec(), [0.5, 0.5]);
        assert_eq!(s.row(1).to_vec(), [1.0, 0.0]);
        assert!((s[[2, 1]] - 1.0 / (1.0 + (-1.0f32).exp())).abs() < 1e-6);
    }
}
