//! `endoscan train` end to end on the CPU: it learns synth lesions, resumes exactly after a stop
//! or a kill, and refuses bad data with a clear message. The binary is run as a user would.
#![cfg(feature = "train")]

#[path = "common/cli.rs"]
mod cli;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use endoscan::model::Weights;
use endoscan::synth::Layout;
use endoscan::train::patches::{self, PatchSettings};

use cli::{endoscan, ok, strs, Scratch};

fn scratch(name: &str) -> Scratch {
    cli::scratch("train", name)
}

/// `endoscan synth` stills in `dir` (a folder with `labels.csv`).
fn synth(dir: &Path, images: usize, layout: &str, size: &str, seed: u64) {
    ok(&[
        "synth",
        "--out",
        dir.to_str().unwrap(),
        "--images",
        &images.to_string(),
        "--layout",
        layout,
        "--size",
        size,
        "--seed",
        &seed.to_string(),
        "--positive-fraction",
        "0.5",
    ]);
}

fn run_json(run: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(run.join("run.json")).unwrap()).unwrap()
}

/// A small variant learns synth lesions from scratch, end to end (split, augmentation,
/// checkpoints, ONNX export, test evaluation through ONNX Runtime), within a CI budget. On
/// lesion-centred patches of synth stills (`endoscan::train::patches`): on whole frames a
/// from-scratch network needs far more than a CI budget (see `models/README.md`).
#[test]
fn learns_synth_lesions_from_scratch() {
    let dir = scratch("learn");
    let (frames, data, run) = (dir.join("frames"), dir.join("data"), dir.join("run"));
    let started = Instant::now();
    synth(&frames, 3000, "capsule", "256x256", 11);
    patches::cut(&frames, Layout::Capsule, &data, &PatchSettings::default()).unwrap();
    ok(&[
        "train",
        "--data",
        data.to_str().unwrap(),
        "--variant",
        "r14x0.5",
        "--input-size",
        "64",
        "--out",
        run.to_str().unwrap(),
        "--batch",
        "32",
        "--images-total",
        "64000",
        "--lr",
        "0.03",
        "--eval-every",
        "200",
        "--device",
        "cpu",
        "--threads",
        "2",
        "--seed",
        "1",
    ]);
    let elapsed = started.elapsed();
    let record = run_json(&run);
    let test = &record["test"]["metrics"];
    let accuracy = test["accuracy"]["value"].as_f64().unwrap();
    eprintln!(
        "synth lesions: test accuracy {:.2} % sensitivity {:.2} % specificity {:.2} % (n = {}) in {:.0} s",
        accuracy * 100.0,
        test["sensitivity"]["value"].as_f64().unwrap() * 100.0,
        test["specificity"]["value"].as_f64().unwrap() * 100.0,
        test["n"],
        elapsed.as_secs_f64()
    );
    // The bars sit below the measured spread of this exact run across machines, thread counts
    // and seeds (training is deterministic per CPU, not across CPUs): accuracy 93.53–96.67 %
    // (93.53 % with --seed 2, 94.44 % on an AVX-512 Xeon, 96.00 % here, 96.22 % with --threads 1,
    // 96.00 % with ATEN_CPU_CAPABILITY=default, 95.32 % with synth seed 12), AUC 0.9858–0.9937,
    // sensitivity 89.73–95.11 %, specificity 94.22–97.32 %. Chance is 50 %: a broken recipe
    // lands far below these bars, a different CPU does not.
    let metric = |name: &str| test[name]["value"].as_f64().unwrap();
    assert!(accuracy >= 0.90, "test accuracy {accuracy}");
    assert!(metric("auc") >= 0.97, "test AUC {}", metric("auc"));
    assert!(
        metric("sensitivity") >= 0.85,
        "sensitivity {}",
        metric("sensitivity")
    );
    assert!(
        metric("specificity") >= 0.85,
        "specificity {}",
        metric("specificity")
    );
    assert_eq!(record["status"], "done");
    for file in [
        "model.onnx",
        "best.safetensors",
        "split.csv",
        "test/metrics.json",
    ] {
        assert!(run.join(file).is_file(), "{file} missing");
    }
    // The threshold in the model is the one chosen on validation.
    let threshold = record["threshold"]["value"].as_f64().unwrap();
    let best = Weights::load(&run.join("best.safetensors")).unwrap();
    let stored: f64 = best.metadata["endoscan.threshold"].parse().unwrap();
    assert!((stored - threshold).abs() < 1e-6);
}

/// Arguments of the small run the resume tests repeat.
fn tiny_run(data: &Path, run: &Path) -> Vec<String> {
    [
        "train",
        "--data",
        data.to_str().unwrap(),
        "--variant",
        "r14x0.5",
        "--input-size",
        "32",
        "--out",
        run.to_str().unwrap(),
        "--batch",
        "4",
        "--images-total",
        "96",
        "--lr",
        "0.01",
        "--eval-every",
        "4",
        "--device",
        "cpu",
        "--threads",
        "1",
        "--workers",
        "2",
        "--seed",
        "5",
    ]
    .map(String::from)
    .to_vec()
}

fn resume(run: &Path) {
    ok(&[
        "train",
        "--resume",
        run.to_str().unwrap(),
        "--threads",
        "1",
        "--workers",
        "2",
    ]);
}

/// Both runs' final and best weights are identical bit for bit, and so are their validations.
fn assert_same_run(a: &Path, b: &Path) {
    for file in ["last.safetensors", "best.safetensors"] {
        let (wa, wb) = (
            Weights::load(&a.join(file)).unwrap(),
            Weights::load(&b.join(file)).unwrap(),
        );
        assert_eq!(wa.tensors.len(), wb.tensors.len());
        for (name, t) in &wa.tensors {
            let u = &wb.tensors[name];
            assert_eq!(t.shape, u.shape, "{file} {name}");
            let same = t
                .data
                .iter()
                .zip(&u.data)
                .all(|(x, y)| x.to_bits() == y.to_bits());
            assert!(same, "{file}: {name} differs after resuming");
        }
    }
    let (ra, rb) = (run_json(a), run_json(b));
    assert_eq!(ra["evals"].as_array().unwrap().len(), 6);
    for (ea, eb) in ra["evals"]
        .as_array()
        .unwrap()
        .iter()
        .zip(rb["evals"].as_array().unwrap())
    {
        assert_eq!(ea["val_loss"], eb["val_loss"]);
        assert_eq!(ea["train_loss"], eb["train_loss"]);
    }
    assert_eq!(ra["test"]["metrics"], rb["test"]["metrics"]);
}

#[test]
fn resuming_after_a_stop_or_a_kill_gives_the_uninterrupted_weights() {
    let dir = scratch("resume");
    let data = dir.join("data");
    synth(&data, 40, "capsule", "256x256", 3);

    let straight = dir.join("straight");
    ok(&strs(&tiny_run(&data, &straight)));

    // Stopped between checkpoints (step 10 of 24; the last validation was at step 8).
    let stopped = dir.join("stopped");
    let mut first = tiny_run(&data, &stopped);
    first.extend(["--stop-after".into(), "10".into()]);
    let out = ok(&strs(&first));
    assert!(String::from_utf8_lossy(&out.stdout).contains("--resume"));
    assert_eq!(run_json(&stopped)["status"], "stopped");
    resume(&stopped);
    assert_same_run(&straight, &stopped);
    assert_eq!(run_json(&stopped)["resumed_at"], serde_json::json!([10]));

    // Killed at some checkpoint, however far it got.
    let killed = dir.join("killed");
    let mut child = Command::new(cli::BIN)
        .args(strs(&tiny_run(&data, &killed)))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let step = std::fs::read_to_string(killed.join("run.json"))
            .ok()
            .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
            .and_then(|r| r["step"].as_u64())
            .unwrap_or(0);
        if step >= 8 || Instant::now() > deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    resume(&killed);
    assert_same_run(&straight, &killed);
}

/// Runs `endoscan train` (the tiny run's settings) on `data` expecting failure; returns stderr.
fn train_fails(data: &Path, run: &Path) -> String {
    let out = endoscan(&strs(&tiny_run(data, run)));
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(
        !out.status.success(),
        "training on {} succeeded",
        data.display()
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    stderr
}

fn png(path: &Path, shade: u8) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    image::RgbImage::from_fn(48, 48, |x, y| {
        image::Rgb([shade, (x * 5) as u8, (y * 5) as u8])
    })
    .save(path)
    .unwrap();
}

#[test]
fn bad_data_is_refused_with_the_file_named() {
    let dir = scratch("bad");
    let run = dir.join("run");

    let empty = dir.join("empty");
    png(&empty.join("cancer/a.png"), 200);
    std::fs::create_dir_all(empty.join("non-cancer")).unwrap();
    let err = train_fails(&empty, &run);
    assert!(
        err.contains("non-cancer") && err.contains("no images"),
        "{err}"
    );

    let corrupt = dir.join("corrupt");
    for i in 0..6 {
        png(&corrupt.join(format!("cancer/c{i}.png")), 200);
        png(&corrupt.join(format!("non-cancer/n{i}.png")), 50);
    }
    std::fs::write(
        corrupt.join("cancer/broken.png"),
        b"\x89PNG\r\n\x1a\nnot really",
    )
    .unwrap();
    let err = train_fails(&corrupt, &run);
    assert!(
        err.contains("broken.png") && err.contains("--skip-bad"),
        "{err}"
    );

    let one_class = dir.join("one-class");
    png(&one_class.join("cancer/a.png"), 200);
    let err = train_fails(&one_class, &run);
    assert!(err.contains("non-cancer"), "{err}");

    let unknown = dir.join("nowhere");
    let err = train_fails(&unknown, &run);
    assert!(err.contains("nowhere"), "{err}");
    assert!(!run.join("run.json").exists());
}

#[test]
fn a_new_run_does_not_overwrite_an_old_one() {
    let dir = scratch("overwrite");
    let data = dir.join("data");
    synth(&data, 24, "capsule", "256x256", 9);
    let run = dir.join("run");
    let mut a = tiny_run(&data, &run);
    a.extend(["--stop-after".into(), "1".into()]);
    ok(&strs(&a));
    let out = endoscan(&strs(&a));
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--resume"));
}

#[test]
fn local_mode_trains_only_the_head_and_resumes_exactly() {
    let dir = scratch("local");
    let data = dir.join("data");
    synth(&data, 40, "capsule", "256x256", 4);
    let local = |run: &Path| {
        let mut a = tiny_run(&data, run);
        a.extend(["--mode".into(), "local".into()]);
        a
    };
    let straight = dir.join("straight");
    ok(&strs(&local(&straight)));
    let stopped = dir.join("stopped");
    let mut first = local(&stopped);
    first.extend(["--stop-after".into(), "1".into()]);
    ok(&strs(&first));
    let after_one = Weights::load(&stopped.join("last.safetensors")).unwrap();
    resume(&stopped);
    assert_same_run(&straight, &stopped);

    let end = Weights::load(&straight.join("last.safetensors")).unwrap();
    for (name, t) in &end.tensors {
        let head = name.starts_with("resnet/head/");
        let changed = t.data != after_one.tensors[name].data;
        assert_eq!(changed, head, "{name}: changed {changed}");
    }
    let plan = &run_json(&straight)["plan"];
    assert_eq!(plan["feature_cache"], true);
    assert_eq!(plan["augmentation"], serde_json::Value::Null);
    assert_eq!(plan["trainable_parameters"], 1024 * 2 + 2);
}
