//! One writer per output folder: a second study into a folder in use is refused with an
//! error naming the folder and the process that holds it; a holder killed with SIGKILL leaves
//! nothing stuck.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use endoscan::util::outdir_lock::{LockError, OutDirLock, LOCK_FILE};

#[allow(dead_code)]
#[path = "common/cli.rs"]
mod cli;
use cli::{endoscan, scratch, show, BIN};

#[test]
fn a_second_writer_is_refused_naming_the_holder() {
    let dir = scratch("outdir-lock", "refused");
    let out = dir.join("out");
    let held = OutDirLock::acquire(&out).unwrap();
    for args in [
        vec!["reprocess", "--out", out.to_str().unwrap()],
        vec!["synth", "--images", "2", "--out", out.to_str().unwrap()],
    ] {
        let o = endoscan(&args);
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success(), "{}", show(&args, &o));
        assert!(stderr.contains("is in use"), "{}", show(&args, &o));
        assert!(
            stderr.contains(out.to_str().unwrap()),
            "{}",
            show(&args, &o)
        );
        let pid = format!("pid {}", std::process::id());
        assert!(stderr.contains(&pid), "{}", show(&args, &o));
    }
    // Nothing was written by the refused runs.
    let names: Vec<_> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, [LOCK_FILE]);
    drop(held);
}

fn wait_for_lock_of(pid: u32, out: &Path) {
    let deadline = Instant::now() + Duration::from_secs(60);
    let record = format!("pid {pid}\n");
    while !std::fs::read_to_string(out.join(LOCK_FILE)).is_ok_and(|r| r.starts_with(&record)) {
        assert!(Instant::now() < deadline, "the study never took its lock");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_killed_holder_leaves_the_folder_free() {
    let dir = scratch("outdir-lock", "killed");
    let out = dir.join("out");
    // The bundled sample: hundreds of frames, seconds of work.
    let mut child = Command::new(BIN)
        .args(["reprocess", "--out", out.to_str().unwrap()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for_lock_of(child.id(), &out);
    let refused = OutDirLock::acquire(&out);
    let still_running = child.try_wait().unwrap().is_none();
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(still_running, "the study finished before the check");
    match refused {
        Err(LockError::InUse { holder, .. }) => {
            assert!(holder.contains(&format!("pid {}", child.id())), "{holder}")
        }
        other => panic!("expected the folder in use, got {other:?}"),
    }
    OutDirLock::acquire(&out).expect("the killed holder's lock is gone");
}
