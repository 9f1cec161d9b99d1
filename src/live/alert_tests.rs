use super::*;

const FRAME_MS: f64 = 1000.0 / 30.0;

/// Settings `on` 0.5, `off` 0.35, the default persistence, no smoothing.
fn plain() -> LiveAlerts {
    LiveAlerts::new(0.5, 0.35, 0.0, Persistence::default()).unwrap()
}

fn run(alerts: &mut LiveAlerts, scores: &[f32]) -> Vec<LiveStep> {
    scores
        .iter()
        .enumerate()
        .map(|(i, &p)| alerts.push(i as f64 * FRAME_MS, p))
        .collect()
}

/// `n` copies of `v`.
fn rep(v: f32, n: usize) -> Vec<f32> {
    vec![v; n]
}

fn seq(parts: &[(f32, usize)]) -> Vec<f32> {
    parts.iter().flat_map(|&(v, n)| rep(v, n)).collect()
}

fn changes(steps: &[LiveStep]) -> Vec<(usize, AlertChange)> {
    steps
        .iter()
        .enumerate()
        .filter_map(|(i, s)| s.change.map(|c| (i, c)))
        .collect()
}

#[test]
fn defaults_are_the_documented_rule() {
    assert_eq!(
        Persistence::default(),
        Persistence {
            on_k: 3,
            of_n: 5,
            off_m: 6
        }
    );
    assert_eq!(DEFAULT_LIVE_TAU_MS, 33.0);
}

#[test]
fn a_two_frame_blip_never_alerts() {
    let scores = seq(&[(0.1, 10), (0.95, 2), (0.1, 10), (0.95, 2), (0.1, 10)]);
    assert!(run(&mut plain(), &scores).iter().all(|s| !s.alert));
    // Nor with the default smoothing.
    let mut smoothed = LiveAlerts::new(0.5, 0.35, DEFAULT_LIVE_TAU_MS, Persistence::default());
    assert!(run(smoothed.as_mut().unwrap(), &scores)
        .iter()
        .all(|s| !s.alert));
}

#[test]
fn a_steady_run_alerts_at_the_kth_positive_frame() {
    // Positives from frame 10: the 3rd positive is frame 12.
    let scores = seq(&[(0.1, 10), (0.9, 20)]);
    let steps = run(&mut plain(), &scores);
    assert!(!steps[11].alert);
    assert!(steps[12].alert);
    assert_eq!(changes(&steps), [(12, AlertChange::Started)]);
    // 4 of the last 6: the 4th positive is frame 13.
    let four_of_six = Persistence {
        on_k: 4,
        of_n: 6,
        off_m: 6,
    };
    let mut alerts = LiveAlerts::new(0.5, 0.35, 0.0, four_of_six).unwrap();
    assert_eq!(
        changes(&run(&mut alerts, &scores)),
        [(13, AlertChange::Started)]
    );
}

#[test]
fn k_of_n_counts_positives_with_gaps_in_the_window() {
    // 1 0 1 0 1: three of the last five at frame 4.
    let steps = run(&mut plain(), &[0.9, 0.1, 0.9, 0.1, 0.9]);
    assert_eq!(changes(&steps), [(4, AlertChange::Started)]);
    // 1 0 0 1 0 0 1: never more than two in any five.
    let steps = run(&mut plain(), &[0.9, 0.1, 0.1, 0.9, 0.1, 0.1, 0.9, 0.1, 0.1]);
    assert!(steps.iter().all(|s| !s.alert));
}

#[test]
fn it_ends_exactly_after_m_negatives() {
    // On at 12; negatives from 30: the 6th is frame 35.
    let scores = seq(&[(0.1, 10), (0.9, 20), (0.1, 10)]);
    let steps = run(&mut plain(), &scores);
    assert!(steps[34].alert);
    assert!(!steps[35].alert);
    assert_eq!(
        changes(&steps),
        [(12, AlertChange::Started), (35, AlertChange::Ended)]
    );
}

#[test]
fn a_dip_shorter_than_m_or_above_off_keeps_it_on() {
    // Five negatives (one short of m), then positives again.
    let scores = seq(&[(0.1, 10), (0.9, 20), (0.1, 5), (0.9, 10)]);
    let steps = run(&mut plain(), &scores);
    assert!(steps[12..].iter().all(|s| s.alert));
    assert_eq!(changes(&steps), [(12, AlertChange::Started)]);
    // Between off and on (hysteresis): stays on however long.
    let scores = seq(&[(0.9, 3), (0.4, 100)]);
    let steps = run(&mut plain(), &scores);
    assert!(steps[2..].iter().all(|s| s.alert));
}

#[test]
fn each_alert_starts_and_ends_exactly_once() {
    let scores = seq(&[(0.1, 5), (0.9, 10), (0.1, 10), (0.9, 4), (0.1, 8)]);
    let steps = run(&mut plain(), &scores);
    // First: positives 5..15, on at 7, negatives 15.., off at 20. Second: positives 25..29,
    // on at 27 (the window was emptied at the end), off at 29 + 6 = 34.
    assert_eq!(
        changes(&steps),
        [
            (7, AlertChange::Started),
            (20, AlertChange::Ended),
            (27, AlertChange::Started),
            (34, AlertChange::Ended)
        ]
    );
}

#[test]
fn the_ema_follows_its_formula() {
    let mut alerts = LiveAlerts::new(0.5, 0.35, 100.0, Persistence::default()).unwrap();
    assert_eq!(
        alerts.push(0.0, 0.2).smoothed,
        0.2,
        "the first frame is taken as is"
    );
    // Δt = τ: s = 0.2 + (1 − e⁻¹)·0.8 = 0.705696.
    let s = alerts.push(100.0, 1.0).smoothed;
    assert!((s - 0.705_696).abs() < 1e-5, "{s}");
    // Δt = 0 (a repeated time): nothing moves.
    assert_eq!(alerts.push(100.0, 0.0).smoothed, s);
}

#[test]
fn non_finite_input_is_safe() {
    let mut alerts = plain();
    let step = alerts.push(0.0, f32::NAN);
    assert_eq!(step.smoothed, 0.0);
    assert!(!step.alert);
    // NaN scores count as negatives: an alert ends after six of them.
    let mut alerts = plain();
    let mut scores = rep(0.9, 5);
    scores.extend(rep(f32::NAN, 6));
    let steps = run(&mut alerts, &scores);
    assert_eq!(
        changes(&steps),
        [(2, AlertChange::Started), (10, AlertChange::Ended)]
    );
    // Broken times and infinities with smoothing on never make NaN.
    let mut alerts = LiveAlerts::new(0.5, 0.35, 50.0, Persistence::default()).unwrap();
    for (t, p) in [
        (f64::NAN, 0.9),
        (10.0, f32::INFINITY),
        (f64::INFINITY, 0.5),
        (20.0, f32::NEG_INFINITY),
        (30.0, 7.0),
    ] {
        let s = alerts.push(t, p).smoothed;
        assert!((0.0..=1.0).contains(&s), "{t} {p} → {s}");
    }
}

#[test]
fn bad_settings_are_rejected_naming_the_value() {
    let msg = |on, off, tau, p| LiveAlerts::new(on, off, tau, p).unwrap_err().to_string();
    let d = Persistence::default();
    let bad_k = Persistence {
        on_k: 7,
        of_n: 6,
        off_m: 6,
    };
    assert_eq!(
        msg(0.5, 0.35, 0.0, bad_k),
        "persistence: on-k (7) must be between 1 and of-n (6)"
    );
    assert!(msg(0.5, 0.35, 0.0, Persistence { on_k: 0, ..d }).contains("on-k (0)"));
    assert!(msg(0.5, 0.35, 0.0, Persistence { of_n: 0, ..d }).contains("of-n (0)"));
    assert!(msg(0.5, 0.35, 0.0, Persistence { off_m: 0, ..d }).contains("off-m (0)"));
    let m = msg(0.3, 0.5, 0.0, d);
    assert!(m.contains("on 0.3") && m.contains("off 0.5"), "{m}");
    assert!(msg(1.5, 0.5, 0.0, d).contains("on 1.5"));
    assert!(msg(f32::NAN, 0.5, 0.0, d).contains("on NaN"));
    assert!(msg(0.5, -0.1, 0.0, d).contains("off -0.1"));
    assert!(msg(0.5, 0.35, -1.0, d).contains("(got -1)"));
    assert!(msg(0.5, 0.35, f64::NAN, d).contains("(got NaN)"));
    // The edges are allowed.
    assert!(LiveAlerts::new(
        1.0,
        0.0,
        0.0,
        Persistence {
            on_k: 1,
            of_n: 1,
            off_m: 1
        }
    )
    .is_ok());
}

#[test]
fn reset_forgets_the_history() {
    let mut alerts = LiveAlerts::new(0.5, 0.35, 100.0, Persistence::default()).unwrap();
    let scores = rep(0.9, 10);
    run(&mut alerts, &scores);
    assert!(alerts.alert());
    alerts.reset();
    assert!(!alerts.alert());
    // The EMA restarts (the first frame is taken as is) and so does the window: two positives
    // are not enough again, the third is.
    assert_eq!(alerts.push(0.0, 0.2).smoothed, 0.2);
    let mut alerts2 = plain();
    run(&mut alerts2, &rep(0.9, 2));
    alerts2.reset();
    assert!(!alerts2.push(0.0, 0.9).alert);
    assert!(!alerts2.push(FRAME_MS, 0.9).alert);
    assert_eq!(
        alerts2.push(2.0 * FRAME_MS, 0.9).change,
        Some(AlertChange::Started)
    );
}
