//! Shared SVG primitives for every plot endoscan draws: the ROC curve and confusion matrix of
//! `endoscan eval`, the probability-over-time plot of `endoscan reprocess` and the charts of
//! `endoscan study`.
//!
//! Pure string building, no fonts or files. Coordinates are SVG user units with y pointing
//! down; a [`Frame`] maps fractions of the plotting area (0 at the left / bottom, 1 at the
//! right / top) to them. All user text goes through [`escape`].

use std::fmt::Write as _;

/// Font attribute for the text of standalone plots.
pub const FONT: &str = "font-family=\"Helvetica, Arial, sans-serif\"";

/// Colours of data series, in order (colour-blind friendly, from Okabe & Ito).
pub const PALETTE: [&str; 6] = [
    "#0072b2", "#e69f00", "#009e73", "#cc79a7", "#d55e00", "#56b4e9",
];

/// Colour of grid lines.
pub const GRID: &str = "#e4e4e4";

/// Closes a document opened by [`document`].
pub const END: &str = "</svg>\n";

/// Escapes text for XML / HTML (`&`, `<`, `>`, `"`, `'`).
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Opens a standalone SVG document of `w` × `h` user units with a `<title>` and a white
/// background; finish it with [`END`].
pub fn document(w: f64, h: f64, title: &str) -> String {
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" role=\"img\">\
         <title>{}</title><rect width=\"{w}\" height=\"{h}\" fill=\"#fff\"/>",
        escape(title)
    )
}

/// The plotting area of a chart, in user units.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Frame {
    /// x of the left edge.
    pub left: f64,
    /// y of the top edge.
    pub top: f64,
    /// x of the right edge.
    pub right: f64,
    /// y of the bottom edge.
    pub bottom: f64,
}

impl Frame {
    /// The area `w` × `h` less a margin on each side.
    pub fn inside(w: f64, h: f64, left: f64, top: f64, right: f64, bottom: f64) -> Self {
        Self {
            left,
            top,
            right: w - right,
            bottom: h - bottom,
        }
    }

    /// Width in user units.
    pub fn width(&self) -> f64 {
        self.right - self.left
    }

    /// Height in user units.
    pub fn height(&self) -> f64 {
        self.bottom - self.top
    }

    /// x of a fraction of the width (0: left edge, 1: right edge).
    pub fn x(&self, fraction: f64) -> f64 {
        self.left + fraction * self.width()
    }

    /// y of a fraction of the height (0: bottom edge, 1: top edge).
    pub fn y(&self, fraction: f64) -> f64 {
        self.bottom - fraction * self.height()
    }

    /// The frame's outline.
    pub fn outline(&self, s: &mut String, fill: &str, stroke: &str) {
        let _ = write!(
            s,
            "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{fill}\" stroke=\"{stroke}\"/>",
            self.left,
            self.top,
            self.width(),
            self.height()
        );
    }

    /// Horizontal grid lines at fractions of the height, each labelled left of the frame;
    /// `attrs` styles the labels (e.g. `class="tick"` or a font).
    pub fn y_grid(&self, s: &mut String, ticks: &[(f64, String)], attrs: &str) {
        for (fraction, label) in ticks {
            let y = self.y(*fraction);
            let _ = write!(
                s,
                "<line x1=\"{}\" x2=\"{}\" y1=\"{y:.1}\" y2=\"{y:.1}\" stroke=\"{GRID}\"/>\
                 <text x=\"{}\" y=\"{:.1}\" {attrs} text-anchor=\"end\">{}</text>",
                self.left,
                self.right,
                self.left - 6.0,
                y + 4.0,
                escape(label)
            );
        }
    }

    /// Vertical grid lines at fractions of the width, each labelled below the frame.
    pub fn x_grid(&self, s: &mut String, ticks: &[(f64, String)], attrs: &str) {
        for (fraction, label) in ticks {
            let x = self.x(*fraction);
            let _ = write!(
                s,
                "<line x1=\"{x:.1}\" x2=\"{x:.1}\" y1=\"{}\" y2=\"{}\" stroke=\"{GRID}\"/>\
                 <text x=\"{x:.1}\" y=\"{}\" {attrs} text-anchor=\"middle\">{}</text>",
                self.top,
                self.bottom,
                self.bottom + 16.0,
                escape(label)
            );
        }
    }

    /// Axis titles: `x` centred below the frame, `y` rotated left of it (`None`: none).
    pub fn axis_titles(&self, s: &mut String, x: Option<&str>, y: Option<&str>, attrs: &str) {
        if let Some(x) = x {
            let _ = write!(
                s,
                "<text x=\"{:.1}\" y=\"{:.1}\" {attrs} text-anchor=\"middle\">{}</text>",
                (self.left + self.right) / 2.0,
                self.bottom + 38.0,
                escape(x)
            );
        }
        if let Some(y) = y {
            let _ = write!(
                s,
                "<text transform=\"translate({:.1},{:.1}) rotate(-90)\" {attrs} text-anchor=\"middle\">{}</text>",
                (self.left - 40.0).max(14.0),
                (self.top + self.bottom) / 2.0,
                escape(y)
            );
        }
    }
}

/// `n + 1` evenly spaced ticks from 0 to 1, labelled by `label(value)`.
pub fn ticks(n: usize, label: impl Fn(f64) -> String) -> Vec<(f64, String)> {
    (0..=n)
        .map(|i| {
            let v = i as f64 / n as f64;
            (v, label(v))
        })
        .collect()
}

/// An open line through `points` (user units, two decimals).
pub fn polyline(points: &[(f64, f64)], stroke: &str, width: f64) -> String {
    let pts: Vec<String> = points
        .iter()
        .map(|(x, y)| format!("{x:.2},{y:.2}"))
        .collect();
    format!(
        "<polyline points=\"{}\" fill=\"none\" stroke=\"{stroke}\" stroke-width=\"{width}\"/>",
        pts.join(" ")
    )
}

/// A column of legend entries (a colour swatch and a label each), the first one's baseline
/// at `(x, y)`, one every 20 units downwards.
pub fn legend(s: &mut String, x: f64, y: f64, entries: &[(&str, String)], attrs: &str) {
    for (i, (colour, label)) in entries.iter().enumerate() {
        let y = y + 20.0 * i as f64;
        let _ = write!(
            s,
            "<rect x=\"{x:.1}\" y=\"{:.1}\" width=\"12\" height=\"12\" fill=\"{colour}\"/>\
             <text x=\"{:.1}\" y=\"{y:.1}\" {attrs}>{}</text>",
            y - 10.0,
            x + 18.0,
            escape(label)
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        assert_eq!(escape("a<b>&\"c'"), "a&lt;b&gt;&amp;&quot;c&#39;");
    }

    #[test]
    fn frames_map_fractions_with_y_up() {
        let f = Frame::inside(400.0, 300.0, 50.0, 10.0, 20.0, 40.0);
        assert_eq!(
            (f.left, f.top, f.right, f.bottom),
            (50.0, 10.0, 380.0, 260.0)
        );
        assert_eq!((f.x(0.0), f.x(1.0), f.x(0.5)), (50.0, 380.0, 215.0));
        assert_eq!((f.y(0.0), f.y(1.0), f.y(0.5)), (260.0, 10.0, 135.0));
    }

    #[test]
    fn documents_and_lines_are_well_formed() {
        let mut s = document(100.0, 50.0, "a <b>");
        s.push_str(&polyline(&[(1.0, 2.0), (3.5, 4.25)], "#000", 2.0));
        s.push_str(END);
        assert!(s.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"100\""));
        assert!(s.contains("<title>a &lt;b&gt;</title>"));
        assert!(s.contains("points=\"1.00,2.00 3.50,4.25\""));
        assert!(s.ends_with("</svg>\n"));
    }

    #[test]
    fn grids_label_every_tick() {
        let f = Frame::inside(200.0, 200.0, 20.0, 20.0, 20.0, 20.0);
        let mut s = String::new();
        f.y_grid(&mut s, &ticks(4, |v| format!("{v:.2}")), "class=\"tick\"");
        assert_eq!(s.matches("<line").count(), 5);
        assert!(s.contains(">0.25</text>") && s.contains("y1=\"180.0\""));
        let mut s = String::new();
        f.x_grid(&mut s, &[(0.5, "<mid>".into())], FONT);
        assert!(s.contains("x1=\"100.0\"") && s.contains("&lt;mid&gt;"));
        let mut s = String::new();
        legend(
            &mut s,
            10.0,
            20.0,
            &[("#000", "a".into()), ("#fff", "b&c".into())],
            FONT,
        );
        assert_eq!(s.matches("<rect").count(), 2);
        assert!(s.contains("y=\"40.0\"") && s.contains(">b&amp;c</text>"));
    }
}
