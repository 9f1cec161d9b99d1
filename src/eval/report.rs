//! `report.html`: one self-contained page (inline CSS and SVG, no scripts, no external
//! resources) with the model, the data, the metrics with their intervals, the ROC curve, the
//! confusion matrix and the misclassified images. All user text is escaped.

use std::fmt::Write as _;

use super::plots::escape;
use crate::metrics::{CiMethod, Estimate, Metrics};

/// A misclassified image as the report lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct Miss {
    pub key: String,
    pub label: String,
    pub probability: f32,
}

/// What the report shows besides the metrics.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportContext<'a> {
    /// Key/value lines describing the model and the data.
    pub facts: Vec<(&'a str, String)>,
    pub positive: &'a str,
    pub negative: &'a str,
    pub roc_svg: &'a str,
    pub confusion_svg: &'a str,
    /// Misclassified images, most confident first.
    pub misses: Vec<Miss>,
}

/// Rows of the misclassification table at most.
const MAX_MISSES: usize = 200;

/// Renders the page.
pub fn render(metrics: &Metrics, ctx: &ReportContext<'_>) -> String {
    let mut h = String::from(HEAD);
    facts_table(&mut h, &ctx.facts);
    metrics_section(&mut h, metrics, ctx);
    let _ = write!(
        h,
        "<h2>ROC curve and confusion matrix</h2>\n<div class=\"plots\">{}{}</div>\n",
        ctx.roc_svg, ctx.confusion_svg
    );
    misses_section(&mut h, ctx);
    h.push_str("</body></html>\n");
    h
}

/// The page up to its first heading: document head and inline style.
const HEAD: &str = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>endoscan evaluation</title><style>\
         body{font-family:Helvetica,Arial,sans-serif;margin:2em auto;max-width:960px;color:#222}\
         table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 10px;text-align:left}\
         th{background:#f3f3f3}td.num{text-align:right;font-variant-numeric:tabular-nums}\
         .plots{display:flex;flex-wrap:wrap;gap:24px}code{font-size:90%}\
         </style></head><body>\n<h1>endoscan evaluation</h1>\n";

/// The key/value table of the model and the data.
fn facts_table(h: &mut String, facts: &[(&str, String)]) {
    h.push_str("<table>");
    for (k, v) in facts {
        let _ = write!(
            h,
            "<tr><th>{}</th><td><code>{}</code></td></tr>",
            escape(k),
            escape(v)
        );
    }
    h.push_str("</table>\n");
}

/// The metrics with their intervals and the counts.
fn metrics_section(h: &mut String, metrics: &Metrics, ctx: &ReportContext<'_>) {
    h.push_str("<h2>Metrics</h2>\n");
    let _ = write!(
        h,
        "<p>Positive class: <b>{}</b>; a sample is called positive when its probability is ≥ {}.</p>",
        escape(ctx.positive),
        metrics.threshold
    );
    h.push_str("<table><tr><th>metric</th><th>value</th><th>95 % CI</th><th>method</th></tr>");
    for (name, e) in [
        ("accuracy", &metrics.accuracy),
        ("sensitivity", &metrics.sensitivity),
        ("specificity", &metrics.specificity),
        ("F1", &metrics.f1),
        ("AUC", &metrics.auc),
    ] {
        let _ = write!(
            h,
            "<tr><td>{name}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td></tr>",
            percent(e.value),
            interval(e),
            method(e.ci_method)
        );
    }
    let c = &metrics.confusion;
    let _ = writeln!(
        h,
        "</table><p>{} images: {} {} and {} {}. TP {}, FP {}, TN {}, FN {}.</p>",
        metrics.n,
        metrics.positives,
        escape(ctx.positive),
        metrics.negatives,
        escape(ctx.negative),
        c.tp,
        c.fp,
        c.tn,
        c.fn_
    );
}

/// The misclassified images, at most [`MAX_MISSES`] of them.
fn misses_section(h: &mut String, ctx: &ReportContext<'_>) {
    let _ = writeln!(h, "<h2>Misclassified images ({})</h2>", ctx.misses.len());
    if ctx.misses.is_empty() {
        h.push_str("<p>None.</p>\n");
    } else {
        let _ = write!(
            h,
            "<table><tr><th>image</th><th>label</th><th>P({})</th></tr>",
            escape(ctx.positive)
        );
        for m in ctx.misses.iter().take(MAX_MISSES) {
            let _ = write!(
                h,
                "<tr><td><code>{}</code></td><td>{}</td><td class=\"num\">{:.4}</td></tr>",
                escape(&m.key),
                escape(&m.label),
                m.probability
            );
        }
        h.push_str("</table>\n");
        if ctx.misses.len() > MAX_MISSES {
            let _ = writeln!(
                h,
                "<p>… and {} more (see predictions.csv).</p>",
                ctx.misses.len() - MAX_MISSES
            );
        }
    }
}

fn percent(v: Option<f64>) -> String {
    v.map_or("—".into(), |v| format!("{:.2} %", v * 100.0))
}

fn interval(e: &Estimate) -> String {
    e.ci95.map_or("—".into(), |[lo, hi]| {
        format!("{:.2} – {:.2} %", lo * 100.0, hi * 100.0)
    })
}

fn method(m: CiMethod) -> &'static str {
    match m {
        CiMethod::Wilson => "Wilson score",
        CiMethod::HanleyMcneil => "Hanley–McNeil",
        CiMethod::Bootstrap => "bootstrap (2000, percentile)",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_is_self_contained_and_escaped() {
        let m = Metrics::compute(&[0.9, 0.2, 0.6], &[true, false, false], 0.5);
        let ctx = ReportContext {
            facts: vec![("model", "<m>.onnx".into())],
            positive: "cancer",
            negative: "non-cancer",
            roc_svg: "<svg id=\"roc\"></svg>",
            confusion_svg: "<svg id=\"cm\"></svg>",
            misses: vec![Miss {
                key: "a&b.png".into(),
                label: "non-cancer".into(),
                probability: 0.6,
            }],
        };
        let html = render(&m, &ctx);
        assert!(html.contains("&lt;m&gt;.onnx") && html.contains("a&amp;b.png"));
        assert!(html.contains("<svg id=\"roc\">") && html.contains("<svg id=\"cm\">"));
        assert!(html.contains("66.67 %"), "accuracy 2/3");
        assert!(
            !html.contains("<script") && !html.contains("http://") && !html.contains("https://")
        );
    }
}
