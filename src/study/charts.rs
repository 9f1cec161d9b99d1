//! The study's SVG charts: grouped bars of the results, metric against batch size.

use super::*;

/// A chart of test-set percentages: 0–100 % on y with grid lines, axis titles, and a legend
/// right of the plotting area.
pub(super) struct PercentChart {
    svg: String,
    frame: Frame,
    /// Text attributes of tick labels.
    ticks: String,
    /// Text attributes of axis titles, group names and the legend.
    label: String,
}

impl PercentChart {
    /// A `w` × `h` chart whose plotting area leaves `right` units for the legend and `bottom`
    /// for the x labels.
    fn new(w: f64, h: f64, right: f64, bottom: f64, title: &str) -> Self {
        let frame = Frame::inside(w, h, 64.0, 24.0, right, bottom);
        let mut svg = plot::document(w, h, title);
        let ticks = format!("font-size=\"11\" {FONT}");
        let percent = plot::ticks(5, |v| format!("{:.0}", v * 100.0));
        frame.y_grid(&mut svg, &percent, &ticks);
        Self {
            svg,
            frame,
            ticks,
            label: format!("font-size=\"12\" {FONT}"),
        }
    }

    /// The axis titles, the legend and the end of the document.
    fn finish(mut self, x_title: &str, legend: &[(&str, String)]) -> String {
        let (frame, label) = (self.frame, &self.label);
        frame.axis_titles(&mut self.svg, Some(x_title), Some("test set, %"), label);
        let (x, y) = (frame.right + 20.0, frame.top + 12.0);
        plot::legend(&mut self.svg, x, y, legend, label);
        self.svg.push_str(plot::END);
        self.svg
    }
}

/// Grouped bars of accuracy, sensitivity, specificity and F1 (fractions) per `(label, values)`
/// group; a missing value has no bar, a group without any shows "—". Every bar is a
/// `<rect class="bar">` with a `<title>` naming group, metric and value.
pub(super) fn results_svg(groups: &[(String, [Option<f64>; 4])]) -> String {
    const BAR: f64 = 18.0;
    const GAP: f64 = 28.0;
    let group_w = 4.0 * BAR + GAP;
    let w = (72.0 + group_w * groups.len() as f64).max(320.0) + 150.0;
    let title = "Test results per backbone and fine-tuning mode";
    let mut chart = PercentChart::new(w, 360.0, 150.0, 80.0, title);
    let (frame, label, s) = (chart.frame, chart.label.clone(), &mut chart.svg);
    let _ = write!(
        s,
        "<line x1=\"{0}\" x2=\"{1}\" y1=\"{2}\" y2=\"{2}\" stroke=\"#444\"/>",
        frame.left, frame.right, frame.bottom
    );
    let start = frame.left + (frame.width() - group_w * groups.len() as f64) / 2.0;
    for (g, (name, values)) in groups.iter().enumerate() {
        let x0 = start + group_w * g as f64 + GAP / 2.0;
        for (k, value) in values.iter().enumerate() {
            let Some(v) = value else { continue };
            let top = frame.y(v.clamp(0.0, 1.0));
            let _ = write!(
                s,
                "<rect class=\"bar\" x=\"{:.1}\" y=\"{top:.1}\" width=\"{BAR}\" height=\"{:.1}\" fill=\"{}\">\
                 <title>{}: {} {:.2} %</title></rect>",
                x0 + BAR * k as f64,
                frame.bottom - top,
                PALETTE[k],
                plot::escape(name),
                METRIC_LABELS[k],
                v * 100.0
            );
        }
        let centre = x0 + 2.0 * BAR;
        if values.iter().all(Option::is_none) {
            let _ = write!(
                s,
                "<text x=\"{centre:.1}\" y=\"{:.1}\" {label} text-anchor=\"middle\">—</text>",
                frame.bottom - 8.0
            );
        }
        let _ = write!(
            s,
            "<text x=\"{centre:.1}\" y=\"{:.1}\" {label} text-anchor=\"middle\">{}</text>",
            frame.bottom + 18.0,
            plot::escape(name)
        );
    }
    let entries: Vec<(&str, String)> = (0..4)
        .map(|k| (PALETTE[k], METRIC_LABELS[k].to_string()))
        .collect();
    chart.finish("backbone and fine-tuning mode", &entries)
}

/// Each test metric (fractions) against the batch size on a log₂ axis, one line per metric
/// with a `<circle class="point">` per defined value; the legend gives Pearson's r and p.
pub(super) fn sweep_svg(
    points: &[(usize, [Option<f64>; 5])],
    correlations: &[Option<Pearson>; 5],
) -> String {
    let title = "Batch-size sweep: test metrics against the batch size";
    let mut chart = PercentChart::new(860.0, 380.0, 260.0, 70.0, title);
    let (frame, s) = (chart.frame, &mut chart.svg);
    let log = |b: usize| (b.max(1) as f64).log2();
    let lo = points
        .iter()
        .map(|p| log(p.0))
        .fold(f64::INFINITY, f64::min);
    let hi = points
        .iter()
        .map(|p| log(p.0))
        .fold(f64::NEG_INFINITY, f64::max);
    let fraction = |b: usize| {
        if hi > lo {
            0.05 + 0.9 * (log(b) - lo) / (hi - lo)
        } else {
            0.5
        }
    };
    let batches: BTreeSet<usize> = points.iter().map(|p| p.0).collect();
    let x_ticks: Vec<(f64, String)> = batches
        .iter()
        .map(|&b| (fraction(b), b.to_string()))
        .collect();
    frame.x_grid(s, &x_ticks, &chart.ticks);
    frame.outline(s, "none", "#444");
    let mut entries = Vec::new();
    for k in 0..METRICS.len() {
        let mut line: Vec<(usize, f64)> = points
            .iter()
            .filter_map(|(b, m)| m[k].map(|v| (*b, v)))
            .collect();
        line.sort_by_key(|&(b, _)| b);
        let xy: Vec<(f64, f64)> = line
            .iter()
            .map(|&(b, v)| (frame.x(fraction(b)), frame.y(v.clamp(0.0, 1.0))))
            .collect();
        if xy.len() > 1 {
            s.push_str(&plot::polyline(&xy, PALETTE[k], 2.0));
        }
        for (&(b, v), (x, y)) in line.iter().zip(&xy) {
            let _ = write!(
                s,
                "<circle class=\"point\" cx=\"{x:.2}\" cy=\"{y:.2}\" r=\"4\" fill=\"{}\">\
                 <title>batch {b}: {} {:.2} %</title></circle>",
                PALETTE[k],
                METRIC_LABELS[k],
                v * 100.0
            );
        }
        let stats = correlations[k].map_or("r undefined".into(), |p| {
            format!("r = {:.2}, p = {:.3}", p.r, p.p)
        });
        entries.push((PALETTE[k], format!("{} ({stats})", METRIC_LABELS[k])));
    }
    chart.finish("batch size (log scale)", &entries)
}
