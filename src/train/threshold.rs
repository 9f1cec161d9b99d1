//! The decision threshold stored in `model.onnx`, chosen on the validation set.
//!
//! Candidates are the distinct validation scores ("positive if p ≥ t"). [`ThresholdRule::Youden`]
//! maximizes sensitivity + specificity − 1 (as [`crate::metrics::youden_threshold`]),
//! [`ThresholdRule::Accuracy`] maximizes accuracy, [`ThresholdRule::Sensitivity`] takes the
//! highest candidate whose sensitivity reaches the target; ties go to the highest candidate, and
//! "nothing positive" (a threshold above every score) is the highest. The
//! threshold returned is then moved halfway to the next lower score: the validation confusion
//! matrix is the same, but a test image scoring just under the lowest validated positive is no
//! longer called negative on a knife edge.

use super::args::ThresholdRule;
use crate::metrics::{score_cuts, ScoreCut};

/// The threshold of `rule` on positive-class probabilities `scores` with truth `positive`
/// (`min_sensitivity`: the target of [`ThresholdRule::Sensitivity`]); `None` when the
/// validation set lacks a class (then nothing can be chosen).
pub fn choose(
    scores: &[f32],
    positive: &[bool],
    rule: ThresholdRule,
    min_sensitivity: f64,
) -> Option<f32> {
    let n_pos = positive.iter().filter(|&&p| p).count();
    let n_neg = positive.len() - n_pos;
    if rule == ThresholdRule::Half {
        return Some(0.5);
    }
    if n_pos == 0 || n_neg == 0 || scores.len() != positive.len() {
        return None;
    }
    // Walking the distinct scores downwards, "positive if p ≥ that score" has `tp` true and
    // `fp` false positives.
    let cuts = score_cuts(scores, positive);
    let taken = match rule {
        ThresholdRule::Sensitivity => {
            // The first cut from the top that reaches the target (the last calls all positive).
            let reaches = |tp: usize| tp as f64 / n_pos as f64 >= min_sensitivity - 1e-12;
            1 + cuts
                .iter()
                .position(|c| reaches(c.tp))
                .unwrap_or(cuts.len() - 1)
        }
        _ => best_cut(&cuts, rule, n_pos, n_neg),
    };
    if taken == 0 {
        return Some((cuts[0].score + 1.0) / 2.0);
    }
    let at = cuts[taken - 1].score;
    Some(match cuts.get(taken) {
        Some(next) => at - (at - next.score) / 2.0,
        None => at,
    })
}

/// How many cuts from the top the best Youden's J or accuracy calls positive (0: none).
fn best_cut(cuts: &[ScoreCut], rule: ThresholdRule, n_pos: usize, n_neg: usize) -> usize {
    let total = (n_pos + n_neg) as f64;
    // Calling nothing positive (a threshold above every score) is a candidate too.
    let nothing = match rule {
        ThresholdRule::Youden => 0.0,
        _ => n_neg as f64 / total,
    };
    let mut best = (nothing, 0);
    for (k, cut) in cuts.iter().enumerate() {
        let (tp, fp) = (cut.tp, cut.fp);
        let tn = n_neg - fp;
        let value = match rule {
            ThresholdRule::Youden => tp as f64 / n_pos as f64 - fp as f64 / n_neg as f64,
            _ => (tp + tn) as f64 / total,
        };
        if value > best.0 {
            best = (value, k + 1);
        }
    }
    best.1
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::{roc_curve, youden_threshold};

    #[test]
    fn separable_scores_get_the_midpoint_of_the_gap() {
        let scores = [0.9, 0.8, 0.3, 0.2, 0.1];
        let truth = [true, true, false, false, false];
        for rule in [ThresholdRule::Youden, ThresholdRule::Accuracy] {
            let t = choose(&scores, &truth, rule, 0.8).unwrap();
            assert!((t - 0.55).abs() < 1e-6, "{rule:?}: {t}");
        }
        assert_eq!(choose(&scores, &truth, ThresholdRule::Half, 0.8), Some(0.5));
    }

    #[test]
    fn youden_agrees_with_eval_on_the_operating_point() {
        let scores = [0.95, 0.7, 0.6, 0.6, 0.4, 0.35, 0.2, 0.1];
        let truth = [true, false, true, true, false, true, false, false];
        let ours = choose(&scores, &truth, ThresholdRule::Youden, 0.8).unwrap();
        let eval = youden_threshold(&roc_curve(&scores, &truth)).unwrap();
        // Same confusion matrix: nothing scores in [ours, eval).
        assert!(ours <= eval);
        assert!(scores.iter().all(|&s| !(ours..eval).contains(&s)));
    }

    #[test]
    fn accuracy_and_youden_can_differ_and_a_missing_class_gives_none() {
        // 1 positive under 2 negatives: Youden takes it (J = 1 − 2/5 at 0.5), accuracy prefers
        // calling everything negative (5/6), so its threshold is above every score.
        let scores = [0.9, 0.5, 0.4, 0.3, 0.2, 0.6];
        let truth = [false, true, false, false, false, false];
        let youden = choose(&scores, &truth, ThresholdRule::Youden, 0.8).unwrap();
        let accuracy = choose(&scores, &truth, ThresholdRule::Accuracy, 0.8).unwrap();
        assert!(youden < 0.5 && youden > 0.4, "{youden}");
        assert!(accuracy > 0.9, "{accuracy}");
        assert_eq!(
            choose(&[0.1, 0.2], &[true, true], ThresholdRule::Youden, 0.8),
            None
        );
    }

    #[test]
    fn sensitivity_takes_the_highest_threshold_reaching_the_target() {
        // Positives at 0.9, 0.7, 0.5, 0.3 and 0.1; negatives at 0.8, 0.6, 0.4, 0.2.
        let scores = [0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1];
        let truth = [true, false, true, false, true, false, true, false, true];
        let at = |target| choose(&scores, &truth, ThresholdRule::Sensitivity, target).unwrap();
        // 3 of 5 positives (0.6) first at "p ≥ 0.5": halfway down to 0.4.
        assert!((at(0.6) - 0.45).abs() < 1e-6, "{}", at(0.6));
        // Just above 0.6 needs the fourth positive, at 0.3.
        assert!((at(0.61) - 0.25).abs() < 1e-6, "{}", at(0.61));
        assert!((at(0.8) - 0.25).abs() < 1e-6, "{}", at(0.8));
        // All of them: the lowest positive score itself.
        assert!((at(1.0) - 0.1).abs() < 1e-6, "{}", at(1.0));
        // A low target still calls the top positive positive.
        assert!((at(0.01) - 0.85).abs() < 1e-6, "{}", at(0.01));
        // Youden on the same scores is elsewhere, so the rule is not ignored.
        let youden = choose(&scores, &truth, ThresholdRule::Youden, 0.8).unwrap();
        assert!((youden - at(0.8)).abs() > 0.1, "{youden}");
    }
}
