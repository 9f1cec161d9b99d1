//! Running the `endoscan` binary from integration tests as a user would, in scratch folders.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub const BIN: &str = env!("CARGO_BIN_EXE_endoscan");

/// A scratch folder private to this process (test runs may overlap in a shared target folder);
/// removed when the test passes, kept for inspection when it fails.
pub struct Scratch(PathBuf);

impl std::ops::Deref for Scratch {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

/// A fresh, empty `CARGO_TARGET_TMPDIR/<group>/<name>-<pid>`.
pub fn scratch(group: &str, name: &str) -> Scratch {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(group)
        .join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    Scratch(dir)
}

/// Borrows owned arguments as the `&str`s [`endoscan`] and [`ok`] take.
pub fn strs(args: &[String]) -> Vec<&str> {
    args.iter().map(String::as_str).collect()
}

/// Runs `endoscan ARGS` to completion.
pub fn endoscan(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .env("RUST_LOG", "info,ort=warn")
        .output()
        .unwrap()
}

/// The command line and both output streams, for failure messages.
pub fn show(args: &[&str], out: &Output) -> String {
    format!(
        "endoscan {}\nstdout:\n{}\nstderr:\n{}",
        args.join(" "),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Runs `endoscan ARGS` and fails the test with its output if it fails.
pub fn ok(args: &[&str]) -> Output {
    let out = endoscan(args);
    assert!(out.status.success(), "{}", show(args, &out));
    out
}

/// Waits for `child` to exit; kills it and fails the test after `limit`.
#[allow(dead_code)]
pub fn wait_for_exit(
    child: &mut std::process::Child,
    limit: std::time::Duration,
) -> std::process::ExitStatus {
    let deadline = std::time::Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the process did not exit within {limit:?}");
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// Runs `endoscan synth --out OUT --size 320x180 --fps 25 EXTRA…` (synthetic tower images or
/// video for inputs) and returns `out`.
#[allow(dead_code)]
pub fn synth(out: &Path, extra: &[&str]) -> PathBuf {
    let mut args = vec![
        "synth",
        "--out",
        out.to_str().unwrap(),
        "--size",
        "320x180",
        "--fps",
        "25",
    ];
    args.extend_from_slice(extra);
    ok(&args);
    out.to_path_buf()
}
