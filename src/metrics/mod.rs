//! Binary classification metrics of the recipe (recipe.md, "Evaluation"; positive = the model's
//! positive class): accuracy (TP+TN)/all, F1 2TP/(2TP+FP+FN), sensitivity TP/(TP+FN),
//! specificity TN/(TN+FP), ROC curve and AUC, confusion matrix.
//!
//! A sample is predicted positive when its positive-class probability is ≥ the threshold.
//! 95 % confidence intervals:
//! - accuracy, sensitivity, specificity (binomial proportions): Wilson score interval
//!   `(p̂ + z²/2n ± z·√(p̂(1−p̂)/n + z²/4n²)) / (1 + z²/n)`, z = 1.959964; it stays inside
//!   [0, 1] and behaves at p̂ = 0 or 1, unlike the Wald interval;
//! - AUC: Hanley & McNeil (1982) standard error, `AUC ± z·SE` clipped to [0, 1];
//! - F1 (not a proportion): percentile bootstrap, 2000 resamples of the samples, fixed seed.
//!
//! A metric whose denominator is zero (e.g. sensitivity without positives) is `None`.

use serde::Serialize;

/// The bootstrap's generator: the crate's SplitMix64 under the training scheme.
type Rng = crate::rng::Rng<crate::rng::Train>;

/// Two-sided 95 % normal quantile.
pub const Z95: f64 = 1.959_963_984_540_054;
/// Bootstrap resamples for the F1 interval.
pub const BOOTSTRAP_RESAMPLES: usize = 2000;
/// Seed of the F1 bootstrap, fixed so reports are reproducible.
pub const BOOTSTRAP_SEED: u64 = 0x00F1;

/// Counts of the 2×2 confusion matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Confusion {
    pub tp: usize,
    pub fp: usize,
    pub tn: usize,
    #[serde(rename = "fn")]
    pub fn_: usize,
}

impl Confusion {
    /// Counts predictions `score ≥ threshold` against the truth.
    pub fn from_scores(scores: &[f32], positive: &[bool], threshold: f32) -> Self {
        let mut c = Self::default();
        for (&s, &p) in scores.iter().zip(positive) {
            c.add(s >= threshold, p);
        }
        c
    }

    /// Adds one prediction.
    pub fn add(&mut self, predicted: bool, actual: bool) {
        match (predicted, actual) {
            (true, true) => self.tp += 1,
            (true, false) => self.fp += 1,
            (false, false) => self.tn += 1,
            (false, true) => self.fn_ += 1,
        }
    }

    pub fn total(&self) -> usize {
        self.tp + self.fp + self.tn + self.fn_
    }

    pub fn positives(&self) -> usize {
        self.tp + self.fn_
    }

    pub fn negatives(&self) -> usize {
        self.tn + self.fp
    }

    pub fn accuracy(&self) -> Option<f64> {
        ratio(self.tp + self.tn, self.total())
    }

    pub fn sensitivity(&self) -> Option<f64> {
        ratio(self.tp, self.positives())
    }

    pub fn specificity(&self) -> Option<f64> {
        ratio(self.tn, self.negatives())
    }

    /// Positive predictive value TP/(TP+FP).
    pub fn precision(&self) -> Option<f64> {
        ratio(self.tp, self.tp + self.fp)
    }

    pub fn f1(&self) -> Option<f64> {
        ratio(2 * self.tp, 2 * self.tp + self.fp + self.fn_)
    }
}

fn ratio(num: usize, den: usize) -> Option<f64> {
    (den > 0).then(|| num as f64 / den as f64)
}

/// Wilson score interval of `successes` out of `n` at normal quantile `z`; `None` if n = 0.
pub fn wilson(successes: usize, n: usize, z: f64) -> Option<[f64; 2]> {
    if n == 0 {
        return None;
    }
    let n = n as f64;
    let p = successes as f64 / n;
    let z2 = z * z;
    let denom = 1.0 + z2 / n;
    let centre = (p + z2 / (2.0 * n)) / denom;
    let half = z / denom * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt();
    Some([(centre - half).max(0.0), (centre + half).min(1.0)])
}

/// One operating point of the ROC curve: predicting positive for scores ≥ `threshold` gives
/// these rates. The first point has threshold +∞ (nothing positive).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct RocPoint {
    pub fpr: f64,
    pub tpr: f64,
    pub threshold: f64,
}

/// ROC curve from (0, 0) to (1, 1), one point per distinct score (ties move diagonally);
/// empty if either class is missing.
pub fn roc_curve(scores: &[f32], positive: &[bool]) -> Vec<RocPoint> {
    let n_pos = positive.iter().filter(|&&p| p).count();
    let n_neg = positive.len() - n_pos;
    if n_pos == 0 || n_neg == 0 {
        return Vec::new();
    }
    let mut points = vec![RocPoint {
        fpr: 0.0,
        tpr: 0.0,
        threshold: f64::INFINITY,
    }];
    points.extend(
        score_cuts(scores, positive)
            .into_iter()
            .map(|cut| RocPoint {
                fpr: cut.fp as f64 / n_neg as f64,
                tpr: cut.tp as f64 / n_pos as f64,
                threshold: cut.score as f64,
            }),
    );
    points
}

/// The prediction "positive if score ≥ `score`" at one distinct score: `tp` true and `fp`
/// false positives.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScoreCut {
    pub score: f32,
    pub tp: usize,
    pub fp: usize,
}

/// One [`ScoreCut`] per distinct score, highest first: the walk down the sorted scores behind
/// [`roc_curve`] and `train`'s threshold choice. Tied scores are one cut, so ties move the ROC
/// curve diagonally.
pub fn score_cuts(scores: &[f32], positive: &[bool]) -> Vec<ScoreCut> {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    let mut cuts = Vec::new();
    let (mut tp, mut fp) = (0usize, 0usize);
    let mut i = 0;
    while i < order.len() {
        let s = scores[order[i]];
        // Bitwise-total equality, so a NaN score (a broken model) forms its own group instead
        // of never matching itself.
        while i < order.len() && scores[order[i]].total_cmp(&s).is_eq() {
            if positive[order[i]] {
                tp += 1;
            } else {
                fp += 1;
            }
            i += 1;
        }
        cuts.push(ScoreCut { score: s, tp, fp });
    }
    cuts
}

/// Area under a ROC curve by the trapezoid rule; with ties moving diagonally this equals the
/// Mann–Whitney probability P(score⁺ > score⁻) + ½·P(score⁺ = score⁻).
pub fn auc(curve: &[RocPoint]) -> Option<f64> {
    if curve.len() < 2 {
        return None;
    }
    Some(
        curve
            .windows(2)
            .map(|w| (w[1].fpr - w[0].fpr) * (w[1].tpr + w[0].tpr) / 2.0)
            .sum(),
    )
}

/// The decision threshold maximizing Youden's J = sensitivity + specificity − 1 over the ROC
/// points (ties: the highest threshold), as `train` picks it on the validation set; `None` if a
/// class is missing. Scores at or above it are positive.
pub fn youden_threshold(curve: &[RocPoint]) -> Option<f32> {
    curve
        .iter()
        .filter(|p| p.threshold.is_finite())
        .fold(None, |best: Option<&RocPoint>, p| match best {
            Some(b) if b.tpr - b.fpr >= p.tpr - p.fpr => Some(b),
            _ => Some(p),
        })
        .map(|p| p.threshold as f32)
}

/// Hanley & McNeil (1982) 95 % interval of an AUC from `n_pos` positives and `n_neg` negatives.
pub fn auc_interval(auc: f64, n_pos: usize, n_neg: usize) -> [f64; 2] {
    let (a, n1, n0) = (auc, n_pos as f64, n_neg as f64);
    let q1 = a / (2.0 - a);
    let q2 = 2.0 * a * a / (1.0 + a);
    let var = (a * (1.0 - a) + (n1 - 1.0) * (q1 - a * a) + (n0 - 1.0) * (q2 - a * a)) / (n1 * n0);
    let se = var.max(0.0).sqrt();
    [(a - Z95 * se).max(0.0), (a + Z95 * se).min(1.0)]
}

/// Percentile-bootstrap 95 % interval of F1 (resampling samples with replacement).
pub fn f1_interval(scores: &[f32], positive: &[bool], threshold: f32) -> Option<[f64; 2]> {
    let n = scores.len();
    if n == 0 {
        return None;
    }
    let predicted: Vec<bool> = scores.iter().map(|&s| s >= threshold).collect();
    let mut rng = Rng::new(BOOTSTRAP_SEED);
    let mut f1s: Vec<f64> = (0..BOOTSTRAP_RESAMPLES)
        .filter_map(|_| {
            let mut c = Confusion::default();
            for _ in 0..n {
                let i = rng.below(n as u64) as usize;
                c.add(predicted[i], positive[i]);
            }
            c.f1()
        })
        .collect();
    if f1s.is_empty() {
        return None;
    }
    f1s.sort_by(f64::total_cmp);
    let at = |q: f64| f1s[((q * (f1s.len() - 1) as f64).round() as usize).min(f1s.len() - 1)];
    Some([at(0.025), at(0.975)])
}

/// How an interval was computed, as written to `metrics.json`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CiMethod {
    Wilson,
    HanleyMcneil,
    Bootstrap,
}

/// A metric with its 95 % interval; `value`/`ci95` are `null` when undefined.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Estimate {
    pub value: Option<f64>,
    pub ci95: Option<[f64; 2]>,
    pub ci_method: CiMethod,
}

/// Everything `metrics.json` reports.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Metrics {
    pub accuracy: Estimate,
    pub f1: Estimate,
    pub sensitivity: Estimate,
    pub specificity: Estimate,
    pub auc: Estimate,
    /// Probability of the positive class at or above which a sample is called positive.
    pub threshold: f32,
    pub confusion: Confusion,
    /// Samples evaluated.
    pub n: usize,
    pub positives: usize,
    pub negatives: usize,
}

impl Metrics {
    /// Computes every metric from positive-class probabilities and the truth.
    pub fn compute(scores: &[f32], positive: &[bool], threshold: f32) -> Self {
        let c = Confusion::from_scores(scores, positive, threshold);
        let prop = |value: Option<f64>, k: usize, n: usize| Estimate {
            value,
            ci95: wilson(k, n, Z95),
            ci_method: CiMethod::Wilson,
        };
        let curve = roc_curve(scores, positive);
        let area = auc(&curve);
        Self {
            accuracy: prop(c.accuracy(), c.tp + c.tn, c.total()),
            f1: Estimate {
                value: c.f1(),
                ci95: c.f1().and(f1_interval(scores, positive, threshold)),
                ci_method: CiMethod::Bootstrap,
            },
            sensitivity: prop(c.sensitivity(), c.tp, c.positives()),
            specificity: prop(c.specificity(), c.tn, c.negatives()),
            auc: Estimate {
                value: area,
                ci95: area.map(|a| auc_interval(a, c.positives(), c.negatives())),
                ci_method: CiMethod::HanleyMcneil,
            },
            threshold,
            confusion: c,
            n: c.total(),
            positives: c.positives(),
            negatives: c.negatives(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wilson_matches_reference_values() {
        // mpmath at 30 digits.
        let [lo, hi] = wilson(81, 263, Z95).unwrap();
        assert!((lo - 0.255_288_519_878).abs() < 1e-11 && (hi - 0.366_209_576_983).abs() < 1e-11);
        let [lo, hi] = wilson(0, 10, Z95).unwrap();
        assert!(lo.abs() < 1e-15 && (hi - 0.277_532_799_863).abs() < 1e-11);
        let [lo, hi] = wilson(10, 10, Z95).unwrap();
        assert!((lo - 0.722_467_200_137).abs() < 1e-11 && (hi - 1.0).abs() < 1e-15);
        assert!(wilson(0, 0, Z95).is_none());
    }

    #[test]
    fn roc_moves_diagonally_on_ties() {
        let scores = [0.5, 0.5, 0.9, 0.1];
        let truth = [true, false, true, false];
        let curve = roc_curve(&scores, &truth);
        let pts: Vec<(f64, f64)> = curve.iter().map(|p| (p.fpr, p.tpr)).collect();
        assert_eq!(pts, vec![(0.0, 0.0), (0.0, 0.5), (0.5, 1.0), (1.0, 1.0)]);
        assert_eq!(auc(&curve), Some(0.875));
        assert!(roc_curve(&scores, &[true; 4]).is_empty());
        assert_eq!(auc(&[]), None);
    }

    #[test]
    fn a_nan_score_is_a_cut_of_its_own_and_the_walk_ends() {
        let cuts = score_cuts(&[0.2, f32::NAN, 0.7], &[false, true, true]);
        assert_eq!(cuts.len(), 3);
        assert!(cuts[0].score.is_nan() && (cuts[0].tp, cuts[0].fp) == (1, 0));
        assert_eq!((cuts[2].score, cuts[2].tp, cuts[2].fp), (0.2, 2, 1));
    }

    #[test]
    fn youden_picks_the_best_separating_score() {
        // Positives 0.9 0.6 0.55, negatives 0.7 0.3 0.2: J is 2/3 at 0.55 (all positives, one
        // false positive) and at 0.9 only 1/3.
        let scores = [0.9, 0.6, 0.55, 0.7, 0.3, 0.2];
        let truth = [true, true, true, false, false, false];
        let t = youden_threshold(&roc_curve(&scores, &truth)).unwrap();
        assert_eq!(t, 0.55);
        let c = Confusion::from_scores(&scores, &truth, t);
        assert_eq!((c.tp, c.fp, c.tn, c.fn_), (3, 1, 2, 0));
        assert_eq!(youden_threshold(&[]), None);
    }

    #[test]
    fn undefined_rates_are_none() {
        let m = Metrics::compute(&[0.2, 0.7], &[false, false], 0.5);
        assert_eq!(m.sensitivity.value, None);
        assert_eq!(m.sensitivity.ci95, None);
        assert_eq!(m.specificity.value, Some(0.5));
        assert_eq!(m.auc.value, None);
        assert_eq!(m.f1.value, Some(0.0));
    }

    #[test]
    fn f1_interval_is_reproducible_and_brackets_f1() {
        let scores: Vec<f32> = (0..200).map(|i| ((i * 37) % 100) as f32 / 100.0).collect();
        let truth: Vec<bool> = (0..200).map(|i| (i * 37) % 100 > 40 + i % 20).collect();
        let m = Metrics::compute(&scores, &truth, 0.5);
        let [lo, hi] = m.f1.ci95.unwrap();
        let f1 = m.f1.value.unwrap();
        assert!(lo < f1 && f1 < hi, "{lo} {f1} {hi}");
        assert_eq!(f1_interval(&scores, &truth, 0.5), Some([lo, hi]));
    }
}
