//! ONNX Runtime CPU latency of the classifier, and `Classifier`'s per-call overhead over a bare
//! `ort` session running the same model on the same input.
//!
//! `cargo bench --bench classify -- [--variant r50x1] [--size 384] [--batches 1,8]
//! [--iters 10] [--threads N]`. The model (random weights) is exported once under the
//! target's tmp directory. Bare and wrapped calls alternate in pairs, each going first in half
//! of the pairs; the overhead is the mean of the two orders' median paired differences (which
//! cancels the advantage of running second), over the bare median. The session created first
//! tends to run about 1 % faster on a busy machine; the classifier's is created first here.
//! Also times the CPU-reference preprocessing of a 1920×1080 tower frame.

#[path = "common/flags.rs"]
mod flags;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use endoscan::export::export_onnx;
use endoscan::infer::{runtime, Classifier, ClassifierOptions};
use endoscan::model::{ModelMetadata, Normalization, Variant, Weights};
use endoscan::synth::{generate_frame, FrameSpec, Layout};
use ndarray::Array4;
use ort::session::Session;
use ort::value::TensorRef;

struct Args {
    variant: Variant,
    size: usize,
    batches: Vec<usize>,
    iters: usize,
    threads: Option<usize>,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        variant: "r50x1".parse().map_err(|e| format!("{e}"))?,
        size: 384,
        batches: vec![1, 8],
        iters: 10,
        threads: None,
    };
    flags::parse(|flag, value| {
        match flag {
            "--variant" => args.variant = flags::value(value)?,
            "--size" => args.size = flags::value(value)?,
            "--iters" => args.iters = flags::value(value)?,
            "--threads" => args.threads = Some(flags::value(value)?),
            "--batches" => {
                args.batches = value
                    .split(',')
                    .map(flags::value)
                    .collect::<Result<_, _>>()?
            }
            _ => return flags::unknown(),
        }
        Ok(())
    })?;
    Ok(args)
}

fn main() -> anyhow::Result<()> {
    let args = parse_args().map_err(anyhow::Error::msg)?;
    let model = model_file(&args)?;
    let options = ClassifierOptions {
        intra_threads: args.threads,
        shares_cpu: false,
        ..Default::default()
    };
    let mut classifier = Classifier::load(&model, &options)?;
    let mut builder = Session::builder(runtime::environment()?)?;
    if let Some(threads) = args.threads {
        builder = builder
            .with_intra_threads(threads)
            .map_err(|e| anyhow::anyhow!("intra-op threads: {e}"))?;
    }
    let mut bare = builder.commit_from_file(&model)?;
    println!(
        "{} {}² on ONNX Runtime CPU, intra-op threads {}, {} iterations",
        args.variant,
        args.size,
        args.threads
            .map_or("default".to_string(), |t| t.to_string()),
        args.iters
    );
    println!("batch  bare median  classifier median  per image  overhead (paired Δ)");
    for &batch in &args.batches {
        let input = Array4::from_shape_fn((batch, 3, args.size, args.size), |(n, c, y, x)| {
            (((n * 7 + c * 13 + y * 3 + x * 5) % 255) as f32) / 127.5 - 1.0
        });
        let mut run_bare = || -> anyhow::Result<Duration> {
            let start = Instant::now();
            let outputs =
                bare.run(ort::inputs!["image" => TensorRef::from_array_view(input.view())?])?;
            let probs = outputs["probs"].try_extract_array::<f32>()?.to_owned();
            std::hint::black_box(probs);
            Ok(start.elapsed())
        };
        let mut run_ours = || -> anyhow::Result<Duration> {
            let start = Instant::now();
            std::hint::black_box(classifier.classify_batch(input.view())?);
            Ok(start.elapsed())
        };
        run_bare()?;
        run_ours()?;
        let (mut bare_t, mut ours_t) = (Vec::new(), Vec::new());
        // Paired differences (ours − bare) when bare ran first, and when ours did.
        let (mut bare_first, mut ours_first) = (Vec::new(), Vec::new());
        for i in 0..args.iters {
            let (b, o) = if i.is_multiple_of(2) {
                let b = run_bare()?;
                (b, run_ours()?)
            } else {
                let o = run_ours()?;
                (run_bare()?, o)
            };
            bare_t.push(b.as_secs_f64());
            ours_t.push(o.as_secs_f64());
            let delta = o.as_secs_f64() - b.as_secs_f64();
            if i.is_multiple_of(2) {
                bare_first.push(delta);
            } else {
                ours_first.push(delta);
            }
        }
        let (mb, mo) = (median(&mut bare_t), median(&mut ours_t));
        let md = (median(&mut bare_first) + median(&mut ours_first)) / 2.0;
        println!(
            "{batch:>5}  {:>9.1} ms  {:>15.1} ms  {:>6.1} ms  {:+.2} % ({:+.3} ms)",
            mb * 1e3,
            mo * 1e3,
            mo * 1e3 / batch as f64,
            md / mb * 100.0,
            md * 1e3
        );
    }
    bench_preprocess(&classifier, args.iters.max(20))
}

/// CPU-reference preprocessing of a 1920×1080 synthetic tower frame (one thread).
fn bench_preprocess(classifier: &Classifier, iters: usize) -> anyhow::Result<()> {
    let spec = FrameSpec {
        layout: Layout::Tower,
        width: 1920,
        height: 1080,
        seed: 1,
        index: 0,
        lesion: true,
    };
    let frame = generate_frame(&spec)?.image;
    let pre = classifier.preprocessor();
    let s = pre.input_size();
    let mut input = vec![0.0f32; 3 * s * s];
    let mut times = Vec::with_capacity(iters);
    for _ in 0..iters {
        let start = Instant::now();
        let prepared = pre.prepare(&frame)?;
        pre.normalize_into(&prepared.image, &mut input)?;
        times.push(start.elapsed().as_secs_f64());
        std::hint::black_box(&input);
    }
    println!(
        "preprocess 1920x1080 tower → {s}² (area, crop, resize, normalize; 1 thread): median {:.1} ms",
        median(&mut times) * 1e3
    );
    Ok(())
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n == 0 {
        f64::NAN
    } else if !n.is_multiple_of(2) {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// The exported random-weight model for `args`, made once.
fn model_file(args: &Args) -> anyhow::Result<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let path = dir.join(format!("bench-{}-{}.onnx", args.variant, args.size));
    if !path.exists() {
        std::fs::create_dir_all(&dir)?;
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
        let weights = Weights::random(&args.variant, 2, 1);
        export_onnx(&weights, &meta, &path)?;
        eprintln!("exported {}", path.display());
    }
    Ok(path)
}
