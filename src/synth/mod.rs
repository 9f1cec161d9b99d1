//! `endoscan synth`: deterministic procedural gastroscopy-like frames with ground truth.
//!
//! Input: command-line arguments only. Output under `--out`: still images in ImageFolder
//! layout with `labels.csv`, and optionally an H.264 `video.mp4` of a scope panning over a
//! larger scene with `ground_truth.csv`. Same seed and arguments give byte-identical PNGs
//! and CSVs: every image and frame draws from its own SplitMix64 stream `(seed, index)`.
//! Rendering runs on all cores; errors name the argument or file.
//!
//! Modules: [`config`] validates arguments, [`layout`] is the frame geometry, [`frame`]
//! makes one still in memory, [`dataset`] writes stills, [`track`] plans and renders the
//! video frames and [`video`] encodes them. [`mucosa`], [`lesion`], [`scene`] and
//! [`render`] (with `blur`) are the picture; [`font`] and [`panel`] the fake patient data.

mod blur;
pub mod config;
pub mod dataset;
pub mod font;
pub mod frame;
pub mod layout;
pub mod lesion;
pub mod mucosa;
pub mod noise;
pub mod panel;
pub mod render;
pub mod rng;
pub mod scene;
pub mod track;
pub mod video;

use std::path::PathBuf;
use std::time::Instant;

use crate::util::outdir_lock::OutDirLock;
use crate::util::progress;

pub use config::Config;
pub use frame::{generate_frame, FrameSpec, SynthError, SynthFrame};
pub use layout::{FrameGeometry, ImageArea, Layout, Rect, Shape};

/// Default `--seed`.
pub const DEFAULT_SEED: u64 = 42;
/// Default `--images`.
pub const DEFAULT_IMAGES: i64 = 200;
/// Default `--fps`.
pub const DEFAULT_FPS: f64 = 25.0;
/// Default `--positive-fraction`.
pub const DEFAULT_POSITIVE_FRACTION: f64 = 0.3;

/// Arguments of `endoscan synth`.
#[derive(Debug, Clone, clap::Args)]
pub struct SynthArgs {
    /// Output directory (created if missing).
    #[arg(long)]
    pub out: PathBuf,
    /// Seed: the same seed and arguments give byte-identical images and CSVs.
    #[arg(long, default_value_t = DEFAULT_SEED)]
    pub seed: u64,
    /// Number of still images.
    #[arg(long, default_value_t = DEFAULT_IMAGES, allow_negative_numbers = true)]
    pub images: i64,
    /// Also render a video of this many seconds (video.mp4 and ground_truth.csv).
    #[arg(long, value_name = "SECONDS", allow_negative_numbers = true)]
    pub video: Option<f64>,
    /// Video frame rate.
    #[arg(long, default_value_t = DEFAULT_FPS, allow_negative_numbers = true)]
    pub fps: f64,
    /// Frame size WxH [default: 960x540 for tower, 384x384 for capsule].
    #[arg(long, value_name = "WxH")]
    pub size: Option<String>,
    /// Frame layout.
    #[arg(long, value_enum, default_value_t = Layout::Tower)]
    pub layout: Layout,
    /// Share of images with an early-gastric-cancer-like lesion.
    #[arg(long, default_value_t = DEFAULT_POSITIVE_FRACTION, allow_negative_numbers = true)]
    pub positive_fraction: f64,
}

/// Runs `endoscan synth`.
pub fn run(args: &SynthArgs) -> anyhow::Result<()> {
    let cfg = Config::from_args(args)?;
    let _lock = OutDirLock::acquire(&cfg.out)?;
    let started = Instant::now();
    let mut summary = String::new();
    if cfg.images > 0 || cfg.video.is_none() {
        let progress = progress::bar(Some(u64::from(cfg.images)), "images", "images");
        let written = dataset::write_images(&cfg, &progress)?;
        progress.finish_and_clear();
        let noun = if cfg.images == 1 { "image" } else { "images" };
        summary = format!(
            "{} {noun} ({} cancer, {} non-cancer)",
            cfg.images, written.cancer, written.non_cancer
        );
    }
    if let Some(video) = cfg.video {
        let geometry = cfg.layout.geometry(cfg.width, cfg.height);
        let track = track::Track::new(cfg.seed, cfg.layout, geometry, video, cfg.positive_fraction);
        let progress = progress::bar(Some(video.frames), "video", "frames");
        let (mp4, csv) = (cfg.out.join("video.mp4"), cfg.out.join("ground_truth.csv"));
        let encoded =
            video::write_video(&track, video, cfg.width, cfg.height, &mp4, &csv, &progress)?;
        progress.finish_and_clear();
        if !summary.is_empty() {
            summary.push_str(" and ");
        }
        summary.push_str(&format!(
            "a {}-frame video ({} with a lesion)",
            encoded.frames, encoded.cancer
        ));
    }
    println!(
        "synth: {summary} in {} ({}x{} {}, seed {}) in {:.1} s",
        cfg.out.display(),
        cfg.width,
        cfg.height,
        cfg.layout,
        cfg.seed,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
