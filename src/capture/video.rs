//! Video files through GStreamer: `filesrc → decodebin → videoconvert → appsink(RGB)`.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;
use gstreamer_video as gst_video;

use super::{CaptureError, Frame, PixelFormat, Pixels, Settings, SourceKind, StreamInfo, POLL};
use crate::gst::{watch_bus, BusEvent, PipelineError};

/// A decoded stream that ends this much (or three frames, if more) before the container's
/// duration is reported as truncated. Looser than a frame because containers round durations
/// and may count a longer audio track.
const TRUNCATION_TOLERANCE: Duration = Duration::from_millis(250);
/// How long every streaming task may sit paused, with no frame, error or EOS, before the
/// input is declared undecodable (see `check_stall`).
const STALL_TIME: Duration = Duration::from_secs(2);

pub(super) struct VideoSource {
    path: PathBuf,
    pipeline: gst::Pipeline,
    sink: gst_app::AppSink,
    bus: gst::Bus,
    /// Set by `no-more-pads` when decodebin found no video stream.
    no_video: Arc<AtomicBool>,
    /// Caps of the last sample and their parsed form.
    caps: Option<(gst::Caps, gst_video::VideoInfo)>,
    index: u64,
    last_pts: Option<Duration>,
    /// Where the stream's time starts (see [`super::timeline`]).
    origin: super::timeline::PtsOrigin,
    last_duration: Option<Duration>,
    fps: Option<f64>,
    duration: Option<Duration>,
    /// An error seen on the bus, returned once the frames decoded before it are delivered.
    pending: Option<CaptureError>,
    /// When every streaming task was first seen paused with no frame and no EOS.
    stalled_since: Option<std::time::Instant>,
    done: bool,
    /// Raised by whoever runs the capture to stop a wait for the next sample.
    pub(super) cancel: Option<Arc<AtomicBool>>,
    /// Hand out the decoder's buffers mapped instead of copying them.
    zero_copy: bool,
}

#[path = "video_frame.rs"]
mod frame_of;
#[path = "video_pads.rs"]
mod pads;
use pads::{check_file, link_decoded_pad, tasks_all_paused};

/// `filesrc(location) → decodebin` and `videoconvert → appsink(RGB)`, joined when decodebin
/// exposes the video pad; the flag is raised when the input turns out to have no video.
fn decode_pipeline(
    location: &str,
    settings: &Settings,
) -> Result<(gst::Pipeline, gst_app::AppSink, Arc<AtomicBool>), String> {
    use crate::gst::element;
    let pipeline = gst::Pipeline::with_name("capture");
    let filesrc = element("filesrc", &[("location", &location)])?;
    let decodebin = element("decodebin", &[])?;
    let convert = element("videoconvert", &[])?;
    // Fixed in code: the rest of endoscan reads packed RGB.
    let caps = gst_video::VideoCapsBuilder::new()
        .format(gst_video::VideoFormat::Rgb)
        .build();
    let sink = gst_app::AppSink::builder()
        .name("frames")
        .caps(&caps)
        .max_buffers(settings.max_buffers.max(1))
        .drop(settings.drop)
        // Decode as fast as the consumer takes frames; offline there is no clock to follow.
        .sync(false)
        .enable_last_sample(false)
        .build();
    pipeline
        .add_many([&filesrc, &decodebin, &convert, sink.upcast_ref()])
        .map_err(|e| e.to_string())?;
    filesrc.link(&decodebin).map_err(|e| e.to_string())?;
    convert.link(&sink).map_err(|e| e.to_string())?;
    let no_video = Arc::new(AtomicBool::new(false));
    link_video_when_decoded(&pipeline, &decodebin, &convert, &no_video);
    Ok((pipeline, sink, no_video))
}

/// Links `decoder`'s (decodebin, uridecodebin) video pad to `convert` as it appears; other
/// streams (audio) go to fakesinks; a stream without video posts an error.
pub(crate) fn link_video_pads(
    pipeline: &gst::Pipeline,
    decoder: &gst::Element,
    convert: &gst::Element,
) {
    link_video_when_decoded(
        pipeline,
        decoder,
        convert,
        &Arc::new(AtomicBool::new(false)),
    );
}

/// Links decodebin's video pad to `convert` as it appears; raises `no_video` (and posts an
/// error) when decodebin has exposed every stream and none was video.
fn link_video_when_decoded(
    pipeline: &gst::Pipeline,
    decodebin: &gst::Element,
    convert: &gst::Element,
    no_video: &Arc<AtomicBool>,
) {
    let video_linked = Arc::new(AtomicBool::new(false));
    let pipeline_weak = pipeline.downgrade();
    let convert_weak = convert.downgrade();
    let linked = video_linked.clone();
    decodebin.connect_pad_added(move |_, pad| {
        let (Some(pipeline), Some(convert)) = (pipeline_weak.upgrade(), convert_weak.upgrade())
        else {
            return;
        };
        link_decoded_pad(&pipeline, &convert, pad, &linked);
    });
    let flag = no_video.clone();
    decodebin.connect_no_more_pads(move |bin| {
        if !video_linked.load(Ordering::SeqCst) {
            flag.store(true, Ordering::SeqCst);
            gst::element_error!(bin, gst::StreamError::WrongType, ("no video stream"));
        }
    });
}

impl VideoSource {
    pub(super) fn open(path: &Path, settings: Settings) -> Result<Self, CaptureError> {
        check_file(path)?;
        super::init().map_err(|what| CaptureError::Setup {
            path: path.to_path_buf(),
            what,
        })?;
        let setup = |what: String| CaptureError::Setup {
            path: path.to_path_buf(),
            what,
        };
        let location = path
            .to_str()
            .ok_or_else(|| setup("the path is not valid UTF-8".into()))?;

        let (pipeline, sink, no_video) = decode_pipeline(location, &settings).map_err(setup)?;

        let bus = pipeline.bus().expect("a pipeline always has a bus");
        let source = Self {
            path: path.to_path_buf(),
            pipeline,
            sink,
            bus,
            no_video,
            caps: None,
            index: 0,
            last_pts: None,
            origin: Default::default(),
            last_duration: None,
            fps: None,
            duration: None,
            pending: None,
            stalled_since: None,
            done: false,
            cancel: None,
            zero_copy: settings.zero_copy,
        };
        if source.pipeline.set_state(gst::State::Playing).is_err() {
            // The reason is on the bus.
            let err = match watch_bus(&source.bus, gst::ClockTime::from_seconds(1)) {
                Some(BusEvent::Error(e)) => source.classify(e),
                _ => setup("the pipeline refused to start".into()),
            };
            source.shutdown();
            return Err(err);
        }
        Ok(source)
    }

    pub(super) fn info(&self) -> StreamInfo {
        let frames_hint = match (self.duration, self.fps) {
            (Some(d), Some(fps)) => Some((d.as_secs_f64() * fps).round() as u64),
            _ => None,
        };
        StreamInfo {
            kind: SourceKind::Video,
            fps: self.fps,
            duration: self.duration,
            frames_hint,
        }
    }

    pub(super) fn next_frame(&mut self) -> Result<Option<Frame>, CaptureError> {
        let Some(sample) = self.next_sample()? else {
            return Ok(None);
        };
        self.frame_of(&sample).map(Some)
    }

    pub(super) fn skip(&mut self, n: u64) -> Result<u64, CaptureError> {
        for skipped in 0..n {
            let Some(sample) = self.next_sample()? else {
                return Ok(skipped);
            };
            self.timing(&sample)?;
        }
        Ok(n)
    }

    /// Pulls the next sample; on EOS checks for errors and truncation.
    fn next_sample(&mut self) -> Result<Option<gst::Sample>, CaptureError> {
        if self.done {
            return Ok(None);
        }
        loop {
            if self
                .cancel
                .as_ref()
                .is_some_and(|c| c.load(Ordering::SeqCst))
            {
                self.finish();
                return Err(CaptureError::Cancelled {
                    path: self.path.clone(),
                    frames: self.index,
                });
            }
            let wait = if self.pending.is_some() {
                gst::ClockTime::ZERO
            } else {
                gst::ClockTime::from_nseconds(POLL.as_nanos() as u64)
            };
            if let Some(sample) = self.sink.try_pull_sample(wait) {
                return Ok(Some(sample));
            }
            if let Some(err) = self.pending.take() {
                self.finish();
                return Err(err);
            }
            if self.sink.is_eos() {
                self.finish();
                // An error racing the EOS still wins.
                if let Some(BusEvent::Error(e)) = watch_bus(&self.bus, gst::ClockTime::ZERO) {
                    return Err(self.classify(e));
                }
                self.check_complete()?;
                return Ok(None);
            }
            match watch_bus(&self.bus, gst::ClockTime::ZERO) {
                Some(BusEvent::Error(e)) => self.pending = Some(self.classify(e)),
                // The appsink reports EOS itself once its queue is empty.
                Some(BusEvent::Eos) => {}
                None => self.check_stall()?,
            }
        }
    }

    /// decodebin (1.22) drops an error that a demuxer posts while it is still being plugged
    /// (e.g. qtdemux on an mp4 without its index), leaving a pipeline that never prerolls and
    /// never says why. Such a pipeline has streaming tasks but none running: after that has
    /// lasted [`STALL_TIME`], report the file as undecodable instead of waiting forever.
    fn check_stall(&mut self) -> Result<(), CaptureError> {
        if !tasks_all_paused(&self.pipeline) {
            self.stalled_since = None;
            return Ok(());
        }
        let since = *self
            .stalled_since
            .get_or_insert_with(std::time::Instant::now);
        if since.elapsed() < STALL_TIME {
            return Ok(());
        }
        self.finish();
        Err(self.decode_error(&format!(
            "decoding stopped after {} frames without an error from GStreamer (damaged or truncated file?)",
            self.index
        )))
    }

    /// At EOS: a stream that produced no frame, or ended well before the container's stated
    /// duration, is an error rather than a short study.
    fn check_complete(&mut self) -> Result<(), CaptureError> {
        let Some(last) = self.last_pts else {
            return Err(self.decode_error("the stream ended before any frame was decoded"));
        };
        self.learn_duration();
        let decoded = last + self.last_duration.unwrap_or_default();
        match self.duration {
            Some(duration) => {
                let tolerance = TRUNCATION_TOLERANCE.max(3 * self.last_duration.unwrap_or_default());
                if decoded + tolerance < duration {
                    return Err(CaptureError::Truncated {
                        path: self.path.clone(),
                        frames: self.index,
                        decoded,
                        duration,
                    });
                }
            }
            None => tracing::warn!(
                "{}: the container states no duration, so a truncated file cannot be told from a short one",
                self.path.display()
            ),
        }
        Ok(())
    }

    /// Asks the pipeline for the container's duration until it knows one; a wrapped one
    /// (see [`super::timeline`]) counts as unknown.
    pub(super) fn learn_duration(&mut self) {
        if self.duration.is_none() {
            let stated = self
                .pipeline
                .query_duration::<gst::ClockTime>()
                .map(|d| Duration::from_nanos(d.nseconds()));
            self.duration = super::timeline::plausible(stated);
        }
    }

    fn classify(&self, err: PipelineError) -> CaptureError {
        let path = self.path.clone();
        if self.no_video.load(Ordering::SeqCst) {
            CaptureError::NoVideoStream { path }
        } else if err.not_media {
            CaptureError::NotVideo { path, source: err }
        } else {
            let mut source = err;
            if source.error.contains("no playable streams") {
                // qtdemux says this when the index (moov) is missing: an mp4 cut off before
                // the recorder finalised it.
                source.error.push_str(" (truncated or unfinalised file?)");
            }
            CaptureError::Decode { path, source }
        }
    }

    fn decode_error(&self, what: &str) -> CaptureError {
        CaptureError::Decode {
            path: self.path.clone(),
            source: PipelineError::app("capture", what),
        }
    }

    fn finish(&mut self) {
        self.done = true;
        self.shutdown();
    }

    fn shutdown(&self) {
        let _ = self.pipeline.set_state(gst::State::Null);
    }
}

impl Drop for VideoSource {
    fn drop(&mut self) {
        self.shutdown();
    }
}
