//! End-to-end tests of `endoscan synth`: run the built binary on temporary directories and
//! check determinism, labels against files, lesion boxes against the image area, the video
//! against its ground truth, and one-line errors for bad arguments.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Once;

use endoscan::synth::{generate_frame, FrameSpec, Layout, Rect};
use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;

/// A fresh, empty directory under the system temp dir.
fn temp_dir(name: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("endoscan-synth-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn synth(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_endoscan"))
        .arg("synth")
        .args(args)
        .output()
        .unwrap()
}

/// Runs synth into `out` and asserts success.
fn synth_ok(out: &Path, args: &[&str]) {
    let mut all = vec!["--out", out.to_str().unwrap()];
    all.extend_from_slice(args);
    let output = synth(&all);
    assert!(
        output.status.success(),
        "synth {all:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Every file under `dir`, by relative path.
fn files(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut found = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let rel = path.strip_prefix(dir).unwrap().to_path_buf();
                found.insert(rel, std::fs::read(&path).unwrap());
            }
        }
    }
    found
}

/// Parses a CSV with the expected header into rows of fields.
fn read_csv(path: &Path, header: &str) -> Vec<Vec<String>> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some(header), "{}", path.display());
    lines
        .map(|l| l.split(',').map(str::to_owned).collect())
        .collect()
}

/// The box in fields `x,y,w,h`, or `None` when all four are empty.
fn bbox(fields: &[String]) -> Option<Rect> {
    if fields.iter().all(|f| f.is_empty()) {
        return None;
    }
    let v: Vec<u32> = fields.iter().map(|f| f.parse().unwrap()).collect();
    Some(Rect {
        x: v[0],
        y: v[1],
        w: v[2],
        h: v[3],
    })
}

#[test]
fn same_seed_gives_identical_bytes_and_another_seed_differs() {
    let args = ["--layout", "capsule", "--size", "256x256", "--images", "6"];
    let (a, b, c) = (temp_dir("seed-a"), temp_dir("seed-b"), temp_dir("seed-c"));
    synth_ok(&a, &[&args[..], &["--seed", "7"]].concat());
    synth_ok(&b, &[&args[..], &["--seed", "7"]].concat());
    synth_ok(&c, &[&args[..], &["--seed", "8"]].concat());
    let (fa, fb, fc) = (files(&a), files(&b), files(&c));
    assert_eq!(fa.len(), 7, "6 PNGs and labels.csv");
    assert_eq!(fa, fb, "same seed must give byte-identical files");
    let pngs = |f: &BTreeMap<PathBuf, Vec<u8>>| -> Vec<Vec<u8>> {
        f.iter()
            .filter(|(p, _)| p.extension().is_some_and(|e| e == "png"))
            .map(|(_, b)| b.clone())
            .collect()
    };
    let (pa, pc) = (pngs(&fa), pngs(&fc));
    assert!(
        pa.iter().all(|png| !pc.contains(png)),
        "another seed must give other images"
    );

    // Each PNG is a pure function of (seed, index), whatever thread rendered it.
    let rows = read_csv(&a.join("labels.csv"), "path,label,patient_id,x,y,w,h");
    for (index, row) in rows.iter().enumerate() {
        let spec = FrameSpec {
            layout: Layout::Capsule,
            width: 256,
            height: 256,
            seed: 7,
            index: index as u64,
            lesion: row[1] == "cancer",
        };
        let png = image::open(a.join(&row[0])).unwrap().to_rgb8();
        assert_eq!(png, generate_frame(&spec).unwrap().image, "{}", row[0]);
    }
    for dir in [a, b, c] {
        let _ = std::fs::remove_dir_all(dir);
    }
}

#[test]
fn labels_match_files_and_boxes_lie_inside_the_image_area() {
    for (layout, size, (w, h)) in [
        ("tower", "320x180", (320, 180)),
        ("capsule", "256x256", (256, 256)),
    ] {
        let dir = temp_dir(&format!("labels-{layout}"));
        // A first, larger run leaves files that the second run must clean up.
        synth_ok(
            &dir,
            &["--layout", layout, "--size", size, "--images", "14"],
        );
        synth_ok(
            &dir,
            &[
                "--layout",
                layout,
                "--size",
                size,
                "--images",
                "10",
                "--positive-fraction",
                "0.4",
            ],
        );
        let geometry = if layout == "tower" {
            Layout::Tower
        } else {
            Layout::Capsule
        }
        .geometry(w, h);
        let rows = read_csv(&dir.join("labels.csv"), "path,label,patient_id,x,y,w,h");
        assert_eq!(rows.len(), 10);
        assert_eq!(
            rows.iter().filter(|r| r[1] == "cancer").count(),
            4,
            "positive fraction 0.4 of 10"
        );

        let on_disk: Vec<PathBuf> = files(&dir.join("images"))
            .into_keys()
            .map(|p| Path::new("images").join(p))
            .collect();
        let mut listed: Vec<PathBuf> = rows.iter().map(|r| PathBuf::from(&r[0])).collect();
        listed.sort();
        assert_eq!(on_disk, listed, "labels.csv lists exactly the PNGs on disk");

        let mut per_patient = BTreeMap::new();
        for r in &rows {
            assert!(r[0].starts_with(&format!("images/{}/", r[1])), "{r:?}");
            assert!(r[2].starts_with('P') && r[2].len() == 6, "{r:?}");
            *per_patient.entry(r[2].clone()).or_insert(0) += 1;
            let img = image::open(dir.join(&r[0])).unwrap().to_rgb8();
            assert_eq!(img.dimensions(), (w, h));
            assert_eq!(
                img.get_pixel(0, h - 1).0,
                [0, 0, 0],
                "outside the image area is black"
            );
            match (r[1].as_str(), bbox(&r[3..7])) {
                ("cancer", Some(b)) => {
                    assert!(
                        geometry.area.contains_rect(b),
                        "{layout}: box {b:?} leaves the image area"
                    );
                    for (x, y) in [
                        (b.x, b.y),
                        (b.x + b.w - 1, b.y + b.h - 1),
                        (b.x + b.w / 2, b.y + b.h / 2),
                    ] {
                        assert_ne!(
                            img.get_pixel(x, y).0,
                            [0, 0, 0],
                            "box pixel ({x},{y}) is black"
                        );
                    }
                    assert!(b.w >= 4 && b.h >= 4, "{b:?}");
                }
                ("non-cancer", None) => {}
                other => panic!("label and box disagree: {other:?}"),
            }
        }
        assert!(
            per_patient.values().any(|&n| n > 1),
            "patients group several images"
        );
        let _ = std::fs::remove_dir_all(dir);
    }
}

/// Decodes `path` through `uridecodebin ! videoconvert ! appsink`; returns the frame count
/// and the frame size.
fn decode(path: &Path) -> (usize, (i32, i32)) {
    static INIT: Once = Once::new();
    INIT.call_once(|| gst::init().unwrap());
    let uri = gst::glib::filename_to_uri(path, None).unwrap();
    let src = gst::ElementFactory::make("uridecodebin")
        .property("uri", uri.as_str())
        .build()
        .unwrap();
    let convert = gst::ElementFactory::make("videoconvert").build().unwrap();
    let caps = gst::Caps::builder("video/x-raw")
        .field("format", "RGB")
        .build();
    let sink = gst_app::AppSink::builder().caps(&caps).sync(false).build();
    let pipeline = gst::Pipeline::new();
    pipeline
        .add_many([&src, &convert, sink.upcast_ref()])
        .unwrap();
    convert.link(&sink).unwrap();
    let target = convert.static_pad("sink").unwrap();
    src.connect_pad_added(move |_, pad| {
        if !target.is_linked() {
            pad.link(&target).unwrap();
        }
    });
    pipeline.set_state(gst::State::Playing).unwrap();
    let (mut frames, mut size) = (0, (0, 0));
    while let Ok(sample) = sink.pull_sample() {
        let s = sample.caps().unwrap().structure(0).unwrap();
        size = (
            s.get::<i32>("width").unwrap(),
            s.get::<i32>("height").unwrap(),
        );
        frames += 1;
    }
    let error = pipeline
        .bus()
        .unwrap()
        .pop_filtered(&[gst::MessageType::Error]);
    pipeline.set_state(gst::State::Null).unwrap();
    assert!(error.is_none(), "decode error: {error:?}");
    (frames, size)
}

#[test]
fn video_decodes_to_one_row_per_frame_with_contiguous_segments() {
    let dir = temp_dir("video");
    synth_ok(
        &dir,
        &[
            "--images", "0", "--video", "2", "--fps", "10", "--size", "320x180", "--layout",
            "tower",
        ],
    );
    let rows = read_csv(&dir.join("ground_truth.csv"), "frame,pts_ms,label,x,y,w,h");
    assert_eq!(rows.len(), 20, "2 s at 10 fps");
    for (i, r) in rows.iter().enumerate() {
        assert_eq!(r[0], i.to_string());
        assert!(
            (r[1].parse::<f64>().unwrap() - 100.0 * i as f64).abs() < 1e-6,
            "{r:?}"
        );
        assert_eq!(r[2] == "cancer", bbox(&r[3..7]).is_some(), "{r:?}");
    }
    let (frames, size) = decode(&dir.join("video.mp4"));
    assert_eq!(frames, rows.len(), "decoded frames = ground-truth rows");
    assert_eq!(size, (320, 180));

    // Lesions enter and leave: the video starts and ends clear, and each cancer segment is a
    // run of frames whose boxes overlap from one frame to the next.
    let boxes: Vec<Option<Rect>> = rows.iter().map(|r| bbox(&r[3..7])).collect();
    assert!(boxes[0].is_none() && boxes[boxes.len() - 1].is_none());
    let segments = boxes
        .windows(2)
        .filter(|w| w[0].is_none() && w[1].is_some())
        .count();
    assert!(segments >= 1, "no lesion in the video");
    let mut run = 0;
    for w in boxes.windows(2) {
        match (w[0], w[1]) {
            (Some(a), Some(b)) => {
                run += 1;
                let overlap_x = a.x < b.x + b.w && b.x < a.x + a.w;
                let overlap_y = a.y < b.y + b.h && b.y < a.y + a.h;
                assert!(overlap_x && overlap_y, "box jumps from {a:?} to {b:?}");
            }
            (Some(_), None) => {
                assert!(run >= 2, "segment of {} frames is a flicker", run + 1);
                run = 0;
            }
            _ => {}
        }
    }
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn bad_arguments_fail_with_one_line_naming_the_argument() {
    let dir = temp_dir("bad");
    let file = dir.join("file.txt");
    std::fs::write(&file, "not a directory").unwrap();
    let under_file = file.join("out");
    let out = dir.join("out");
    let (out, under_file) = (out.to_str().unwrap(), under_file.to_str().unwrap());
    let cases: &[(&[&str], &str)] = &[
        (&["--out", out, "--size", "0x0"], "--size"),
        (&["--out", out, "--size", "banana"], "--size"),
        (
            &["--out", out, "--layout", "capsule", "--size", "600x600"],
            "--size",
        ),
        (
            &["--out", out, "--layout", "capsule", "--size", "300x256"],
            "--size",
        ),
        (
            &["--out", out, "--layout", "tower", "--size", "300x400"],
            "--size",
        ),
        (&["--out", out, "--video", "1", "--fps", "0"], "--fps"),
        (&["--out", out, "--video", "1", "--fps", "-5"], "--fps"),
        (&["--out", out, "--video", "0"], "--video"),
        (
            &["--out", out, "--positive-fraction", "1.5"],
            "--positive-fraction",
        ),
        (&["--out", out, "--images", "-3"], "--images"),
        (&["--out", under_file, "--images", "1"], "--out"),
    ];
    for (args, name) in cases {
        let output = synth(args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{args:?} succeeded");
        assert_eq!(
            stderr.trim().lines().count(),
            1,
            "{args:?}: not one line: {stderr}"
        );
        assert!(
            stderr.contains(name),
            "{args:?}: error does not name {name}: {stderr}"
        );
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
    assert!(
        !Path::new(out).join("labels.csv").exists(),
        "nothing is written on bad arguments"
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn generated_frames_are_deterministic_and_black_exactly_outside_the_area() {
    let spec = FrameSpec {
        layout: Layout::Capsule,
        width: 256,
        height: 256,
        seed: 1,
        index: 3,
        lesion: true,
    };
    let frame = generate_frame(&spec).unwrap();
    assert_eq!(frame.image, generate_frame(&spec).unwrap().image);
    // Several indices, so blurred and dark frames are covered too.
    for index in 0..12 {
        let frame = generate_frame(&FrameSpec { index, ..spec }).unwrap();
        let lesion = frame.lesion.expect("a lesion was asked for");
        assert!(
            frame.geometry.area.contains_rect(lesion),
            "{index}: {lesion:?}"
        );
        for (x, y, p) in frame.image.enumerate_pixels() {
            assert_eq!(
                frame.geometry.area.contains(x, y),
                p.0 != [0, 0, 0],
                "frame {index}, pixel ({x},{y})"
            );
        }
    }
    let clean = generate_frame(&FrameSpec {
        lesion: false,
        ..spec
    })
    .unwrap();
    assert!(clean.lesion.is_none());
    assert!(generate_frame(&FrameSpec { width: 0, ..spec }).is_err());
}
