//! `Classifier` and `endoscan classify` on real exported models (random r14x0.5 weights):
//! probabilities equal onnxruntime-python's on the same tensor; the CLI reads PNG, JPEG and
//! PPM by content, prints the documented JSON, and fails cleanly on bad images and models.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use endoscan::export::export_onnx;
use endoscan::infer::{Classifier, ClassifierOptions, InferError};
use endoscan::model::{ModelMetadata, Normalization, Variant, Weights};
use endoscan::preprocess::{normalize_batch, Preprocessor};
use endoscan::synth::{generate_frame, FrameSpec, Layout};
use image::RgbImage;
use ndarray::Array4;

const SIZE: usize = 64;
/// Largest |Δp| accepted between our probabilities and onnxruntime-python's.
const TOLERANCE: f32 = 1e-6;

/// Runs the model in onnxruntime-python: argv `model input.f32 n size out.f32`.
const ORT_PYTHON: &str = r#"
import sys
import numpy as np
import onnxruntime as ort
model, x, n, size, out = sys.argv[1:]
x = np.fromfile(x, "<f4").reshape(int(n), 3, int(size), int(size))
session = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
probs, = session.run(["probs"], {"image": x})
probs.astype("<f4").tofile(out)
"#;

/// This process's scratch directory; those of finished runs are removed.
fn dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        for entry in std::fs::read_dir(env!("CARGO_TARGET_TMPDIR"))
            .into_iter()
            .flatten()
            .flatten()
        {
            let name = entry.file_name().to_string_lossy().into_owned();
            let pid = name
                .strip_prefix("classify-")
                .and_then(|p| p.parse::<u32>().ok());
            if pid.is_some_and(|pid| !Path::new(&format!("/proc/{pid}")).exists()) {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
        let dir =
            Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("classify-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    })
}

fn root() -> PathBuf {
    std::env::var_os("ENDOSCAN_ROOT")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from)
}

fn meta() -> ModelMetadata {
    ModelMetadata {
        variant: "r14x0.5".parse::<Variant>().unwrap(),
        input_size: SIZE,
        normalization: Normalization::Bit,
        classes: vec!["cancer".into(), "non-cancer".into()],
        positive: 0,
        threshold: 0.5,
        weights_sha256: "0".repeat(64),
        // The exporter declares the map it adds.
        cam_output: Some(endoscan::model::metadata::OUTPUT_CAM.into()),
    }
}

/// An exported r14x0.5 model with random weights (made once per test run).
fn model() -> &'static Path {
    static MODEL: OnceLock<PathBuf> = OnceLock::new();
    MODEL.get_or_init(|| {
        let meta = meta();
        let weights = Weights::random(&meta.variant, meta.classes.len(), 11);
        let path = dir().join("r14.onnx");
        export_onnx(&weights, &meta, &path).unwrap();
        path
    })
}

/// The model's bytes with `from` replaced by the same-length `to` (still valid protobuf).
fn patched_model(name: &str, from: &[u8], to: &[u8]) -> PathBuf {
    assert_eq!(from.len(), to.len());
    let mut bytes = std::fs::read(model()).unwrap();
    let at = bytes
        .windows(from.len())
        .position(|w| w == from)
        .expect("pattern in model");
    bytes[at..at + to.len()].copy_from_slice(to);
    let path = dir().join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

fn tower(index: u64) -> RgbImage {
    let spec = FrameSpec {
        layout: Layout::Tower,
        width: 640,
        height: 360,
        seed: 3,
        index,
        lesion: index.is_multiple_of(2),
    };
    generate_frame(&spec).unwrap().image
}

fn load() -> Classifier {
    Classifier::load(model(), &ClassifierOptions::default()).unwrap()
}

fn endoscan(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_endoscan"))
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Stderr of a run that must have failed without a panic.
fn fails(out: &Output) -> String {
    let err = stderr(out);
    assert!(!out.status.success(), "should fail: {err}");
    assert!(!err.contains("panicked"), "{err}");
    err
}

/// Writes a binary PPM (P6); `image` would write PAM (P7) for `.ppm`.
fn write_ppm(path: &Path, img: &RgbImage) {
    let mut bytes = format!("P6\n{} {}\n255\n", img.width(), img.height()).into_bytes();
    bytes.extend_from_slice(img.as_raw());
    std::fs::write(path, bytes).unwrap();
}

fn batch_of(images: &[RgbImage]) -> Array4<f32> {
    let pre = Preprocessor::for_model(&meta()).unwrap();
    let prepared: Vec<RgbImage> = images
        .iter()
        .map(|i| pre.prepare(i).unwrap().image)
        .collect();
    normalize_batch(&prepared.iter().collect::<Vec<_>>(), pre.normalization()).unwrap()
}

#[test]
fn probabilities_equal_onnxruntime_python() {
    let mut classifier = load();
    assert_eq!(classifier.metadata(), &meta());
    let images: Vec<RgbImage> = (0..5).map(tower).collect();
    let input = batch_of(&images);
    let ours = classifier.classify_batch(input.view()).unwrap();
    assert_eq!(ours.dim(), (5, 2));

    let x = dir().join("python_input.f32");
    let y = dir().join("python_probs.f32");
    let bytes: Vec<u8> = input.iter().flat_map(|v| v.to_le_bytes()).collect();
    std::fs::write(&x, bytes).unwrap();
    let run = Command::new(root().join(".venv/bin/python"))
        .args(["-c", ORT_PYTHON])
        .args([
            model().to_str().unwrap(),
            x.to_str().unwrap(),
            "5",
            &SIZE.to_string(),
            y.to_str().unwrap(),
        ])
        .output()
        .expect("run .venv/bin/python (run scripts/setup first)");
    assert!(
        run.status.success(),
        "onnxruntime-python failed:\n{}",
        stderr(&run)
    );
    let theirs: Vec<f32> = std::fs::read(&y)
        .unwrap()
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    let diff = ours
        .iter()
        .zip(&theirs)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    eprintln!("max |Δp| vs onnxruntime-python: {diff:e}; probs {ours:?}");
    assert_eq!(theirs.len(), 10);
    assert!(diff <= TOLERANCE, "{diff}");
    // Random weights still give different images different probabilities.
    assert!(ours
        .column(0)
        .iter()
        .any(|&p| (p - ours[[0, 0]]).abs() > 1e-6));

    // Any batch size: one at a time, none, and the convenience over raw frames.
    let single = classifier
        .classify_batch(input.slice(ndarray::s![2..3, .., .., ..]))
        .unwrap();
    assert!((single[[0, 0]] - ours[[2, 0]]).abs() <= TOLERANCE);
    assert_eq!(
        classifier
            .classify_batch(Array4::zeros((0, 3, SIZE, SIZE)).view())
            .unwrap()
            .dim(),
        (0, 2)
    );
    let direct = classifier.classify_images(&images, 2).unwrap();
    assert!(direct
        .iter()
        .zip(&ours)
        .all(|(a, b)| (a - b).abs() <= TOLERANCE));
}

#[test]
fn wrong_input_shape_names_expected_and_got() {
    let mut classifier = load();
    let err = classifier
        .classify_batch(Array4::zeros((1, 3, 32, 32)).view())
        .unwrap_err();
    assert!(matches!(err, InferError::InputShape { .. }));
    let text = err.to_string();
    assert!(
        text.contains("[N, 3, 64, 64]") && text.contains("[1, 3, 32, 32]"),
        "{text}"
    );
    // Non-contiguous input works like its contiguous copy.
    let input = batch_of(&[tower(1)]);
    let flipped = input.slice(ndarray::s![.., .., ..;-1, ..]);
    let a = classifier.classify_batch(flipped).unwrap();
    let b = classifier
        .classify_batch(flipped.as_standard_layout().view())
        .unwrap();
    assert_eq!(a, b);
}

#[test]
fn bad_model_files_are_clear_errors() {
    let missing = dir().join("missing.onnx");
    let err = Classifier::load(&missing, &ClassifierOptions::default())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("missing.onnx") && err.contains("not found"),
        "{err}"
    );

    let text = dir().join("notes.onnx");
    std::fs::write(&text, "this is a text file, not a model\n").unwrap();
    let err = Classifier::load(&text, &ClassifierOptions::default()).unwrap_err();
    assert!(matches!(err, InferError::LoadModel { .. }), "{err:?}");
    assert!(err.to_string().contains("notes.onnx"), "{err}");

    let foreign = patched_model("foreign.onnx", b"endoscan.variant", b"xndoscan.variant");
    let err = Classifier::load(&foreign, &ClassifierOptions::default()).unwrap_err();
    let chain = format!("{:#}", anyhow::Error::from(err));
    assert!(
        chain.contains("foreign.onnx: not an endoscan model") && chain.contains("endoscan.variant"),
        "{chain}"
    );

    let resized = patched_model(
        "resized.onnx",
        b"endoscan.input_size\x12\x0264",
        b"endoscan.input_size\x12\x0296",
    );
    let err = Classifier::load(&resized, &ClassifierOptions::default())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("resized.onnx") && err.contains("[?, 3, 96, 96]"),
        "{err}"
    );
}

#[test]
fn cli_reads_png_jpeg_and_ppm_and_prints_json() {
    let frame = tower(4);
    let png = dir().join("frame.png");
    let jpeg = dir().join("frame.jpg");
    let ppm = dir().join("frame.ppm");
    // A PNG named like a JPEG: formats are recognized by content.
    let misnamed = dir().join("png-inside.jpeg");
    frame.save(&png).unwrap();
    frame.save(&jpeg).unwrap();
    write_ppm(&ppm, &frame);
    std::fs::copy(&png, &misnamed).unwrap();
    assert!(std::fs::read(&ppm).unwrap().starts_with(b"P6"));

    let paths = [&png, &jpeg, &ppm, &misnamed].map(|p| p.to_str().unwrap().to_string());
    let mut args = vec![
        "classify",
        "--model",
        model().to_str().unwrap(),
        "--json",
        "--batch",
        "3",
    ];
    args.extend(paths.iter().map(String::as_str));
    let out = endoscan(&args);
    assert!(out.status.success(), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let items = json.as_array().expect("a JSON array");
    assert_eq!(items.len(), 4);
    for (item, path) in items.iter().zip(&paths) {
        let obj = item.as_object().unwrap();
        assert_eq!(obj.len(), 2, "{item}");
        assert_eq!(obj["path"], serde_json::json!(path));
        let probs = obj["probs"].as_object().unwrap();
        let keys: Vec<&str> = probs.keys().map(String::as_str).collect();
        assert_eq!(keys, ["cancer", "non-cancer"]);
        let sum: f64 = probs.values().map(|v| v.as_f64().unwrap()).sum();
        assert!((sum - 1.0).abs() < 1e-5, "{item}");
    }
    // Lossless formats give identical pixels, hence identical probabilities; they equal the
    // library's on the same frame.
    assert_eq!(items[0]["probs"], items[2]["probs"]);
    assert_eq!(items[0]["probs"], items[3]["probs"]);
    let lib = load().classify_images(&[frame], 1).unwrap();
    let p = items[0]["probs"]["cancer"].as_f64().unwrap() as f32;
    assert_eq!(p, lib[[0, 0]]);

    // The default table.
    let out = endoscan(&["classify", "--model", model().to_str().unwrap(), &paths[0]]);
    assert!(out.status.success(), "{}", stderr(&out));
    let table = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 2, "{table}");
    assert!(
        lines[0].starts_with("image")
            && lines[0].contains("cancer")
            && lines[0].contains("non-cancer")
    );
    assert!(lines[1].starts_with(paths[0].as_str()), "{table}");
}

#[test]
fn cli_reports_bad_images_and_still_prints_the_others() {
    let good = dir().join("good.png");
    tower(5).save(&good).unwrap();
    let corrupt = dir().join("corrupt.png");
    let bytes = std::fs::read(&good).unwrap();
    std::fs::write(&corrupt, &bytes[..bytes.len() / 3]).unwrap();
    let black = dir().join("black.png");
    RgbImage::new(320, 240).save(&black).unwrap();
    let text = dir().join("readme.png");
    std::fs::write(&text, "not an image").unwrap();
    let missing = dir().join("missing.png");
    let paths = [&corrupt, &good, &black, &text, &missing].map(|p| p.to_str().unwrap().to_string());
    let mut args = vec!["classify", "--json", "--model", model().to_str().unwrap()];
    args.extend(paths.iter().map(String::as_str));
    let out = endoscan(&args);
    let err = fails(&out);
    assert!(
        err.contains("corrupt.png: corrupt or unsupported image"),
        "{err}"
    );
    assert!(err.contains("black.png: no endoscopic image area"), "{err}");
    assert!(
        err.contains("readme.png: not a PNG, JPEG or PPM image"),
        "{err}"
    );
    assert!(err.contains("missing.png: cannot read image file"), "{err}");
    assert!(
        err.contains("4 of 5 images could not be classified"),
        "{err}"
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json.as_array().unwrap().len(), 1);
    assert_eq!(json[0]["path"], serde_json::json!(paths[1]));
}

#[test]
fn cli_fails_cleanly_on_bad_models_and_arguments() {
    let image = dir().join("arg-check.png");
    tower(6).save(&image).unwrap();
    let image = image.to_str().unwrap();

    let err = fails(&endoscan(&[
        "classify",
        "--model",
        "/no/such/model.onnx",
        image,
    ]));
    assert!(
        err.contains("/no/such/model.onnx: model file not found"),
        "{err}"
    );
    let text = dir().join("cli-text.onnx");
    std::fs::write(&text, "hello").unwrap();
    let err = fails(&endoscan(&[
        "classify",
        "--model",
        text.to_str().unwrap(),
        image,
    ]));
    assert!(
        err.contains("cli-text.onnx: cannot load the ONNX model"),
        "{err}"
    );
    let err = fails(&endoscan(&[
        "classify",
        "--model",
        model().to_str().unwrap(),
        "--batch",
        "0",
        image,
    ]));
    assert!(err.contains("--batch"), "{err}");

    // No ONNX Runtime library: say how to get one.
    let out = Command::new(env!("CARGO_BIN_EXE_endoscan"))
        .args(["classify", "--model", model().to_str().unwrap(), image])
        .env("ORT_DYLIB_PATH", "/nonexistent/libonnxruntime.so")
        .output()
        .unwrap();
    let err = fails(&out);
    assert!(
        err.contains("ORT_DYLIB_PATH") && err.contains("scripts/setup"),
        "{err}"
    );
}

/// The model with `threshold` in its metadata (0: every image flagged).
fn model_with_threshold(name: &str, threshold: f32) -> PathBuf {
    let meta = ModelMetadata {
        threshold,
        ..meta()
    };
    let weights = Weights::random(&meta.variant, meta.classes.len(), 11);
    let path = dir().join(name);
    export_onnx(&weights, &meta, &path).unwrap();
    path
}

fn classify_json(model: &Path, image: &Path) -> serde_json::Value {
    let out = endoscan(&[
        "classify",
        "--json",
        "--model",
        model.to_str().unwrap(),
        image.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn flagged_images_get_a_finding_and_old_models_none() {
    let image = dir().join("finding.png");
    tower(2).save(&image).unwrap();
    let every = model_with_threshold("flag-all.onnx", 0.0);
    let json = classify_json(&every, &image);
    let f = &json[0]["finding"];
    let v = |k: &str| f[k].as_u64().unwrap_or_else(|| panic!("{k} in {json}"));
    let (x, y, w, h) = (v("x"), v("y"), v("width"), v("height"));
    assert!(w > 0 && h > 0 && x + w <= 640 && y + h <= 360, "{f}");
    assert!(
        (x..x + w).contains(&v("peak_x")) && (y..y + h).contains(&v("peak_y")),
        "{f}"
    );
    // The box lies in the image area, right of the patient panel (the left third).
    assert!(x >= 640 / 3, "{f}");
    // Not flagged: no finding.
    let none = model_with_threshold("flag-none.onnx", 1.0);
    assert!(classify_json(&none, &image)[0].get("finding").is_none());
    // A model from before the map (metadata without the key) scores the same, with no box.
    let old = patched_model("old.onnx", b"endoscan.cam_output", b"endoscan.cam_outpux");
    let old_json = classify_json(&old, &image);
    let current = classify_json(model(), &image);
    assert_eq!(old_json[0]["probs"], current[0]["probs"]);
    assert!(old_json[0].get("finding").is_none());
}
