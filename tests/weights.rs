//! Weight files written by third parties (NumPy's own `np.savez`/`np.savez_compressed`, torch)
//! and by us (safetensors): what loads, what is refused, and that refusals name the culprit.

#[path = "reference/support.rs"]
mod support;

use std::collections::BTreeMap;
use std::path::Path;

use endoscan::model::layout::ROOT_KERNEL;
use endoscan::model::{Variant, Weights};
use sha2::{Digest, Sha256};
use support::{numpy_npz, Scratch};

const GAMMA: &str = "resnet/block1/unit01/a/group_norm/gamma";
const KERNEL_B: &str = "resnet/block1/unit01/b/standardized_conv2d/kernel";

fn r14() -> Variant {
    "r14x0.5".parse().unwrap()
}

fn sha256_hex(path: &Path) -> String {
    Sha256::digest(std::fs::read(path).unwrap())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Per-tensor float64 sums NumPy computed (`F.json`).
fn numpy_sums(npz: &Path) -> BTreeMap<String, f64> {
    let text = std::fs::read_to_string(format!("{}.json", npz.display())).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn load_err(path: &Path) -> String {
    let err = Weights::load(path).expect_err("must be refused");
    let text = format!("{:#}", anyhow::Error::from(err));
    assert!(
        text.contains(&path.display().to_string()),
        "file not named: {text}"
    );
    text
}

#[test]
fn numpy_npz_stored_and_compressed_load_identically() {
    let dir = Scratch::new("weights-numpy");
    let (stored, deflated) = (dir.path("stored.npz"), dir.path("deflated.npz"));
    numpy_npz(&stored, "r14x0.5", 3, false, "none");
    numpy_npz(&deflated, "r14x0.5", 3, true, "none");
    let a = Weights::load(&stored).unwrap();
    let b = Weights::load(&deflated).unwrap();
    assert_eq!(a.tensors, b.tensors);
    assert_eq!(a.sha256, sha256_hex(&stored));
    assert_ne!(a.sha256, b.sha256);
    assert!(a.metadata.is_empty());
    assert_eq!(a.tensors[ROOT_KERNEL].shape, vec![7, 7, 3, 32]);
    let sums = numpy_sums(&stored);
    assert_eq!(sums.len(), a.tensors.len());
    for (name, sum) in sums {
        let ours: f64 = a.tensors[&name].data.iter().map(|&v| f64::from(v)).sum();
        assert!(
            (ours - sum).abs() <= 1e-6 * sum.abs().max(1.0),
            "{name}: {ours} vs {sum}"
        );
    }
    a.conform(&r14(), 2).unwrap();
}

#[test]
fn float16_and_float64_entries_become_f32() {
    let dir = Scratch::new("weights-dtypes");
    for mutate in ["float16", "float64"] {
        let path = dir.path(&format!("{mutate}.npz"));
        numpy_npz(&path, "r14x0.5", 4, true, mutate);
        let w = Weights::load(&path).unwrap();
        let sum: f64 = w.tensors[GAMMA].data.iter().map(|&v| f64::from(v)).sum();
        let want = numpy_sums(&path)[GAMMA];
        assert!((sum - want).abs() < 1e-4, "{mutate}: {sum} vs {want}");
        w.conform(&r14(), 2).unwrap();
    }
}

#[test]
fn refuses_bad_entries_naming_file_and_entry() {
    let dir = Scratch::new("weights-bad-entries");
    for (mutate, needle, entry) in [
        ("object", "object array", GAMMA),
        ("int", "'<i8' is not supported", GAMMA),
        ("float64-overflow", "does not fit in float32", GAMMA),
        ("fortran", "Fortran", KERNEL_B),
    ] {
        for compressed in [false, true] {
            let path = dir.path(&format!("{mutate}-{compressed}.npz"));
            numpy_npz(&path, "r14x0.5", 5, compressed, mutate);
            let err = load_err(&path);
            assert!(
                err.contains(needle) && err.contains(&format!("{entry}.npy")),
                "{err}"
            );
        }
    }
}

#[test]
fn refuses_a_torch_pickle_without_unpickling_it() {
    let dir = Scratch::new("weights-torch");
    let path = dir.path("model.pt");
    support::reference(&["torch-save", "--out", path.to_str().unwrap()]);
    let err = load_err(&path);
    assert!(
        err.contains("data.pkl") && err.contains("never loaded"),
        "{err}"
    );
}

#[test]
fn truncated_or_corrupt_npz_is_an_error_never_a_panic() {
    let dir = Scratch::new("weights-corrupt-npz");
    for compressed in [false, true] {
        let good = dir.path(&format!("good-{compressed}.npz"));
        numpy_npz(&good, "r14x0.5", 6, compressed, "none");
        let bytes = std::fs::read(&good).unwrap();
        let bad = dir.path("bad.npz");
        // Cut anywhere: always refused.
        for cut in (4..bytes.len()).step_by(bytes.len() / 37) {
            std::fs::write(&bad, &bytes[..cut]).unwrap();
            load_err(&bad);
        }
        // Damage tensor data in the middle: CRC or inflate errors.
        for pos in [bytes.len() / 3, bytes.len() / 2] {
            let mut damaged = bytes.clone();
            for b in &mut damaged[pos..pos + 16] {
                *b ^= 0x5a;
            }
            std::fs::write(&bad, &damaged).unwrap();
            load_err(&bad);
        }
        // Damage anywhere: may still load (e.g. a timestamp), but never panics.
        for pos in (0..bytes.len()).step_by(bytes.len() / 101) {
            let mut damaged = bytes.clone();
            damaged[pos] ^= 0xff;
            std::fs::write(&bad, &damaged).unwrap();
            let _ = Weights::load(&bad);
        }
    }
}

#[test]
fn refuses_files_that_are_not_weights() {
    let dir = Scratch::new("weights-not");
    let cases: [(&str, &[u8], &str); 5] = [
        ("empty.npz", b"", "empty"),
        (
            "text.npz",
            b"hello, I am not a checkpoint",
            "expected an .npz",
        ),
        ("pickle.pkl", b"\x80\x04\x95\x10\x00\x00", "pickle"),
        ("single.npy", b"\x93NUMPY\x01\x00\x10\x00{}", ".npy array"),
        (
            "short.safetensors",
            b"\x40\0\0\0\0\0\0\0{\"a\":",
            "safetensors",
        ),
    ];
    for (name, bytes, needle) in cases {
        let path = dir.path(name);
        std::fs::write(&path, bytes).unwrap();
        let err = load_err(&path);
        assert!(err.contains(needle), "{name}: {err}");
    }
    let missing = dir.path("missing.npz");
    assert!(load_err(&missing).contains("No such file"));
}

#[test]
fn safetensors_round_trip_keeps_names_layout_and_metadata() {
    let dir = Scratch::new("weights-safetensors");
    let path = dir.path("w.safetensors");
    let mut w = Weights::random(&r14(), 2, 11);
    w.metadata
        .insert("endoscan.classes".into(), "cancer,non-cancer".into());
    w.save_safetensors(&path).unwrap();
    let back = Weights::load(&path).unwrap();
    assert_eq!(back.tensors, w.tensors);
    assert_eq!(back.metadata, w.metadata);
    assert_eq!(back.sha256, sha256_hex(&path));
    // Atomic write: no temporary file left behind.
    assert_eq!(std::fs::read_dir(&dir.0).unwrap().count(), 1);

    let bytes = std::fs::read(&path).unwrap();
    let bad = dir.path("bad.safetensors");
    for cut in [9, 100, bytes.len() / 2, bytes.len() - 1] {
        std::fs::write(&bad, &bytes[..cut]).unwrap();
        load_err(&bad);
    }
    let mut damaged = bytes.clone();
    damaged[12] = b'#';
    std::fs::write(&bad, &damaged).unwrap();
    load_err(&bad);
}

#[test]
fn safetensors_with_an_integer_tensor_is_refused_naming_it() {
    let dir = Scratch::new("weights-safetensors-int");
    let header = br#"{"resnet/head/conv2d/bias":{"dtype":"I32","shape":[2],"data_offsets":[0,8]}}"#;
    let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
    bytes.extend(header);
    bytes.extend([0u8; 8]);
    let path = dir.path("int.safetensors");
    std::fs::write(&path, bytes).unwrap();
    let err = load_err(&path);
    assert!(
        err.contains("resnet/head/conv2d/bias") && err.contains("I32"),
        "{err}"
    );
}

#[test]
fn conform_names_missing_extra_and_mis_shaped_numpy_tensors() {
    let dir = Scratch::new("weights-conform");
    for (mutate, needles) in [
        (
            "drop",
            &["resnet/block2/unit01/c/group_norm/beta", "[64]"][..],
        ),
        ("extra", &["resnet/block9/unit01/a/group_norm/gamma", "[8]"]),
        ("reshape", &[KERNEL_B, "[3, 3, 32, 8]", "[3, 3, 32, 32]"]),
    ] {
        let path = dir.path(&format!("{mutate}.npz"));
        numpy_npz(&path, "r14x0.5", 7, false, mutate);
        let err = Weights::load(&path)
            .unwrap()
            .conform(&r14(), 2)
            .unwrap_err()
            .to_string();
        for needle in needles {
            assert!(err.contains(needle), "{mutate}: {err}");
        }
    }
}
