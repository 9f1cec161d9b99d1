//! The libtorch backend (`--provider torch-cpu | torch-cuda`, feature `train`): on the CPU it
//! scores as ONNX Runtime does, from the same `.onnx` file; without a GPU, torch-cuda fails with
//! one line; the binary keeps `libtorch_cuda.so` linked (docs/gpu.md's link trap).
#![cfg(feature = "train")]

#[allow(dead_code)]
#[path = "common/cli.rs"]
mod cli;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use cli::{endoscan, ok, scratch};

use endoscan::bench::gpu::images;
use endoscan::export::export_onnx;
use endoscan::infer::{Classifier, ClassifierOptions, ExecutionProvider, Model, Scorer};
use endoscan::model::{ModelMetadata, Normalization, Variant, Weights};

/// Largest accepted |Δp| between libtorch and ONNX Runtime on the CPU (both f32).
const P_TOLERANCE: f32 = 1e-5;
/// Largest accepted |Δ| of an evidence-map cell (logit units).
const MAP_TOLERANCE: f32 = 1e-4;

/// Stderr of a run that must fail cleanly.
fn fails(out: &Output) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "should fail: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    stderr
}

/// A random-weight two-class model of `variant` at `size`², exported with its map.
fn random_model(dir: &Path, variant: &str, size: usize, seed: u64) -> PathBuf {
    let variant: Variant = variant.parse().unwrap();
    let meta = ModelMetadata {
        variant,
        input_size: size,
        normalization: Normalization::Bit,
        classes: vec!["cancer".into(), "non-cancer".into()],
        positive: 0,
        threshold: 0.5,
        weights_sha256: "test".into(),
        cam_output: None,
    };
    let path = dir.join(format!("{variant}-{size}.onnx"));
    export_onnx(&Weights::random(&variant, 2, seed), &meta, &path).unwrap();
    path
}

fn on(provider: ExecutionProvider) -> ClassifierOptions {
    ClassifierOptions {
        provider,
        ..ClassifierOptions::default()
    }
}

#[test]
fn libtorch_on_the_cpu_scores_as_onnx_runtime() {
    let dir = scratch("torch_scorer", "equal");
    for (variant, size, seed) in [("r14x0.5", 64, 1), ("r26x0.5", 96, 2), ("r14x0.5", 100, 3)] {
        let path = random_model(&dir, variant, size, seed);
        let batch = images(3, size, seed);
        let mut ort = Classifier::load(&path, &on(ExecutionProvider::Cpu)).unwrap();
        let mut torch = Model::load(&path, &on(ExecutionProvider::TorchCpu)).unwrap();
        assert_eq!(torch.provider(), ExecutionProvider::TorchCpu);
        assert_eq!(torch.metadata(), ort.metadata());
        let want = ort.score_with_maps(batch.view()).unwrap();
        let got = torch.score_with_maps(batch.view()).unwrap();
        let spread = want
            .p
            .iter()
            .fold(0f32, |m, &p| m.max((p - want.p[0]).abs()));
        assert!(spread > 1e-3, "{variant}: inputs too alike: {:?}", want.p);
        let dp = want
            .p
            .iter()
            .zip(&got.p)
            .map(|(a, b)| (a - b).abs())
            .fold(0f32, f32::max);
        assert!(dp <= P_TOLERANCE, "{variant} {size}²: |Δp| {dp:e}");
        let (want_maps, got_maps) = (want.maps.unwrap(), got.maps.unwrap());
        assert_eq!(want_maps.len(), 3);
        eprintln!("{variant} {size}²: p {:?}, |Δp| {dp:e}", want.p);
        for (a, b) in want_maps.iter().zip(&got_maps) {
            assert_eq!(
                (a.width, a.height),
                (b.width, b.height),
                "{variant} {size}²"
            );
            let dm = a
                .values
                .iter()
                .zip(&b.values)
                .map(|(x, y)| (x - y).abs())
                .fold(0f32, f32::max);
            assert!(dm <= MAP_TOLERANCE, "{variant} {size}²: map |Δ| {dm:e}");
            eprintln!("  map {}×{}: |Δ| {dm:e}", a.width, a.height);
        }
    }
}

fn frames_csv(dir: &Path) -> Vec<Vec<String>> {
    std::fs::read_to_string(dir.join("frames.csv"))
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect()
}

#[test]
fn reprocess_on_libtorch_gives_the_same_study() {
    let dir = scratch("torch_scorer", "reprocess");
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/sample.mp4");
    let study = |provider: &str| {
        let out = dir.join(provider);
        ok(&[
            "reprocess",
            sample.to_str().unwrap(),
            "--provider",
            provider,
            "--out",
            out.to_str().unwrap(),
            "--no-video",
        ]);
        frames_csv(&out)
    };
    let (ort, torch) = (study("cpu"), study("torch-cpu"));
    assert_eq!(ort.len(), 750);
    assert_eq!(torch.len(), ort.len());
    let mut flagged = 0;
    for (a, b) in ort.iter().zip(&torch) {
        // p_positive has 6 decimals: both rounded, so within 1e-6 of each other plus rounding.
        let (pa, pb): (f64, f64) = (a[2].parse().unwrap(), b[2].parse().unwrap());
        assert!((pa - pb).abs() <= 2.5e-6, "frame {}: {pa} vs {pb}", a[0]);
        // Flags, status and the box columns are the same.
        assert_eq!(a[4..], b[4..], "frame {}", a[0]);
        flagged += usize::from(a[4] == "1");
    }
    assert!(flagged > 50, "only {flagged} frames flagged");
}

#[test]
fn torch_cuda_without_a_gpu_is_one_clear_error() {
    if tch::Cuda::is_available() {
        eprintln!("a CUDA device is there: nothing to check");
        return;
    }
    let dir = scratch("torch_scorer", "no-gpu");
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/sample.mp4");
    let out = dir.join("out");
    let err = fails(&endoscan(&[
        "reprocess",
        sample.to_str().unwrap(),
        "--provider",
        "torch-cuda",
        "--out",
        out.to_str().unwrap(),
    ]));
    assert!(err.contains("torch-cuda"), "{err}");
    assert!(err.contains("no CUDA device"), "{err}");
    assert!(err.contains("demo.onnx"), "names the model: {err}");
}

#[test]
fn onnx_runtime_only_commands_refuse_libtorch_by_name() {
    let dir = scratch("torch_scorer", "classify");
    let still = dir.join("still.png");
    image::RgbImage::from_pixel(64, 64, image::Rgb([150, 60, 50]))
        .save(&still)
        .unwrap();
    let err = fails(&endoscan(&[
        "classify",
        still.to_str().unwrap(),
        "--provider",
        "torch-cpu",
    ]));
    assert!(err.contains("--provider torch-cpu"), "{err}");
    assert!(err.contains("use cpu, cuda or tensorrt"), "{err}");
}

/// The shared libraries the test process has loaded, by file name.
fn loaded_library(name: &str) -> Option<PathBuf> {
    std::fs::read_to_string("/proc/self/maps")
        .ok()?
        .lines()
        .filter_map(|l| l.split_whitespace().nth(5))
        .map(PathBuf::from)
        .find(|p| p.file_name().is_some_and(|f| f == name))
}

#[test]
fn the_binary_links_libtorch_cuda_where_libtorch_has_it() {
    let cpu = loaded_library("libtorch_cpu.so").expect("this test links libtorch");
    let cuda = cpu.with_file_name("libtorch_cuda.so");
    let out = Command::new("readelf")
        .args(["-d", env!("CARGO_BIN_EXE_endoscan")])
        .output()
        .expect("readelf (binutils) runs");
    let dynamic = String::from_utf8_lossy(&out.stdout);
    assert!(dynamic.contains("[libtorch_cpu.so]"), "{dynamic}");
    if cuda.exists() {
        assert!(
            dynamic.contains("[libtorch_cuda.so]"),
            "{} exists but the binary does not need it:\n{dynamic}",
            cuda.display()
        );
    } else {
        eprintln!("{}: a CPU-only libtorch, nothing to link", cuda.display());
    }
}

#[test]
fn the_torch_check_runs_on_the_cpu_and_refuses_to_pretend_without_a_gpu() {
    let bin = env!("CARGO_BIN_EXE_endoscan-torch-check");
    let dir = scratch("torch_scorer", "check");
    let out = dir.join("out");
    let o = Command::new(bin)
        .args(["--out", out.to_str().unwrap(), "--provider", "torch-cpu"])
        .args([
            "--variant",
            "r14x0.5",
            "--input-size",
            "64",
            "--batch",
            "1,3",
        ])
        .args(["--runs", "3", "--preprocess", "cpu"])
        .args([
            "--train",
            "--train-batch",
            "2",
            "--train-runs",
            "2",
            "--channels-last",
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("bench.json")).unwrap()).unwrap();
    assert_eq!(report["provider"], "torch-cpu");
    let rows = report["rows"].as_array().unwrap();
    assert_eq!(
        rows.len(),
        2,
        "fp32 only on the CPU, in both layouts: {rows:?}"
    );
    for (row, layout) in rows.iter().zip(["nchw", "nhwc"]) {
        assert_eq!(row["precision"], "fp32");
        assert_eq!(row["variant"], "r14x0.5");
        assert_eq!(row["layout"], layout);
        // Channels-last is the same arithmetic in another order: within the fp32 bound.
        assert_eq!(row["pass"], true, "{row}");
        assert!(row["max_abs_dp"].as_f64().unwrap() <= 1e-5, "{row}");
    }
    let skipped = report["skipped"].to_string();
    assert!(
        skipped.contains("r14x0.5 fp16: torch-cpu runs fp32 only"),
        "{skipped}"
    );
    let timings = rows[0]["timings"].as_array().unwrap();
    let batches: Vec<u64> = timings
        .iter()
        .map(|t| t["batch"].as_u64().unwrap())
        .collect();
    assert_eq!(batches, [1, 3]);
    for t in timings {
        let (p50, p99) = (t["p50_ms"].as_f64().unwrap(), t["p99_ms"].as_f64().unwrap());
        assert!(p50 > 0.0 && p99 >= p50, "{t}");
        let rate = t["batch"].as_f64().unwrap() / (p50 / 1e3);
        assert!(
            (t["images_per_s"].as_f64().unwrap() - rate).abs() < 1e-6 * rate,
            "{t}"
        );
    }
    let e2e = &rows[0]["end_to_end"];
    assert_eq!(e2e["preprocess"], "cpu", "{e2e}");
    let (p50, p99) = (
        e2e["p50_ms"].as_f64().unwrap(),
        e2e["p99_ms"].as_f64().unwrap(),
    );
    assert!(p50 > 0.0 && p99 >= p50, "{e2e}");
    let training = report["training"].as_array().unwrap();
    assert_eq!(training.len(), 1, "{training:?}");
    assert_eq!(training[0]["batch"], 2);
    assert_eq!(training[0]["largest"], false);
    assert_eq!(training[0]["precision"], "fp32");
    let step_ms = training[0]["p50_ms"].as_f64().unwrap();
    let rate = training[0]["images_per_s"].as_f64().unwrap();
    assert!(
        (rate - 2.0 / (step_ms / 1e3)).abs() < 1e-6 * rate,
        "{training:?}"
    );
    let md = std::fs::read_to_string(out.join("bench.md")).unwrap();
    assert!(md.contains("| r14x0.5 | fp32 |"), "{md}");
    assert!(md.contains("| training step |"), "{md}");
    if tch::Cuda::is_available() {
        return;
    }
    let o = Command::new(bin)
        .args(["--out", out.to_str().unwrap(), "--provider", "torch-cuda"])
        .args(["--variant", "r14x0.5", "--input-size", "64"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("no CUDA device"), "{err}");
}
