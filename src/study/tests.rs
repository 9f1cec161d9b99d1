use super::charts::*;
use super::tables::*;
use super::*;

fn outcome(fp: &[&str], fn_: &[&str]) -> Outcome {
    Outcome {
        metrics: [None; 5],
        batch: 1,
        false_positives: fp.iter().map(|s| s.to_string()).collect(),
        false_negatives: fn_.iter().map(|s| s.to_string()).collect(),
    }
}

#[test]
fn error_sets_are_unions_and_intersections_over_models() {
    let a = outcome(&["n1", "n2", "n3"], &["p1"]);
    let b = outcome(&["n2", "n3"], &["p1", "p2"]);
    let c = outcome(&["n3", "n4"], &["p1"]);
    let sets = error_sets(&[&a, &b, &c]);
    let names = |i: usize| sets[i].2.iter().map(String::as_str).collect::<Vec<_>>();
    assert_eq!(
        sets.iter().map(|s| s.1).collect::<Vec<_>>(),
        ["fp_union", "fp_intersection", "fn_union", "fn_intersection"]
    );
    assert_eq!(names(0), ["n1", "n2", "n3", "n4"]);
    assert_eq!(names(1), ["n3"]);
    assert_eq!(names(2), ["p1", "p2"]);
    assert_eq!(names(3), ["p1"]);
    // One model: both are its own errors; none: nothing.
    assert_eq!(error_sets(&[&b])[1].2, b.false_positives);
    assert!(error_sets(&[]).iter().all(|s| s.2.is_empty()));
}

#[test]
fn bars_stand_for_the_defined_values_only() {
    let groups = [
        (
            "r50x1 global".to_string(),
            [Some(0.5), Some(1.0), Some(0.0), None],
        ),
        ("r50x1 <local>".to_string(), [None; 4]),
    ];
    let svg = results_svg(&groups);
    assert!(svg.starts_with("<svg") && svg.ends_with("</svg>\n"));
    assert_eq!(svg.matches("class=\"bar\"").count(), 3);
    assert!(svg.contains("<title>r50x1 global: sensitivity 100.00 %</title>"));
    assert!(svg.contains("r50x1 &lt;local&gt;") && svg.contains(">—</text>"));
    // Bars start on the baseline; a 50 % bar is half as tall as a 100 % one.
    let heights: Vec<f64> = svg
        .split("class=\"bar\"")
        .skip(1)
        .map(|b| {
            let h = b.split("height=\"").nth(1).unwrap();
            h[..h.find('"').unwrap()].parse().unwrap()
        })
        .collect();
    assert_eq!(heights[2], 0.0);
    assert!((heights[1] - 2.0 * heights[0]).abs() < 0.11, "{heights:?}");
}

#[test]
fn the_sweep_plot_has_a_point_per_value_and_the_correlations() {
    let points = [
        (4, [Some(0.375), None, Some(0.25), Some(0.5), Some(0.75)]),
        (1, [Some(0.75), None, Some(0.5), Some(0.5), None]),
        (2, [Some(0.625), None, Some(0.5), Some(0.5), None]),
    ];
    // Accuracy falls linearly with the batch size: r = −1.
    let r = pearson(&[4.0, 1.0, 2.0], &[0.375, 0.75, 0.625]);
    let svg = sweep_svg(&points, &[r, None, None, None, None]);
    assert_eq!(svg.matches("class=\"point\"").count(), 10);
    assert_eq!(svg.matches("<polyline").count(), 3);
    assert!(svg.contains("accuracy (r = -1.00, p = 0.000)"));
    assert!(svg.contains("sensitivity (r undefined)"));
    // The log axis puts batches 1, 2 and 4 evenly apart.
    for b in ["1", "2", "4"] {
        assert!(svg.contains(&format!(">{b}</text>")), "{b}");
    }
    // Vertical grid lines (x1 = x2) stand at the batches.
    let ticks: Vec<f64> = svg
        .split("<line x1=\"")
        .skip(1)
        .filter_map(|l| {
            let x1 = &l[..l.find('"').unwrap()];
            let vertical = l[x1.len()..].starts_with(&format!("\" x2=\"{x1}\""));
            vertical.then(|| x1.parse().unwrap())
        })
        .collect();
    assert_eq!(ticks.len(), 3, "{ticks:?}");
    assert!(
        ((ticks[1] - ticks[0]) - (ticks[2] - ticks[1])).abs() < 0.11,
        "{ticks:?}"
    );
}
