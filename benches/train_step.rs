//! One training step of BiT r50x1 at 128², batch 8, on the CPU: `endoscan train`'s step (tch,
//! [`Trainer::step`]: forward, cross-entropy, backward, SGD with momentum) against PyTorch eager
//! running the same architecture (`benches/train_step.py`) in the same run, with the same
//! thread count. Rounds alternate between the two so that load from other processes hits both
//! alike; the medians are compared. Goal: tch ≤ 1.05 × PyTorch.
//!
//! `cargo bench --features train --bench train_step` (env: `BENCH_ROUNDS`, `BENCH_STEPS`,
//! `BENCH_THREADS`, `PYTHON`).

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use endoscan::model::torch::BitModel;
use endoscan::model::Variant;
use endoscan::train::amp::Amp;
use endoscan::train::args::{Mode, Precision, MOMENTUM};
use endoscan::train::batch::Batch;
use endoscan::train::trainer::Trainer;
use tch::Device;

const VARIANT: &str = "r50x1";
const SIZE: usize = 128;
const BATCH: usize = 8;
const GOAL: f64 = 1.05;

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn python() -> PathBuf {
    std::env::var_os("PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python"))
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let rounds = env_or("BENCH_ROUNDS", 5);
    let steps = env_or("BENCH_STEPS", 3);
    let threads = env_or(
        "BENCH_THREADS",
        std::thread::available_parallelism().map_or(1, |n| n.get()),
    );
    tch::set_num_threads(threads as i32);

    let variant: Variant = VARIANT.parse().expect("a known variant");
    tch::manual_seed(0);
    let model = BitModel::new(&variant, 2, Device::Cpu).expect("r50x1 builds");
    let amp = Amp::new(Precision::Fp32, Device::Cpu).expect("fp32 needs nothing");
    let mut trainer = Trainer::new(model, Mode::Global, amp, SIZE, 0, MOMENTUM).expect("a trainer");
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let images = (0..BATCH * 3 * SIZE * SIZE)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 40) as f32 / (1u64 << 23) as f32 - 1.0
        })
        .collect();
    let batch = Batch {
        step: 0,
        positions: (0..BATCH).collect(),
        images,
        labels: (0..BATCH as i64).map(|i| i % 2).collect(),
    };
    let mut tch_steps = |n: usize| {
        let t = Instant::now();
        for _ in 0..n {
            trainer.step(&batch, 1e-3).expect("a training step");
        }
        t.elapsed().as_secs_f64()
    };

    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/train_step.py");
    let mut child = Command::new(python())
        .arg(&script)
        .args([
            VARIANT,
            &SIZE.to_string(),
            &BATCH.to_string(),
            &threads.to_string(),
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "{}: cannot start {}: {e}",
                script.display(),
                python().display()
            )
        });
    let mut to_torch = child.stdin.take().expect("piped stdin");
    let mut from_torch = BufReader::new(child.stdout.take().expect("piped stdout")).lines();
    let torch_info = from_torch.next().expect("torch starts").expect("a line");
    let mut torch_steps = |n: usize| -> f64 {
        writeln!(to_torch, "{n}").expect("torch is running");
        let line = from_torch.next().expect("torch answers").expect("a line");
        line.trim().parse().expect("seconds")
    };

    // Warm-up: allocator caches, oneDNN primitives.
    tch_steps(2);
    torch_steps(2);
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        ours.push(tch_steps(steps) / steps as f64);
        theirs.push(torch_steps(steps) / steps as f64);
    }
    drop(to_torch);
    let _ = child.wait();

    let (t, p) = (median(ours), median(theirs));
    println!(
        "train step {VARIANT} {SIZE}x{SIZE} batch {BATCH}, CPU, {threads} threads; {torch_info}"
    );
    println!("  endoscan (tch)  {:8.1} ms/step", t * 1e3);
    println!("  PyTorch eager   {:8.1} ms/step", p * 1e3);
    println!(
        "  ratio {:.3} (goal ≤ {GOAL}): {}",
        t / p,
        if t / p <= GOAL { "met" } else { "NOT met" }
    );
}
