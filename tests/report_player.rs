//! `report.html` as a reader uses it: `endoscan reprocess` on the bundled sample with the
//! bundled demo model, then the page opened in headless Debian Chromium and driven over the
//! DevTools protocol (Playwright, tests/support/report_player.py): the annotated video loads
//! and decodes, and a click on a segment row, its thumbnail or the plot (and Enter on a row)
//! seeks it to the time that row or that point of the time axis stands for. Chromium and
//! Playwright come from scripts/setup; without them the test fails, it does not skip.

#[allow(dead_code)]
#[path = "common/cli.rs"]
mod cli;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

const CHROMIUM: &str = "/usr/bin/chromium";
/// Longest the browser session may take (it takes a few seconds).
const BROWSER_LIMIT: Duration = Duration::from_secs(120);

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

/// `endoscan reprocess` of the bundled sample with the demo model into `out`.
fn study(out: &Path, extra: &[&str]) {
    let root = root();
    let (sample, model) = (
        root.join("samples/sample.mp4"),
        root.join("models/demo.onnx"),
    );
    let mut args = vec![
        "reprocess",
        sample.to_str().unwrap(),
        "--model",
        model.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    cli::ok(&args);
}

/// Runs the browser driver on `report`, screenshot to `shot`; returns what it measured.
fn drive(report: &Path, shot: &Path) -> Value {
    assert!(
        Path::new(CHROMIUM).exists(),
        "{CHROMIUM} is missing: run scripts/setup (it installs Debian's chromium)"
    );
    let python = root().join(".venv/bin/python");
    let mut child = Command::new(&python)
        .arg(root().join("tests/support/report_player.py"))
        .args([report, shot])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{}: {e} (run scripts/setup first)", python.display()));
    // The driver prints little: waiting before reading cannot fill a pipe.
    cli::wait_for_exit(&mut child, BROWSER_LIMIT);
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "the browser driver failed (Playwright missing? run scripts/setup):\n{stderr}"
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {stderr}"))
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

/// `m:ss` (a tick label) in seconds.
fn label_seconds(label: &str) -> f64 {
    let (m, s) = label.split_once(':').unwrap();
    m.parse::<f64>().unwrap() * 60.0 + s.parse::<f64>().unwrap()
}

/// A seek's result: the player is at `want` (within `tol` seconds) and, out of view before,
/// in view after.
fn assert_seek(what: &str, got: &Value, want: f64, tol: f64) {
    let t = f(&got["time"]);
    assert!(
        (t - want).abs() <= tol,
        "{what}: player at {t} s, want {want} s ± {tol}"
    );
    assert_eq!(got["in_view_before"], false, "{what}: {got}");
    assert_eq!(
        got["in_view"], true,
        "{what}: the player is not scrolled into view: {got}"
    );
}

/// Every segment row and thumbnail carries its segment's start as `data-t` (3 decimals), and
/// the rows are focusable.
fn check_rows(m: &Value, segments: &[Value]) {
    let starts: Vec<f64> = segments.iter().map(|s| f(&s["start_ms"]) / 1e3).collect();
    for key in ["rows", "thumbs"] {
        let ts: Vec<f64> = m[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_str().unwrap().parse().unwrap())
            .collect();
        assert_eq!(
            ts.len(),
            starts.len(),
            "{key}: {ts:?}, segments start at {starts:?}"
        );
        for (t, s) in ts.iter().zip(&starts) {
            assert!(
                (t - s).abs() < 5e-4,
                "{key}: data-t {t} for a segment at {s} s"
            );
        }
    }
    assert!(
        m["focusable"].as_array().unwrap().iter().all(|i| i == 0),
        "{m}"
    );
}

/// The plot's data attributes describe its drawn time axis; a click on the middle tick seeks
/// to the time its label says, and one at a known pixel to the time the axis puts there.
fn check_plot(m: &Value, frames_csv: &str, frame_s: f64) {
    let g = &m["plot"];
    let (t0, t1, x0, x1) = (f(&g["t0"]), f(&g["t1"]), f(&g["x0"]), f(&g["x1"]));
    let pts: Vec<f64> = frames_csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(1).unwrap().parse::<f64>().unwrap() / 1e3)
        .collect();
    assert!(
        (t0 - pts[0]).abs() < 1e-3 && (t1 - pts[pts.len() - 1]).abs() < 1e-3,
        "{g}"
    );
    let ticks = g["ticks"].as_array().unwrap();
    assert!(ticks.len() >= 3, "{g}");
    for tick in ticks {
        let (s, x) = (
            label_seconds(tick["label"].as_str().unwrap()),
            f(&tick["x"]),
        );
        let want = x0 + (s - t0) / (t1 - t0) * (x1 - x0);
        assert!(
            (x - want).abs() < 0.1,
            "tick {tick}: drawn at x {x}, the data attributes put it at {want}"
        );
    }
    // One CSS pixel of the plot, in seconds: clicks land on whole pixels, half a pixel at most
    // from the tick.
    let px_s = f(&g["vb_w"]) / f(&g["width"]) / (x1 - x0) * (t1 - t0);
    assert!(
        px_s < frame_s,
        "a pixel is {px_s} s: the plot is too small to check"
    );
    let c = &m["tick_click"];
    let label = label_seconds(c["label"].as_str().unwrap());
    assert_seek("click on the middle tick", c, label, frame_s);
    let c = &m["frac_click"];
    let x_svg =
        f(&g["vb_x"]) + (f(&c["x_client"]) - f(&c["left"])) * f(&g["vb_w"]) / f(&c["width"]);
    let want = t0 + (x_svg - x0) / (x1 - x0) * (t1 - t0);
    assert_seek("click at a known x", c, want, px_s / 2.0);
    // The play head follows the player.
    let head = &m["head"];
    assert_eq!(head["visibility"], "visible", "{head}");
    assert!(
        (f(&head["x"]) - x_svg).abs() < 0.2,
        "{head}: clicked at x {x_svg}"
    );
}

/// The annotated video decodes in this Chromium: its metadata, a frame after a seek, and
/// frames while it plays.
fn check_video(m: &Value, duration_s: f64) {
    let meta = &m["metadata"];
    assert!(
        f(&meta["ready"]) >= 1.0 && meta["error"].is_null(),
        "{meta}"
    );
    assert!(
        (f(&meta["duration"]) - duration_s).abs() < 0.1,
        "{meta}, study {duration_s} s"
    );
    assert!(
        f(&meta["width"]) > 0.0 && f(&meta["height"]) > 0.0,
        "{meta}"
    );
    assert!(
        f(&m["after_seek"]["ready"]) >= 2.0,
        "no frame after seeking: {m}"
    );
    let play = &m["play"];
    assert!(
        f(&play["to"]) > f(&play["from"]) + 0.1 && f(&play["frames"]) > 0.0,
        "{play}"
    );
}

#[test]
fn the_report_plays_the_video_and_seeks_it() {
    let started = Instant::now();
    let dir = cli::scratch("report_player", "sample");
    let out = dir.join("study");
    study(&out, &[]);
    let segments = read_json(&out.join("segments.json"))["segments"]
        .as_array()
        .unwrap()
        .clone();
    assert!(
        !segments.is_empty(),
        "the demo model finds the sample's segments"
    );
    let summary = read_json(&out.join("summary.json"));
    let frame_s = 1.0 / f(&summary["fps"]);
    let shot: PathBuf = dir.join("report.png");
    let m = drive(&out.join("report.html"), &shot);
    eprintln!("browser {} measured: {m}", m["browser"]);
    assert_eq!(m["page_errors"], Value::Array(vec![]), "{m}");
    assert_eq!(m["console_errors"], Value::Array(vec![]), "{m}");
    check_video(&m, f(&summary["duration_s"]));
    check_rows(&m, &segments);
    let pick = m["pick"].as_u64().unwrap() as usize;
    assert_eq!(pick, usize::from(segments.len() > 1));
    let start = |i: usize| f(&segments[i]["start_ms"]) / 1e3;
    assert_seek(
        "click on a segment row",
        &m["row_click"],
        start(pick),
        frame_s,
    );
    assert_seek(
        "click on its thumbnail",
        &m["thumb_click"],
        start(pick),
        frame_s,
    );
    assert_seek("Enter on the first row", &m["enter_key"], start(0), frame_s);
    let frames_csv = std::fs::read_to_string(out.join("frames.csv")).unwrap();
    check_plot(&m, &frames_csv, frame_s);
    let png = std::fs::metadata(&shot).map(|m| m.len()).unwrap_or(0);
    assert!(png > 10_000, "{}: {png} bytes", shot.display());
    if let Ok(keep) = std::env::var("ENDOSCAN_KEEP_SCREENSHOT") {
        std::fs::copy(&shot, keep).unwrap();
    }

    // Without the video: no player, no script, a note that it was skipped.
    let bare = dir.join("no-video");
    study(&bare, &["--no-video"]);
    let html = std::fs::read_to_string(bare.join("report.html")).unwrap();
    assert!(
        !html.contains("<video") && !html.contains("<script"),
        "{html}"
    );
    assert!(html.contains("Annotated video skipped") && !bare.join("annotated.mp4").exists());
    assert!(html.contains("data-t=") && !html.contains("tabindex=\""));
    eprintln!("report_player: {:.1} s", started.elapsed().as_secs_f64());
}
