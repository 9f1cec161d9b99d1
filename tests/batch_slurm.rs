//! `endoscan batch` on a real Slurm: a single-node cluster started for the test
//! (`tests/slurm/cluster.sh`, Debian's Slurm 22.05), `sbatch --array` of
//! `pipelines/slurm/batch.sbatch` over a manifest of videos and an image-sequence study, one task
//! killed with SIGKILL mid-study and requeued; then every study is complete in the index and each
//! `frames.csv` equals a plain `endoscan reprocess` of the same input.

#[allow(dead_code)]
#[path = "common/cli.rs"]
mod cli;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use cli::{ok, scratch, BIN};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// A running single-node cluster; stopped when dropped.
struct Cluster {
    dir: PathBuf,
    conf: PathBuf,
}

impl Cluster {
    fn start() -> Self {
        // Unix socket paths are short: the cluster lives in /tmp, not the target folder.
        let dir = PathBuf::from(format!("/tmp/endoscan-slurm-{}", std::process::id()));
        let script = Path::new(ROOT).join("tests/slurm/cluster.sh");
        assert!(
            Path::new("/usr/sbin/slurmctld").exists(),
            "Slurm is not installed: run `bash scripts/setup` (slurmctld slurmd slurm-client munge)"
        );
        let out = Command::new("bash")
            .arg(&script)
            .arg("start")
            .arg(&dir)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "cluster.sh start failed:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let conf = dir.join("slurm.conf");
        Self { dir, conf }
    }

    fn command(&self, program: &str) -> Command {
        let mut c = Command::new(program);
        c.env("SLURM_CONF", &self.conf);
        c
    }

    fn run(&self, program: &str, args: &[&str]) -> Output {
        let out = self.command(program).args(args).output().unwrap();
        assert!(
            out.status.success(),
            "{program} {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    /// `JobState=` of array task `task` of `job` (`scontrol -o show job`, one line per task).
    fn task_state(&self, job: &str, task: u32) -> Option<String> {
        let out = self.run("scontrol", &["-o", "show", "job", job]);
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        text.lines()
            .find(|l| {
                l.contains(&format!("ArrayJobId={job} "))
                    && l.contains(&format!("ArrayTaskId={task} "))
            })
            .and_then(|l| {
                l.split_whitespace()
                    .find_map(|f| f.strip_prefix("JobState="))
            })
            .map(str::to_string)
    }

    /// Waits until the job has left the queue.
    fn wait_for(&self, job: &str, limit: Duration) {
        let deadline = Instant::now() + limit;
        loop {
            let out = self.run("squeue", &["-h", "-j", job, "-o", "%i %T"]);
            if String::from_utf8_lossy(&out.stdout).trim().is_empty() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "job {job} still queued after {limit:?}"
            );
            std::thread::sleep(Duration::from_millis(300));
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let script = Path::new(ROOT).join("tests/slurm/cluster.sh");
        let _ = Command::new("bash")
            .arg(script)
            .arg("stop")
            .arg(&self.dir)
            .output();
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// The pid of the `endoscan batch` process of array task `task` under `conf`, if running.
fn batch_process(conf: &Path, task: u32) -> Option<u32> {
    let want = [
        format!("SLURM_ARRAY_TASK_ID={task}"),
        format!("SLURM_CONF={}", conf.display()),
    ];
    std::fs::read_dir("/proc")
        .ok()?
        .filter_map(Result::ok)
        .find_map(|e| {
            let pid: u32 = e.file_name().to_str()?.parse().ok()?;
            let cmdline = std::fs::read(e.path().join("cmdline")).ok()?;
            let environ = std::fs::read(e.path().join("environ")).ok()?;
            let args: Vec<&[u8]> = cmdline.split(|&b| b == 0).collect();
            let vars: Vec<&[u8]> = environ.split(|&b| b == 0).collect();
            let is_batch = args.first().is_some_and(|a| a.ends_with(b"endoscan"))
                && args.get(1) == Some(&&b"batch"[..]);
            let is_task = want.iter().all(|w| vars.contains(&w.as_bytes()));
            (is_batch && is_task).then_some(pid)
        })
}

/// Options every task and every plain reprocess of the test runs with.
const OPTIONS: [&str; 3] = ["--no-video", "--checkpoint-ms", "50"];

/// Three videos and an image-sequence study, and the manifest listing them: the studies by id
/// with their inputs. Task 0 takes rows 0 and 2 (long, stills), task 1 rows 1 and 3.
fn write_inputs(dir: &Path) -> (PathBuf, Vec<(&'static str, PathBuf)>) {
    let inputs = dir.join("inputs");
    let video = |name: &str, seconds: &str, seed: &str| {
        let extra = ["--images", "0", "--video", seconds, "--seed", seed];
        cli::synth(&inputs.join(name), &extra).join("video.mp4")
    };
    let studies = vec![
        ("long", video("long", "10", "1")),
        ("video-a", video("a", "2", "2")),
        ("stills", {
            cli::synth(&inputs.join("stills"), &["--images", "10", "--seed", "4"]);
            inputs.join("stills/images/non-cancer/*.png")
        }),
        ("video-b", video("b", "3", "3")),
    ];
    let mut text = String::from("study_id,input\n");
    for (id, input) in &studies {
        let rel = input.strip_prefix(dir).unwrap().display();
        text.push_str(&format!("{id},{rel}\n"));
    }
    let manifest = dir.join("manifest.csv");
    std::fs::write(&manifest, text).unwrap();
    (manifest, studies)
}

/// Submits `batch.sbatch` as a 2-task array; returns the job id.
fn submit(cluster: &Cluster, dir: &Path, manifest: &Path, archive: &Path) -> String {
    let script = Path::new(ROOT).join("pipelines/slurm/batch.sbatch");
    let output = format!("{}/task-%A_%a.log", dir.display());
    let out = cluster
        .command("sbatch")
        .args([
            "--parsable",
            "--array=0-1",
            "--cpus-per-task=1",
            "--mem=400M",
        ])
        .args(["--output", &output])
        .arg(format!("--export=ALL,ENDOSCAN={BIN},RUST_LOG=info"))
        .arg(&script)
        .arg(manifest)
        .arg(archive)
        .args(OPTIONS)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "sbatch: {err}");
    let text = String::from_utf8_lossy(&out.stdout);
    text.trim().split(';').next().unwrap().to_string()
}

/// Kills task 0's endoscan with SIGKILL while it scores `long` (checkpoints on disk, the study
/// not finished) and waits until Slurm has marked the task FAILED.
fn kill_task_0_mid_study(cluster: &Cluster, job: &str, archive: &Path) {
    let checkpoint = archive.join("long/checkpoint.json");
    let deadline = Instant::now() + Duration::from_secs(180);
    let pid = loop {
        if let Some(pid) = checkpoint
            .is_file()
            .then(|| batch_process(&cluster.conf, 0))
            .flatten()
        {
            break pid;
        }
        assert!(
            Instant::now() < deadline,
            "task 0 never checkpointed `long`"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(unsafe { libc::kill(pid as i32, libc::SIGKILL) }, 0);
    let done = archive.join("long/summary.json");
    assert!(!done.is_file(), "the kill came after the study");
    let deadline = Instant::now() + Duration::from_secs(60);
    // RUNNING, then COMPLETING while slurmd cleans up, then the final state.
    while matches!(
        cluster.task_state(job, 0).as_deref(),
        Some("RUNNING" | "COMPLETING")
    ) {
        assert!(
            Instant::now() < deadline,
            "task 0 still running after SIGKILL"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(cluster.task_state(job, 0).as_deref(), Some("FAILED"));
}

#[test]
fn a_slurm_array_finishes_every_study_after_a_task_is_killed_and_requeued() {
    let dir = scratch("batch_slurm", "array");
    let (manifest, studies) = write_inputs(&dir);
    let archive = dir.join("archive");
    let cluster = Cluster::start();
    let job = submit(&cluster, &dir, &manifest, &archive);
    kill_task_0_mid_study(&cluster, &job, &archive);
    cluster.run("scontrol", &["requeue", &format!("{job}_0")]);
    cluster.wait_for(&job, Duration::from_secs(600));
    for task in [0, 1] {
        let state = cluster.task_state(&job, task);
        assert_eq!(state.as_deref(), Some("COMPLETED"), "task {task}");
    }
    let log = std::fs::read_to_string(dir.join(format!("task-{job}_0.log"))).unwrap();
    assert!(log.contains("resuming after"), "{log}");
    assert!(
        log.contains("start 2"),
        "the requeued run appends to the log\n{log}"
    );
    // The index: every study complete.
    let index = cli::endoscan(&["batch", "index", archive.to_str().unwrap()]);
    assert!(
        index.status.success(),
        "{}",
        String::from_utf8_lossy(&index.stderr)
    );
    // Each study as a plain reprocess writes it (one thread, as the tasks ran).
    for (id, input) in &studies {
        let plain = dir.join(format!("plain-{id}"));
        let (input, out) = (input.to_str().unwrap(), plain.to_str().unwrap());
        let mut args = vec!["reprocess", input, "--out", out, "--threads", "1"];
        args.extend_from_slice(&OPTIONS);
        ok(&args);
        let read = |d: &Path| std::fs::read_to_string(d.join("frames.csv")).unwrap();
        assert_eq!(read(&archive.join(id)), read(&plain), "{id}");
    }
}
