//! Statistics for the paper's batch-size study: Pearson's r with its two-sided p-value from
//! Student's t with n − 2 degrees of freedom, `t = r·√((n−2)/(1−r²))`,
//! `p = I_{df/(df+t²)}(df/2, 1/2)`. The regularized incomplete beta `I_x(a, b)` is the
//! continued fraction of Numerical Recipes §6.4 (modified Lentz), `ln Γ` is Lanczos' (g = 7).

/// Pearson correlation of two samples.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Pearson {
    /// Correlation coefficient in [−1, 1].
    pub r: f64,
    /// Two-sided p-value of H0: ρ = 0.
    pub p: f64,
    /// Number of pairs.
    pub n: usize,
}

/// Pearson's r and its two-sided p-value; `None` for fewer than 3 pairs, unequal lengths,
/// non-finite values or a constant sample (r undefined).
pub fn pearson(x: &[f64], y: &[f64]) -> Option<Pearson> {
    let n = x.len();
    if n < 3 || y.len() != n || x.iter().chain(y).any(|v| !v.is_finite()) {
        return None;
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / n as f64;
    let (mx, my) = (mean(x), mean(y));
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (a, b) in x.iter().zip(y) {
        let (dx, dy) = (a - mx, b - my);
        sxy += dx * dy;
        sxx += dx * dx;
        syy += dy * dy;
    }
    if sxx == 0.0 || syy == 0.0 {
        return None;
    }
    let r = (sxy / (sxx * syy).sqrt()).clamp(-1.0, 1.0);
    let df = (n - 2) as f64;
    let p = if r.abs() == 1.0 {
        0.0
    } else {
        let t = r * (df / (1.0 - r * r)).sqrt();
        student_t_two_sided(t, df)
    };
    Some(Pearson { r, p, n })
}

/// Two-sided tail probability `P(|T| ≥ |t|)` of Student's t with `df` degrees of freedom.
pub fn student_t_two_sided(t: f64, df: f64) -> f64 {
    if t.is_infinite() {
        return 0.0;
    }
    reg_inc_beta(df / (df + t * t), df / 2.0, 0.5)
}

/// Regularized incomplete beta `I_x(a, b)` for `a, b > 0`, `x ∈ [0, 1]`; NaN outside.
pub fn reg_inc_beta(x: f64, a: f64, b: f64) -> f64 {
    if !(a > 0.0 && b > 0.0 && (0.0..=1.0).contains(&x)) {
        return f64::NAN;
    }
    if x == 0.0 || x == 1.0 {
        return x;
    }
    let ln_front = ln_gamma(a + b) - ln_gamma(a) - ln_gamma(b) + a * x.ln() + b * (1.0 - x).ln();
    // The continued fraction converges fast for x < (a+1)/(a+b+2); use the symmetry otherwise.
    if x < (a + 1.0) / (a + b + 2.0) {
        ln_front.exp() * beta_cf(x, a, b) / a
    } else {
        1.0 - ln_front.exp() * beta_cf(1.0 - x, b, a) / b
    }
}

/// Continued fraction for the incomplete beta (modified Lentz).
fn beta_cf(x: f64, a: f64, b: f64) -> f64 {
    const MAX_ITER: usize = 300;
    const EPS: f64 = 1e-15;
    let (qab, qap, qam) = (a + b, a + 1.0, a - 1.0);
    let mut c = 1.0;
    let mut d = 1.0 / off_zero(1.0 - qab * x / qap);
    let mut h = d;
    for m in 1..=MAX_ITER {
        let m = m as f64;
        let m2 = 2.0 * m;
        // Even step.
        let aa = m * (b - m) * x / ((qam + m2) * (a + m2));
        h *= lentz_step(aa, &mut c, &mut d);
        // Odd step.
        let aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
        let delta = lentz_step(aa, &mut c, &mut d);
        h *= delta;
        if (delta - 1.0).abs() < EPS {
            break;
        }
    }
    h
}

/// One modified-Lentz step with partial numerator `aa`: updates `c` and `d` (`d` kept as the
/// reciprocal of its denominator) and returns the factor `d·c` that multiplies the convergent.
fn lentz_step(aa: f64, c: &mut f64, d: &mut f64) -> f64 {
    *d = 1.0 / off_zero(1.0 + aa * *d);
    *c = off_zero(1.0 + aa / *c);
    *d * *c
}

/// `v`, or a tiny number in its place when `|v|` is below it, so Lentz never divides by zero.
fn off_zero(v: f64) -> f64 {
    const TINY: f64 = 1e-300;
    if v.abs() < TINY {
        TINY
    } else {
        v
    }
}

/// `ln Γ(x)` for `x > 0` (Lanczos, g = 7, 9 terms; relative error ≈ 1e-15).
pub fn ln_gamma(x: f64) -> f64 {
    const G: f64 = 7.0;
    const COEF: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        // Reflection: Γ(x)Γ(1−x) = π / sin(πx).
        let pi = std::f64::consts::PI;
        return (pi / (pi * x).sin()).abs().ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let t = x + G + 0.5;
    let series = COEF[1..]
        .iter()
        .enumerate()
        .fold(COEF[0], |acc, (i, c)| acc + c / (x + i as f64 + 1.0));
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + series.ln()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ln_gamma_hits_factorials_and_half() {
        assert!((ln_gamma(1.0)).abs() < 1e-14);
        assert!((ln_gamma(5.0) - 24f64.ln()).abs() < 1e-13);
        assert!((ln_gamma(0.5) - std::f64::consts::PI.sqrt().ln()).abs() < 1e-13);
        assert!((ln_gamma(101.0) - 363.739_375_555_563_47).abs() < 1e-9);
    }

    #[test]
    fn incomplete_beta_matches_mpmath() {
        // mpmath.betainc(a, b, 0, x, regularized=True) at 30 digits.
        for (x, a, b, want) in [
            (0.4, 2.0, 3.0, 0.524_8),
            (0.3, 0.5, 0.5, 0.369_010_119_565_545_4),
            (0.9, 10.0, 0.5, 0.151_640_909_634_709_97),
            (0.45, 50.0, 60.0, 0.464_235_291_430_603_6),
        ] {
            let got = reg_inc_beta(x, a, b);
            assert!(
                (got - want).abs() < 1e-12,
                "I_{x}({a},{b}) = {got}, want {want}"
            );
        }
        assert_eq!(reg_inc_beta(0.0, 2.0, 3.0), 0.0);
        assert_eq!(reg_inc_beta(1.0, 2.0, 3.0), 1.0);
        assert!(reg_inc_beta(1.5, 2.0, 3.0).is_nan());
    }

    #[test]
    fn student_t_matches_tables() {
        // Two-sided 5 % critical values: t(4) = 2.776445, t(10) = 2.228139; t(1) is Cauchy.
        assert!((student_t_two_sided(2.776_445_105_2, 4.0) - 0.05).abs() < 1e-9);
        assert!((student_t_two_sided(2.228_138_851_99, 10.0) - 0.05).abs() < 1e-9);
        assert!((student_t_two_sided(1.0, 1.0) - 0.5).abs() < 1e-12);
        assert_eq!(student_t_two_sided(0.0, 7.0), 1.0);
    }

    #[test]
    fn pearson_handles_degenerate_input() {
        assert!(pearson(&[1.0, 2.0], &[3.0, 4.0]).is_none());
        assert!(pearson(&[1.0, 1.0, 1.0], &[3.0, 4.0, 5.0]).is_none());
        assert!(pearson(&[1.0, 2.0, 3.0], &[3.0, 4.0]).is_none());
        let perfect = pearson(&[1.0, 2.0, 3.0], &[-2.0, -4.0, -6.0]).unwrap();
        assert_eq!((perfect.r, perfect.p), (-1.0, 0.0));
    }
}
