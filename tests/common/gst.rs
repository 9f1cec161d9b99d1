//! Making test inputs with this machine's GStreamer: `gst-launch-1.0` on a pipeline description.

use std::process::Command;

/// Runs `gst-launch-1.0 -q DESC` (split on whitespace) and fails the test if it fails.
pub fn launch(desc: &str) {
    let status = Command::new("gst-launch-1.0")
        .arg("-q")
        .args(desc.split_whitespace())
        .status()
        .expect("gst-launch-1.0 runs");
    assert!(status.success(), "gst-launch-1.0 {desc}");
}
