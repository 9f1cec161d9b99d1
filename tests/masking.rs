//! Patient data never leaves in an export: tower studies with white-outs, flashes, black
//! frames, a menu, gray fills, a layout change and damaged images. Every decoded frame of
//! `annotated.mp4`, every thumbnail and every crop given to the model is checked for panel
//! pixels, decoding the outputs independently of the code that wrote them (GStreamer's own
//! `gst-launch-1.0` to raw RGB, the `image` crate for PNGs, the model input de-normalized by
//! the BiT formula).

#[allow(dead_code)]
#[path = "common/cli.rs"]
mod cli;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};

use cli::{endoscan, scratch, show, Scratch};
use endoscan::infer::{Classifier, ClassifierOptions};
use endoscan::reprocess::{ModelInfo, Reprocess, Scorer, Settings};
use endoscan::synth::layout::{Layout, Rect};
use endoscan::synth::{generate_frame, FrameSpec};
use image::RgbImage;
use ndarray::ArrayView4;

const W: u32 = 960;
const H: u32 = 540;
/// A pure-blue "photo" in the panel: no mucosa is blue, so it shows any panel pixel that
/// reaches the model, even scaled down.
const MARKER: [u8; 3] = [0, 0, 255];
const MODEL: &str = "models/demo.onnx";

/// What each test frame shows.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    White,
    TowerA,
    Black,
    Menu,
    Gray,
    /// The tower mirrored: image on the left, panel on the right (a layout change).
    TowerB,
}

fn panel_of(kind: Kind) -> Option<Rect> {
    let p = Layout::Tower.geometry(W, H).panel.unwrap();
    match kind {
        Kind::TowerA => Some(p),
        Kind::TowerB => Some(Rect {
            x: W - p.x - p.w,
            ..p
        }),
        _ => None,
    }
}

fn tower(index: u64, mirrored: bool) -> RgbImage {
    let frame = generate_frame(&FrameSpec {
        layout: Layout::Tower,
        width: W,
        height: H,
        seed: 11,
        index: index % 6,
        lesion: index.is_multiple_of(3),
    })
    .unwrap();
    let mut img = frame.image;
    let p = frame.geometry.panel.unwrap();
    for y in p.y + p.h - 56..p.y + p.h - 16 {
        for x in p.x + 8..p.x + 48 {
            img.put_pixel(x, y, image::Rgb(MARKER));
        }
    }
    if mirrored {
        image::imageops::flip_horizontal_in_place(&mut img);
    }
    img
}

fn menu() -> RgbImage {
    let mut img = RgbImage::from_pixel(W, H, image::Rgb([20, 40, 120]));
    for row in 0..20u32 {
        for x in (40..W - 40).step_by(9) {
            if (x / 9 + row) % 5 != 0 {
                for dy in 0..7 {
                    img.put_pixel(x, 30 + row * 24 + dy, image::Rgb([250, 250, 250]));
                    img.put_pixel(x + 1, 30 + row * 24 + dy, image::Rgb([250, 250, 250]));
                }
            }
        }
    }
    img
}

fn render(kind: Kind, index: u64) -> RgbImage {
    match kind {
        Kind::White => RgbImage::from_pixel(W, H, image::Rgb([255, 255, 255])),
        Kind::TowerA => tower(index, false),
        Kind::TowerB => tower(index, true),
        Kind::Black => RgbImage::new(W, H),
        Kind::Menu => menu(),
        Kind::Gray => RgbImage::from_pixel(W, H, image::Rgb([128, 128, 128])),
    }
}

/// The video: white balance, the study, a flash, black frames, a menu, gray fills, and a
/// layout change that puts the new panel where the old image was.
fn video_plan() -> Vec<Kind> {
    let runs = [
        (Kind::White, 15),
        (Kind::TowerA, 60),
        (Kind::White, 3),
        (Kind::TowerA, 22),
        (Kind::Black, 5),
        (Kind::Menu, 15),
        (Kind::TowerA, 15),
        (Kind::Gray, 5),
        (Kind::TowerB, 60),
    ];
    runs.iter()
        .flat_map(|&(k, n)| std::iter::repeat_n(k, n))
        .collect()
}

/// Encodes PNG frames `dir/f%05d.png` to H.264 MP4 with GStreamer's command-line tools.
fn encode_video(dir: &Path, out: &Path) {
    let status = Command::new("gst-launch-1.0")
        .args(["-q", "multifilesrc"])
        .arg(format!("location={}/f%05d.png", dir.display()))
        .args([
            "index=0",
            "caps=image/png,framerate=30/1",
            "!",
            "pngdec",
            "!",
            "videoconvert",
            "!",
            "x264enc",
            "speed-preset=ultrafast",
            "qp-max=20",
            "!",
            "mp4mux",
            "!",
            "filesink",
        ])
        .arg(format!("location={}", out.display()))
        .status()
        .unwrap();
    assert!(
        status.success(),
        "gst-launch-1.0 could not encode the test video"
    );
}

/// Every frame of a video as RGB, decoded by `gst-launch-1.0` into a raw file.
fn decode_frames(video: &Path, width: u32, height: u32) -> Vec<RgbImage> {
    let raw = video.with_extension("rgb");
    let status = Command::new("gst-launch-1.0")
        .args(["-q", "filesrc"])
        .arg(format!("location={}", video.display()))
        .args(["!", "decodebin", "!", "videoconvert", "!"])
        .arg(format!(
            "video/x-raw,format=RGB,width={width},height={height}"
        ))
        .args(["!", "filesink"])
        .arg(format!("location={}", raw.display()))
        .status()
        .unwrap();
    assert!(status.success(), "cannot decode {}", video.display());
    let bytes = std::fs::read(&raw).unwrap();
    // RGB rows of a width divisible by 4 carry no padding.
    let size = (width * height * 3) as usize;
    assert_eq!(bytes.len() % size, 0);
    bytes
        .chunks_exact(size)
        .map(|c| RgbImage::from_raw(width, height, c.to_vec()).unwrap())
        .collect()
}

/// Pixels of `rect` brighter than black (max channel > 24) in `img`.
fn exposed(img: &RgbImage, rect: Rect) -> usize {
    let mut n = 0;
    for y in rect.y..(rect.y + rect.h).min(img.height()) {
        for x in rect.x..(rect.x + rect.w).min(img.width()) {
            n += usize::from(img.get_pixel(x, y).0.into_iter().max().unwrap() > 24);
        }
    }
    n
}

/// Wraps the real model and keeps every input it is given.
struct Recording {
    inner: Classifier,
    marker_pixels: Arc<Mutex<usize>>,
}

impl Scorer for Recording {
    fn score(&mut self, batch: ArrayView4<'_, f32>) -> anyhow::Result<Vec<f32>> {
        // BiT normalization: x = v / 127.5 - 1.
        let u8_of = |x: f32| ((x + 1.0) * 127.5).round();
        let (n, _, s, _) = batch.dim();
        let mut found = 0;
        for i in 0..n {
            for y in 0..s {
                for x in 0..s {
                    let (r, g, b) = (
                        u8_of(batch[[i, 0, y, x]]),
                        u8_of(batch[[i, 1, y, x]]),
                        u8_of(batch[[i, 2, y, x]]),
                    );
                    found += usize::from(b > 150.0 && r < 60.0 && g < 60.0);
                }
            }
        }
        *self.marker_pixels.lock().unwrap() += found;
        self.inner.score(batch)
    }
}

/// Reprocesses `input` in-process with the demo model behind a recording scorer; returns the
/// summary JSON and the marker pixels the model saw.
fn reprocess(input: &Path, out: &Path, settings: Settings) -> (serde_json::Value, usize) {
    let model = PathBuf::from(MODEL);
    let classifier = Classifier::load(&model, &ClassifierOptions::default()).unwrap();
    let info = ModelInfo::new(&model, classifier.metadata()).unwrap();
    let pre = classifier.preprocessor().clone();
    let seen = Arc::new(Mutex::new(0));
    let mut scorer = Recording {
        inner: classifier,
        marker_pixels: seen.clone(),
    };
    let study = Reprocess::new(settings)
        .unwrap()
        .run(input, &info, &pre, &mut scorer, out)
        .unwrap();
    assert!(study.error.is_none(), "{:?}", study.error);
    let summary = std::fs::read_to_string(out.join("summary.json")).unwrap();
    let marker = *seen.lock().unwrap();
    (serde_json::from_str(&summary).unwrap(), marker)
}

/// Everything flagged, so the study has a segment and a thumbnail.
fn flag_everything() -> Settings {
    let mut s = Settings::default();
    s.smooth.on = 0.0;
    s.smooth.off = 0.0;
    s.overlay.threshold = 0.0;
    s
}

fn statuses(out: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(out.join("frames.csv")).unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some("frame,pts_ms,p_positive,p_smoothed,flagged,status,box_x,box_y,box_w,box_h,peak_x,peak_y")
    );
    lines
        .map(|l| l.split(',').nth(5).unwrap().to_string())
        .collect()
}

fn check_thumbnails(out: &Path) -> usize {
    let mut checked = 0;
    for entry in std::fs::read_dir(out.join("thumbnails")).unwrap() {
        let img = image::open(entry.unwrap().path()).unwrap().into_rgb8();
        let blue = img
            .pixels()
            .filter(|p| p.0[2] > 150 && p.0[0] < 60 && p.0[1] < 60)
            .count();
        assert_eq!(blue, 0, "a thumbnail shows the panel's marker");
        checked += 1;
    }
    checked
}

fn frames_dir(kinds: &[Kind], name: &str) -> Scratch {
    let dir = scratch("masking", name);
    for (i, &k) in kinds.iter().enumerate() {
        render(k, i as u64)
            .save(dir.join(format!("f{i:05}.png")))
            .unwrap();
    }
    dir
}

#[test]
fn a_video_with_white_outs_menus_and_a_layout_change_never_shows_the_panel() {
    let plan = video_plan();
    let dir = frames_dir(&plan, "video");
    let video = dir.join("study.mp4");
    encode_video(&dir, &video);
    let out = dir.join("out");
    let (summary, marker) = reprocess(&video, &out, flag_everything());
    assert_eq!(
        marker, 0,
        "the model saw {marker} pixels of the panel's marker"
    );
    assert_eq!(summary["frames"]["decoded"], plan.len());
    assert_eq!(summary["frames"]["annotated"], plan.len());

    let frames = decode_frames(&out.join("annotated.mp4"), W, H + 54);
    assert_eq!(frames.len(), plan.len());
    let mut shown = [0usize; 2];
    for (i, (img, &kind)) in frames.iter().zip(&plan).enumerate() {
        for panel in [panel_of(Kind::TowerA), panel_of(Kind::TowerB)]
            .into_iter()
            .flatten()
        {
            // Each layout's own panel must be black; the other one's place may be image.
            // Frames without a layout of their own come while layout A is in force.
            let own = panel_of(kind).or(panel_of(Kind::TowerA));
            if own == Some(panel) {
                assert_eq!(
                    exposed(img, panel),
                    0,
                    "frame {i} ({kind:?}) shows its panel"
                );
            }
        }
        // Frames that are no picture are black above the strip.
        if matches!(kind, Kind::White | Kind::Menu | Kind::Gray) {
            let whole = Rect {
                x: 0,
                y: 0,
                w: W,
                h: H,
            };
            assert_eq!(exposed(img, whole), 0, "frame {i} ({kind:?}) is shown");
        }
        let centre = |x: u32| img.get_pixel(x, H / 2).0.into_iter().max().unwrap() > 24;
        shown[0] += usize::from(kind == Kind::TowerA && centre(W - 270));
        shown[1] += usize::from(kind == Kind::TowerB && centre(270));
    }
    // The study is still shown: layout A (97 frames) from frame 24 on, once its area has
    // stayed put for 0.5 s (88 frames), and layout B (frames 140–199) from frame 152 on, once
    // its evidence (from frame 141, the first after the abrupt change) spans 0.5 s: 48 frames.
    assert!(shown[0] >= 80, "layout A shown in {} frames", shown[0]);
    assert!(
        (40..=50).contains(&shown[1]),
        "layout B shown in {} frames",
        shown[1]
    );
    assert!(check_thumbnails(&out) >= 1);

    let status = statuses(&out);
    for (i, (&kind, s)) in plan.iter().zip(&status).enumerate() {
        let want: &[&str] = match kind {
            Kind::White => &["saturated"],
            Kind::Menu | Kind::Gray => &["uniform"],
            // Black frames take their block's area, like a dark lumen frame.
            Kind::Black => &["no_area", "ok"],
            Kind::TowerA | Kind::TowerB => &["ok", "no_area"],
        };
        assert!(want.contains(&s.as_str()), "frame {i} ({kind:?}): {s}");
    }
    // The audit command agrees on both panels for the frames of their layout.
    let a = panel_of(Kind::TowerA).unwrap();
    let args = ["check-masking", out.to_str().unwrap(), "--panel"];
    let rect = format!("{},{},{},{}", a.x, a.y, a.w, 200);
    let mut argv = args.to_vec();
    argv.push(&rect);
    let result = endoscan(&argv);
    // Layout B shows image where A's panel was: the audit must report it, by frame.
    assert!(!result.status.success(), "{}", show(&argv, &result));
    let text = String::from_utf8_lossy(&result.stdout);
    assert!(
        text.contains("EXPOSED") && text.contains("frame 1"),
        "{}",
        show(&argv, &result)
    );
}

fn truncated(img: &RgbImage, format: image::ImageFormat, keep: usize) -> Vec<u8> {
    let mut bytes = std::io::Cursor::new(Vec::new());
    img.write_to(&mut bytes, format).unwrap();
    let mut bytes = bytes.into_inner();
    bytes.truncate(keep);
    bytes
}

/// A capsule-style export: stills with white-outs, a gray and a menu frame, a JPEG cut to
/// 5 kB, and a 2 kB cut JPEG named `.png`.
fn image_study(name: &str) -> (Scratch, Vec<&'static str>) {
    let plan = [
        Kind::White,
        Kind::White,
        Kind::TowerA,
        Kind::TowerA,
        Kind::TowerA,
        Kind::Gray,
        Kind::TowerA,
        Kind::Menu,
        Kind::TowerA,
        Kind::TowerA,
        Kind::TowerA,
        Kind::TowerA,
    ];
    let dir = frames_dir(&plan, name);
    let a = tower(3, false);
    std::fs::write(
        dir.join("f00004b.jpg"),
        truncated(&a, image::ImageFormat::Jpeg, 5000),
    )
    .unwrap();
    std::fs::write(
        dir.join("f00008b.png"),
        truncated(&a, image::ImageFormat::Jpeg, 2000),
    )
    .unwrap();
    (dir, vec!["f00004b.jpg", "f00008b.png"])
}

#[test]
fn damaged_images_are_listed_never_scored_and_strict_stops_at_the_first() {
    let (dir, damaged) = image_study("images");
    let out = dir.join("out");
    let (summary, marker) = reprocess(&dir, &out, flag_everything());
    assert_eq!(marker, 0);
    assert_eq!(summary["frames"]["decoded"], 14);
    assert_eq!(summary["frames"]["corrupt"], 2);
    let listed: Vec<String> = summary["corrupt"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["file"].as_str().unwrap().to_string())
        .collect();
    for name in &damaged {
        assert!(
            listed.iter().any(|f| f.ends_with(name)),
            "{name} not in {listed:?}"
        );
    }
    let report = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(
        damaged.iter().all(|n| report.contains(n)),
        "report lists the damaged files"
    );
    let status = statuses(&out);
    assert_eq!(status.iter().filter(|s| *s == "corrupt").count(), 2);
    assert_eq!(&status[..2], ["saturated", "saturated"]);
    // Damaged frames carry no score in frames.csv.
    let text = std::fs::read_to_string(out.join("frames.csv")).unwrap();
    for line in text.lines().filter(|l| l.ends_with(",corrupt")) {
        assert!(line.contains(",,,"), "a corrupt frame has a score: {line}");
    }
    let frames = decode_frames(&out.join("annotated.mp4"), W, H + 54);
    assert_eq!(frames.len(), 14);
    let panel = panel_of(Kind::TowerA).unwrap();
    for (i, img) in frames.iter().enumerate() {
        assert_eq!(exposed(img, panel), 0, "frame {i} shows the panel");
    }
    assert!(check_thumbnails(&out) >= 1);

    // The audit command: clean on the real panel.
    let rect = format!("{},{},{},{}", panel.x, panel.y, panel.w, panel.h);
    let argv = ["check-masking", out.to_str().unwrap(), "--panel", &rect];
    let result = endoscan(&argv);
    assert!(result.status.success(), "{}", show(&argv, &result));
    assert!(String::from_utf8_lossy(&result.stdout).contains(" 0 exposed pixels"));

    // --strict: the first damaged file stops the study, named.
    let strict_out = dir.join("strict");
    let args = [
        "reprocess",
        dir.to_str().unwrap(),
        "--model",
        MODEL,
        "--out",
        strict_out.to_str().unwrap(),
        "--strict",
        "--no-video",
    ];
    let result = endoscan(&args);
    assert!(!result.status.success(), "{}", show(&args, &result));
    let err = String::from_utf8_lossy(&result.stderr);
    assert!(
        err.contains("f00004b.jpg") && err.contains("--strict"),
        "{}",
        show(&args, &result)
    );
}
