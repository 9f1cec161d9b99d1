//! The report's probability-over-time plot: inline SVG, raw and smoothed curves binned to at
//! most [`MAX_POINTS`] points (peak per bin, so no spike hides), segments shaded, thresholds
//! dashed.

use std::fmt::Write;

use super::Summary;
use crate::infer::stage::ScoredFrame;
use crate::plot::{ticks, Frame};
use crate::smooth::Smoothed;

/// Plot size in SVG user units.
const PLOT_W: f64 = 960.0;
const PLOT_H: f64 = 260.0;
const MARGIN_L: f64 = 48.0;
const MARGIN_R: f64 = 12.0;
const MARGIN_T: f64 = 12.0;
const MARGIN_B: f64 = 34.0;
/// Most points drawn per curve; longer studies are binned (peak per bin, so no spike hides).
const MAX_POINTS: usize = 1200;

/// Draws the plot into `h`.
pub fn plot(h: &mut String, rows: &[ScoredFrame], smoothed: &Smoothed, summary: &Summary) {
    let frame = Frame::inside(PLOT_W, PLOT_H, MARGIN_L, MARGIN_T, MARGIN_R, MARGIN_B);
    let (x0, x1) = (frame.left, frame.right);
    let (y0, y1) = (frame.top, frame.bottom);
    let _ = write!(
        h,
        "<svg class=\"plot\" viewBox=\"0 0 {PLOT_W} {PLOT_H}\" role=\"img\" aria-label=\"probability over time\" xmlns=\"http://www.w3.org/2000/svg\">"
    );
    frame.outline(h, "#fafafa", "#ccc");
    if rows.is_empty() {
        let _ = write!(
            h,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">no frames scored</text></svg>",
            PLOT_W / 2.0,
            PLOT_H / 2.0
        );
        return;
    }
    let t0 = rows[0].pts_ms;
    let t1 = rows[rows.len() - 1].pts_ms.max(t0 + 1.0);
    let x = |t: f64| frame.x((t - t0) / (t1 - t0));
    let y = |p: f64| frame.y(p.clamp(0.0, 1.0));
    // Segments behind the curves.
    for seg in &smoothed.segments {
        let (a, b) = (x(seg.start_ms), x(seg.end_ms.min(t1)));
        let _ = write!(h, "<rect x=\"{a:.1}\" y=\"{y0}\" width=\"{:.1}\" height=\"{}\" fill=\"#ffb000\" fill-opacity=\"0.35\"/>", (b - a).max(1.5), y1 - y0);
    }
    // Grid and axes.
    frame.y_grid(h, &ticks(4, |p| format!("{p:.2}")), "class=\"tick\"");
    for (i, t) in time_ticks(t0, t1).into_iter().enumerate() {
        let _ = write!(
            h,
            "<line x1=\"{0:.1}\" x2=\"{0:.1}\" y1=\"{y1}\" y2=\"{1}\" stroke=\"#999\"/>",
            x(t),
            y1 + 4.0
        );
        let anchor = if i == 0 { "start" } else { "middle" };
        let _ = write!(
            h,
            "<text x=\"{:.1}\" y=\"{}\" class=\"tick\" text-anchor=\"{anchor}\">{}</text>",
            x(t),
            y1 + 18.0,
            tick_label(t)
        );
    }
    let _ = write!(
        h,
        "<text x=\"{}\" y=\"{}\" class=\"axis\" text-anchor=\"middle\">time (min:s)</text>",
        (x0 + x1) / 2.0,
        PLOT_H - 2.0
    );
    for (p, dash) in [
        (summary.smoothing.on, "6 3"),
        (summary.smoothing.off, "2 3"),
    ] {
        let _ = write!(h, "<line x1=\"{x0}\" x2=\"{x1}\" y1=\"{0:.1}\" y2=\"{0:.1}\" stroke=\"#b00\" stroke-dasharray=\"{dash}\"/>", y(p as f64));
    }
    // Curves, binned to at most MAX_POINTS (peak per bin).
    let raw: Vec<f32> = rows.iter().map(|r| r.p).collect();
    for (values, class) in [(&raw, "raw"), (&smoothed.smoothed, "smooth")] {
        let pts = binned(rows, values);
        let mut d = String::with_capacity(pts.len() * 14);
        for (i, (t, p)) in pts.iter().enumerate() {
            let _ = write!(
                d,
                "{}{:.1},{:.1}",
                if i == 0 { "M" } else { " L" },
                x(*t),
                y(*p as f64)
            );
        }
        let _ = write!(h, "<path class=\"{class}\" d=\"{d}\"/>");
    }
    let _ = write!(h, "</svg>");
}

/// `(time, peak value)` per bin, at most [`MAX_POINTS`] bins.
fn binned(rows: &[ScoredFrame], values: &[f32]) -> Vec<(f64, f32)> {
    let n = rows.len();
    let bins = n.min(MAX_POINTS);
    (0..bins)
        .map(|b| {
            let (a, e) = (b * n / bins, ((b + 1) * n / bins).max(b * n / bins + 1));
            let peak = values[a..e].iter().cloned().fold(0.0f32, f32::max);
            (rows[a].pts_ms, peak)
        })
        .collect()
}

/// Round tick times (ms) between `t0` and `t1`, about 8 of them.
pub(super) fn time_ticks(t0: f64, t1: f64) -> Vec<f64> {
    let span = (t1 - t0).max(1.0);
    let steps = [
        1e3, 2e3, 5e3, 10e3, 15e3, 30e3, 60e3, 120e3, 300e3, 600e3, 900e3, 1800e3, 3600e3,
    ];
    let step = steps
        .iter()
        .copied()
        .find(|s| span / s <= 8.0)
        .unwrap_or(7200e3);
    let mut t = (t0 / step).ceil() * step;
    let mut out = Vec::new();
    while t <= t1 + 1e-6 {
        out.push(t);
        t += step;
    }
    out
}

/// `m:ss.s` (or `h:mm:ss`) from milliseconds.
pub fn clock(ms: f64) -> String {
    let total = (ms.max(0.0) / 1e3 * 10.0).round() / 10.0;
    let h = (total / 3600.0).floor();
    let m = ((total - h * 3600.0) / 60.0).floor();
    let s = total - h * 3600.0 - m * 60.0;
    if h > 0.0 {
        format!("{h}:{m:02}:{:02}", s.floor())
    } else {
        format!("{m}:{s:04.1}")
    }
}

/// Tick labels fall on whole seconds: `m:ss` (or `h:mm:ss`).
pub(super) fn tick_label(ms: f64) -> String {
    let secs = (ms / 1e3).round() as u64;
    match secs / 3600 {
        0 => format!("{}:{:02}", secs / 60, secs % 60),
        h => format!("{h}:{:02}:{:02}", secs % 3600 / 60, secs % 60),
    }
}
