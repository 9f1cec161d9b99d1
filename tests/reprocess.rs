//! `endoscan reprocess` end to end, with a model exported from random r14x0.5 weights: these
//! tests check the plumbing (every frame decoded, scored and written; outputs; resume; bad
//! inputs), not detection. Videos come from this machine's GStreamer encoders and from
//! `endoscan synth`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use endoscan::capture::{Capture, Settings};
use endoscan::export::export_onnx;
use endoscan::model::{ModelMetadata, Normalization, Variant, Weights};
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_endoscan");

fn scratch(name: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("endoscan-reprocess-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Exports random r14x0.5 weights (`seed`) at `input_size` with decision `threshold` to `path`.
fn random_model(path: &Path, input_size: usize, threshold: f32, seed: u64) {
    let meta = ModelMetadata {
        variant: "r14x0.5".parse::<Variant>().unwrap(),
        input_size,
        normalization: Normalization::Bit,
        classes: vec!["cancer".into(), "non-cancer".into()],
        positive: 0,
        threshold,
        weights_sha256: "0".repeat(64),
        cam_output: None,
    };
    export_onnx(&Weights::random(&meta.variant, 2, seed), &meta, path).unwrap();
}

/// A model with random r14x0.5 weights and 64-pixel input (plumbing only, not a detector).
fn model() -> &'static Path {
    static MODEL: OnceLock<PathBuf> = OnceLock::new();
    MODEL.get_or_init(|| {
        let path = scratch("model").join("random-r14.onnx");
        random_model(&path, 64, 0.5, 7);
        path
    })
}

fn reprocess(args: &[&str]) -> Output {
    Command::new(BIN)
        .arg("reprocess")
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .expect("endoscan runs")
}

/// Runs reprocess with `--json`; returns (success, summary, stderr).
fn study(input: &Path, out: &Path, extra: &[&str]) -> (bool, Value, String) {
    let mut args = vec![
        input.to_str().unwrap(),
        "--model",
        model().to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--json",
    ];
    args.extend_from_slice(extra);
    let o = reprocess(&args);
    let stderr = String::from_utf8_lossy(&o.stderr).to_string();
    let summary = serde_json::from_slice(&o.stdout).unwrap_or(Value::Null);
    (o.status.success(), summary, stderr)
}

fn make_video(path: &Path, frames: u32, encode: &str) {
    let desc = format!(
        // A static gradient: the fail-closed area is trusted after 0.5 s (a moving ball never
        // stays put, so it would never be shown or scored).
        "videotestsrc num-buffers={frames} pattern=gradient ! video/x-raw,width=160,height=120,framerate=25/1 ! {encode} ! filesink location={}",
        path.display()
    );
    let ok = Command::new("gst-launch-1.0")
        .arg("-q")
        .args(desc.split_whitespace())
        .status()
        .unwrap()
        .success();
    assert!(ok, "{desc}");
}

fn csv_rows(path: &Path) -> Vec<Vec<String>> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some("frame,pts_ms,p_positive,p_smoothed,flagged,status,box_x,box_y,box_w,box_h,peak_x,peak_y")
    );
    lines
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect()
}

fn count_frames(video: &Path) -> usize {
    let frames: Result<Vec<_>, _> = Capture::open(video, Settings::default()).unwrap().collect();
    frames.unwrap().len()
}

fn frames(summary: &Value, key: &str) -> u64 {
    summary["frames"][key]
        .as_u64()
        .unwrap_or_else(|| panic!("frames.{key} in {summary}"))
}

#[test]
fn every_frame_is_scored_for_each_codec() {
    for (name, encode, n) in [
        ("h264.mp4", "x264enc ! mp4mux", 41),
        ("vp8.webm", "vp8enc ! webmmux", 33),
        ("mjpeg.mkv", "jpegenc ! matroskamux", 27),
    ] {
        let dir = scratch(name);
        let video = dir.join(name);
        make_video(&video, n, encode);
        let out = dir.join("out");
        let (ok, summary, stderr) = study(&video, &out, &["--batch", "8"]);
        assert!(ok, "{name}: {stderr}");
        assert_eq!(summary["complete"], true);
        for key in ["decoded", "scored", "written", "annotated"] {
            assert_eq!(frames(&summary, key), n as u64, "{name}: {key}");
        }
        let rows = csv_rows(&out.join("frames.csv"));
        assert_eq!(rows.len(), n as usize, "{name}: one row per frame");
        for (i, row) in rows.iter().enumerate() {
            assert_eq!(row[0], i.to_string());
            let pts: f64 = row[1].parse().unwrap();
            assert!(
                (pts - i as f64 * 40.0).abs() < 1.0,
                "{name}: frame {i} at {pts} ms"
            );
            let p: f32 = row[2].parse().unwrap();
            assert!((0.0..=1.0).contains(&p));
        }
        assert_eq!(
            count_frames(&out.join("annotated.mp4")),
            n as usize,
            "{name}: annotated frames"
        );
        let _ = std::fs::remove_dir_all(dir);
    }
}

/// Renders a synthetic tower video with `endoscan synth`.
fn synth_video(dir: &Path, seconds: &str, size: &str) -> PathBuf {
    let out = dir.join("synth");
    let o = Command::new(BIN)
        .args([
            "synth",
            "--out",
            out.to_str().unwrap(),
            "--images",
            "0",
            "--video",
            seconds,
        ])
        .args(["--fps", "25", "--size", size, "--seed", "5"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    out
}

#[test]
fn synth_study_writes_every_output() {
    let dir = scratch("synth");
    let synth = synth_video(&dir, "3", "480x270");
    let video = synth.join("video.mp4");
    let out = dir.join("out");
    // Thresholds of 0 flag every frame: one segment, so borders, thumbnails and the report's
    // segment table are exercised (random weights: plumbing, not detection).
    let (ok, summary, stderr) = study(&video, &out, &["--on", "0", "--off", "0"]);
    assert!(ok, "{stderr}");
    let gt = std::fs::read_to_string(synth.join("ground_truth.csv")).unwrap();
    let gt: Vec<&str> = gt.lines().skip(1).collect();
    let rows = csv_rows(&out.join("frames.csv"));
    assert_eq!(rows.len(), gt.len());
    for (row, truth) in rows.iter().zip(&gt) {
        let t: Vec<&str> = truth.split(',').collect();
        assert_eq!(row[0], t[0]);
        let (a, b): (f64, f64) = (row[1].parse().unwrap(), t[1].parse().unwrap());
        assert!((a - b).abs() < 0.5, "pts {a} vs ground truth {b}");
        assert_eq!(row[4], "1");
    }
    assert_eq!(summary["input_sha256"].as_str().unwrap().len(), 64);
    assert_eq!(summary["segments"], 1);
    // Fail closed: the first block (8 frames) comes before the area has stayed put 0.5 s.
    assert_eq!(frames(&summary, "without_image_area"), 8);

    let segments: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("segments.json")).unwrap()).unwrap();
    assert_eq!(segments["complete"], true);
    let seg = &segments["segments"][0];
    assert_eq!(seg["start_frame"], 0);
    assert_eq!(seg["end_frame"], gt.len() as u64 - 1);
    let thumb = out.join(seg["thumbnail"].as_str().unwrap());
    let img = image::open(&thumb).unwrap();
    assert!(img.width() <= 256 && img.height() <= 256);

    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains("data:image/png;base64,"));
    assert!(html.contains("<svg"));
    assert!(html.contains(summary["input_sha256"].as_str().unwrap()));
    // Self-contained apart from the video beside it: no network, no external script.
    assert!(
        !html.contains("src=\"http") && !html.contains("<script src"),
        "self-contained"
    );
    assert!(html.contains("src=\"annotated.mp4\""));

    // The annotated video: every frame, panel (left side of the tower layout) black.
    let annotated: Vec<_> = Capture::open(&out.join("annotated.mp4"), Settings::default())
        .unwrap()
        .map(|f| f.unwrap())
        .collect();
    assert_eq!(annotated.len(), gt.len());
    let f = &annotated[annotated.len() / 2];
    assert!(f.height > 270, "a timeline strip below the frame");
    let mut brightest = 0u8;
    for y in 0..270 {
        for x in 0..100 {
            brightest = brightest.max(f.pixel(x, y).into_iter().max().unwrap());
        }
    }
    assert!(
        brightest < 40,
        "patient panel survived in the annotated video (max {brightest})"
    );
}

#[test]
fn resume_continues_to_the_same_frames_csv() {
    let dir = scratch("resume");
    let video = dir.join("study.webm");
    make_video(&video, 50, "vp8enc ! webmmux");
    let whole = dir.join("whole");
    let (ok, _, stderr) = study(&video, &whole, &["--batch", "8", "--no-video"]);
    assert!(ok, "{stderr}");

    let part = dir.join("part");
    let (ok, summary, stderr) = study(
        &video,
        &part,
        &["--batch", "8", "--no-video", "--interrupt-after", "20"],
    );
    assert!(!ok, "an interrupted study exits non-zero");
    assert!(stderr.contains("--resume"), "{stderr}");
    assert_eq!(summary["complete"], false);
    // Frames 0-7 have no trusted area yet (fail closed) and ride along with the first batch
    // of 8 scored images: 16 rows, then 24 after the second batch.
    assert_eq!(
        frames(&summary, "scored"),
        24,
        "stops at the batch boundary after 20"
    );
    assert_eq!(
        csv_rows(&part.join("frames.csv")).len(),
        24,
        "partial results are flushed"
    );

    // Another batch size cannot continue this checkpoint.
    let (ok, _, stderr) = study(&video, &part, &["--batch", "4", "--no-video", "--resume"]);
    assert!(!ok && stderr.contains("--batch 8"), "{stderr}");

    let (ok, summary, stderr) = study(&video, &part, &["--batch", "8", "--no-video", "--resume"]);
    assert!(ok, "{stderr}");
    assert_eq!(frames(&summary, "resumed"), 24);
    assert_eq!(frames(&summary, "written"), 50);
    let a = std::fs::read(whole.join("frames.csv")).unwrap();
    let b = std::fs::read(part.join("frames.csv")).unwrap();
    assert!(
        a == b,
        "resumed frames.csv differs from the uninterrupted one"
    );
}

fn expect_failure(input: &Path, out: &Path, needle: &str) -> Value {
    let (ok, summary, stderr) = study(input, out, &[]);
    assert!(!ok, "{}: expected failure", input.display());
    assert!(
        stderr.contains(&input.display().to_string()),
        "names the input: {stderr}"
    );
    assert!(stderr.contains(needle), "'{needle}' in: {stderr}");
    summary
}

#[test]
fn bad_inputs_fail_clearly() {
    let dir = scratch("bad");
    let empty = dir.join("empty.mp4");
    std::fs::write(&empty, b"").unwrap();
    expect_failure(&empty, &dir.join("o1"), "empty file");

    let text = dir.join("notes.mp4");
    std::fs::write(&text, "not a video\n".repeat(40)).unwrap();
    expect_failure(&text, &dir.join("o2"), "not a video format");

    expect_failure(&dir.join("missing.mp4"), &dir.join("o3"), "no such file");

    // A truncated mp4 whose index is at the front: half the frames decode, then the study
    // stops with an error, the partial results flushed and marked incomplete.
    let full = dir.join("full.mp4");
    // An I-frame every 5 frames spreads the bytes, so half the file holds whole frames.
    make_video(&full, 60, "x264enc key-int-max=5 ! mp4mux faststart=true");
    let bytes = std::fs::read(&full).unwrap();
    let cut = dir.join("cut.mp4");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let out = dir.join("o4");
    let summary = expect_failure(&cut, &out, "truncated");
    assert_eq!(summary["complete"], false);
    let scored = frames(&summary, "scored");
    assert!(scored > 0 && scored < 60, "{scored}");
    assert_eq!(csv_rows(&out.join("frames.csv")).len() as u64, scored);
    let segs: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("segments.json")).unwrap()).unwrap();
    assert_eq!(segs["complete"], false);
    assert!(std::fs::read_to_string(out.join("report.html"))
        .unwrap()
        .contains("INCOMPLETE"));
    assert!(!out.join("annotated.mp4").exists());

    // An mp4 cut before its index was written (mp4mux puts it last).
    let late = dir.join("late-index.mp4");
    make_video(&late, 60, "x264enc ! mp4mux");
    let bytes = std::fs::read(&late).unwrap();
    let cut = dir.join("cut-noindex.mp4");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    expect_failure(&cut, &dir.join("o5"), "cannot decode");
}

fn image_dir(dir: &Path, n: usize) -> PathBuf {
    let images = dir.join("capsule");
    std::fs::create_dir_all(&images).unwrap();
    for i in 0..n {
        let img = image::RgbImage::from_fn(96, 96, |x, y| {
            let (dx, dy) = (x as f32 - 48.0, y as f32 - 48.0);
            if dx * dx + dy * dy < 44.0 * 44.0 {
                image::Rgb([150 + (i * 7 % 100) as u8, 80, 70])
            } else {
                image::Rgb([0, 0, 0])
            }
        });
        img.save(images.join(format!("img{}.png", i + 1))).unwrap();
    }
    images
}

#[test]
fn image_directories_are_studies_too() {
    let dir = scratch("images");
    let images = image_dir(&dir, 13);
    let out = dir.join("out");
    let (ok, summary, stderr) = study(&images, &out, &["--batch", "4"]);
    assert!(ok, "{stderr}");
    assert_eq!(summary["input_kind"], "images");
    assert_eq!(frames(&summary, "written"), 13);
    let rows = csv_rows(&out.join("frames.csv"));
    assert_eq!(rows[12][1], "6000.000", "2 fps by default");
    assert_eq!(count_frames(&out.join("annotated.mp4")), 13);
}

#[test]
fn a_corrupt_png_stops_the_study_at_that_file() {
    let dir = scratch("corrupt");
    let images = image_dir(&dir, 10);
    let bad = images.join("img7.png");
    let bytes = std::fs::read(&bad).unwrap();
    std::fs::write(&bad, &bytes[..bytes.len() / 3]).unwrap();
    // Without --strict the damaged file is listed and the study completes without scoring it.
    let (ok, summary, stderr) = study(&images, &dir.join("listed"), &[]);
    assert!(ok, "{stderr}");
    assert_eq!(frames(&summary, "corrupt"), 1);
    assert!(summary["corrupt"][0]["file"]
        .as_str()
        .unwrap()
        .ends_with("img7.png"));
    assert!(stderr.contains("img7.png"), "the log names it: {stderr}");
    // With --strict it stops the study at that file.
    let out = dir.join("out");
    let (ok, summary, stderr) = study(&images, &out, &["--strict"]);
    assert!(!ok, "--strict fails on a damaged file");
    assert!(stderr.contains("img7.png"), "{stderr}");
    assert_eq!(frames(&summary, "decoded"), 6);
    assert_eq!(
        frames(&summary, "written"),
        6,
        "frames before the corrupt one are kept"
    );
    assert_eq!(summary["complete"], false);

    // Replacing the file and resuming finishes the study.
    std::fs::copy(images.join("img6.png"), &bad).unwrap();
    let (ok, summary, stderr) = study(&images, &out, &["--resume", "--strict"]);
    assert!(ok, "{stderr}");
    assert_eq!(frames(&summary, "written"), 10);
}

#[test]
fn unreadable_directory_is_named() {
    use std::os::unix::fs::PermissionsExt;
    let dir = scratch("locked");
    let images = image_dir(&dir, 2);
    let out = dir.join("out");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::set_permissions(&out, std::fs::Permissions::from_mode(0o777)).unwrap();
    std::fs::set_permissions(&images, std::fs::Permissions::from_mode(0o000)).unwrap();
    let mut cmd = Command::new(BIN);
    if std::fs::read_dir(&images).is_ok() {
        // Root reads anything: run the study as an unprivileged user instead.
        let setpriv = Path::new("/usr/bin/setpriv");
        if !setpriv.exists() {
            eprintln!("skipping: running as root and setpriv is not installed");
            return;
        }
        cmd = Command::new(setpriv);
        cmd.args(["--reuid=65534", "--regid=65534", "--clear-groups", BIN]);
    }
    let o = cmd
        .args([
            "reprocess",
            images.to_str().unwrap(),
            "--model",
            model().to_str().unwrap(),
        ])
        .args(["--out", out.to_str().unwrap()])
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    std::fs::set_permissions(&images, std::fs::Permissions::from_mode(0o755)).unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(
        err.contains(&format!(
            "{}: cannot read: Permission denied",
            images.display()
        )),
        "{err}"
    );
}

#[test]
fn defaults_name_what_is_missing() {
    let dir = scratch("defaults");
    let o = Command::new(BIN)
        .arg("reprocess")
        .current_dir(&dir)
        .env_remove("ENDOSCAN_ROOT")
        .output()
        .unwrap();
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("samples/sample.mp4") && err.contains("bundled sample is missing"),
        "{err}"
    );
    let video = dir.join("v.webm");
    make_video(&video, 3, "vp8enc ! webmmux");
    let o = Command::new(BIN)
        .args(["reprocess", video.to_str().unwrap()])
        .current_dir(&dir)
        .env_remove("ENDOSCAN_ROOT")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        !o.status.success() && err.contains("models/demo.onnx"),
        "{err}"
    );
}

/// Runs of `true` as inclusive ranges.
fn runs(flags: &[bool]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, &f) in flags.iter().enumerate() {
        match (f, start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                out.push((s, i - 1));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        out.push((s, flags.len() - 1));
    }
    out
}

/// Frame IoU of the flagged frames and, per ground-truth segment, the best IoU of a found
/// segment, for the bundled demo model on `video` with ground truth `truth_csv`.
fn demo_segment_quality(dir: &Path, video: &Path, truth_csv: &Path) -> (f64, Vec<f64>) {
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/demo.onnx");
    let out = dir.join("out");
    let o = reprocess(&[
        video.to_str().unwrap(),
        "--model",
        demo.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--no-video",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let gt = std::fs::read_to_string(truth_csv).unwrap();
    let truth: Vec<bool> = gt
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(2) == Some("cancer"))
        .collect();
    let flagged: Vec<bool> = csv_rows(&out.join("frames.csv"))
        .iter()
        .map(|r| r[4] == "1")
        .collect();
    assert_eq!(truth.len(), flagged.len());
    let both = truth.iter().zip(&flagged);
    let inter = both.clone().filter(|(t, f)| **t && **f).count();
    let union = both.filter(|(t, f)| **t || **f).count();
    let frame_iou = if union == 0 {
        1.0
    } else {
        inter as f64 / union as f64
    };
    let found = runs(&flagged);
    let per_segment: Vec<f64> = runs(&truth)
        .iter()
        .map(|&g| {
            found
                .iter()
                .map(|&f| endoscan::smooth::rule::iou(g, f))
                .fold(0.0, f64::max)
        })
        .collect();
    eprintln!(
        "demo model on {}: frame IoU {frame_iou:.3}; ground-truth segments {:?}, found {:?}, best IoU each {per_segment:.3?}",
        video.display(),
        runs(&truth),
        found
    );
    (frame_iou, per_segment)
}

/// The bundled demo model finds the lesion segments of synth video it never saw: the bundled
/// sample (what `make run` shows) and a fresh 640×360 video. Measured when the model was
/// bundled: see models/README.md; the bounds leave a margin under those figures.
#[test]
fn demo_model_finds_the_lesion_segments() {
    let dir = scratch("demo");
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let synth = synth_video(&dir, "12", "640x360");
    let cases = [
        (
            "sample",
            root.join("samples/sample.mp4"),
            root.join("samples/sample_ground_truth.csv"),
        ),
        (
            "fresh",
            synth.join("video.mp4"),
            synth.join("ground_truth.csv"),
        ),
    ];
    for (name, video, truth) in cases {
        let (iou, per_segment) = demo_segment_quality(&dir.join(name), &video, &truth);
        assert!(iou >= DEMO_MIN_FRAME_IOU, "{name}: frame IoU {iou:.3}");
        assert!(
            per_segment.iter().all(|&s| s >= DEMO_MIN_SEGMENT_IOU),
            "{name}: segment IoUs {per_segment:.3?}"
        );
    }
}

/// Lower bounds of [`demo_model_finds_the_lesion_segments`].
const DEMO_MIN_FRAME_IOU: f64 = 0.4;
const DEMO_MIN_SEGMENT_IOU: f64 = 0.35;

#[test]
fn resume_after_the_process_is_killed() {
    let dir = scratch("kill");
    let video = dir.join("long.mkv");
    make_video(&video, 1500, "jpegenc ! matroskamux");
    let whole = dir.join("whole");
    let (ok, _, stderr) = study(&video, &whole, &["--batch", "8", "--no-video"]);
    assert!(ok, "{stderr}");

    let part = dir.join("part");
    let mut child = Command::new(BIN)
        .arg("reprocess")
        .arg(&video)
        .args([
            "--model",
            model().to_str().unwrap(),
            "--batch",
            "8",
            "--no-video",
            "--checkpoint-ms",
            "0",
            "--out",
        ])
        .arg(&part)
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let mut killed_at = None;
    while std::time::Instant::now() < deadline {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        let done = std::fs::read_to_string(part.join("checkpoint.json"))
            .ok()
            .and_then(|t| serde_json::from_str::<Value>(&t).ok())
            .and_then(|v| v["frames_done"].as_u64())
            .unwrap_or(0);
        if done >= 16 {
            child.kill().unwrap();
            killed_at = Some(done);
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let _ = child.wait();
    eprintln!("killed after a checkpoint of {killed_at:?} frames");

    let (ok, summary, stderr) = study(&video, &part, &["--batch", "8", "--no-video", "--resume"]);
    assert!(ok, "{stderr}");
    assert_eq!(frames(&summary, "written"), 1500);
    if let Some(done) = killed_at {
        assert!(frames(&summary, "resumed") >= done);
    }
    let a = std::fs::read(whole.join("frames.csv")).unwrap();
    let b = std::fs::read(part.join("frames.csv")).unwrap();
    assert!(
        a == b,
        "frames.csv after kill + resume differs from the uninterrupted one"
    );
}

/// Segments start at the model's own decision threshold (the one `train` chose on
/// validation) unless `--on` says otherwise; `--off` defaults to 0.7 × `--on`.
#[test]
fn smoothing_starts_at_the_models_threshold_by_default() {
    let dir = scratch("threshold");
    let model = dir.join("t03.onnx");
    random_model(&model, 32, 0.3, 3);
    let video = dir.join("v.mkv");
    make_video(&video, 4, "jpegenc ! matroskamux");
    let run = |out: &str, extra: &[&str]| {
        let out = dir.join(out);
        let mut args = vec![
            video.to_str().unwrap(),
            "--model",
            model.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--no-video",
            "--json",
        ];
        args.extend_from_slice(extra);
        let o = reprocess(&args);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let summary: Value = serde_json::from_slice(&o.stdout).unwrap();
        let s = &summary["smoothing"];
        (s["on"].as_f64().unwrap(), s["off"].as_f64().unwrap())
    };
    let (on, off) = run("default", &[]);
    assert!(
        (on - 0.3).abs() < 1e-6 && (off - 0.21).abs() < 1e-6,
        "{on} {off}"
    );
    let (on, off) = run("given", &["--on", "0.6"]);
    assert!(
        (on - 0.6).abs() < 1e-6 && (off - 0.42).abs() < 1e-6,
        "{on} {off}"
    );
    let (on, off) = run("both", &["--on", "0.6", "--off", "0.1"]);
    assert!(
        (on - 0.6).abs() < 1e-6 && (off - 0.1).abs() < 1e-6,
        "{on} {off}"
    );
}
