//! Progress bars on stderr, one look for every command: `what [=====>    ] 12/40 unit  3.1
//! unit/s  ETA 9s  message`, or a spinner with the count when the length is unknown. indicatif
//! draws nothing when stderr is not a terminal.

use indicatif::{ProgressBar, ProgressState, ProgressStyle};

/// A bar counting `unit`s (a spinner when `len` is unknown), labelled `what`; the bar's message
/// trails the line.
pub fn bar(len: Option<u64>, what: &str, unit: &str) -> ProgressBar {
    let bar = match len {
        Some(n) => ProgressBar::new(n),
        None => ProgressBar::new_spinner(),
    };
    let template = match len {
        Some(_) => "{prefix:>10} [{bar:32}] {pos}/{len} {unit}  {rate}  ETA {eta}  {msg}",
        None => "{prefix:>10} {spinner} {pos} {unit}  {rate}  {msg}",
    };
    if let Ok(style) = ProgressStyle::with_template(template) {
        let unit_name = unit.to_string();
        let rate_unit = unit.to_string();
        let style = style
            .with_key(
                "unit",
                move |_: &ProgressState, w: &mut dyn std::fmt::Write| {
                    let _ = w.write_str(&unit_name);
                },
            )
            .with_key(
                "rate",
                move |s: &ProgressState, w: &mut dyn std::fmt::Write| {
                    let _ = write!(w, "{:.1} {rate_unit}/s", s.per_sec());
                },
            );
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_prefix(what.to_string());
    bar
}

/// [`bar`] when `show`, otherwise a hidden bar.
pub fn bar_if(show: bool, len: Option<u64>, what: &str, unit: &str) -> ProgressBar {
    if show {
        bar(len, what, unit)
    } else {
        ProgressBar::hidden()
    }
}
