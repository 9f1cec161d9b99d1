//! `endoscan-gpu-check`, the binary `scripts/gpu-check` carries to a GPU machine: it needs no
//! GStreamer, ONNX Runtime or libtorch there, and without a GPU it says why and exits 2.

use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_endoscan-gpu-check");

#[test]
fn the_check_binary_links_only_the_c_runtime() {
    let out = Command::new("readelf")
        .args(["-d", BIN])
        .output()
        .expect("readelf (binutils)");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    let needed: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("(NEEDED)"))
        .filter_map(|l| l.split('[').nth(1)?.strip_suffix(']'))
        .collect();
    assert!(!needed.is_empty(), "{text}");
    // `make gpu-check-bin` builds without the `train` feature: then the C runtime only. A
    // `--features train` build (as `make test` makes) also links libtorch, never GStreamer.
    let runtime = [
        "libc.so",
        "libm.so",
        "libgcc_s.so",
        "ld-linux",
        "libpthread",
        "libdl",
    ];
    let torch = ["libtorch", "libc10", "libstdc++", "libgomp"];
    for lib in &needed {
        let allowed = runtime.iter().any(|ok| lib.starts_with(ok))
            || (cfg!(feature = "train") && torch.iter().any(|ok| lib.starts_with(ok)));
        assert!(
            allowed,
            "{BIN} needs {lib}: the GPU machine may not have it ({needed:?})"
        );
    }
}

#[test]
fn without_a_gpu_it_says_why_and_exits_2() {
    // The NVIDIA driver's device node: where it exists the check really runs.
    if std::path::Path::new("/dev/nvidiactl").exists() {
        eprintln!("a GPU is present: this test is for machines without one");
        return;
    }
    let dir = std::env::temp_dir().join(format!("endoscan-gpu-check-{}", std::process::id()));
    let out = Command::new(BIN).arg("--out").arg(&dir).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("no usable GPU"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_missing_out_folder_argument_is_a_usage_error() {
    let out = Command::new(BIN).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("--out"), "{err}");
}
