//! A recording with an audio track: Matroska with MPEG-4 Part 2 video (1280×720, 25 fps,
//! 147 frames) and 6-channel AAC, made here with GStreamer's libav encoders. Such files decode
//! with video timestamps near 2⁶³ ns and a pipeline duration of millions of hours; a study of
//! one once never ended. Capture must time it from zero, and a study must run to the end with
//! every frame accounted for, inside a hard deadline.

#[allow(dead_code)]
#[path = "common/cli.rs"]
mod cli;
#[path = "common/gst.rs"]
mod gst;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use cli::{scratch, BIN};
use endoscan::capture::{Capture, Settings};

const FRAMES: usize = 147;
const FRAME_TIME: Duration = Duration::from_millis(40);
/// A 147-frame study takes seconds; past this the study hangs.
const DEADLINE: Duration = Duration::from_secs(240);

/// Noise on a black surround (a picture with a fixed image area, so frames are scored) over
/// 6-channel AAC, the audio running longer than the video.
fn make_audio_track_mkv(path: &Path) {
    let desc = format!(
        "compositor name=c background=black ! video/x-raw,width=1280,height=720,framerate=25/1 \
         ! videoconvert ! avenc_mpeg4 bitrate=4000000 ! queue ! mux. \
         videotestsrc num-buffers={FRAMES} pattern=black ! video/x-raw,width=1280,height=720,framerate=25/1 ! c. \
         videotestsrc num-buffers={FRAMES} pattern=snow ! video/x-raw,width=880,height=640,framerate=25/1 ! c. \
         audiotestsrc num-buffers=276 ! audio/x-raw,channels=6 ! avenc_aac ! queue ! mux. \
         matroskamux name=mux ! filesink location={}",
        path.display()
    );
    gst::launch(&desc);
}

fn assert_timed_from_zero(what: &str, pts: &[Duration]) {
    assert_eq!(pts.len(), FRAMES, "{what}: frame count");
    for (i, t) in pts.iter().enumerate() {
        let expect = FRAME_TIME * i as u32;
        assert!(
            t.abs_diff(expect) < Duration::from_millis(2),
            "{what}: frame {i} at {t:?}, expected {expect:?}"
        );
    }
}

#[test]
fn capture_times_the_audio_track_file_from_zero() {
    let dir = scratch("audio-track", "capture");
    let path = dir.join("study.mkv");
    make_audio_track_mkv(&path);
    let frames: Vec<_> = Capture::open(&path, Settings::default())
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap_or_else(|e| panic!("{e:#}"));
    let pts: Vec<Duration> = frames.iter().map(|f| f.pts).collect();
    assert_timed_from_zero("capture", &pts);
    assert!(frames.iter().all(|f| (f.width, f.height) == (1280, 720)));
}

/// Runs `endoscan ARGS`, killing it and failing the test if it outlives [`DEADLINE`].
/// Its error output goes to `log` (a pipe left unread could fill and stall it).
fn run_with_deadline(args: &[&str], log: &Path) -> (bool, String) {
    let mut child = Command::new(BIN)
        .args(args)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .expect("endoscan starts");
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return (status.success(), std::fs::read_to_string(log).unwrap());
        }
        if started.elapsed() > DEADLINE {
            let _ = child.kill();
            panic!(
                "endoscan {} still running after {DEADLINE:?}",
                args.join(" ")
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_study_with_an_audio_track_runs_to_the_end() {
    let dir = scratch("audio-track", "study");
    let input = dir.join("study.mkv");
    let out = dir.join("out");
    make_audio_track_mkv(&input);
    let (input_s, out_s) = (input.to_str().unwrap(), out.to_str().unwrap());
    let (ok, stderr) = run_with_deadline(
        &["reprocess", input_s, "--out", out_s],
        &dir.join("stderr.txt"),
    );
    assert!(ok, "reprocess failed:\n{stderr}");

    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["complete"], true, "{summary}");
    for key in ["decoded", "scored", "written", "annotated"] {
        assert_eq!(summary["frames"][key], FRAMES, "frames.{key} in {summary}");
    }
    let csv = std::fs::read_to_string(out.join("frames.csv")).unwrap();
    let rows: Vec<Vec<&str>> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect())
        .collect();
    let pts: Vec<Duration> = rows
        .iter()
        .map(|r| Duration::from_secs_f64(r[1].parse::<f64>().unwrap() / 1e3))
        .collect();
    assert_timed_from_zero("frames.csv", &pts);
    // Only the first frames, before the image area is trusted, may go unscored.
    let scored = rows.iter().filter(|r| r[5] == "ok").count();
    assert!(scored >= FRAMES - 15, "{scored} of {FRAMES} frames scored");
    assert!(rows[FRAMES - 15..].iter().all(|r| r[5] == "ok"));

    let annotated: Vec<Duration> = Capture::open(&out.join("annotated.mp4"), Settings::default())
        .unwrap()
        .map(|f| f.map(|f| f.pts))
        .collect::<Result<_, _>>()
        .unwrap_or_else(|e| panic!("{e:#}"));
    assert_timed_from_zero("annotated.mp4", &annotated);
}
