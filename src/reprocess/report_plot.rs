//! The report's views in time, and the player they seek: the annotated video, the
//! probability-over-time plot (inline SVG, raw and smoothed curves binned to at most
//! [`MAX_POINTS`] points, peak per bin, so no spike hides; segments shaded, thresholds dashed)
//! and the segment table. The plot carries its time axis as data attributes (`data-t0`/`data-t1`:
//! seconds at the axis ends, `data-x0`/`data-x1`: their x in SVG units), segment rows and
//! thumbnails their start as `data-t` (seconds); [`SCRIPT`] seeks the player from them.

use std::fmt::Write;
use std::path::Path;

use super::outputs::{SegmentRecord, VIDEO_FILE};
use super::report::base64;
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
    let svg = format!(
        "<svg class=\"plot\" viewBox=\"0 0 {PLOT_W} {PLOT_H}\" role=\"img\" aria-label=\"probability over time\" \
         xmlns=\"http://www.w3.org/2000/svg\""
    );
    let Some((t0, t1)) = span(rows) else {
        let _ = write!(h, "{svg}>");
        frame.outline(h, "#fafafa", "#ccc");
        let _ = write!(
            h,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">no frames scored</text></svg>",
            PLOT_W / 2.0,
            PLOT_H / 2.0
        );
        return;
    };
    let _ = write!(
        h,
        "{svg} data-t0=\"{:.3}\" data-t1=\"{:.3}\" data-x0=\"{x0}\" data-x1=\"{x1}\">",
        t0 / 1e3,
        t1 / 1e3
    );
    frame.outline(h, "#fafafa", "#ccc");
    let x = |t: f64| frame.x((t - t0) / (t1 - t0));
    let y = |p: f64| frame.y(p.clamp(0.0, 1.0));
    // Segments behind the curves.
    for seg in &smoothed.segments {
        let (a, b) = (x(seg.start_ms), x(seg.end_ms.min(t1)));
        let _ = write!(h, "<rect x=\"{a:.1}\" y=\"{y0}\" width=\"{:.1}\" height=\"{}\" fill=\"#ffb000\" fill-opacity=\"0.35\"/>", (b - a).max(1.5), y1 - y0);
    }
    // Grid and axes.
    frame.y_grid(h, &ticks(4, |p| format!("{p:.2}")), "class=\"tick\"");
    time_axis(h, &frame, t0, t1);
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
    // The player's position, moved by SCRIPT (hidden until the video has a time).
    let _ = write!(
        h,
        "<line class=\"head\" x1=\"{x0}\" x2=\"{x0}\" y1=\"{y0}\" y2=\"{y1}\" visibility=\"hidden\"/></svg>"
    );
}

/// Time ticks, their labels and the axis title under `frame`, for times `t0`–`t1` (ms).
fn time_axis(h: &mut String, frame: &Frame, t0: f64, t1: f64) {
    let x = |t: f64| frame.x((t - t0) / (t1 - t0));
    let y1 = frame.bottom;
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
        (frame.left + frame.right) / 2.0,
        PLOT_H - 2.0
    );
}

/// The time axis' ends in ms: the first and last scored frame, at least 1 ms apart.
fn span(rows: &[ScoredFrame]) -> Option<(f64, f64)> {
    let t0 = rows.first()?.pts_ms;
    Some((t0, rows.last()?.pts_ms.max(t0 + 1.0)))
}

/// The top of the plot section: the player of [`VIDEO_FILE`] beside the report when pass 2
/// wrote it (`written`), or a note saying why there is none (`requested`: it was asked for).
pub fn player(h: &mut String, written: bool, requested: bool) {
    if written {
        let _ = write!(
            h,
            "<video id=\"player\" controls preload=\"metadata\" src=\"{VIDEO_FILE}\"></video>\
             <p class=\"note\">The annotated video ({VIDEO_FILE}, beside this page). Click the plot, a segment or \
             its frame (or press Enter on a segment) to play from there.</p>"
        );
    } else if requested {
        let _ = write!(
            h,
            "<p class=\"note\">No annotated video: it is written only for complete studies.</p>"
        );
    } else {
        let _ = write!(
            h,
            "<p class=\"note\">Annotated video skipped (<code>--no-video</code>).</p>"
        );
    }
}

/// Seeks `#player`: a click on an element with `data-t` (seconds) or on the plot (the time
/// under the pointer, from the plot's data attributes), Enter or Space on a focusable
/// `data-t` element; each scrolls the player into view. The plot's `line.head` follows the
/// player. Written only with a player.
pub const SCRIPT: &str = r#"(function(){
var v=document.getElementById('player'),s=document.querySelector('svg.plot[data-t0]');
function seek(t){if(!isFinite(t))return;v.currentTime=Math.max(0,t);v.scrollIntoView({block:'nearest'});}
function at(el){return el.closest('[data-t]');}
document.addEventListener('click',function(e){var el=at(e.target);if(el)seek(parseFloat(el.dataset.t));});
document.addEventListener('keydown',function(e){var el=e.target;
if((e.key==='Enter'||e.key===' ')&&el.tabIndex>=0&&el.dataset.t!==undefined){e.preventDefault();seek(parseFloat(el.dataset.t));}});
if(!s)return;
var d=s.dataset,t0=+d.t0,t1=+d.t1,x0=+d.x0,x1=+d.x1,head=s.querySelector('line.head');
s.style.cursor='crosshair';
s.addEventListener('click',function(e){var u=new DOMPoint(e.clientX,e.clientY).matrixTransform(s.getScreenCTM().inverse());
var f=Math.min(1,Math.max(0,(u.x-x0)/(x1-x0)));seek(t0+f*(t1-t0));});
function follow(){var f=(v.currentTime-t0)/(t1-t0);if(!(f>=0&&f<=1)){head.setAttribute('visibility','hidden');return;}
var x=(x0+f*(x1-x0)).toFixed(1);head.setAttribute('x1',x);head.setAttribute('x2',x);head.setAttribute('visibility','visible');}
v.addEventListener('timeupdate',follow);v.addEventListener('seeked',follow);v.addEventListener('loadedmetadata',follow);
})();"#;

/// The segment table with thumbnails; each row and thumbnail carries its start time as `data-t`
/// (seconds), and with a player (`seekable`) rows are focusable.
pub(super) fn segments_section(
    h: &mut String,
    segments: &[SegmentRecord],
    out: &Path,
    seekable: bool,
) {
    // Segments.
    let _ = write!(h, "<section><h2>Segments</h2>");
    if segments.is_empty() {
        let _ = write!(h, "<p>No segment reached the alert rule.</p>");
    } else {
        let _ = write!(
            h,
            "<table class=\"segs\"><thead><tr><th>#</th><th>Representative frame</th><th>Time</th>\
             <th>Frames</th><th>Peak p</th><th>Mean p</th></tr></thead><tbody>"
        );
        for r in segments {
            let s = &r.segment;
            let t = format!("{:.3}", s.start_ms / 1e3);
            let thumb = r
                .thumbnail
                .as_ref()
                .and_then(|t| std::fs::read(out.join(t)).ok())
                .map(|png| {
                    format!(
                        "<img alt=\"segment {} frame {}\" data-t=\"{t}\" src=\"data:image/png;base64,{}\">",
                        r.id,
                        s.representative_frame,
                        base64(&png)
                    )
                })
                .unwrap_or_else(|| "<span class=\"muted\">(no thumbnail)</span>".to_string());
            let focus = if seekable {
                format!(
                    " tabindex=\"0\" title=\"play segment {} from {}\"",
                    r.id,
                    clock(s.start_ms)
                )
            } else {
                String::new()
            };
            let _ = write!(
                h,
                "<tr class=\"seg\" data-t=\"{t}\"{focus}><td class=\"num\">{}</td><td>{thumb}<div class=\"cap\">frame {} at {}</div></td>\
                 <td>{} – {}<div class=\"cap\">{:.1} s</div></td><td>{} – {}<div class=\"cap\">{} frames</div></td>\
                 <td class=\"num\">{:.2}</td><td class=\"num\">{:.2}</td></tr>",
                r.id,
                s.representative_frame,
                clock(s.representative_ms),
                clock(s.start_ms),
                clock(s.end_ms),
                (s.end_ms - s.start_ms) / 1e3,
                s.start_frame,
                s.end_frame,
                s.frames,
                s.peak_p,
                s.mean_p
            );
        }
        let _ = write!(h, "</tbody></table>");
    }
    let _ = writeln!(h, "</section>");
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clocks_and_ticks() {
        assert_eq!(clock(0.0), "0:00.0");
        assert_eq!(clock(83_450.0), "1:23.5");
        assert_eq!(clock(3_723_000.0), "1:02:03");
        assert_eq!(tick_label(65_000.0), "1:05");
        assert_eq!(tick_label(3_725_000.0), "1:02:05");
        let ticks = time_ticks(0.0, 30_000.0);
        assert_eq!(ticks.first(), Some(&0.0));
        assert!(ticks.len() <= 9 && ticks.len() >= 3, "{ticks:?}");
    }

    #[test]
    fn the_player_when_written_else_why_not() {
        let page = |written, requested| {
            let mut h = String::new();
            player(&mut h, written, requested);
            h
        };
        assert!(page(true, true)
            .contains("<video id=\"player\" controls preload=\"metadata\" src=\"annotated.mp4\">"));
        for (requested, why) in [(true, "only for complete studies"), (false, "--no-video")] {
            let h = page(false, requested);
            assert!(!h.contains("<video") && h.contains(why), "{h}");
        }
    }

    fn record(id: usize, start_ms: f64) -> SegmentRecord {
        let segment = crate::smooth::Segment {
            start_frame: 36,
            end_frame: 147,
            start_ms,
            end_ms: start_ms + 4480.0,
            frames: 112,
            peak_p: 0.9,
            mean_p: 0.7,
            peak_smoothed: 0.8,
            representative_frame: 90,
            representative_ms: start_ms + 2160.0,
        };
        SegmentRecord {
            id,
            segment,
            thumbnail: None,
            thumbnail_source: None,
            finding: None,
        }
    }

    #[test]
    fn segment_rows_carry_their_start_and_are_focusable_with_a_player() {
        let segs = [record(1, 1440.0), record(2, 23_839.999_6)];
        let mut h = String::new();
        segments_section(&mut h, &segs, Path::new("/nonexistent"), true);
        assert!(
            h.contains("<tr class=\"seg\" data-t=\"1.440\" tabindex=\"0\""),
            "{h}"
        );
        assert!(h.contains("data-t=\"23.840\""), "{h}");
        let mut h = String::new();
        segments_section(&mut h, &segs, Path::new("/nonexistent"), false);
        assert!(
            h.contains("data-t=\"1.440\"") && !h.contains("tabindex"),
            "{h}"
        );
    }
}
