//! Encodes the planned [`Track`] to H.264 MP4 with GStreamer
//! (`appsrc ! videoconvert ! x264enc ! mp4mux ! filesink`) and writes `ground_truth.csv`.
//!
//! Frames render on worker threads (frame `i` on worker `i mod n`, each with its own bounded
//! channel) and are pushed in order from the calling thread with explicit PTS and duration.
//! Bus errors are reported with the element that posted them.

use std::path::Path;

use anyhow::{anyhow, bail, Context};
use crossbeam_channel::{bounded, Receiver};
use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;
use gstreamer_video as gst_video;
use indicatif::ProgressBar;

use super::config::VideoConfig;
use super::track::{Track, TrackFrame};

/// Header of `ground_truth.csv`.
pub const GROUND_TRUTH_HEADER: &str = "frame,pts_ms,label,x,y,w,h";
/// Longest wait for the muxer to finish after the last frame.
const EOS_TIMEOUT_S: u64 = 120;

/// What was encoded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Encoded {
    /// Frames written.
    pub frames: u64,
    /// Frames labelled `cancer`.
    pub cancer: u64,
}

/// Renders and encodes `track` to `mp4`, then writes its ground truth to `csv`.
pub fn write_video(
    track: &Track,
    video: VideoConfig,
    width: u32,
    height: u32,
    mp4: &Path,
    csv: &Path,
    progress: &ProgressBar,
) -> anyhow::Result<Encoded> {
    crate::gst::init().map_err(anyhow::Error::msg)?;
    let (pipeline, appsrc, info) = build_pipeline(video, width, height, mp4)?;
    pipeline
        .set_state(gst::State::Playing)
        .map_err(|_| bus_error(&pipeline).unwrap_or_else(|| anyhow!("pipeline refused to start")))
        .with_context(|| format!("{}: cannot start encoding", mp4.display()))?;

    let workers = std::thread::available_parallelism().map_or(1, |n| n.get()) as u64;
    let pushed = std::thread::scope(|s| {
        let receivers: Vec<Receiver<TrackFrame>> = (0..workers)
            .map(|w| {
                let (tx, rx) = bounded(2);
                s.spawn(move || {
                    for i in (w..video.frames).step_by(workers as usize) {
                        if tx.send(track.frame(i)).is_err() {
                            return; // The encoder gave up.
                        }
                    }
                });
                rx
            })
            .collect();
        push_frames(&appsrc, &info, video, &receivers, progress)
        // Dropping the receivers here stops the workers early on error.
    });
    let finished = pushed.and_then(|rows| {
        appsrc
            .end_of_stream()
            .map_err(|flow| anyhow!("cannot end the stream: {flow:?}"))?;
        wait_eos(&pipeline)?;
        Ok(rows)
    });
    let _ = pipeline.set_state(gst::State::Null);
    let rows = finished.with_context(|| format!("{}: encoding failed", mp4.display()))?;

    let mut text = String::with_capacity(40 * (rows.len() + 1));
    text.push_str(GROUND_TRUTH_HEADER);
    text.push('\n');
    let mut cancer = 0;
    for (i, lesion) in rows.iter().enumerate() {
        let pts_ms = video.pts_ns(i as u64) as f64 / 1e6;
        match lesion {
            Some(r) => {
                cancer += 1;
                text.push_str(&format!(
                    "{i},{pts_ms:.3},cancer,{},{},{},{}\n",
                    r.x, r.y, r.w, r.h
                ));
            }
            None => text.push_str(&format!("{i},{pts_ms:.3},non-cancer,,,,\n")),
        }
    }
    std::fs::write(csv, text).with_context(|| format!("{}: cannot write", csv.display()))?;
    Ok(Encoded {
        frames: rows.len() as u64,
        cancer,
    })
}

/// `appsrc ! videoconvert ! x264enc ! mp4mux ! filesink location=mp4`.
fn build_pipeline(
    video: VideoConfig,
    width: u32,
    height: u32,
    mp4: &Path,
) -> anyhow::Result<(gst::Pipeline, gst_app::AppSrc, gst_video::VideoInfo)> {
    let fps = gst::Fraction::new(video.fps_num as i32, video.fps_den as i32);
    let info = gst_video::VideoInfo::builder(gst_video::VideoFormat::Rgb, width, height)
        .fps(fps)
        .build()
        .context("cannot describe the raw video format")?;
    let caps = info.to_caps().context("cannot build raw video caps")?;
    let appsrc = gst_app::AppSrc::builder()
        .name("synth-src")
        .caps(&caps)
        .format(gst::Format::Time)
        .is_live(false)
        .block(true)
        .max_bytes(3 * info.size() as u64)
        .build();
    let make = |factory: &str| {
        gst::ElementFactory::make(factory)
            .build()
            .with_context(|| format!("GStreamer element '{factory}' is not available"))
    };
    let convert = make("videoconvert")?;
    let encoder = make("x264enc")?;
    // Keyframes every two seconds keep seeking in the demo video cheap.
    let key_int = (2 * video.fps_num / video.fps_den).max(1);
    encoder.set_property_from_str("speed-preset", "veryfast");
    // Constant quality (x264's CRF 23) rather than the default 2 Mbit/s: smooth synthetic
    // mucosa needs far fewer bits, which keeps the bundled sample small.
    encoder.set_property_from_str("pass", "qual");
    encoder.set_property("quantizer", 23u32);
    encoder.set_property("key-int-max", key_int);
    let mux = make("mp4mux")?;
    let sink = make("filesink")?;
    sink.set_property("location", mp4.to_string_lossy().as_ref());

    let pipeline = gst::Pipeline::with_name("synth-video");
    pipeline
        .add_many([appsrc.upcast_ref(), &convert, &encoder, &mux, &sink])
        .context("cannot assemble the encoding pipeline")?;
    gst::Element::link_many([appsrc.upcast_ref(), &convert, &encoder, &mux, &sink])
        .context("cannot link appsrc ! videoconvert ! x264enc ! mp4mux ! filesink")?;
    Ok((pipeline, appsrc, info))
}

/// Pushes frames `0..video.frames` in order, frame `i` from `receivers[i % n]`; returns the
/// ground-truth box of every frame.
fn push_frames(
    appsrc: &gst_app::AppSrc,
    info: &gst_video::VideoInfo,
    video: VideoConfig,
    receivers: &[Receiver<TrackFrame>],
    progress: &ProgressBar,
) -> anyhow::Result<Vec<Option<super::layout::Rect>>> {
    let mut rows = Vec::with_capacity(video.frames as usize);
    for i in 0..video.frames {
        let frame = receivers[(i % receivers.len() as u64) as usize]
            .recv()
            .map_err(|_| anyhow!("frame {i}: renderer stopped"))?;
        let buffer = to_buffer(&frame.image, info, video, i)?;
        if let Err(flow) = appsrc.push_buffer(buffer) {
            let parent = appsrc
                .parent()
                .and_then(|p| p.downcast::<gst::Pipeline>().ok());
            return Err(parent
                .and_then(|p| bus_error(&p))
                .unwrap_or_else(|| anyhow!("frame {i}: appsrc refused the buffer: {flow:?}")));
        }
        rows.push(frame.lesion);
        progress.inc(1);
    }
    Ok(rows)
}

/// Copies an RGB image into a buffer laid out as `info` (rows padded to its stride), stamped
/// with the PTS and duration of frame `index`.
fn to_buffer(
    img: &image::RgbImage,
    info: &gst_video::VideoInfo,
    video: VideoConfig,
    index: u64,
) -> anyhow::Result<gst::Buffer> {
    let stride = info.stride()[0] as usize;
    let row = img.width() as usize * 3;
    let mut buffer =
        gst::Buffer::with_size(info.size()).context("cannot allocate a video buffer")?;
    {
        let buf = buffer.get_mut().context("new buffer is not writable")?;
        let pts = video.pts_ns(index);
        buf.set_pts(gst::ClockTime::from_nseconds(pts));
        buf.set_duration(gst::ClockTime::from_nseconds(video.pts_ns(index + 1) - pts));
        let mut map = buf.map_writable().context("cannot map a video buffer")?;
        for (dst, src) in map
            .chunks_exact_mut(stride)
            .zip(img.as_raw().chunks_exact(row))
        {
            dst[..row].copy_from_slice(src);
        }
    }
    Ok(buffer)
}

/// Waits for end-of-stream, failing on a bus error.
fn wait_eos(pipeline: &gst::Pipeline) -> anyhow::Result<()> {
    let bus = pipeline.bus().context("pipeline has no bus")?;
    let msg = bus.timed_pop_filtered(
        gst::ClockTime::from_seconds(EOS_TIMEOUT_S),
        &[gst::MessageType::Eos, gst::MessageType::Error],
    );
    match msg.as_ref().map(|m| m.view()) {
        Some(gst::MessageView::Eos(_)) => Ok(()),
        Some(gst::MessageView::Error(err)) => Err(describe(err)),
        _ => bail!("no end-of-stream after {EOS_TIMEOUT_S} s"),
    }
}

/// The first error waiting on the bus, if any.
fn bus_error(pipeline: &gst::Pipeline) -> Option<anyhow::Error> {
    let msg = pipeline
        .bus()?
        .timed_pop_filtered(gst::ClockTime::from_seconds(1), &[gst::MessageType::Error])?;
    match msg.view() {
        gst::MessageView::Error(err) => Some(describe(err)),
        _ => None,
    }
}

/// `element: error (debug)` on one line.
fn describe(err: &gst::message::Error) -> anyhow::Error {
    let src = err
        .src()
        .map_or_else(|| "pipeline".into(), |s| s.path_string());
    let debug = err
        .debug()
        .map(|d| format!(" ({})", d.replace('\n', " ")))
        .unwrap_or_default();
    anyhow!("{src}: {}{debug}", err.error())
}
