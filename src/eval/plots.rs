//! Self-contained SVG plots: the ROC curve with the operating point, and the confusion matrix.
//! Built from the shared primitives of [`crate::plot`]; all user text is XML-escaped.

use std::fmt::Write as _;

use crate::metrics::{Confusion, RocPoint};
pub use crate::plot::escape;
use crate::plot::{document, polyline, ticks, Frame, END, FONT};

/// Plot side in SVG user units.
const SIZE: f64 = 420.0;
/// Margin for axes and labels.
const MARGIN: f64 = 56.0;

/// ROC curve (FPR on x, TPR on y) with the chance diagonal, the AUC in the legend and the
/// operating point `(fpr, tpr)` at the decision threshold.
pub fn roc_svg(curve: &[RocPoint], auc: Option<f64>, operating: Option<(f64, f64)>) -> String {
    let frame = Frame::inside(SIZE, SIZE, MARGIN, MARGIN, MARGIN, MARGIN);
    let mut s = document(SIZE, SIZE, "ROC curve");
    let tick_attrs = format!("font-size=\"11\" {FONT}");
    let grid = ticks(5, |v| format!("{v:.1}"));
    frame.x_grid(&mut s, &grid, &tick_attrs);
    frame.y_grid(&mut s, &grid, &tick_attrs);
    frame.outline(&mut s, "none", "#444");
    let _ = write!(
        s,
        "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#999\" stroke-dasharray=\"5,4\"/>\
         <text x=\"{}\" y=\"{}\" font-size=\"13\" text-anchor=\"middle\" {FONT}>False positive rate (1 − specificity)</text>\
         <text transform=\"translate(16,{}) rotate(-90)\" font-size=\"13\" text-anchor=\"middle\" {FONT}>True positive rate (sensitivity)</text>",
        frame.x(0.0),
        frame.y(0.0),
        frame.x(1.0),
        frame.y(1.0),
        SIZE / 2.0,
        SIZE - 14.0,
        SIZE / 2.0,
    );
    if !curve.is_empty() {
        let points: Vec<(f64, f64)> = curve
            .iter()
            .map(|p| (frame.x(p.fpr), frame.y(p.tpr)))
            .collect();
        s.push_str(&polyline(&points, "#c0392b", 2.2));
    }
    if let Some((fpr, tpr)) = operating {
        let _ = write!(
            s,
            "<circle cx=\"{:.2}\" cy=\"{:.2}\" r=\"5\" fill=\"#1f4e79\"><title>threshold operating point</title></circle>",
            frame.x(fpr),
            frame.y(tpr)
        );
    }
    let label = match auc {
        Some(a) => format!("AUC = {a:.4}"),
        None => "AUC undefined (one class only)".into(),
    };
    let _ = write!(
        s,
        "<text x=\"{}\" y=\"{}\" font-size=\"14\" text-anchor=\"end\" {FONT}>{}</text>",
        frame.x(1.0) - 8.0,
        frame.y(0.0) - 10.0,
        escape(&label)
    );
    s.push_str(END);
    s
}

/// 2×2 confusion matrix: rows are the truth, columns the prediction, positive class first;
/// cells show the count and the share of their row, shaded by that share.
pub fn confusion_svg(c: &Confusion, positive: &str, negative: &str) -> String {
    let (w, h) = (440.0, 380.0);
    let (left, top, cell) = (150.0, 80.0, 130.0);
    let mut s = document(w, h, "Confusion matrix");
    let rows = [
        (positive, [(c.tp, "TP"), (c.fn_, "FN")]),
        (negative, [(c.fp, "FP"), (c.tn, "TN")]),
    ];
    let _ = write!(
        s,
        "<text x=\"{}\" y=\"24\" font-size=\"14\" text-anchor=\"middle\" {FONT}>Predicted</text>\
         <text transform=\"translate(22,{}) rotate(-90)\" font-size=\"14\" text-anchor=\"middle\" {FONT}>Actual</text>",
        left + cell,
        top + cell,
    );
    for (j, name) in [positive, negative].iter().enumerate() {
        let _ = write!(
            s,
            "<text x=\"{}\" y=\"{}\" font-size=\"13\" text-anchor=\"middle\" {FONT}>{}</text>",
            left + cell * (j as f64 + 0.5),
            top - 12.0,
            escape(name)
        );
    }
    for (i, (name, cells)) in rows.iter().enumerate() {
        let y = top + cell * i as f64;
        let row_total: usize = cells.iter().map(|(n, _)| n).sum();
        let _ = write!(
            s,
            "<text x=\"{}\" y=\"{}\" font-size=\"13\" text-anchor=\"end\" {FONT}>{}</text>",
            left - 10.0,
            y + cell / 2.0 + 4.0,
            escape(name)
        );
        for (j, (n, tag)) in cells.iter().enumerate() {
            let x = left + cell * j as f64;
            let share = if row_total > 0 {
                *n as f64 / row_total as f64
            } else {
                0.0
            };
            let correct = i == j;
            let (r, g, b) = if correct {
                (31, 120, 80)
            } else {
                (192, 57, 43)
            };
            let text = if share > 0.55 { "#fff" } else { "#222" };
            let _ = write!(
                s,
                "<rect x=\"{x}\" y=\"{y}\" width=\"{cell}\" height=\"{cell}\" fill=\"rgb({r},{g},{b})\" fill-opacity=\"{:.3}\" stroke=\"#444\"/>\
                 <text x=\"{cx}\" y=\"{}\" font-size=\"24\" text-anchor=\"middle\" fill=\"{text}\" {FONT}>{n}</text>\
                 <text x=\"{cx}\" y=\"{}\" font-size=\"12\" text-anchor=\"middle\" fill=\"{text}\" {FONT}>{tag} · {:.1} %</text>",
                0.08 + 0.92 * share,
                y + cell / 2.0 + 2.0,
                y + cell / 2.0 + 24.0,
                share * 100.0,
                cx = x + cell / 2.0,
            );
        }
    }
    s.push_str(END);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roc_plot_has_the_curve_and_legend() {
        let curve = [
            RocPoint {
                fpr: 0.0,
                tpr: 0.0,
                threshold: f64::INFINITY,
            },
            RocPoint {
                fpr: 0.0,
                tpr: 1.0,
                threshold: 0.7,
            },
            RocPoint {
                fpr: 1.0,
                tpr: 1.0,
                threshold: 0.1,
            },
        ];
        let svg = roc_svg(&curve, Some(1.0), Some((0.0, 1.0)));
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        assert!(svg.contains("<polyline points=\"56.00,364.00 56.00,56.00 364.00,56.00\""));
        assert!(svg.contains("AUC = 1.0000") && svg.contains("<circle"));
    }

    #[test]
    fn confusion_plot_names_classes_safely() {
        let c = Confusion {
            tp: 40,
            fp: 10,
            tn: 90,
            fn_: 10,
        };
        let svg = confusion_svg(&c, "<cancer>", "non-cancer");
        assert!(svg.contains("&lt;cancer&gt;") && !svg.contains("<cancer>"));
        assert!(svg.contains(">40<") && svg.contains("TP · 80.0 %") && svg.contains("TN · 90.0 %"));
    }
}
