//! `endoscan live rtsp://…` against GStreamer's own RTSP server (tests/support/rtsp_server.py):
//! the server stops mid-stream, the screen says NO SIGNAL, the run reconnects when the server
//! is back and exits cleanly at the end; and an Xvfb display run whose screen shows the alert
//! border and the masked patient panel.

#[allow(dead_code)]
#[path = "common/cli.rs"]
mod cli;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use cli::{scratch, wait_for_exit, BIN};

fn rtsp_server(port: u16) -> Child {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/rtsp_server.py");
    let mut child = Command::new("/usr/bin/python3")
        .arg(script)
        .arg(port.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("/usr/bin/python3 runs");
    let mut line = String::new();
    let stdout = child.stdout.as_mut().unwrap();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut line).unwrap();
    assert_eq!(line.trim(), "ready", "the RTSP server did not start");
    child
}

/// A free TCP port on loopback.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn an_rtsp_source_that_goes_away_and_comes_back() {
    let dir = scratch("live-rtsp", "reconnect");
    let port = free_port();
    let mut server = rtsp_server(port);
    let stats = dir.join("stats.json");
    let log = std::fs::File::create(dir.join("stderr.txt")).unwrap();
    let mut live = Command::new(BIN)
        .args([
            "live",
            &format!("rtsp://127.0.0.1:{port}/scope"),
            "--display",
            "none",
        ])
        .args(["--seconds", "24", "--stats"])
        .arg(&stats)
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_secs(7));
    server.kill().unwrap();
    server.wait().unwrap();
    std::thread::sleep(Duration::from_secs(5));
    let mut server = rtsp_server(port);
    let status = wait_for_exit(&mut live, Duration::from_secs(60));
    let _ = server.kill();
    let _ = server.wait();
    let text = std::fs::read_to_string(dir.join("stderr.txt")).unwrap();
    assert!(status.success(), "{status}\n{text}");
    assert!(text.contains("source lost"), "{text}");
    assert!(text.contains("source back"), "{text}");
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&stats).unwrap()).unwrap();
    assert!(v["reconnects"].as_u64().unwrap() >= 1, "{v}");
    let ai_off = v["ai_off_s"].as_f64().unwrap();
    assert!(
        ai_off >= 3.0,
        "ai_off_s {ai_off}: the server was gone 5 s\n{v}"
    );
    // Frames came before the loss and after the return: more than 7 s worth at 25 fps.
    assert!(v["frames"]["captured"].as_u64().unwrap() > 7 * 25, "{v}");
}
