//! Capture on files made with this machine's GStreamer encoders and on image directories:
//! exact frame counts per codec, timestamps and strides, and clear errors for bad inputs.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use endoscan::capture::{Capture, CaptureError, Settings};

#[path = "common/gst.rs"]
mod gst;

/// A fresh scratch directory under the system temp dir (removed at the start of each run).
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("endoscan-capture-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Encodes `frames` frames of `videotestsrc` with `encode` (a gst-launch fragment).
fn make_video(path: &Path, frames: u32, width: u32, height: u32, encode: &str) {
    let desc = format!(
        "videotestsrc num-buffers={frames} pattern=ball ! video/x-raw,width={width},height={height},framerate=30/1 ! {encode} ! filesink location={}",
        path.display()
    );
    gst::launch(&desc);
}

fn read_all(path: &Path) -> Result<Vec<endoscan::capture::Frame>, CaptureError> {
    Capture::open(path, Settings::default())?.collect()
}

fn check_counts(name: &str, encode: &str, frames: u32, width: u32, height: u32) {
    let dir = scratch(name);
    let path = dir.join(name);
    make_video(&path, frames, width, height, encode);
    let got = read_all(&path).unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(got.len(), frames as usize, "{name}: frame count");
    for (i, f) in got.iter().enumerate() {
        assert_eq!(f.index, i as u64);
        assert_eq!((f.width, f.height), (width, height));
        assert!(f.stride >= width as usize * 3);
        assert_eq!(f.data.len(), f.stride * height as usize);
        let expect = Duration::from_nanos(i as u64 * 1_000_000_000 / 30);
        let diff = f.pts.abs_diff(expect);
        assert!(
            diff < Duration::from_millis(2),
            "{name}: frame {i} pts {:?}",
            f.pts
        );
    }
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn h264_mp4_exact_frame_count() {
    check_counts("h264.mp4", "x264enc ! mp4mux", 45, 176, 144);
}

#[test]
fn vp8_webm_exact_frame_count() {
    check_counts("vp8.webm", "vp8enc ! webmmux", 37, 160, 120);
}

#[test]
fn mjpeg_mkv_exact_frame_count() {
    check_counts("mjpeg.mkv", "jpegenc ! matroskamux", 31, 160, 120);
}

#[test]
fn theora_ogv_and_mjpeg_avi_exact_frame_counts() {
    check_counts("theora.ogv", "theoraenc ! oggmux", 20, 160, 120);
    check_counts("mjpeg.avi", "jpegenc ! avimux", 23, 160, 120);
}

#[test]
fn odd_row_sizes_keep_their_stride() {
    // 170 × 3 = 510 bytes, which GStreamer pads to 512.
    let dir = scratch("stride");
    let path = dir.join("odd.mkv");
    make_video(&path, 3, 170, 96, "jpegenc ! matroskamux");
    let frames = read_all(&path).unwrap();
    assert_eq!(frames.len(), 3);
    assert_eq!(frames[0].stride, 512);
    assert_eq!(frames[0].row(95).len(), 510);
    let img = frames[0].to_rgb_image();
    assert_eq!(img.dimensions(), (170, 96));
    assert_eq!(img.get_pixel(169, 95).0, frames[0].pixel(169, 95));
}

#[test]
fn zero_copy_frames_equal_copied_ones() {
    let dir = scratch("zero-copy");
    let path = dir.join("odd.mkv");
    // 175 px rows: RGB rows padded to 528 bytes, so the stride really matters.
    make_video(&path, 12, 175, 97, "x264enc ! matroskamux");
    let copied = read_all(&path).unwrap();
    let settings = Settings {
        zero_copy: true,
        ..Settings::default()
    };
    let mapped: Vec<_> = Capture::open(&path, settings)
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(mapped.len(), 12);
    assert!(mapped.iter().all(|f| f.data.kind() == "mapped"));
    assert!(copied.iter().all(|f| f.data.kind() == "host"));
    for (a, b) in copied.iter().zip(&mapped) {
        assert_eq!(a.stride, b.stride);
        for y in 0..a.height {
            assert_eq!(a.row(y), b.row(y), "frame {} row {y}", a.index);
        }
    }
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn skip_counts_frames_without_copying() {
    let dir = scratch("skip");
    let path = dir.join("a.webm");
    make_video(&path, 30, 96, 64, "vp8enc ! webmmux");
    let mut cap = Capture::open(&path, Settings::default()).unwrap();
    assert_eq!(cap.skip_frames(12).unwrap(), 12);
    let next = cap.next_frame().unwrap().unwrap();
    assert_eq!(next.index, 12);
    assert_eq!(cap.skip_frames(100).unwrap(), 17);
    assert!(cap.next_frame().unwrap().is_none());
    let info = cap.info();
    assert_eq!(info.fps, Some(30.0));
    assert_eq!(info.frames_hint, Some(30));
}

fn err_of(path: &Path) -> String {
    match read_all(path) {
        Ok(frames) => panic!(
            "{}: expected an error, got {} frames",
            path.display(),
            frames.len()
        ),
        Err(e) => {
            let msg = format!("{:#}", anyhow::Error::from(e));
            assert!(
                msg.contains(&path.display().to_string()),
                "names the file: {msg}"
            );
            msg
        }
    }
}

#[test]
fn bad_video_inputs_name_the_file_and_the_problem() {
    let dir = scratch("bad");
    let empty = dir.join("empty.mp4");
    std::fs::write(&empty, b"").unwrap();
    assert!(err_of(&empty).contains("empty file"));

    let text = dir.join("notes.mp4");
    std::fs::write(&text, "patient notes, not a video\n".repeat(20)).unwrap();
    let msg = err_of(&text);
    assert!(msg.contains("not a video format"), "{msg}");

    let missing = dir.join("missing.mp4");
    assert!(err_of(&missing).contains("no such file"));

    // mp4mux writes its index (moov) last: a file cut short has none.
    let full = dir.join("full.mp4");
    make_video(&full, 60, 160, 120, "x264enc ! mp4mux");
    let bytes = std::fs::read(&full).unwrap();
    let cut = dir.join("cut.mp4");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let msg = err_of(&cut);
    assert!(
        msg.contains("cannot decode") && msg.contains("truncated"),
        "{msg}"
    );

    // With the index first, the cut file plays its first half and then ends: the duration
    // check reports it.
    let faststart = dir.join("faststart.mp4");
    make_video(&faststart, 60, 160, 120, "x264enc ! mp4mux faststart=true");
    let bytes = std::fs::read(&faststart).unwrap();
    let cut = dir.join("cut-faststart.mp4");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let mut cap = Capture::open(&cut, Settings::default()).unwrap();
    let mut delivered = 0;
    let err = loop {
        match cap.next_frame() {
            Ok(Some(_)) => delivered += 1,
            Ok(None) => panic!("a cut file must not end cleanly"),
            Err(e) => break e,
        }
    };
    assert!(matches!(err, CaptureError::Truncated { .. }), "{err}");
    assert!(
        delivered > 10 && delivered < 60,
        "frames before the cut are delivered: {delivered}"
    );
    assert!(err.to_string().contains("truncated"), "{err}");

    // A truncated webm likewise.
    let webm = dir.join("full.webm");
    make_video(&webm, 60, 160, 120, "vp8enc ! webmmux");
    let bytes = std::fs::read(&webm).unwrap();
    let cut = dir.join("cut.webm");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    assert!(err_of(&cut).contains("truncated"));
}

#[test]
fn audio_only_file_has_no_video_stream() {
    let dir = scratch("audio");
    let path = dir.join("sound.ogg");
    let status = Command::new("gst-launch-1.0")
        .args([
            "-q",
            "audiotestsrc",
            "num-buffers=20",
            "!",
            "vorbisenc",
            "!",
            "oggmux",
            "!",
        ])
        .arg("filesink")
        .arg(format!("location={}", path.display()))
        .status()
        .unwrap();
    assert!(status.success());
    assert!(err_of(&path).contains("no video stream"));
}

fn write_png(path: &Path, value: u8, w: u32, h: u32) {
    image::RgbImage::from_pixel(w, h, image::Rgb([value, 0, 255 - value]))
        .save(path)
        .unwrap();
}

#[test]
fn image_directory_in_natural_order() {
    let dir = scratch("images");
    for i in 1..=12u8 {
        write_png(&dir.join(format!("img{i}.png")), i * 10, 32, 24);
    }
    std::fs::write(dir.join("index.csv"), "not an image").unwrap();
    let frames = read_all(&dir).unwrap();
    assert_eq!(frames.len(), 12);
    for (i, f) in frames.iter().enumerate() {
        assert_eq!(f.index, i as u64);
        assert_eq!(f.pixel(0, 0)[0], (i as u8 + 1) * 10, "natural order");
        assert_eq!(
            f.pts,
            Duration::from_millis(500 * i as u64),
            "2 fps default"
        );
    }
    // A glob on the file name selects a subset.
    let glob = dir.join("img1*.png");
    let frames = read_all(&glob).unwrap();
    assert_eq!(frames.len(), 4); // img1, img10, img11, img12
    let mut cap = Capture::open(&dir, Settings::default()).unwrap();
    assert_eq!(cap.info().frames_hint, Some(12));
    assert!(cap.manifest_sha256().is_none());
    assert_eq!(cap.skip_frames(5).unwrap(), 5);
    while cap.next_frame().unwrap().is_some() {}
    assert_eq!(cap.manifest_sha256().unwrap().len(), 64);
}

#[test]
fn corrupt_png_is_marked_or_stops_a_strict_sequence_at_that_file() {
    let dir = scratch("corrupt");
    for i in 0..6u8 {
        write_png(&dir.join(format!("frame_{i:03}.png")), i, 16, 16);
    }
    let bad = dir.join("frame_003.png");
    let mut bytes = std::fs::read(&bad).unwrap();
    bytes.truncate(bytes.len() / 2);
    std::fs::write(&bad, bytes).unwrap();
    let strict = Settings {
        strict: true,
        ..Settings::default()
    };
    let mut cap = Capture::open(&dir, strict).unwrap();
    for i in 0..3 {
        assert_eq!(cap.next_frame().unwrap().unwrap().index, i);
    }
    let err = cap.next_frame().unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("frame_003.png") && msg.contains("frame 3"),
        "{msg}"
    );
    // Without --strict the damaged file is a black frame marked corrupt, and the rest follow.
    let frames: Vec<_> = Capture::open(&dir, Settings::default())
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(frames.len(), 6);
    let reason = frames[3]
        .corrupt
        .as_deref()
        .expect("frame 3 marked corrupt");
    assert!(reason.contains("truncated"), "{reason}");
    assert!(frames[3].data.iter().all(|&b| b == 0));
    assert_eq!((frames[3].width, frames[3].height), (16, 16));
    assert!(frames
        .iter()
        .enumerate()
        .all(|(i, f)| (i == 3) == f.corrupt.is_some()));
}

#[test]
fn bad_directories_name_the_directory() {
    let dir = scratch("dirs");
    let empty = dir.join("empty");
    std::fs::create_dir(&empty).unwrap();
    assert!(err_of(&empty).contains("no images"));
    let msg = read_all(&dir.join("nope/*.png")).unwrap_err().to_string();
    assert!(msg.contains("nope: no such file"), "{msg}");

    use std::os::unix::fs::PermissionsExt;
    let locked = dir.join("locked");
    std::fs::create_dir(&locked).unwrap();
    write_png(&locked.join("a.png"), 1, 8, 8);
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).unwrap();
    if std::fs::read_dir(&locked).is_ok() {
        // Running as root: permissions do not stop us, so there is nothing to test.
        eprintln!("skipping the unreadable-directory check: running with CAP_DAC_OVERRIDE");
    } else {
        let msg = err_of(&locked);
        assert!(
            msg.contains("cannot read") && msg.contains("ermission"),
            "{msg}"
        );
    }
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
#[ignore = "debugging aid: ENDOSCAN_PROBE=file cargo test --test capture probe -- --ignored"]
fn probe() {
    let path = PathBuf::from(std::env::var("ENDOSCAN_PROBE").unwrap());
    let mut cap = Capture::open(&path, Settings::default()).unwrap();
    loop {
        match cap.next_frame() {
            Ok(Some(f)) => eprintln!("frame {} pts {:?}", f.index, f.pts),
            Ok(None) => break eprintln!("end"),
            Err(e) => break eprintln!("error: {e}"),
        }
    }
}
