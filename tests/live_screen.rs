//! `endoscan live` on a real X display (Xvfb, GStreamer's ximagesink): screenshots taken with
//! `ximagesrc` while it runs show the amber alert border on lesion frames and a black patient
//! panel on every frame.

#[allow(dead_code)]
#[path = "common/cli.rs"]
mod cli;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use cli::{scratch, BIN};
use endoscan::synth::Layout;

const SCREEN: (u32, u32) = (800, 600);
const VIDEO: (u32, u32) = (640, 360);

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts Xvfb on a display of its own (Xvfb picks a free one and says which through
/// `-displayfd`, so stale lock files of killed servers cannot collide); returns it and the
/// display name.
fn xvfb() -> (Killed, String) {
    let mut child = Command::new("Xvfb")
        .args(["-displayfd", "1", "-screen", "0"])
        .arg(format!("{}x{}x24", SCREEN.0, SCREEN.1))
        .args(["-nolisten", "tcp"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("Xvfb runs (Debian package xvfb, installed by scripts/setup)");
    let stdout = child.stdout.take().expect("piped");
    let child = Killed(child);
    // Xvfb writes the display number once it accepts clients (EOF if it dies first).
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let number = rx
        .recv_timeout(Duration::from_secs(10))
        .expect("Xvfb said its display within 10 s");
    let number = number.trim();
    assert!(!number.is_empty(), "Xvfb exited before taking a display");
    (child, format!(":{number}"))
}

/// The whole screen as packed RGB.
fn screenshot(display: &str, path: &Path) -> Option<Vec<u8>> {
    let status = Command::new("gst-launch-1.0")
        .args([
            "-q",
            "ximagesrc",
            &format!("display-name={display}"),
            "num-buffers=1",
        ])
        .args([
            "use-damage=false",
            "!",
            "videoconvert",
            "!",
            "video/x-raw,format=RGB",
            "!",
        ])
        .args(["filesink", &format!("location={}", path.display())])
        .status()
        .ok()?;
    status.success().then(|| std::fs::read(path).ok()).flatten()
}

fn pixel(shot: &[u8], x: u32, y: u32) -> [u8; 3] {
    let i = ((y * SCREEN.0 + x) * 3) as usize;
    [shot[i], shot[i + 1], shot[i + 2]]
}

fn is_amber(p: [u8; 3]) -> bool {
    p[0] > 220 && (140..=210).contains(&p[1]) && p[2] < 60
}

#[test]
fn the_screen_shows_the_alert_border_and_never_the_patient_panel() {
    let dir = scratch("live-screen", "xvfb");
    let (_x, display) = xvfb();
    let log = std::fs::File::create(dir.join("stderr.txt")).unwrap();
    let live = Command::new(BIN)
        .args([
            "live",
            "test://?fps=25&seconds=8",
            "--display",
            "window",
            "--seconds",
            "16",
        ])
        .env("DISPLAY", &display)
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    let mut live = Killed(live);
    let geometry = Layout::Tower.geometry(VIDEO.0, VIDEO.1);
    let panel = geometry.panel.expect("the tower layout has a panel");
    let (mut shots, mut with_alert) = (0, 0);
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(15) && live.0.try_wait().unwrap().is_none() {
        std::thread::sleep(Duration::from_millis(400));
        let path = dir.join(format!("shot{shots:02}.rgb"));
        let Some(shot) = screenshot(&display, &path) else {
            continue;
        };
        // The window is up once the image area shows a picture.
        let (cx, cy) = (VIDEO.0 * 3 / 4, VIDEO.1 / 2);
        if pixel(&shot, cx, cy).iter().all(|&c| c < 20) {
            continue;
        }
        shots += 1;
        // The panel, between the status badge at the top and the gauge at the bottom: black.
        for y in (panel.y + VIDEO.1 / 8)..(panel.y + panel.h).min(VIDEO.1 * 7 / 8) {
            for x in panel.x..panel.x + panel.w {
                let p = pixel(&shot, x, y);
                assert!(
                    p.iter().all(|&c| c <= 24),
                    "panel pixel ({x}, {y}) = {p:?} in {}",
                    path.display()
                );
            }
        }
        let amber = (0..VIDEO.1)
            .flat_map(|y| (0..VIDEO.0).map(move |x| (x, y)))
            .filter(|&(x, y)| is_amber(pixel(&shot, x, y)))
            .count();
        if amber > 2000 {
            with_alert += 1;
            let _ = std::fs::copy(&path, dir.join("alert.rgb"));
        }
    }
    let status = live.0.wait().unwrap();
    let text = std::fs::read_to_string(dir.join("stderr.txt")).unwrap();
    assert!(status.success(), "{status}\n{text}");
    assert!(
        shots >= 10,
        "only {shots} screenshots showed the video\n{text}"
    );
    assert!(
        with_alert >= 1,
        "no screenshot of {shots} shows the alert border\n{text}"
    );
    assert!(
        with_alert < shots,
        "every screenshot shows the alert border"
    );
}
