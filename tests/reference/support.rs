//! Helpers shared by `tests/weights.rs` and `tests/export.rs` (included with `#[path]`):
//! scratch directories, the Python reference (`bit_reference.py`) and ONNX Runtime.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

/// The repository root: `$ENDOSCAN_ROOT`, else this crate's manifest directory.
pub fn root() -> PathBuf {
    std::env::var_os("ENDOSCAN_ROOT")
        .map(PathBuf::from)
        .filter(|p| p.join(".venv").exists())
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")))
}

/// A scratch directory removed on drop.
pub struct Scratch(pub PathBuf);

impl Scratch {
    pub fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("endoscan-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs `bit_reference.py` with `.venv/bin/python`; panics with its stderr on failure.
pub fn reference(args: &[&str]) -> Output {
    let root = root();
    let out = Command::new(root.join(".venv/bin/python"))
        .arg(root.join("tests/reference/bit_reference.py"))
        .args(args)
        .output()
        .expect("run .venv/bin/python (run scripts/setup first)");
    assert!(
        out.status.success(),
        "bit_reference.py {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Writes NumPy-made random weights of `variant` to `path` (a `.npz`), optionally mutated.
pub fn numpy_npz(path: &Path, variant: &str, seed: u64, compressed: bool, mutate: &str) {
    let seed = seed.to_string();
    let mut args = vec![
        "make-npz",
        "--variant",
        variant,
        "--seed",
        &seed,
        "--mutate",
        mutate,
        "--out",
        path.to_str().unwrap(),
    ];
    if compressed {
        args.push("--compressed");
    }
    reference(&args);
}

/// Logits of the Python (float64 torch) reference for `input` `[batch, 3, size, size]`.
pub fn reference_logits(
    weights: &Path,
    variant: &str,
    input: &[f32],
    size: usize,
    dir: &Path,
) -> Vec<f32> {
    let x = dir.join("reference_input.f32");
    let y = dir.join("reference_logits.f32");
    write_f32(&x, input);
    let size = size.to_string();
    reference(&[
        "forward",
        "--weights",
        weights.to_str().unwrap(),
        "--variant",
        variant,
        "--input",
        x.to_str().unwrap(),
        "--size",
        &size,
        "--out",
        y.to_str().unwrap(),
    ]);
    read_f32(&y)
}

pub fn write_f32(path: &Path, values: &[f32]) {
    let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    std::fs::write(path, bytes).unwrap();
}

pub fn read_f32(path: &Path) -> Vec<f32> {
    std::fs::read(path)
        .unwrap()
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

/// A deterministic input in [-1, 1] (BiT normalization), `[batch, 3, size, size]`.
pub fn test_input(batch: usize, size: usize, seed: u64) -> Vec<f32> {
    let mut state = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..batch * 3 * size * size)
        .map(|_| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((state >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect()
}

/// Largest absolute difference.
pub fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

/// The process's ONNX Runtime environment, loaded once from `$ORT_DYLIB_PATH`, else from the
/// onnxruntime wheel in `.venv`.
pub fn ort_env() -> &'static ort::environment::Environment {
    static ENV: OnceLock<ort::environment::Environment> = OnceLock::new();
    ENV.get_or_init(|| {
        let path = std::env::var_os("ORT_DYLIB_PATH")
            .map(PathBuf::from)
            .or_else(venv_onnxruntime)
            .expect("ORT_DYLIB_PATH unset and no onnxruntime in .venv (source scripts/env.sh)");
        ort::init_from(&path)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
            .with_name("endoscan-tests")
            .build()
            .unwrap()
    })
}

/// Opens an ONNX model on CPU.
pub fn session(model: &Path) -> ort::Result<ort::session::Session> {
    ort::session::Session::builder(ort_env())?.commit_from_file(model)
}

fn venv_onnxruntime() -> Option<PathBuf> {
    let lib = root().join(".venv/lib");
    for py in std::fs::read_dir(lib).ok()?.flatten() {
        let capi = py.path().join("site-packages/onnxruntime/capi");
        for f in std::fs::read_dir(capi).ok()?.flatten() {
            let name = f.file_name().to_string_lossy().into_owned();
            if name.starts_with("libonnxruntime.so") {
                return Some(f.path());
            }
        }
    }
    None
}

/// Runs an ONNX model on CPU: returns (logits, probs, logits shape).
pub fn run_onnx(
    model: &Path,
    input: &[f32],
    batch: usize,
    size: usize,
) -> (Vec<f32>, Vec<f32>, Vec<i64>) {
    let mut session = session(model).unwrap();
    let x = ort::value::Tensor::from_array(([batch, 3, size, size], input.to_vec())).unwrap();
    let out = session.run(ort::inputs!["image" => x]).unwrap();
    let (shape, logits) = out["logits"].try_extract_tensor::<f32>().unwrap();
    let shape = shape.to_vec();
    let logits = logits.to_vec();
    let (_, probs) = out["probs"].try_extract_tensor::<f32>().unwrap();
    (logits, probs.to_vec(), shape)
}

/// The model's custom metadata as ONNX Runtime reads it.
pub fn onnx_metadata(model: &Path, key: &str) -> Option<String> {
    session(model).unwrap().metadata().unwrap().custom(key)
}
