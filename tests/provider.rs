//! `--provider`: `auto` takes the fastest provider this machine has and says why not the
//! faster ones; a GPU provider asked for by name on a machine without one is one clear error.

#[allow(dead_code)]
#[path = "common/cli.rs"]
mod cli;

use std::path::PathBuf;

use cli::{scratch, show, BIN};
use endoscan::synth::{generate_frame, FrameSpec, Layout};

fn still(dir: &std::path::Path) -> PathBuf {
    let frame = generate_frame(&FrameSpec {
        layout: Layout::Tower,
        width: 640,
        height: 360,
        seed: 3,
        index: 1,
        lesion: true,
    })
    .unwrap();
    let path = dir.join("still.png");
    frame.image.save(&path).unwrap();
    path
}

fn classify(image: &str, provider: &str) -> std::process::Output {
    let model = format!("{}/models/demo.onnx", env!("CARGO_MANIFEST_DIR"));
    std::process::Command::new(BIN)
        .args([
            "classify",
            image,
            "--model",
            &model,
            "--json",
            "--provider",
            provider,
        ])
        .env("RUST_LOG", "info,ort=warn")
        .output()
        .unwrap()
}

#[test]
fn auto_runs_on_what_there_is_and_says_why() {
    if std::path::Path::new("/dev/nvidiactl").exists() {
        eprintln!("a GPU is present: this test is for machines without one");
        return;
    }
    let dir = scratch("provider", "auto");
    let image = still(&dir);
    let image = image.to_str().unwrap();
    let auto = classify(image, "auto");
    let err = String::from_utf8_lossy(&auto.stderr);
    assert!(
        auto.status.success(),
        "{}",
        show(&["classify", image], &auto)
    );
    assert!(err.contains("--provider auto: cpu (tensorrt: "), "{err}");
    assert!(err.contains("; cuda: "), "{err}");
    let cpu = classify(image, "cpu");
    assert!(cpu.status.success());
    // The same model on the same provider: the same probabilities.
    assert_eq!(auto.stdout, cpu.stdout);
}

#[test]
fn a_gpu_provider_without_a_gpu_is_one_clear_error() {
    if std::path::Path::new("/dev/nvidiactl").exists() {
        return;
    }
    let dir = scratch("provider", "named");
    let image = still(&dir);
    for provider in ["cuda", "tensorrt", "trt-rtx"] {
        let out = classify(image.to_str().unwrap(), provider);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{provider}: {err}");
        assert!(
            err.contains(provider) || err.contains("CUDA"),
            "{provider}: {err}"
        );
        assert!(!err.contains("panicked"), "{provider}: {err}");
    }
}

#[test]
fn engine_build_without_a_gpu_is_one_line_naming_what_is_missing() {
    if std::path::Path::new("/dev/nvidiactl").exists() {
        return;
    }
    let run = |args: &[&str]| {
        let out = std::process::Command::new(BIN)
            .args(args)
            .env("RUST_LOG", "warn")
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(!out.status.success(), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{args:?}: {err}");
        assert!(out.stdout.is_empty(), "{args:?}: printed an engine path");
        err
    };
    let model = format!("{}/models/demo.onnx", env!("CARGO_MANIFEST_DIR"));
    let err = run(&["engine", "build", "--model", &model, "--batch", "8"]);
    assert!(err.contains("engine build: no usable GPU"), "{err}");
    let err = run(&["engine", "build", "--model", "/no/such/model.onnx"]);
    assert!(
        err.contains("/no/such/model.onnx: model file not found"),
        "{err}"
    );
    let err = run(&["engine", "build", "--model", &model, "--batch", "0"]);
    assert!(err.contains("--batch"), "{err}");
}

#[test]
fn bench_gpu_times_a_model_file_and_refuses_what_it_cannot_run() {
    let dir = scratch("provider", "bench-gpu");
    let out = dir.join("bench");
    let model = format!("{}/models/demo.onnx", env!("CARGO_MANIFEST_DIR"));
    let run = |args: &[&str]| {
        std::process::Command::new(BIN)
            .arg("bench")
            .arg("gpu")
            .args(args)
            .env("RUST_LOG", "warn")
            .output()
            .unwrap()
    };
    let args = ["--model", &model, "--provider", "cpu", "--batch", "1,2"];
    let out_arg = ["--out", out.to_str().unwrap()];
    let o = run(&[
        &args[..],
        &["--runs", "2", "--json", "--preprocess", "cpu"],
        &out_arg,
    ]
    .concat());
    assert!(o.status.success(), "{}", show(&["bench", "gpu"], &o));
    let printed: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let written: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("bench.json")).unwrap()).unwrap();
    assert_eq!(printed, written);
    // The bundled model's metadata (models/demo.json) names its variant and input size.
    let run_json: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(format!("{}/models/demo.json", env!("CARGO_MANIFEST_DIR")))
            .unwrap(),
    )
    .unwrap();
    let rows = printed["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{printed}");
    assert_eq!(rows[0]["model"], "demo.onnx");
    assert_eq!(printed["provider"], "cpu");
    assert_eq!(rows[0]["variant"], run_json["config"]["variant"]);
    assert_eq!(printed["input_size"], run_json["config"]["input_size"]);
    assert_eq!(rows[0]["timings"].as_array().unwrap().len(), 2);
    assert_eq!(rows[0]["end_to_end"]["preprocess"], "cpu");
    assert!(printed["skipped"].to_string().contains("fp16"), "{printed}");

    let refused = |args: &[&str], says: &str| {
        let o = run(args);
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success(), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert!(err.contains(says), "{args:?}: {err}");
    };
    refused(&["--batch", "0", "--provider", "cpu"], "--batch");
    refused(
        &["--model", "/no/such/model.onnx", "--provider", "cpu"],
        "/no/such/model.onnx",
    );
    refused(
        &[
            "--provider",
            "cpu",
            "--precision",
            "fp16",
            "--variant",
            "r14x0.5",
        ],
        "cpu runs fp32 only",
    );
    if !std::path::Path::new("/dev/nvidiactl").exists() {
        refused(
            &[
                "--provider",
                "tensorrt",
                "--variant",
                "r14x0.5",
                "--input-size",
                "64",
            ],
            "tensorrt",
        );
    }
}

#[test]
fn a_tensorrt_rtx_plugin_that_does_not_load_is_an_error_naming_it() {
    let dir = scratch("provider", "trt-rtx");
    let env = endoscan::infer::runtime::environment().unwrap();
    let fake = dir.join(endoscan::infer::trt_rtx::PLUGIN_FILE);
    std::fs::write(&fake, b"not a shared library").unwrap();
    let err = endoscan::infer::trt_rtx::register_plugin(env, &fake).unwrap_err();
    let named = format!("{}: cannot load the TensorRT-RTX plugin: ", fake.display());
    assert!(err.starts_with(&named), "{err}");
    let missing = dir.join("none").join(endoscan::infer::trt_rtx::PLUGIN_FILE);
    let err = endoscan::infer::trt_rtx::register_plugin(env, &missing).unwrap_err();
    assert!(
        err.starts_with(&format!("{}: ", missing.display())),
        "{err}"
    );
}

#[test]
fn devices_lists_every_provider_and_exits_0_without_a_gpu() {
    let run = |args: &[&str]| {
        let o = std::process::Command::new(BIN)
            .args(args)
            .env("RUST_LOG", "warn")
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", show(args, &o));
        String::from_utf8(o.stdout).unwrap()
    };
    let text = run(&["devices"]);
    for line in [
        "CUDA driver: ",
        "NVRTC: ",
        "ONNX Runtime: ",
        "TensorRT-RTX plugin: ",
        "libtorch: ",
        "--provider auto: ",
    ] {
        assert!(text.lines().any(|l| l.starts_with(line)), "{line}: {text}");
    }
    let json: serde_json::Value = serde_json::from_str(&run(&["devices", "--json"])).unwrap();
    let plugin = &json["trt_rtx_plugin"];
    match plugin.as_str() {
        Some(path) => assert!(
            path.ends_with(endoscan::infer::trt_rtx::PLUGIN_FILE),
            "{json}"
        ),
        None => assert!(
            plugin["error"]
                .as_str()
                .unwrap()
                .contains("scripts/setup --gpu"),
            "{json}"
        ),
    }
    if !std::path::Path::new("/dev/nvidiactl").exists() {
        assert_eq!(json["provider_auto"], "cpu", "{json}");
        assert!(json["gpus"].as_array().unwrap().is_empty(), "{json}");
    }
}
