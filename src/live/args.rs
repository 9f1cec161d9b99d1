//! The command lines of `endoscan live` and `endoscan bench live`.

use std::path::PathBuf;

use crate::infer::BackendArgs;
use crate::live::alert;

/// Where the live picture goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Display {
    /// A window on the screen (GStreamer's autovideosink).
    Window,
    /// No display (headless runs, benchmarks, recording only).
    None,
}

/// `endoscan live [SOURCE] …`
#[derive(Debug, Clone, clap::Args)]
pub struct LiveArgs {
    /// What to watch: `test://` (a synthetic live endoscope with lesions on a schedule; options
    /// as `test://?fps=60&size=960x540&seconds=8&seed=7&lose=5+3`), a V4L2 device (`/dev/video0`),
    /// any URI GStreamer plays (`rtsp://…`, `http://…`, `file://…`; a file is played at its own
    /// rate as if live), a video file path, or `pipeline:FILE` (a GStreamer description of a
    /// source whose last element gives raw or decodable video, e.g. under `pipelines/`).
    #[arg(default_value = "test://")]
    pub source: String,
    /// ONNX model [default: the bundled demo model].
    #[arg(long, value_name = "FILE.onnx")]
    pub model: Option<PathBuf>,
    #[command(flatten)]
    pub backend: BackendArgs,
    /// Where to show the annotated video.
    #[arg(long, value_enum, default_value_t = Display::Window)]
    pub display: Display,
    /// Also write the annotated video (outside the image area masked) to this MP4; it stays
    /// playable when the run is interrupted.
    #[arg(long, value_name = "FILE.mp4")]
    pub record: Option<PathBuf>,
    /// Write the run's statistics (fps, frame counts, latency percentiles) as JSON at exit.
    #[arg(long, value_name = "FILE.json")]
    pub stats: Option<PathBuf>,
    /// Stop after this many seconds [default: run until Ctrl-C or the end of a file].
    #[arg(long, value_name = "S")]
    pub seconds: Option<f64>,
    /// Offer every Nth frame to the model.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub interval: u32,
    /// Smoothed score at which an alert may start.
    #[arg(long, default_value_t = crate::smooth::DEFAULT_ON)]
    pub on: f32,
    /// Smoothed score below which an alert may end.
    #[arg(long, default_value_t = crate::smooth::DEFAULT_OFF)]
    pub off: f32,
    /// Alert on after this many of the last --persist-window inferred frames were ≥ --on.
    #[arg(long, value_name = "K", default_value_t = alert::DEFAULT_ON_K)]
    pub persist_on: usize,
    /// Inferred frames --persist-on looks back over.
    #[arg(long, value_name = "N", default_value_t = alert::DEFAULT_OF_N)]
    pub persist_window: usize,
    /// Alert off after this many inferred frames in a row below --off.
    #[arg(long, value_name = "M", default_value_t = alert::DEFAULT_OFF_M)]
    pub persist_off: usize,
    /// Play a short low tone when an alert starts.
    #[arg(long)]
    pub tone: bool,
    /// Show the whole frame, patient-data panel included (default: black outside the image
    /// area, and the whole frame until an area is trusted).
    #[arg(long)]
    pub no_mask: bool,
}

/// `endoscan bench …`
#[derive(Debug, Clone, clap::Args)]
pub struct BenchArgs {
    #[command(subcommand)]
    pub what: BenchCommand,
}

/// The benchmarks.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum BenchCommand {
    /// Live analysis on the synthetic endoscope with a headless sink: fps, latency, alerts.
    Live(BenchLiveArgs),
    /// The score stage on a GPU provider: latency per batch size, throughput, end to end,
    /// agreement with the CPU reference, fp16 against fp32, and the PyTorch peer (`--peer`).
    Gpu(crate::bench::gpu::BenchGpuArgs),
}

/// `endoscan bench live [--fps 30|60] [--seconds S] [--model M] [--json]`
#[derive(Debug, Clone, clap::Args)]
pub struct BenchLiveArgs {
    /// Frame rate of the synthetic source.
    #[arg(long, default_value_t = 30)]
    pub fps: u32,
    /// Length of the run.
    #[arg(long, default_value_t = 20.0)]
    pub seconds: f64,
    /// Frame size of the synthetic source.
    #[arg(long, value_name = "WxH", default_value = "640x360")]
    pub size: String,
    /// ONNX model [default: the bundled demo model].
    #[arg(long, value_name = "FILE.onnx")]
    pub model: Option<PathBuf>,
    #[command(flatten)]
    pub backend: BackendArgs,
    /// Print only the statistics JSON.
    #[arg(long)]
    pub json: bool,
}
