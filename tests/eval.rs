//! `endoscan eval`: metrics against hand-worked values, Pearson r and p of the paper's
//! batch-size study, and the evaluation pipeline end to end (a stub model here; the exported
//! ONNX model through the project's classifier when it is available).

use std::path::{Path, PathBuf};

use endoscan::data::split::{Split, SplitSettings, Subset};
use endoscan::data::{DataSettings, Dataset};
use endoscan::eval::stats::pearson;
use endoscan::eval::{evaluate, EvalSettings};
use endoscan::infer::Scorer;
use endoscan::metrics::{auc, auc_interval, roc_curve, wilson, Confusion, Metrics, Z95};
use endoscan::model::{ModelMetadata, Normalization};
use image::RgbImage;
use ndarray::ArrayView4;

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol
}

/// 50 positives and 100 negatives scored so that, at threshold 0.5, TP 40, FN 10, TN 90, FP 10.
fn hand_case() -> (Vec<f32>, Vec<bool>) {
    let mut scores = Vec::new();
    let mut truth = Vec::new();
    for i in 0..50 {
        scores.push(if i < 40 { 0.9 } else { 0.2 });
        truth.push(true);
    }
    for i in 0..100 {
        scores.push(if i < 90 { 0.1 } else { 0.7 });
        truth.push(false);
    }
    (scores, truth)
}

#[test]
fn metrics_match_a_hand_computed_confusion_matrix() {
    let (scores, truth) = hand_case();
    let m = Metrics::compute(&scores, &truth, 0.5);
    assert_eq!(
        m.confusion,
        Confusion {
            tp: 40,
            fp: 10,
            tn: 90,
            fn_: 10
        }
    );
    // accuracy 130/150, sensitivity 40/50, specificity 90/100, F1 80/(80+10+10).
    assert!(close(m.accuracy.value.unwrap(), 130.0 / 150.0, 1e-12));
    assert!(close(m.sensitivity.value.unwrap(), 0.8, 1e-12));
    assert!(close(m.specificity.value.unwrap(), 0.9, 1e-12));
    assert!(close(m.f1.value.unwrap(), 0.8, 1e-12));
    // Wilson intervals, computed with mpmath at 30 digits.
    let [lo, hi] = m.accuracy.ci95.unwrap();
    assert!(close(lo, 0.803_019_825_502_258, 1e-12) && close(hi, 0.912_001_995_294_486, 1e-12));
    let [lo, hi] = m.sensitivity.ci95.unwrap();
    assert!(close(lo, 0.669_628_940_677_746, 1e-12) && close(hi, 0.887_562_499_842_239, 1e-12));
    let [lo, hi] = m.specificity.ci95.unwrap();
    assert!(close(lo, 0.825_634_338_495_087, 1e-12) && close(hi, 0.944_770_862_939_325, 1e-12));
    // Three distinct score levels per class: the ROC has 5 points; AUC by Mann–Whitney =
    // (40·100 + 10·90 [0.2 > 0.1] ) / 5000 = 0.98.
    assert!(close(m.auc.value.unwrap(), 0.98, 1e-12));
    let [lo, hi] = m.f1.ci95.unwrap();
    assert!(lo < 0.8 && 0.8 < hi && hi - lo < 0.25, "F1 CI {lo}–{hi}");
    assert_eq!(m.threshold, 0.5);
    assert_eq!((m.n, m.positives, m.negatives), (150, 50, 100));
}

#[test]
fn metrics_json_shape_is_documented_one() {
    let (scores, truth) = hand_case();
    let v = serde_json::to_value(Metrics::compute(&scores, &truth, 0.5)).unwrap();
    for key in ["accuracy", "f1", "sensitivity", "specificity", "auc"] {
        assert!(v[key]["value"].is_f64(), "{key}");
        assert_eq!(v[key]["ci95"].as_array().unwrap().len(), 2, "{key}");
        assert!(v[key]["ci_method"].is_string(), "{key}");
    }
    assert_eq!(v["accuracy"]["ci_method"], "wilson");
    assert_eq!(v["auc"]["ci_method"], "hanley-mcneil");
    assert_eq!(v["f1"]["ci_method"], "bootstrap");
    assert_eq!(
        v["confusion"],
        serde_json::json!({"tp": 40, "fp": 10, "tn": 90, "fn": 10})
    );
    assert_eq!(v["threshold"], 0.5);
}

#[test]
fn auc_on_a_hand_worked_example_with_a_tie() {
    // Positives 0.9 0.8 0.6 0.4, negatives 0.7 0.6 0.3 0.2 0.1. Pairs won: 5 + 5 + (3 + ½) + 3
    // = 16.5 of 20 → AUC 0.825; the tie at 0.6 is a diagonal step of the ROC.
    let scores = [0.9, 0.8, 0.6, 0.4, 0.7, 0.6, 0.3, 0.2, 0.1];
    let truth = [true, true, true, true, false, false, false, false, false];
    let curve = roc_curve(&scores, &truth);
    let pts: Vec<(f64, f64)> = curve.iter().map(|p| (p.fpr, p.tpr)).collect();
    assert_eq!(
        pts,
        vec![
            (0.0, 0.0),
            (0.0, 0.25),
            (0.0, 0.5),
            (0.2, 0.5),
            (0.4, 0.75),
            (0.4, 1.0),
            (0.6, 1.0),
            (0.8, 1.0),
            (1.0, 1.0)
        ]
    );
    let a = auc(&curve).unwrap();
    assert!(close(a, 0.825, 1e-12), "{a}");
    // Hanley–McNeil: SE = 0.153288065836682 (mpmath) → [0.524561, 1] after clipping.
    let [lo, hi] = auc_interval(a, 4, 5);
    assert!(
        close(lo, 0.524_560_911_700_298, 1e-12) && hi == 1.0,
        "{lo} {hi}"
    );
    assert!(wilson(3, 0, Z95).is_none());
}

#[test]
fn pearson_of_the_papers_batch_size_study() {
    // recipe.md: batch 32, 16, 8, 4, 2, 1 → accuracy 95.04, 95.23, 95.23, 93.89, 95.23, 95.42.
    // numpy.corrcoef: r = 0.08489266769576413; p from mpmath.betainc(2, 1/2, 0, 4/(4+t²)):
    // 0.872966899210721. The paper prints r = 0.0835, p = 0.875 — consistent with each other
    // (r = 0.0835 gives p = 0.87504) but not with its rounded accuracies.
    let batch = [32.0, 16.0, 8.0, 4.0, 2.0, 1.0];
    let acc = [95.04, 95.23, 95.23, 93.89, 95.23, 95.42];
    let p = pearson(&batch, &acc).unwrap();
    assert_eq!(p.n, 6);
    assert!(close(p.r, 0.084_892_667_695_761_5, 1e-12), "r = {}", p.r);
    assert!(close(p.p, 0.872_966_899_210_721, 1e-10), "p = {}", p.p);
    // Symmetric in its arguments; a strong correlation gets a small p.
    assert!(close(pearson(&acc, &batch).unwrap().p, p.p, 1e-14));
    let strong = pearson(&[1.0, 2.0, 3.0, 4.0, 5.0], &[2.1, 3.9, 6.2, 7.8, 10.1]).unwrap();
    assert!(strong.r > 0.99 && strong.p < 1e-3);
}

/// A stand-in for the ONNX classifier: the positive probability is the mean red value of the
/// (normalized) input, so red images score high.
struct RedModel;

impl Scorer for RedModel {
    fn score(&mut self, batch: ArrayView4<'_, f32>) -> anyhow::Result<Vec<f32>> {
        Ok(batch
            .outer_iter()
            .map(|img| {
                let red = img.index_axis(ndarray::Axis(0), 0);
                red.mean().unwrap_or(0.0)
            })
            .collect())
    }
}

/// The red model and its self-description.
fn red_model(size: usize) -> (RedModel, ModelMetadata) {
    let meta = ModelMetadata {
        variant: "r14x0.5".parse().unwrap(),
        input_size: size,
        normalization: Normalization::Unit,
        classes: vec!["cancer".into(), "non-cancer".into()],
        positive: 0,
        threshold: 0.5,
        weights_sha256: "0".repeat(64),
        cam_output: None,
    };
    (RedModel, meta)
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("endoscan-eval-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Frames with a bright disc (the image area) on black; `red` sets the disc's red level.
fn frame(path: &Path, red: u8) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    RgbImage::from_fn(80, 64, |x, y| {
        let (dx, dy) = (x as f32 - 40.0, y as f32 - 32.0);
        if dx * dx + dy * dy < 28.0 * 28.0 {
            image::Rgb([red, 120, 90])
        } else {
            image::Rgb([0, 0, 0])
        }
    })
    .save(path)
    .unwrap();
}

/// 12 cancer frames (red) and 12 non-cancer frames (not), one of each the other way round:
/// c00 is the darkest of all, n00 the reddest.
fn red_dataset(dir: &Path) {
    for i in 0..12 {
        frame(
            &dir.join(format!("cancer/c{i:02}.png")),
            if i == 0 { 20 } else { 200 + i as u8 },
        );
        frame(
            &dir.join(format!("non-cancer/n{i:02}.png")),
            if i == 0 { 230 } else { 30 + i as u8 },
        );
    }
}

fn settings(data: &Path, out: &Path) -> EvalSettings {
    EvalSettings {
        data: data.to_path_buf(),
        split: None,
        batch: 5,
        out: out.to_path_buf(),
        threshold: None,
        skip_bad: false,
        workers: 2,
    }
}

#[test]
fn eval_pipeline_writes_every_output() {
    let dir = scratch("pipeline");
    let data = dir.join("data");
    red_dataset(&data);
    let out = dir.join("out");
    let (mut model, meta) = red_model(32);
    let facts = serde_json::json!({"path": "red.onnx"});
    let r = evaluate(&mut model, &meta, &settings(&data, &out), facts).unwrap();
    assert_eq!(
        r.metrics.confusion,
        Confusion {
            tp: 11,
            fp: 1,
            tn: 11,
            fn_: 1
        }
    );
    // Lost pairs: c00 (darkest of all) against 12 negatives, n00 (reddest) against 11
    // positives: AUC = (144 − 23) / 144.
    assert!(close(r.metrics.auc.value.unwrap(), 121.0 / 144.0, 1e-12));

    let metrics: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("metrics.json")).unwrap()).unwrap();
    for key in [
        "accuracy",
        "f1",
        "sensitivity",
        "specificity",
        "auc",
        "threshold",
        "confusion",
    ] {
        assert!(!metrics[key].is_null(), "metrics.json lacks {key}");
    }
    assert_eq!(metrics["positive_class"], "cancer");
    assert_eq!(metrics["model"]["path"], "red.onnx");
    assert_eq!(metrics["model"]["variant"], "r14x0.5");
    assert!(close(
        metrics["accuracy"]["value"].as_f64().unwrap(),
        22.0 / 24.0,
        1e-12
    ));

    let preds = std::fs::read_to_string(out.join("predictions.csv")).unwrap();
    let lines: Vec<&str> = preds.lines().collect();
    assert_eq!(
        lines[0],
        "path,label,patient_id,probability,predicted,correct"
    );
    assert_eq!(lines.len(), 25);
    let first: Vec<&str> = lines[1].split(',').collect();
    assert_eq!(first[..3], ["cancer/c00.png", "cancer", ""]);
    assert!(first[3].parse::<f32>().unwrap() < 0.1, "{}", lines[1]);
    assert_eq!(first[4..], ["non-cancer", "false"]);
    let svg = std::fs::read_to_string(out.join("roc.svg")).unwrap();
    assert!(svg.contains("<polyline"));
    assert!(std::fs::read_to_string(out.join("confusion.svg"))
        .unwrap()
        .contains(">11<"));
    let html = std::fs::read_to_string(&r.report).unwrap();
    assert!(html.contains("Misclassified images (2)") && html.contains("non-cancer/n00.png"));
}

#[test]
fn eval_on_a_split_subset_and_bad_images() {
    let dir = scratch("subset");
    let data = dir.join("data");
    red_dataset(&data);
    let d = Dataset::open(&data, &DataSettings::default()).unwrap();
    let split = Split::stratified(&d, &SplitSettings::default()).unwrap();
    let split_file = dir.join("split.csv");
    split.write(&d, &split_file).unwrap();
    let test_n = split.indices(Subset::Test).len();

    let (mut model, meta) = red_model(32);
    let mut s = settings(&data, &dir.join("out"));
    s.split = Some((split_file, Subset::Test));
    let r = evaluate(&mut model, &meta, &s, serde_json::json!({})).unwrap();
    assert_eq!(r.metrics.n, test_n);

    // A corrupt file and an all-black frame (no image area) are listed together.
    std::fs::write(data.join("cancer/zz_corrupt.png"), b"garbage").unwrap();
    RgbImage::new(40, 40)
        .save(data.join("non-cancer/zz_black.png"))
        .unwrap();
    let s = settings(&data, &dir.join("out2"));
    let msg = format!(
        "{:#}",
        evaluate(&mut model, &meta, &s, serde_json::json!({})).unwrap_err()
    );
    assert!(msg.contains("2 unreadable or odd images"), "{msg}");
    assert!(
        msg.contains("zz_corrupt.png") && msg.contains("zz_black.png"),
        "{msg}"
    );
    let mut s = settings(&data, &dir.join("out3"));
    s.skip_bad = true;
    let r = evaluate(&mut model, &meta, &s, serde_json::json!({})).unwrap();
    assert_eq!(r.metrics.n, 24);
}

fn endoscan(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_endoscan"))
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap()
}

fn ok(out: &std::process::Output) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "endoscan failed:\n{stderr}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `synth` → random r14x0.5 weights → `export` (input 64) → `eval` through ONNX Runtime, on
/// the whole synth set and on the test subset of a patient-grouped split of its labels.csv.
#[test]
fn eval_cli_runs_the_exported_onnx_model_end_to_end() {
    let dir = scratch("cli");
    let data = dir.join("synth");
    let s = |p: &Path| p.to_str().unwrap().to_string();
    ok(&endoscan(&[
        "synth",
        "--out",
        &s(&data),
        "--images",
        "24",
        "--size",
        "320x240",
    ]));
    let variant = "r14x0.5".parse().unwrap();
    let weights = dir.join("random.safetensors");
    endoscan::model::Weights::random(&variant, 2, 7)
        .save_safetensors(&weights)
        .unwrap();
    let model = dir.join("model.onnx");
    ok(&endoscan(&[
        "export",
        "--weights",
        &s(&weights),
        "--variant",
        "r14x0.5",
        "--input-size",
        "64",
        "--out",
        &s(&model),
    ]));

    let out = dir.join("eval");
    let stdout = ok(&endoscan(&[
        "eval",
        "--model",
        &s(&model),
        "--data",
        &s(&data),
        "--batch",
        "5",
        "--out",
        &s(&out),
    ]));
    assert!(
        stdout.contains("accuracy") && stdout.contains("report:"),
        "{stdout}"
    );
    let metrics: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("metrics.json")).unwrap()).unwrap();
    assert_eq!(metrics["n"], 24);
    assert_eq!(metrics["model"]["input_size"], 64);
    let c = &metrics["confusion"];
    let total: u64 = ["tp", "fp", "tn", "fn"]
        .iter()
        .map(|k| c[k].as_u64().unwrap())
        .sum();
    assert_eq!(total, 24);
    for f in ["predictions.csv", "roc.svg", "confusion.svg", "report.html"] {
        assert!(out.join(f).is_file(), "{f} missing");
    }
    // Probabilities come from the model, one row per image, with the synth patient ids.
    let preds = std::fs::read_to_string(out.join("predictions.csv")).unwrap();
    assert_eq!(preds.lines().count(), 25);
    assert!(preds.lines().nth(1).unwrap().contains(",P0000"), "{preds}");

    // The test subset of a patient-grouped split.
    let d = Dataset::open(&data, &DataSettings::default()).unwrap();
    let split = Split::stratified(&d, &SplitSettings::default()).unwrap();
    let split_file = dir.join("split.csv");
    split.write(&d, &split_file).unwrap();
    let out = dir.join("eval-test");
    ok(&endoscan(&[
        "eval",
        "--model",
        &s(&model),
        "--data",
        &s(&data),
        "--split",
        &s(&split_file),
        "--subset",
        "test",
        "--out",
        &s(&out),
        "--threshold",
        "0.3",
    ]));
    let metrics: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("metrics.json")).unwrap()).unwrap();
    assert_eq!(
        metrics["n"].as_u64().unwrap() as usize,
        split.indices(Subset::Test).len()
    );
    assert_eq!(metrics["data"]["subset"], "test");
    assert!((metrics["threshold"].as_f64().unwrap() - 0.3).abs() < 1e-6);

    // Bad arguments fail before any work, without a panic.
    let bad = endoscan(&[
        "eval",
        "--model",
        &s(&model),
        "--data",
        &s(&data),
        "--subset",
        "val",
        "--out",
        &s(&out),
    ]);
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert!(
        !bad.status.success() && stderr.contains("--subset needs --split"),
        "{stderr}"
    );
    let bad = endoscan(&[
        "eval",
        "--model",
        &s(&dir.join("nope.onnx")),
        "--data",
        &s(&data),
        "--out",
        &s(&out),
    ]);
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert!(
        !bad.status.success() && stderr.contains("nope.onnx") && !stderr.contains("panicked"),
        "{stderr}"
    );
}
