//! Pass 2: the input decoded again → annotated video and segment thumbnails.
//!
//! Runs after smoothing, because a frame's flag depends on frames after it. Decoding runs on
//! its own thread; overlay and thumbnails on the caller's; x264 on GStreamer's threads. The
//! content area comes from the same [`AreaTracker`] rule as pass 1, so both passes see the
//! same areas. Every frame is written; the count is checked against pass 1.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context};
use crossbeam_channel::bounded;
use image::RgbImage;

use super::area::AreaTracker;
use super::checkpoint::Scored;
use crate::capture::{self, Capture, Frame};
use crate::overlay::{self, FrameScore, Overlay};
use crate::preprocess::{AreaSettings, ContentArea};
use crate::sink::{self, VideoSink};
use crate::smooth::Smoothed;

/// Longest side of a thumbnail.
pub const THUMBNAIL_SIDE: u32 = 256;

/// What pass 2 needs besides the input.
pub struct AnnotateJob<'a> {
    pub capture: capture::Settings,
    pub area: AreaSettings,
    pub area_block: usize,
    pub scores: &'a [Scored],
    pub smoothed: &'a Smoothed,
    pub overlay: overlay::Settings,
    pub sink: sink::Settings,
    /// Where to write the video (`None`: thumbnails only).
    pub video: Option<&'a Path>,
    /// Thumbnails to write: frame index → file.
    pub thumbnails: BTreeMap<u64, PathBuf>,
}

/// Frames written to the video (or visited, without one).
pub fn annotate(input: &Path, job: AnnotateJob<'_>, progress: &dyn Fn(u64)) -> anyhow::Result<u64> {
    let mut capture = Capture::open(input, job.capture)?;
    let fps = capture.info().fps;
    let (tx, rx) = bounded::<Frame>(4);
    std::thread::scope(|s| {
        let decode = std::thread::Builder::new()
            .name("decode-2".into())
            .spawn_scoped(s, move || -> Result<(), capture::CaptureError> {
                while let Some(frame) = capture.next_frame()? {
                    if tx.send(frame).is_err() {
                        break;
                    }
                }
                Ok(())
            })
            .expect("spawn decode thread");
        let result = draw_all(rx, &job, fps, progress);
        let decoded = decode.join().expect("decode thread does not panic");
        // A decode error explains a short video better than the count check does.
        decoded?;
        result
    })
}

fn draw_all(
    rx: crossbeam_channel::Receiver<Frame>,
    job: &AnnotateJob<'_>,
    fps: Option<f64>,
    progress: &dyn Fn(u64),
) -> anyhow::Result<u64> {
    let mut tracker = AreaTracker::new(job.area, job.area_block);
    let mut overlay = Overlay::new(
        job.overlay,
        job.smoothed.smoothed.clone(),
        job.smoothed.flagged.clone(),
    );
    let mut video: Option<VideoSink> = None;
    let mut written = 0u64;
    let mut handle =
        |frame: Frame, area: Option<std::sync::Arc<ContentArea>>| -> anyhow::Result<()> {
            let i = frame.index as usize;
            let Some(score) = job.scores.get(i) else {
                bail!(
                    "pass 2 decoded frame {} but pass 1 scored only {} frames",
                    frame.index,
                    job.scores.len()
                );
            };
            if let Some(path) = job.thumbnails.get(&frame.index) {
                write_thumbnail(&frame, area.as_deref(), path)?;
            }
            if let Some(path) = job.video {
                let img = overlay.process(
                    &frame,
                    area.as_deref(),
                    FrameScore {
                        p: score.p,
                        smoothed: job.smoothed.smoothed[i],
                        flagged: job.smoothed.flagged[i],
                    },
                );
                if video.is_none() {
                    let (w, h) = img.dimensions();
                    video = Some(VideoSink::new(path, w, h, fps.unwrap_or(30.0), job.sink)?);
                }
                let sink = video.as_mut().expect("opened above");
                let (w, h) = sink.size();
                let img = if img.dimensions() == (w, h) {
                    img
                } else {
                    overlay::draw::fit_into(&img, w, h)
                };
                sink.push(&img, frame.pts, frame.duration)?;
            }
            written += 1;
            progress(written);
            Ok(())
        };
    for frame in rx.iter() {
        for (f, a) in tracker.push(frame) {
            handle(f, a)?;
        }
    }
    for (f, a) in tracker.finish() {
        handle(f, a)?;
    }
    if let Some(sink) = video {
        sink.finish()?;
    }
    Ok(written)
}

/// The frame's image area (masked, bounding box) scaled to at most [`THUMBNAIL_SIDE`], as PNG.
fn write_thumbnail(frame: &Frame, area: Option<&ContentArea>, path: &Path) -> anyhow::Result<()> {
    let img = masked_area(frame, area);
    let (w, h) = img.dimensions();
    let scale = (THUMBNAIL_SIDE as f64 / w.max(h) as f64).min(1.0);
    let (tw, th) = (
        ((w as f64 * scale).round() as u32).max(1),
        ((h as f64 * scale).round() as u32).max(1),
    );
    let thumb = image::imageops::resize(&img, tw, th, image::imageops::FilterType::Triangle);
    thumb
        .save_with_format(path, image::ImageFormat::Png)
        .with_context(|| format!("{}: cannot write thumbnail", path.display()))
}

/// The area's bounding box with everything outside the area black; black frame without area.
pub fn masked_area(frame: &Frame, area: Option<&ContentArea>) -> RgbImage {
    let Some(area) =
        area.filter(|a| a.frame_size() == (frame.width as usize, frame.height as usize))
    else {
        return RgbImage::new(frame.width.clamp(1, 64), frame.height.clamp(1, 64));
    };
    let b = area.bounds();
    let mut out = RgbImage::new(b.width as u32, b.height as u32);
    for y in b.y..b.y + b.height {
        let span = area.span(y);
        let row = frame.row(y as u32);
        for x in span.start..span.end {
            let px = [row[3 * x], row[3 * x + 1], row[3 * x + 2]];
            out.put_pixel((x - b.x) as u32, (y - b.y) as u32, image::Rgb(px));
        }
    }
    out
}

/// Decode-only pass: frames and time, for the benchmark and checks.
pub fn decode_only(input: &Path, settings: capture::Settings) -> anyhow::Result<(u64, Duration)> {
    let start = std::time::Instant::now();
    let mut capture = Capture::open(input, settings)?;
    let mut n = 0;
    while capture.next_frame()?.is_some() {
        n += 1;
    }
    Ok((n, start.elapsed()))
}
