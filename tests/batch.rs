//! `endoscan batch` as a cluster task runs it, without a cluster: shards that together cover the
//! manifest, each study's outputs equal to a plain `endoscan reprocess`, a failed study recorded
//! while the shard goes on, finished studies skipped, a task killed with SIGKILL mid-study
//! resumed to the same outputs, the Kubernetes index variable, the archive index, and the
//! Kubernetes manifests against the API schemas. (The Slurm run is `tests/batch_slurm.rs`.)

#[allow(dead_code)]
#[path = "common/cli.rs"]
mod cli;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use cli::{endoscan, ok, scratch, show, BIN};

/// Renders `seconds` of synthetic tower video at 25 fps into `dir/<name>/video.mp4`.
fn synth_video(dir: &Path, name: &str, seconds: &str, seed: &str) -> PathBuf {
    let extra = ["--images", "0", "--video", seconds, "--seed", seed];
    cli::synth(&dir.join(name), &extra).join("video.mp4")
}

/// A manifest of two videos, a missing file and a third video (rows 0–3).
fn archive_inputs(dir: &Path) -> PathBuf {
    let inputs = dir.join("inputs");
    let a = synth_video(&inputs, "a", "2", "1");
    let b = synth_video(&inputs, "b", "3", "2");
    let c = synth_video(&inputs, "c", "2", "3");
    let rel = |p: &Path| p.strip_prefix(dir).unwrap().display().to_string();
    let manifest = dir.join("manifest.csv");
    let text = format!(
        "study_id,input\nstudy-a,{}\nstudy-b,{}\nbroken,inputs/none.mp4\nstudy-c,{}\n",
        rel(&a),
        rel(&b),
        rel(&c)
    );
    std::fs::write(&manifest, text).unwrap();
    manifest
}

fn frames_csv(dir: &Path) -> String {
    let path = dir.join("frames.csv");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn index(archive: &Path) -> (bool, serde_json::Value) {
    let out = endoscan(&["batch", "index", archive.to_str().unwrap()]);
    let text = std::fs::read_to_string(archive.join("index.json")).unwrap();
    (out.status.success(), serde_json::from_str(&text).unwrap())
}

fn status_of(index: &serde_json::Value, id: &str) -> String {
    index["studies"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["study_id"] == id)
        .unwrap_or_else(|| panic!("{id} not in the index"))["status"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn shards_cover_the_manifest_and_match_plain_reprocess() {
    let dir = scratch("batch", "shards");
    let manifest = archive_inputs(&dir);
    let archive = dir.join("archive");
    let (m, a) = (manifest.to_str().unwrap(), archive.to_str().unwrap());
    // Shard 0/2 takes rows 0 and 2: study-a and the broken row, which fails; the shard goes on.
    let first = endoscan(&["batch", m, "--out", a, "--shard", "0/2", "--no-video"]);
    assert!(!first.status.success(), "{}", show(&[m], &first));
    let err = String::from_utf8_lossy(&first.stderr);
    assert!(err.contains("broken") && err.contains("none.mp4"), "{err}");
    assert!(archive.join("study-a/frames.csv").is_file(), "{err}");
    let (all, idx) = index(&archive);
    assert!(!all);
    assert_eq!(status_of(&idx, "study-a"), "complete");
    assert_eq!(status_of(&idx, "broken"), "failed");
    assert_eq!(status_of(&idx, "study-b"), "missing");
    // The Kubernetes way to name shard 1/2: rows 1 and 3.
    let out = Command::new(BIN)
        .args(["batch", m, "--out", a, "--no-video"])
        .env("JOB_COMPLETION_INDEX", "1")
        .env("ENDOSCAN_SHARD_COUNT", "2")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (_, idx) = index(&archive);
    for id in ["study-a", "study-b", "study-c"] {
        assert_eq!(status_of(&idx, id), "complete", "{idx}");
    }
    assert_eq!(idx["counts"]["failed"], 1);
    let err_text = idx["studies"][2]["error"].as_str().unwrap();
    assert!(err_text.contains("none.mp4"), "{err_text}");
    // Each study's frames.csv is what a plain reprocess writes.
    let plain = dir.join("plain-b");
    let input_b = dir.join("inputs/b/video.mp4");
    ok(&[
        "reprocess",
        input_b.to_str().unwrap(),
        "--out",
        plain.to_str().unwrap(),
        "--no-video",
    ]);
    assert_eq!(frames_csv(&archive.join("study-b")), frames_csv(&plain));
    // A second run skips what is complete.
    let again = endoscan(&["batch", m, "--out", a, "--shard", "1/2", "--no-video"]);
    assert!(again.status.success(), "{}", show(&[m], &again));
    let log = String::from_utf8_lossy(&again.stderr);
    assert_eq!(log.matches("already complete, skipped").count(), 2, "{log}");
    // The page lists every study and links the reports.
    let html = std::fs::read_to_string(archive.join("index.html")).unwrap();
    assert!(html.contains("href=\"study-a/report.html\""), "{html}");
    assert!(html.contains(">failed<") && html.contains("none.mp4"));
    let csv = std::fs::read_to_string(archive.join("index.csv")).unwrap();
    assert_eq!(csv.lines().count(), 5, "{csv}");
}

#[test]
fn a_task_killed_mid_study_resumes_to_the_same_outputs() {
    let dir = scratch("batch", "killed");
    let inputs = dir.join("inputs");
    let video = synth_video(&inputs, "long", "12", "7");
    let manifest = dir.join("manifest.csv");
    std::fs::write(
        &manifest,
        format!("study_id,input\nlong,{}\n", video.display()),
    )
    .unwrap();
    let archive = dir.join("archive");
    let (m, a) = (manifest.to_str().unwrap(), archive.to_str().unwrap());
    // Checkpoint every 50 ms, so the kill lands after some are on disk.
    let args = [
        "batch",
        m,
        "--out",
        a,
        "--no-video",
        "--checkpoint-ms",
        "50",
        "--batch",
        "4",
    ];
    let mut child = Command::new(BIN)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let checkpoint = archive.join("long/checkpoint.json");
    let deadline = Instant::now() + Duration::from_secs(120);
    while !checkpoint.is_file() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    assert!(checkpoint.is_file(), "no checkpoint within 120 s");
    let (_, idx) = index(&archive);
    assert_eq!(status_of(&idx, "long"), "incomplete");
    let out = ok(&args);
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(log.contains("resuming after"), "{log}");
    let plain = dir.join("plain");
    let plain_args = [
        "reprocess",
        video.to_str().unwrap(),
        "--out",
        plain.to_str().unwrap(),
        "--no-video",
        "--batch",
        "4",
    ];
    ok(&plain_args);
    assert_eq!(frames_csv(&archive.join("long")), frames_csv(&plain));
    let (all, idx) = index(&archive);
    assert!(all, "{idx}");
}

#[test]
fn bad_manifests_and_shards_are_one_clear_error() {
    let dir = scratch("batch", "bad");
    let manifest = dir.join("m.csv");
    std::fs::write(&manifest, "study_id,input\n../up,a.mp4\n").unwrap();
    let (m, a) = (manifest.to_str().unwrap(), dir.join("archive"));
    let a = a.to_str().unwrap();
    for (args, named) in [
        (vec!["batch", m, "--out", a], "line 2: study_id '../up'"),
        (
            vec!["batch", "/nonexistent/m.csv", "--out", a],
            "/nonexistent/m.csv",
        ),
        (
            vec!["batch", m, "--out", a, "--shard", "3/3"],
            "--shard 3/3",
        ),
        (vec!["batch", "index", a], "batch-manifest.json"),
    ] {
        let out = endoscan(&args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{}", show(&args, &out));
        assert!(err.contains(named), "{}", show(&args, &out));
        assert!(!err.contains("panicked"), "{}", show(&args, &out));
    }
    let out = Command::new(BIN)
        .args(["batch", m, "--out", a])
        .env("JOB_COMPLETION_INDEX", "1")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("ENDOSCAN_SHARD_COUNT"),
        "{err}"
    );
}

#[test]
fn the_kubernetes_jobs_validate_against_the_api_schemas() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let validator = root.join(".venv/bin/kubernetes-validate");
    assert!(
        validator.is_file(),
        "run `bash scripts/setup` (installs kubernetes-validate)"
    );
    for file in ["batch-job.yaml", "batch-job-gpu.yaml"] {
        let path = root.join("pipelines/k8s").join(file);
        let out = Command::new(&validator)
            .args(["--strict", "-k", "1.33"])
            .arg(&path)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && text.contains("passed"),
            "{file}: {text}"
        );
        let yaml = std::fs::read_to_string(&path).unwrap();
        // Pod i takes shard i of `completions`: the count the pods are told must be that.
        let completions = yaml
            .lines()
            .find_map(|l| l.trim().strip_prefix("completions: "))
            .unwrap();
        assert!(yaml.contains("completionMode: Indexed"));
        assert!(
            yaml.contains(&format!("value: \"{completions}\"")),
            "{file}: ENDOSCAN_SHARD_COUNT is not completions ({completions})"
        );
    }
}
