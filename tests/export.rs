//! `endoscan export`: the ONNX model runs in ONNX Runtime (CPU) and equals an independent
//! float64 torch reference (`tests/reference/bit_reference.py`) on the same weight file.

#[path = "reference/support.rs"]
mod support;

use std::path::Path;
use std::process::{Command, Output};

use endoscan::export::export_onnx;
use endoscan::model::layout::ROOT_KERNEL;
use endoscan::model::metadata::keys;
use endoscan::model::{ModelMetadata, Normalization, Variant, Weights};
use support::{max_abs_diff, numpy_npz, reference_logits, run_onnx, test_input, Scratch};

/// Largest |Δlogit| accepted between ONNX Runtime (f32) and the float64 reference.
const TOLERANCE: f32 = 1e-4;
const SIZE: usize = 64;

fn endoscan(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_endoscan"))
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap()
}

fn export_cli(weights: &Path, variant: &str, out: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "export",
        "--weights",
        weights.to_str().unwrap(),
        "--variant",
        variant,
        "--input-size",
        "64",
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend(extra);
    endoscan(&args)
}

fn assert_ok(out: &Output) {
    assert!(
        out.status.success(),
        "endoscan failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Stderr of a failed run; checks it failed cleanly.
fn assert_fails(out: &Output) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "should fail: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    stderr
}

fn meta(variant: Variant, sha256: &str) -> ModelMetadata {
    ModelMetadata {
        variant,
        input_size: SIZE,
        normalization: Normalization::Bit,
        classes: vec!["cancer".into(), "non-cancer".into()],
        positive: 0,
        threshold: 0.5,
        weights_sha256: sha256.into(),
        cam_output: None,
    }
}

/// Exported model vs the reference on `weights_file`; returns max |Δlogit|.
fn compare_with_reference(model: &Path, weights_file: &Path, variant: &str, dir: &Path) -> f32 {
    let batch = 2;
    let input = test_input(batch, SIZE, 42);
    let (logits, probs, shape) = run_onnx(model, &input, batch, SIZE);
    assert_eq!(shape, vec![batch as i64, 2]);
    let want = reference_logits(weights_file, variant, &input, SIZE, dir);
    let delta = max_abs_diff(&logits, &want);
    println!("{variant}: ONNX Runtime {logits:?} vs reference {want:?}: max |Δlogit| = {delta:e}");
    assert!(delta <= TOLERANCE, "max |Δlogit| {delta} > {TOLERANCE}");
    // The logits are not trivially equal: the comparison means something.
    assert!(
        max_abs_diff(&logits[..2], &logits[2..]) > 1e-3,
        "{logits:?}"
    );
    for (row, p) in logits.chunks(2).zip(probs.chunks(2)) {
        let e = (row[0] - row[1]).exp();
        assert!((p[0] - e / (1.0 + e)).abs() < 1e-6 && (p[0] + p[1] - 1.0).abs() < 1e-6);
    }
    delta
}

#[test]
fn random_r14_from_safetensors_matches_the_reference() {
    let dir = Scratch::new("export-r14");
    let variant: Variant = "r14x0.5".parse().unwrap();
    let weights_file = dir.path("w.safetensors");
    Weights::random(&variant, 2, 1)
        .save_safetensors(&weights_file)
        .unwrap();
    let model = dir.path("m.onnx");
    let out = export_cli(&weights_file, "r14x0.5", &model, &[]);
    assert_ok(&out);
    assert!(String::from_utf8_lossy(&out.stdout).contains("r14x0.5"));
    compare_with_reference(&model, &weights_file, "r14x0.5", &dir.0);

    // Dynamic batch: one image alone gives the same logits as in a batch of three.
    let input = test_input(3, SIZE, 9);
    let (three, _, shape) = run_onnx(&model, &input, 3, SIZE);
    assert_eq!(shape, vec![3, 2]);
    let (one, _, _) = run_onnx(&model, &input[2 * 3 * SIZE * SIZE..], 1, SIZE);
    assert!(max_abs_diff(&one, &three[4..]) < 1e-5);
}

#[test]
fn random_r26_matches_the_reference() {
    let dir = Scratch::new("export-r26");
    let variant: Variant = "r26x0.5".parse().unwrap();
    let weights = Weights::random(&variant, 2, 2);
    let weights_file = dir.path("w.safetensors");
    weights.save_safetensors(&weights_file).unwrap();
    let model = dir.path("m.onnx");
    export_onnx(&weights, &meta(variant, "00"), &model).unwrap();
    compare_with_reference(&model, &weights_file, "r26x0.5", &dir.0);
}

#[test]
fn numpy_npz_matches_the_reference_and_its_safetensors_copy() {
    let dir = Scratch::new("export-npz");
    let npz = dir.path("w.npz");
    numpy_npz(&npz, "r14x0.5", 5, false, "none");
    let model = dir.path("from_npz.onnx");
    assert_ok(&export_cli(&npz, "r14x0.5", &model, &[]));
    compare_with_reference(&model, &npz, "r14x0.5", &dir.0);

    // npz → safetensors → ONNX is byte-identical to npz → ONNX for the same metadata...
    let variant: Variant = "r14x0.5".parse().unwrap();
    let from_npz = Weights::load(&npz).unwrap();
    let st = dir.path("w.safetensors");
    from_npz.save_safetensors(&st).unwrap();
    let from_st = Weights::load(&st).unwrap();
    let meta = meta(variant, &from_npz.sha256);
    let (a, b) = (dir.path("a.onnx"), dir.path("b.onnx"));
    export_onnx(&from_npz, &meta, &a).unwrap();
    export_onnx(&from_st, &meta, &b).unwrap();
    assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());

    // ...and through the CLI (whose metadata records each file's hash) gives identical outputs.
    let via_st = dir.path("from_st.onnx");
    assert_ok(&export_cli(&st, "r14x0.5", &via_st, &[]));
    let input = test_input(2, SIZE, 3);
    assert_eq!(
        run_onnx(&model, &input, 2, SIZE).0,
        run_onnx(&via_st, &input, 2, SIZE).0
    );
}

#[test]
fn metadata_comes_from_flags_checkpoint_and_defaults() {
    let dir = Scratch::new("export-meta");
    let variant: Variant = "r14x0.5".parse().unwrap();
    let mut weights = Weights::random(&variant, 3, 4);
    for (k, v) in [
        (keys::CLASSES, "benign,egc,other"),
        (keys::POSITIVE, "egc"),
        (keys::THRESHOLD, "0.3"),
        (keys::NORMALIZATION, "unit"),
    ] {
        weights.metadata.insert(k.into(), v.into());
    }
    let st = dir.path("w.safetensors");
    weights.save_safetensors(&st).unwrap();
    let model = dir.path("m.onnx");
    assert_ok(&export_cli(
        &st,
        "r14x0.5",
        &model,
        &["--threshold", "0.25"],
    ));
    let get = |key| support::onnx_metadata(&model, key).unwrap();
    let map = [
        keys::VARIANT,
        keys::INPUT_SIZE,
        keys::NORMALIZATION,
        keys::CLASSES,
        keys::POSITIVE,
        keys::THRESHOLD,
        keys::WEIGHTS_SHA256,
    ]
    .into_iter()
    .map(|k| (k.to_string(), get(k)))
    .collect();
    let meta = ModelMetadata::from_map(&map).unwrap();
    assert_eq!(meta.classes, ["benign", "egc", "other"]);
    assert_eq!((meta.positive_class(), meta.threshold), ("egc", 0.25));
    assert_eq!(
        (meta.normalization, meta.input_size),
        (Normalization::Unit, SIZE)
    );
    assert_eq!(meta.weights_sha256, Weights::load(&st).unwrap().sha256);
    let (logits, _, shape) = run_onnx(&model, &test_input(1, SIZE, 1), 1, SIZE);
    assert_eq!((shape, logits.len()), (vec![1, 3], 3));

    // npz: defaults (bit normalization, cancer/non-cancer).
    let npz = dir.path("w.npz");
    numpy_npz(&npz, "r14x0.5", 1, true, "none");
    assert_ok(&export_cli(&npz, "r14x0.5", &model, &[]));
    assert_eq!(get(keys::NORMALIZATION), "bit");
    assert_eq!(get(keys::CLASSES), "cancer,non-cancer");
    assert_eq!(get(keys::POSITIVE), "cancer");
}

#[test]
fn a_head_of_another_class_count_is_zeroed() {
    let dir = Scratch::new("export-head");
    let variant: Variant = "r14x0.5".parse().unwrap();
    let st = dir.path("w.safetensors");
    Weights::random(&variant, 5, 4)
        .save_safetensors(&st)
        .unwrap();
    let model = dir.path("m.onnx");
    let out = export_cli(&st, "r14x0.5", &model, &[]);
    assert_ok(&out);
    assert!(String::from_utf8_lossy(&out.stderr).contains("zero head"));
    let (logits, probs, _) = run_onnx(&model, &test_input(2, SIZE, 1), 2, SIZE);
    assert!(logits.iter().all(|&v| v == 0.0) && probs.iter().all(|&p| p == 0.5));
}

#[test]
fn wrong_variant_fails_naming_a_tensor_and_both_shapes() {
    let dir = Scratch::new("export-variant");
    let st = dir.path("w.safetensors");
    Weights::random(&"r14x0.5".parse().unwrap(), 2, 1)
        .save_safetensors(&st)
        .unwrap();
    let model = dir.path("m.onnx");
    let err = assert_fails(&export_cli(&st, "r14x1", &model, &[]));
    assert!(
        err.contains(ROOT_KERNEL) && err.contains("[7, 7, 3, 32]") && err.contains("[7, 7, 3, 64]"),
        "{err}"
    );
    assert!(
        err.contains("w.safetensors") && err.contains("fit r14x0.5"),
        "{err}"
    );
    let err = assert_fails(&export_cli(&st, "r26x0.5", &model, &[]));
    assert!(err.contains("resnet/block1/unit02/"), "{err}");
    let err = assert_fails(&export_cli(&st, "r51x1", &model, &[]));
    assert!(err.contains("r51x1"), "{err}");
    assert!(!model.exists());
}

#[test]
fn bad_inputs_fail_cleanly_naming_the_file() {
    let dir = Scratch::new("export-bad");
    let npz = dir.path("w.npz");
    numpy_npz(&npz, "r14x0.5", 1, true, "none");
    let model = dir.path("m.onnx");

    let missing = dir.path("missing.npz");
    let err = assert_fails(&export_cli(&missing, "r14x0.5", &model, &[]));
    assert!(err.contains("missing.npz"), "{err}");

    let bytes = std::fs::read(&npz).unwrap();
    let truncated = dir.path("truncated.npz");
    std::fs::write(&truncated, &bytes[..bytes.len() * 2 / 3]).unwrap();
    let err = assert_fails(&export_cli(&truncated, "r14x0.5", &model, &[]));
    assert!(err.contains("truncated.npz"), "{err}");

    let pickled = dir.path("object.npz");
    numpy_npz(&pickled, "r14x0.5", 1, false, "object");
    let err = assert_fails(&export_cli(&pickled, "r14x0.5", &model, &[]));
    assert!(
        err.contains("object.npz") && err.contains("gamma.npy") && err.contains("object"),
        "{err}"
    );

    let err = assert_fails(&export_cli(&npz, "r14x0.5", &model, &["--classes", "a,b"]));
    assert!(err.contains("positive class 'cancer'"), "{err}");

    let nowhere = dir.path("no/such/dir/m.onnx");
    let err = assert_fails(&export_cli(&npz, "r14x0.5", &nowhere, &[]));
    assert!(err.contains("no/such/dir/m.onnx"), "{err}");
    assert!(!model.exists());
}

#[test]
fn external_data_layout_gives_identical_outputs() {
    let dir = Scratch::new("export-external");
    let variant: Variant = "r14x0.5".parse().unwrap();
    let weights = Weights::random(&variant, 2, 6);
    let (single, split) = (dir.path("single.onnx"), dir.path("split.onnx"));
    export_onnx(&weights, &meta(variant, ""), &single).unwrap();
    endoscan::model::onnx::write_with_limit(&weights, &meta(variant, ""), &split, 1 << 20).unwrap();
    assert!(dir.path("split.onnx.data").exists());
    assert!(std::fs::metadata(&split).unwrap().len() < 1 << 20);
    let input = test_input(2, SIZE, 8);
    assert_eq!(
        run_onnx(&single, &input, 2, SIZE).0,
        run_onnx(&split, &input, 2, SIZE).0
    );
}

#[test]
fn truncated_onnx_is_refused_by_onnx_runtime() {
    let dir = Scratch::new("export-truncated-onnx");
    let variant: Variant = "r14x0.5".parse().unwrap();
    let model = dir.path("m.onnx");
    export_onnx(&Weights::random(&variant, 2, 1), &meta(variant, ""), &model).unwrap();
    let bytes = std::fs::read(&model).unwrap();
    for cut in [10, bytes.len() / 2, bytes.len() - 3] {
        let bad = dir.path("bad.onnx");
        std::fs::write(&bad, &bytes[..cut]).unwrap();
        assert!(support::session(&bad).is_err(), "truncated at {cut} loaded");
    }
}

/// r152x4 (3.7 GB of weights) exceeds ONNX's 2 GiB protobuf limit: its initializers go to
/// `m.onnx.data` and ONNX Runtime still loads and runs it. Slow (minutes) and memory-hungry (~8 GB).
#[test]
#[ignore = "needs ~8 GB of memory and minutes"]
fn r152x4_exports_with_external_data() {
    let dir = Scratch::new("export-r152x4");
    let variant: Variant = "r152x4".parse().unwrap();
    let weights = Weights::random(&variant, 2, 1);
    let model = dir.path("m.onnx");
    let total = export_onnx(&weights, &meta(variant, ""), &model).unwrap();
    drop(weights);
    let small = std::fs::metadata(&model).unwrap().len();
    assert!(small < 1 << 24 && total > 3_000_000_000, "{small} {total}");
    let (logits, probs, _) = run_onnx(&model, &test_input(1, SIZE, 1), 1, SIZE);
    println!("r152x4: {total} bytes, model file {small}; logits {logits:?} probs {probs:?}");
    assert!(logits.iter().all(|v| v.is_finite()) && (probs[0] + probs[1] - 1.0).abs() < 1e-5);
}

/// The class-activation map and the logits of `model` on `input`, as ONNX Runtime gives them.
fn cam_and_logits(
    model: &Path,
    input: &[f32],
    batch: usize,
    size: usize,
) -> (Vec<i64>, Vec<f32>, Vec<f32>) {
    let mut session = support::session(model).unwrap();
    let x = ort::value::Tensor::from_array(([batch, 3, size, size], input.to_vec())).unwrap();
    let out = session.run(ort::inputs!["image" => x]).unwrap();
    let (shape, cam) = out["cam"].try_extract_tensor::<f32>().unwrap();
    let (_, logits) = out["logits"].try_extract_tensor::<f32>().unwrap();
    (shape.to_vec(), cam.to_vec(), logits.to_vec())
}

#[test]
fn the_activation_map_averages_to_the_logits() {
    let dir = Scratch::new("export-cam");
    // (variant, input side, map side ⌈S/32⌉ worked out by hand: 64 → 2, 100 → 4, 96 → 3).
    for (name, size, side) in [("r14x0.5", 64, 2), ("r14x0.5", 100, 4), ("r26x0.5", 96, 3)] {
        let variant: Variant = name.parse().unwrap();
        let weights = Weights::random(&variant, 2, 5);
        let model = dir.path(&format!("{name}-{size}.onnx"));
        let meta = ModelMetadata {
            input_size: size,
            ..meta(variant, "")
        };
        export_onnx(&weights, &meta, &model).unwrap();
        assert_eq!(
            support::onnx_metadata(&model, keys::CAM_OUTPUT).as_deref(),
            Some("cam")
        );
        let batch = 2;
        let input = test_input(batch, size, 7);
        let (shape, cam, logits) = cam_and_logits(&model, &input, batch, size);
        assert_eq!(shape, vec![batch as i64, 2, side, side], "{name} @ {size}");
        let cells = (side * side) as usize;
        let means: Vec<f32> = cam
            .chunks(cells)
            .map(|m| m.iter().map(|&v| f64::from(v)).sum::<f64>() as f32 / cells as f32)
            .collect();
        let delta = max_abs_diff(&means, &logits);
        println!("{name} @ {size}: map means {means:?} vs logits {logits:?}: |Δ| {delta:e}");
        assert!(delta <= 1e-5, "{name} @ {size}: |Δ| {delta:e}");
        // The map varies over the image, so the identity is not the trivial one.
        let first = &cam[..cells];
        let spread = first.iter().cloned().fold(f32::MIN, f32::max)
            - first.iter().cloned().fold(f32::MAX, f32::min);
        assert!(spread > 1e-3, "{name} @ {size}: flat map {first:?}");
    }
}

#[test]
fn an_exported_model_reads_back_and_re_exports_to_the_same_outputs() {
    let dir = Scratch::new("export-readback");
    let variant: Variant = "r14x0.5".parse().unwrap();
    let first = dir.path("first.onnx");
    let meta = ModelMetadata {
        threshold: 0.37,
        ..meta(variant, "")
    };
    export_onnx(&Weights::random(&variant, 2, 21), &meta, &first).unwrap();
    // `export --weights first.onnx` takes the settings from its metadata.
    let second = dir.path("second.onnx");
    assert_ok(&endoscan(&[
        "export",
        "--weights",
        first.to_str().unwrap(),
        "--variant",
        "r14x0.5",
        "--out",
        second.to_str().unwrap(),
    ]));
    for key in [keys::THRESHOLD, keys::INPUT_SIZE, keys::CLASSES] {
        assert_eq!(
            support::onnx_metadata(&first, key),
            support::onnx_metadata(&second, key),
            "{key}"
        );
    }
    let input = test_input(2, SIZE, 3);
    let (a, _, _) = run_onnx(&first, &input, 2, SIZE);
    let (b, _, _) = run_onnx(&second, &input, 2, SIZE);
    let delta = max_abs_diff(&a, &b);
    assert!(delta <= 1e-5, "re-exported logits differ by {delta:e}");
    // Not a model: one clear error naming the file.
    let junk = dir.path("junk.onnx");
    std::fs::write(&junk, b"\x08\x08\x12\xff\xff").unwrap();
    let err = assert_fails(&export_cli(&junk, "r14x0.5", &dir.path("x.onnx"), &[]));
    assert!(err.contains("junk.onnx") && err.contains("ONNX"), "{err}");
}
