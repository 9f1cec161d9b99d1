//! Pass 2: the input decoded again → annotated video and segment thumbnails.
//!
//! Runs after smoothing, because a frame's flag depends on frames after it. Decoding runs on
//! its own thread; overlay and thumbnails on the caller's; x264 on GStreamer's threads. The
//! content area comes from the same fail-closed [`AreaTracker`] rule as pass 1, so both passes
//! see the same areas. Every frame is written; the count is checked against pass 1. A frame
//! without a trusted area or marked corrupt is written black, with its status in the strip.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context};
use crossbeam_channel::bounded;
use image::RgbImage;

use crate::capture::{self, Capture, Frame};
use crate::infer::stage::ScoredFrame;
use crate::localize::Finding;
use crate::overlay::{self, FrameScore, Overlay};
use crate::pipeline::{first_error, Runner, StageHandle};
use crate::preprocess::{AreaTracker, ContentArea, Located, Rect, TrackerSettings};
use crate::sink::{self, VideoSink};
use crate::smooth::Smoothed;

/// Longest side of a thumbnail.
pub const THUMBNAIL_SIDE: u32 = 256;

/// What pass 2 needs besides the input.
pub struct AnnotateJob<'a> {
    pub capture: capture::Settings,
    pub tracker: TrackerSettings,
    /// How long the decoder or the encoder may stay on one frame before the pass stops.
    pub stall_after: std::time::Duration,
    pub scores: &'a [ScoredFrame],
    pub smoothed: &'a Smoothed,
    pub overlay: overlay::Settings,
    pub sink: sink::Settings,
    /// Where to write the video (`None`: thumbnails only).
    pub video: Option<&'a Path>,
    /// Thumbnails to write: frame index → file.
    pub thumbnails: BTreeMap<u64, PathBuf>,
}

/// What pass 2 wrote.
#[derive(Debug, Default)]
pub struct Annotated {
    /// Frames written to the video (or visited, without one).
    pub frames: u64,
    /// Each thumbnail's frame index → the frame rectangle it shows (before scaling).
    pub thumbnail_sources: BTreeMap<u64, Rect>,
}

/// Runs pass 2 over `input`: decode on a stage thread, draw and encode on the caller's, a
/// watchdog beside them; a stalled decoder or encoder stops the pass with an error naming it.
pub fn annotate(
    input: &Path,
    job: AnnotateJob<'_>,
    progress: &dyn Fn(u64),
) -> anyhow::Result<Annotated> {
    let runner = Runner::new(input.display().to_string(), job.stall_after);
    let mut capture = Capture::open(input, job.capture)?;
    capture.cancel_on(runner.stop_flag());
    let fps = capture.info().fps;
    let (tx, rx) = bounded::<Frame>(4);
    std::thread::scope(|s| {
        let (decode, draw) = (runner.stage("decode"), runner.stage("annotate"));
        let watchdog = runner.watchdog(s);
        let capture = &mut capture;
        let decoded = s.spawn(move || capture::stage::decode(&decode, capture, &tx));
        let drawn = draw_all(&runner, &draw, &rx, &job, fps, progress);
        drop(rx);
        let decoded = decoded.join().expect("decode stage does not panic");
        runner.finish();
        watchdog.join().expect("the watchdog does not panic");
        // A stall, then a decode error, explain a short video better than the count check.
        let results = vec![
            decoded.map(|_| ()).map_err(anyhow::Error::from),
            drawn
                .as_ref()
                .map(|_| ())
                .map_err(|e| anyhow::anyhow!("{e:#}")),
        ];
        match first_error(&runner, results) {
            Some(e) => Err(e),
            None => drawn,
        }
    })
}

/// Pass 2's drawing side: the tracker, the overlay, the lazily opened video sink.
struct Drawer<'j, 'r> {
    job: &'j AnnotateJob<'j>,
    runner: &'r Runner,
    fps: Option<f64>,
    tracker: AreaTracker,
    overlay: Overlay,
    video: Option<VideoSink>,
    done: Annotated,
}

impl<'j, 'r> Drawer<'j, 'r> {
    fn new(job: &'j AnnotateJob<'j>, runner: &'r Runner, fps: Option<f64>) -> Self {
        let overlay = Overlay::new(
            job.overlay,
            job.smoothed.smoothed.clone(),
            job.smoothed.flagged.clone(),
        );
        Self {
            job,
            runner,
            fps,
            tracker: AreaTracker::new(job.tracker),
            overlay,
            video: None,
            done: Annotated::default(),
        }
    }

    /// Writes one located frame's thumbnail (if it has one) and annotated video frame.
    fn draw(&mut self, located: Located) -> anyhow::Result<()> {
        let Located { frame, area, .. } = located;
        let job = self.job;
        let i = frame.index as usize;
        let Some(score) = job.scores.get(i) else {
            bail!(
                "pass 2 decoded frame {} but pass 1 scored only {} frames",
                frame.index,
                job.scores.len()
            );
        };
        if let Some(path) = job.thumbnails.get(&frame.index) {
            let finding = score.finding.filter(|_| job.smoothed.flagged[i]);
            let source = write_thumbnail(&frame, area.as_deref(), finding.as_ref(), path)?;
            self.done.thumbnail_sources.insert(frame.index, source);
        }
        if let Some(path) = job.video {
            let score = FrameScore {
                p: score.p,
                smoothed: job.smoothed.smoothed[i],
                flagged: job.smoothed.flagged[i],
                status: score.status,
                finding: score.finding,
            };
            let img = self.overlay.process(&frame, area.as_deref(), score);
            self.encode(path, img, &frame)?;
        }
        self.done.frames += 1;
        Ok(())
    }

    /// Encodes an annotated image, opening the video at the first one.
    fn encode(&mut self, path: &Path, img: RgbImage, frame: &Frame) -> anyhow::Result<()> {
        if self.video.is_none() {
            let (w, h) = img.dimensions();
            // The decoder reports the rate with its first frame, after the capture opened.
            let fps = self.fps.or_else(|| {
                frame
                    .duration
                    .filter(|d| !d.is_zero())
                    .map(|d| 1.0 / d.as_secs_f64())
            });
            let sink = VideoSink::new(path, w, h, fps.unwrap_or(30.0), self.job.sink)?;
            self.runner.on_abort(sink.aborter());
            self.video = Some(sink);
        }
        let sink = self.video.as_mut().expect("opened above");
        let (w, h) = sink.size();
        let img = if img.dimensions() == (w, h) {
            img
        } else {
            overlay::draw::fit_into(&img, w, h)
        };
        sink.push(&img, frame.pts, frame.duration)?;
        Ok(())
    }
}

fn draw_all(
    runner: &Runner,
    stage: &StageHandle<'_>,
    rx: &crossbeam_channel::Receiver<Frame>,
    job: &AnnotateJob<'_>,
    fps: Option<f64>,
    progress: &dyn Fn(u64),
) -> anyhow::Result<Annotated> {
    let mut d = Drawer::new(job, runner, fps);
    let draw = |d: &mut Drawer, located: Vec<Located>| -> anyhow::Result<()> {
        for l in located {
            stage.work(|| d.draw(l))?;
            stage.count(1);
            progress(d.done.frames);
        }
        Ok(())
    };
    while let Some(frame) = stage.recv(rx) {
        let located = stage.work(|| d.tracker.push(frame));
        draw(&mut d, located)?;
    }
    if stage.stopped() {
        bail!("pass 2 stopped before the end of the input");
    }
    let located = stage.work(|| d.tracker.finish());
    draw(&mut d, located)?;
    if let Some(sink) = d.video.take() {
        stage.work(|| sink.finish())?;
    }
    Ok(d.done)
}

/// The frame's image area (masked, bounding box) scaled to at most [`THUMBNAIL_SIDE`], with the
/// finding's box drawn, as PNG; returns the frame rectangle the thumbnail shows.
fn write_thumbnail(
    frame: &Frame,
    area: Option<&ContentArea>,
    finding: Option<&Finding>,
    path: &Path,
) -> anyhow::Result<Rect> {
    let img = masked_area(frame, area);
    let (w, h) = img.dimensions();
    let scale = (THUMBNAIL_SIDE as f64 / w.max(h) as f64).min(1.0);
    let (tw, th) = (
        ((w as f64 * scale).round() as u32).max(1),
        ((h as f64 * scale).round() as u32).max(1),
    );
    let mut thumb = image::imageops::resize(&img, tw, th, image::imageops::FilterType::Triangle);
    let bounds = area
        .filter(|a| a.frame_size() == (frame.width as usize, frame.height as usize))
        .map(|a| a.bounds());
    if let (Some(f), Some(b)) = (finding, bounds) {
        draw_scaled_finding(&mut thumb, f, b, scale);
    }
    thumb
        .save_with_format(path, image::ImageFormat::Png)
        .with_context(|| format!("{}: cannot write thumbnail", path.display()))?;
    let source = area
        .filter(|a| a.frame_size() == (frame.width as usize, frame.height as usize))
        .map(|a| a.bounds());
    Ok(source.unwrap_or(Rect {
        x: 0,
        y: 0,
        width: 0,
        height: 0,
    }))
}

/// Draws `f` (frame pixels) on a thumbnail of the frame rectangle `b` scaled by `scale`.
fn draw_scaled_finding(thumb: &mut RgbImage, f: &Finding, b: Rect, scale: f64) {
    let at = |v: u32, origin: usize| ((f64::from(v) - origin as f64) * scale).round().max(0.0);
    let (x0, y0) = (at(f.x, b.x), at(f.y, b.y));
    let (x1, y1) = (at(f.x + f.width, b.x), at(f.y + f.height, b.y));
    let scaled = Finding {
        x: x0 as u32,
        y: y0 as u32,
        width: ((x1 - x0) as u32).max(1),
        height: ((y1 - y0) as u32).max(1),
        peak_x: at(f.peak_x, b.x) as u32,
        peak_y: at(f.peak_y, b.y) as u32,
    };
    overlay::draw::finding(thumb, &scaled, 2);
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
