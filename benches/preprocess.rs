//! CPU preprocessing against OpenCV, on the same frames in the same run, one thread each.
//!
//! `cargo bench --bench preprocess -- [--frame 1920x1080] [--size 384] [--frames 8]
//! [--repeats 15]`
//!
//! Frames: synthetic tower frames (`endoscan synth`'s generator). Ours: crop → mask →
//! antialiased resize (the SIMD path, and the one-tap-at-a-time reference) → NCHW f32, in an
//! image area found beforehand, as a video's frames are prepared; and content-area detection
//! alone. OpenCV (`benches/opencv_prepare.py`, `opencv-python-headless` in `.venv`): the same
//! square crop → `cv2.resize` with `INTER_AREA` and `INTER_LINEAR` → transpose → scale, no
//! mask. Each figure is the median over the repeats of the mean ms per frame; ratios are
//! OpenCV ÷ ours (above 1: ours is faster).

#[path = "common/flags.rs"]
mod flags;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use endoscan::model::Normalization;
use endoscan::preprocess::resize::resize_reference;
use endoscan::preprocess::{
    normalize_into, AreaSettings, ContentArea, Crop, Plane, Preprocessor, RgbView, Screening,
};
use endoscan::synth::{generate_frame, FrameSpec, Layout};
use image::RgbImage;

struct Args {
    width: u32,
    height: u32,
    size: usize,
    frames: u64,
    repeats: usize,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        width: 1920,
        height: 1080,
        size: 384,
        frames: 8,
        repeats: 15,
    };
    flags::parse(|flag, value| {
        match flag {
            "--frame" => {
                let (w, h) = value.split_once('x').ok_or("expected WxH")?;
                args.width = flags::value(w)?;
                args.height = flags::value(h)?;
            }
            "--size" => args.size = flags::value(value)?,
            "--frames" => args.frames = flags::value(value)?,
            "--repeats" => args.repeats = flags::value(value)?,
            _ => return flags::unknown(),
        }
        Ok(())
    })?;
    Ok(args)
}

/// Median over `repeats` rounds of the mean ms per frame of `job`.
fn median_ms(frames: &[RgbImage], repeats: usize, mut job: impl FnMut(&RgbImage)) -> f64 {
    frames.iter().for_each(&mut job);
    let mut rounds: Vec<f64> = (0..repeats.max(1))
        .map(|_| {
            let start = Instant::now();
            frames.iter().for_each(&mut job);
            start.elapsed().as_secs_f64() * 1e3 / frames.len() as f64
        })
        .collect();
    rounds.sort_by(f64::total_cmp);
    rounds[rounds.len() / 2]
}

fn python() -> PathBuf {
    std::env::var_os("ENDOSCAN_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python"))
}

/// OpenCV's figures by name, or why there are none.
fn opencv(
    dir: &Path,
    args: &Args,
    crop: Crop,
    norm: Normalization,
) -> Result<Vec<(String, f64)>, String> {
    let (scale, offset) = norm.scale_offset();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/opencv_prepare.py");
    let out = Command::new(python())
        .arg(script)
        .arg(dir)
        .args([args.size, crop.x, crop.y, crop.side].map(|v| v.to_string()))
        .args([
            scale.to_string(),
            offset.to_string(),
            args.repeats.to_string(),
        ])
        .output()
        .map_err(|e| format!("{}: {e}", python().display()))?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).trim().to_string());
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_once(' '))
        .filter_map(|(name, ms)| Some((name.to_string(), ms.parse().ok()?)))
        .collect())
}

fn main() {
    let args = parse_args().unwrap_or_else(|e| {
        eprintln!("preprocess bench: {e}");
        std::process::exit(2);
    });
    let frames: Vec<RgbImage> = (0..args.frames.max(1))
        .map(|index| {
            let spec = FrameSpec {
                layout: Layout::Tower,
                width: args.width,
                height: args.height,
                seed: 7,
                index,
                lesion: index % 2 == 0,
            };
            generate_frame(&spec)
                .unwrap_or_else(|e| panic!("{e}"))
                .image
        })
        .collect();
    let settings = AreaSettings::default();
    let detect = |img: &RgbImage| {
        ContentArea::detect(&Plane::brightness(RgbView::from_image(img)), &settings)
    };
    let area = detect(&frames[0]).expect("a synthetic tower frame has an image area");
    let crop = Crop::centred_square(area.bounds());
    let norm = Normalization::Bit;
    let pre = Preprocessor::new(args.size, norm).expect("a valid input size");
    let mut planar = vec![0f32; 3 * args.size * args.size];
    let s = args.size;

    let ours = median_ms(&frames, args.repeats, |img| {
        let prepared = pre
            .prepare_in_area(RgbView::from_image(img), area.clone())
            .unwrap();
        normalize_into(&prepared.image, norm, &mut planar).unwrap();
    });
    let reference = median_ms(&frames, args.repeats, |img| {
        let image = resize_reference(RgbView::from_image(img), &area, crop.rect(), s, s);
        normalize_into(&image, norm, &mut planar).unwrap();
    });
    let resize_only = median_ms(&frames, args.repeats, |img| {
        pre.prepare_in_area(RgbView::from_image(img), area.clone())
            .unwrap();
    });
    let image = pre
        .prepare_in_area(RgbView::from_image(&frames[0]), area.clone())
        .unwrap()
        .image;
    let normalize_only = median_ms(&frames, args.repeats, |_| {
        normalize_into(&image, norm, &mut planar).unwrap();
    });
    let screening = median_ms(&frames, args.repeats, |img| {
        let plane = Plane::brightness(RgbView::from_image(img));
        Screening::of(&plane, settings.black_level);
    });
    let detection = median_ms(&frames, args.repeats, |img| {
        detect(img).expect("an image area");
    });

    println!(
        "preprocess: {} frames {}x{} → {s}² f32 NCHW (crop {}², masked), one thread, median of {} rounds",
        frames.len(),
        args.width,
        args.height,
        crop.side,
        args.repeats
    );
    println!("  ours (SIMD resize)          {ours:8.3} ms/frame");
    println!(
        "  ours (reference resize)     {reference:8.3} ms/frame   SIMD speed-up ×{:.2}",
        reference / ours
    );
    println!(
        "    of which crop/mask/resize {resize_only:8.3} ms, normalize {normalize_only:.3} ms"
    );
    println!("  per-frame screening         {screening:8.3} ms/frame   (brightness plane + histogram, the tracker's per-frame work)");
    println!("  content-area detection      {detection:8.3} ms/frame   (once per area change in a video)");

    let dir =
        std::env::temp_dir().join(format!("endoscan-bench-preprocess-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temporary folder");
    std::fs::write(
        dir.join("size.txt"),
        format!("{} {}", args.width, args.height),
    )
    .unwrap();
    for (i, img) in frames.iter().enumerate() {
        std::fs::write(dir.join(format!("frame-{i:03}.rgb")), img.as_raw()).unwrap();
    }
    match opencv(&dir, &args, crop, norm) {
        Ok(peers) => {
            for (name, ms) in peers {
                println!(
                    "  {name:<27} {ms:8.3} ms/frame   OpenCV ÷ ours ×{:.2}",
                    ms / ours
                );
            }
        }
        Err(why) => println!(
            "  OpenCV not measured ({why}); `bash scripts/setup` installs opencv-python-headless"
        ),
    }
    let _ = std::fs::remove_dir_all(&dir);
}
