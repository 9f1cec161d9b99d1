//! The plugin as a GStreamer user meets it: `gst-inspect-1.0` documents the element and
//! `gst-launch-1.0` runs it, every frame in coming out, score messages on the bus.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A folder holding only this build's `libgstendoscan.so` (the test binary lives in
/// `<target>/<profile>/deps`, where `cargo test` leaves the library; `cargo build` copies it
/// one folder up). Only the plugin, so GStreamer scans nothing else of the build.
fn plugin_dir() -> PathBuf {
    static DIR: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    DIR.get_or_init(|| {
        let exe = std::env::current_exe().unwrap();
        let deps = exe.parent().unwrap();
        let lib = [deps, deps.parent().unwrap()]
            .iter()
            .map(|d| d.join("libgstendoscan.so"))
            .find(|p| p.exists())
            .unwrap_or_else(|| panic!("no libgstendoscan.so in or above {}", deps.display()));
        let dir = std::env::temp_dir().join(format!("endoscan-plugin-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::copy(&lib, dir.join("libgstendoscan.so")).unwrap();
        dir
    })
    .clone()
}

fn gst(tool: &str, args: &[&str]) -> Output {
    let registry =
        std::env::temp_dir().join(format!("endoscan-registry-{}.bin", std::process::id()));
    Command::new(tool)
        .args(args)
        .env("GST_PLUGIN_PATH", plugin_dir())
        .env("GST_REGISTRY", registry)
        .output()
        .unwrap_or_else(|e| panic!("{tool}: {e}"))
}

/// Both output streams, with gst-launch's escaped spaces (`AI\ ON`) unescaped.
fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
    .replace("\\ ", " ")
}

fn demo_model() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/demo.onnx")
}

#[test]
fn gst_inspect_documents_the_element() {
    let out = gst("gst-inspect-1.0", &["endoscan"]);
    let doc = text(&out);
    assert!(out.status.success(), "{doc}");
    for property in [
        "model",
        "provider",
        "interval",
        "mask-outside-area",
        "overlay",
        "persist-on",
        "on",
        "off",
    ] {
        assert!(
            doc.contains(property),
            "property {property} not documented:\n{doc}"
        );
    }
    for format in ["RGBx", "NV12", "I420"] {
        assert!(
            doc.contains(format),
            "format {format} not in the caps:\n{doc}"
        );
    }
}

/// Runs a live `videotestsrc num-buffers=N ! FORMAT ! endoscan ! fakesink` and returns the output.
fn launch(format: &str, frames: u32) -> String {
    let model = format!("model={}", demo_model().display());
    let num = format!("num-buffers={frames}");
    let caps = format!("video/x-raw,format={format},width=320,height=240,framerate=30/1");
    let args = [
        "-m",
        "-v",
        "videotestsrc",
        "is-live=true",
        &num,
        "pattern=smpte",
        "!",
        &caps,
        "!",
        "endoscan",
        &model,
        "!",
        "fakesink",
        "name=out",
        "silent=false",
    ];
    let out = gst("gst-launch-1.0", &args);
    let log = text(&out);
    assert!(out.status.success(), "{log}");
    log
}

#[test]
fn every_frame_passes_and_scores_are_posted() {
    for format in ["RGBx", "NV12", "I420", "RGB"] {
        let log = launch(format, 45);
        let chains = log
            .lines()
            .filter(|l| {
                l.starts_with("/GstPipeline:pipeline0/GstFakeSink:out: last-message = chain")
            })
            .count();
        assert_eq!(chains, 45, "{format}: frames in ≠ frames out\n{log}");
        let scores = log.matches("endoscan-score").count();
        assert!(scores >= 1, "{format}: no endoscan-score message\n{log}");
        assert!(log.contains("AI ON"), "{format}: no AI ON status\n{log}");
    }
}

#[test]
fn a_missing_model_is_a_clear_error() {
    let args = [
        "-m",
        "videotestsrc",
        "is-live=true",
        "num-buffers=30",
        "!",
        "videoconvert",
        "!",
        "endoscan",
        "model=/nowhere/model.onnx",
        "!",
        "fakesink",
    ];
    let out = gst("gst-launch-1.0", &args);
    let log = text(&out);
    // The model loads on the inference thread: the video still flows and the AI says OFF.
    assert!(log.contains("/nowhere/model.onnx"), "{log}");
    assert!(log.contains("AI OFF"), "{log}");
}
