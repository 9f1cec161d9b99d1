//! Times `endoscan synth` writing 1,000 capsule images at 384×384 (PNG encoding included).
//! Target: under 60 s on 2 cores. `SYNTH_BENCH_IMAGES` overrides the count.

use std::time::Instant;

use endoscan::synth::{Layout, SynthArgs};

fn main() -> anyhow::Result<()> {
    let images: i64 = std::env::var("SYNTH_BENCH_IMAGES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1000);
    let out = std::env::temp_dir().join(format!("endoscan-synth-bench-{}", std::process::id()));
    let args = SynthArgs {
        out: out.clone(),
        seed: 1,
        images,
        video: None,
        fps: endoscan::synth::DEFAULT_FPS,
        size: Some("384x384".to_owned()),
        layout: Layout::Capsule,
        positive_fraction: endoscan::synth::DEFAULT_POSITIVE_FRACTION,
    };
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let started = Instant::now();
    endoscan::synth::run(&args)?;
    let secs = started.elapsed().as_secs_f64();
    println!(
        "bench synth: {images} images 384x384 capsule in {secs:.2} s ({:.1} ms/image, {threads} threads)",
        1000.0 * secs / images.max(1) as f64
    );
    std::fs::remove_dir_all(&out)?;
    Ok(())
}
