//! Pass-1 throughput of `endoscan reprocess` against its stages alone, in one run on one input.
//!
//! `cargo bench --bench reprocess -- [--variant r14x0.5] [--size 128] [--seconds 10]
//! [--fps 25] [--frame 960x540] [--batch 16] [--threads N] [--provider cpu|cuda|tensorrt]
//! [--model FILE.onnx] [--input VIDEO]`
//!
//! Measures, on the same video (default: a synthetic tower video from `endoscan synth`):
//! decode only (capture to RGB), prepare only (content area + crop/resize, one thread),
//! inference only (the model on normalized batches of real prepared frames), and the staged
//! pipeline (decode → prepare → batched inference, bounded channels). The pipeline goal is
//! ≥ 0.95 × the slowest stage alone. Stages share the CPU cores in the pipeline but not when
//! timed alone, so on a small CPU the ratio measures contention as well as overlap. So it also
//! reports each stage's CPU time per frame (measured alone) and the bound they set together,
//! cores ÷ CPU seconds per frame: where each stage alone already keeps every core busy, that
//! bound, not the slowest stage, is the most any overlap can reach.

#[path = "common/flags.rs"]
mod flags;

use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use endoscan::capture::{self, Capture};
use endoscan::export::export_onnx;
use endoscan::infer::{Classifier, ClassifierOptions, ExecutionProvider};
use endoscan::model::{ModelMetadata, Normalization, Variant, Weights};
use endoscan::preprocess::{AreaSettings, AreaTracker, Located, RgbView, TrackerSettings};
use endoscan::reprocess::pipeline::{score_frames, PassSettings};
use endoscan::reprocess::{Scorer, DEFAULT_QUEUE};
use ndarray::Array4;

struct Args {
    variant: Variant,
    size: usize,
    seconds: u32,
    fps: u32,
    frame: String,
    batch: usize,
    threads: Option<usize>,
    provider: ExecutionProvider,
    model: Option<PathBuf>,
    input: Option<PathBuf>,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        variant: "r14x0.5".parse().map_err(|e| format!("{e}"))?,
        size: 128,
        seconds: 10,
        fps: 25,
        frame: "960x540".into(),
        batch: 16,
        threads: None,
        provider: ExecutionProvider::Cpu,
        model: None,
        input: None,
    };
    flags::parse(|flag, value| {
        match flag {
            "--variant" => args.variant = flags::value(value)?,
            "--size" => args.size = flags::value(value)?,
            "--seconds" => args.seconds = flags::value(value)?,
            "--fps" => args.fps = flags::value(value)?,
            "--frame" => args.frame = value.to_string(),
            "--batch" => args.batch = flags::value(value)?,
            "--threads" => args.threads = Some(flags::value(value)?),
            "--provider" => {
                args.provider = <ExecutionProvider as clap::ValueEnum>::from_str(value, true)?
            }
            "--model" => args.model = Some(PathBuf::from(value)),
            "--input" => args.input = Some(PathBuf::from(value)),
            _ => return flags::unknown(),
        }
        Ok(())
    })?;
    Ok(args)
}

fn work_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("bench-reprocess");
    std::fs::create_dir_all(&dir).expect("create bench dir");
    dir
}

fn model_file(args: &Args) -> anyhow::Result<PathBuf> {
    if let Some(m) = &args.model {
        return Ok(m.clone());
    }
    let path = work_dir().join(format!("{}-{}.onnx", args.variant, args.size));
    if !path.exists() {
        let meta = ModelMetadata {
            variant: args.variant,
            input_size: args.size,
            normalization: Normalization::Bit,
            classes: vec!["cancer".into(), "non-cancer".into()],
            positive: 0,
            threshold: 0.5,
            weights_sha256: "0".repeat(64),
            cam_output: None,
        };
        export_onnx(&Weights::random(&args.variant, 2, 1), &meta, &path)?;
    }
    Ok(path)
}

fn input_file(args: &Args) -> anyhow::Result<PathBuf> {
    if let Some(i) = &args.input {
        return Ok(i.clone());
    }
    let dir = work_dir().join(format!(
        "synth-{}s-{}fps-{}",
        args.seconds, args.fps, args.frame
    ));
    let video = dir.join("video.mp4");
    if !video.exists() {
        let ok = Command::new(env!("CARGO_BIN_EXE_endoscan"))
            .args(["synth", "--images", "0", "--seed", "9"])
            .args([
                "--video",
                &args.seconds.to_string(),
                "--fps",
                &args.fps.to_string(),
            ])
            .args(["--size", &args.frame, "--out"])
            .arg(&dir)
            .status()?
            .success();
        anyhow::ensure!(ok, "endoscan synth failed");
    }
    Ok(video)
}

fn fps(frames: u64, secs: f64) -> f64 {
    frames as f64 / secs.max(1e-9)
}

/// CPU time (user + system) this process has used so far, from `/proc/self/stat` (in clock
/// ticks of 1/100 s, Linux's fixed `USER_HZ`); 0 where that file is missing.
fn cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    // Fields after the parenthesised command name; utime and stime are the 14th and 15th.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or("", |(_, rest)| rest)
        .split_whitespace()
        .collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0
}

fn main() -> anyhow::Result<()> {
    let args = parse_args().map_err(anyhow::Error::msg)?;
    let input = input_file(&args)?;
    let model = model_file(&args)?;
    let options = ClassifierOptions {
        provider: args.provider,
        device_id: 0,
        intra_threads: args.threads,
        shares_cpu: true,
        ..ClassifierOptions::default()
    };
    let mut classifier = Classifier::load(&model, &options)?;
    let pre = classifier.preprocessor().clone();
    let cap_settings = capture::Settings::default();
    println!(
        "input {} | model {} {}² ({}) | batch {} | provider {} | {} CPU threads available",
        input.display(),
        classifier.metadata().variant,
        pre.input_size(),
        model.display(),
        args.batch,
        args.provider,
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    );

    // Decode only.
    let cpu = cpu_seconds();
    let t = Instant::now();
    let mut cap = Capture::open(&input, cap_settings)?;
    let mut frames = 0u64;
    while cap.next_frame()?.is_some() {
        frames += 1;
    }
    let decode = fps(frames, t.elapsed().as_secs_f64());
    let decode_cpu = (cpu_seconds() - cpu) / frames.max(1) as f64;

    // Prepare only (frames decoded beforehand, kept for the inference batch).
    let decoded: Vec<_> = Capture::open(&input, cap_settings)?.collect::<Result<_, _>>()?;
    let mut tracker = AreaTracker::new(TrackerSettings::video(AreaSettings::default()));
    let mut prepared = Vec::new();
    let cpu = cpu_seconds();
    let t = Instant::now();
    let mut located = Vec::new();
    for f in decoded {
        located.extend(tracker.push(f));
    }
    located.extend(tracker.finish());
    for Located { frame: f, area, .. } in &located {
        let view = RgbView::new(&f.data, f.width as usize, f.height as usize, f.stride)?;
        if let Some(area) = area {
            let p = pre.prepare_in_area(view, (**area).clone())?;
            if prepared.len() < args.batch {
                prepared.push(p.image);
            }
        }
    }
    let prepare = fps(located.len() as u64, t.elapsed().as_secs_f64());
    let prepare_cpu = (cpu_seconds() - cpu) / located.len().max(1) as f64;
    drop(located);

    // Inference only, on a batch of real prepared frames.
    let s = pre.input_size();
    let mut batch = Array4::<f32>::zeros((prepared.len(), 3, s, s));
    for (img, out) in prepared.iter().zip(
        batch
            .as_slice_mut()
            .expect("contiguous")
            .chunks_exact_mut(3 * s * s),
    ) {
        pre.normalize_into(img, out)?;
    }
    classifier.score(batch.view())?; // warm-up
    let runs = frames.div_ceil(prepared.len().max(1) as u64);
    let cpu = cpu_seconds();
    let t = Instant::now();
    for _ in 0..runs {
        classifier.score(batch.view())?;
    }
    let infer = fps(runs * prepared.len() as u64, t.elapsed().as_secs_f64());
    let infer_cpu = (cpu_seconds() - cpu) / (runs * prepared.len() as u64).max(1) as f64;

    // The staged pipeline.
    let settings = PassSettings {
        capture: cap_settings,
        tracker: TrackerSettings::video(AreaSettings::default()),
        batch: args.batch,
        queue: DEFAULT_QUEUE,
        stall_after: endoscan::pipeline::DEFAULT_STALL,
        preprocess: endoscan::cuda::select::PreprocessChoice::Cpu,
    };
    let t = Instant::now();
    let outcome = score_frames(&input, settings, &pre, &mut classifier, 0, None, |_| Ok(()))?;
    let wall = t.elapsed().as_secs_f64();
    if let Some(e) = outcome.error {
        return Err(e);
    }
    anyhow::ensure!(
        outcome.scored == frames,
        "pipeline scored {} of {frames} frames",
        outcome.scored
    );
    let pipeline = fps(outcome.scored, wall);

    let slowest = decode.min(prepare).min(infer);
    let name = |v: f64| {
        if v == decode {
            "decode"
        } else if v == prepare {
            "prepare"
        } else {
            "inference"
        }
    };
    println!("{frames} frames");
    println!("  decode only     {decode:9.1} frames/s");
    println!("  prepare only    {prepare:9.1} frames/s");
    println!("  inference only  {infer:9.1} frames/s");
    println!("  pipeline        {pipeline:9.1} frames/s");
    // What the stages would give one after another: the floor a pipeline must beat when each
    // stage alone already keeps every core busy (a small CPU with no accelerator).
    let sequential = 1.0 / (1.0 / decode + 1.0 / prepare + 1.0 / infer);
    println!("  stages in turn  {sequential:9.1} frames/s (no overlap)");
    println!(
        "  pipeline / slowest stage ({}) = {:.3} (goal ≥ 0.95)",
        name(slowest),
        pipeline / slowest
    );
    // The stages' CPU time per frame, measured alone: however well they overlap, the pipeline
    // cannot go faster than the cores can do all three stages' work.
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
    let per_frame = decode_cpu + prepare_cpu + infer_cpu;
    let ceiling = cores / per_frame.max(1e-12);
    println!(
        "  CPU per frame: decode {:.2} ms, prepare {:.2} ms, inference {:.2} ms → {cores} cores \
         bound {ceiling:.1} frames/s; pipeline / min(slowest stage, CPU bound) = {:.3}",
        decode_cpu * 1e3,
        prepare_cpu * 1e3,
        infer_cpu * 1e3,
        pipeline / slowest.min(ceiling)
    );
    println!(
        "  in-pipeline busy time: decode {:.2} s, prepare {:.2} s, infer {:.2} s, wall {:.2} s",
        outcome.times.decode_s,
        outcome.times.prepare_s,
        outcome.times.infer_s,
        outcome.times.wall_s
    );
    println!(
        "{{\"frames\":{frames},\"decode_fps\":{decode:.2},\"prepare_fps\":{prepare:.2},\"infer_fps\":{infer:.2},\"pipeline_fps\":{pipeline:.2},\"sequential_fps\":{sequential:.2},\"cpu_bound_fps\":{ceiling:.2},\"ratio\":{:.4},\"ratio_to_bound\":{:.4}}}",
        pipeline / slowest,
        pipeline / slowest.min(ceiling)
    );
    Ok(())
}
