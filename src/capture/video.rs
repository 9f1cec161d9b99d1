//! Video files through GStreamer: `filesrc → decodebin → videoconvert → appsink(RGB)`.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;
use gstreamer_video as gst_video;
use gstreamer_video::prelude::*;

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

        let pipeline = gst::Pipeline::with_name("capture");
        let make = |factory: &str| {
            gst::ElementFactory::make(factory)
                .build()
                .map_err(|e| setup(format!("element {factory} is not available: {e}")))
        };
        let filesrc = gst::ElementFactory::make("filesrc")
            .property("location", location)
            .build()
            .map_err(|e| setup(format!("element filesrc is not available: {e}")))?;
        let decodebin = make("decodebin")?;
        let convert = make("videoconvert")?;
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
            .map_err(|e| setup(e.to_string()))?;
        filesrc.link(&decodebin).map_err(|e| setup(e.to_string()))?;
        convert.link(&sink).map_err(|e| setup(e.to_string()))?;

        let video_linked = Arc::new(AtomicBool::new(false));
        let no_video = Arc::new(AtomicBool::new(false));
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
        let linked = video_linked.clone();
        let flag = no_video.clone();
        decodebin.connect_no_more_pads(move |bin| {
            if !linked.load(Ordering::SeqCst) {
                flag.store(true, Ordering::SeqCst);
                gst::element_error!(bin, gst::StreamError::WrongType, ("no video stream"));
            }
        });

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

    /// Reads the sample's caps and timing, advancing the frame index; returns the frame's
    /// index, PTS and duration.
    fn timing(
        &mut self,
        sample: &gst::Sample,
    ) -> Result<(u64, Duration, Option<Duration>), CaptureError> {
        let caps = sample
            .caps()
            .ok_or_else(|| self.decode_error("decoded sample without caps"))?;
        if self.caps.as_ref().is_none_or(|(c, _)| c.as_ref() != caps) {
            let info = gst_video::VideoInfo::from_caps(caps)
                .map_err(|e| self.decode_error(&format!("unusable caps {caps}: {e}")))?;
            let fps = info.fps();
            self.fps = (fps.numer() > 0 && fps.denom() > 0)
                .then(|| fps.numer() as f64 / fps.denom() as f64);
            if self.caps.is_none() {
                tracing::debug!(
                    "{}: {}x{} RGB, {} fps",
                    self.path.display(),
                    info.width(),
                    info.height(),
                    self.fps
                        .map(|f| format!("{f:.3}"))
                        .unwrap_or_else(|| "variable".into())
                );
            }
            self.caps = Some((caps.to_owned(), info));
        }
        if self.duration.is_none() {
            self.duration = self
                .pipeline
                .query_duration::<gst::ClockTime>()
                .map(|d| Duration::from_nanos(d.nseconds()));
        }
        let buffer = sample
            .buffer()
            .ok_or_else(|| self.decode_error("decoded sample without a buffer"))?;
        let stream_time = buffer.pts().and_then(|pts| {
            sample
                .segment()
                .and_then(|s| s.downcast_ref::<gst::ClockTime>())
                .and_then(|s| s.to_stream_time(pts))
                .or(Some(pts))
        });
        let frame_duration = buffer
            .duration()
            .map(|d| Duration::from_nanos(d.nseconds()))
            .or_else(|| self.fps.map(|f| Duration::from_secs_f64(1.0 / f)));
        let pts = match stream_time {
            Some(t) => Duration::from_nanos(t.nseconds()),
            // No timestamp: continue from the previous frame.
            None => match self.last_pts {
                Some(prev) => prev + self.last_duration.unwrap_or_default(),
                None => Duration::ZERO,
            },
        };
        let index = self.index;
        self.index += 1;
        self.last_pts = Some(pts);
        self.last_duration = frame_duration;
        Ok((index, pts, frame_duration))
    }

    fn frame_of(&mut self, sample: &gst::Sample) -> Result<Frame, CaptureError> {
        let (index, pts, duration) = self.timing(sample)?;
        let (_, info) = self.caps.as_ref().expect("timing() stored the caps");
        let buffer = sample.buffer().expect("timing() checked the buffer");
        let vframe = gst_video::VideoFrameRef::from_buffer_ref_readable(buffer, info)
            .map_err(|e| self.decode_error(&format!("cannot map frame {index}: {e}")))?;
        let stride = vframe.plane_stride()[0] as usize;
        let (width, height) = (vframe.width(), vframe.height());
        let plane = vframe
            .plane_data(0)
            .map_err(|e| self.decode_error(&format!("cannot read frame {index}: {e}")))?;
        let size = stride * height as usize;
        if stride < width as usize * 3 || plane.len() < size {
            return Err(self.decode_error(&format!(
                "frame {index}: plane of {} bytes is too small for {width}x{height} RGB with stride {stride}",
                plane.len()
            )));
        }
        tracing::trace!(index, pts_ms = pts.as_secs_f64() * 1e3, "decoded frame");
        // Decoders mark a frame they could only partly reconstruct (a damaged slice, a missing
        // reference) instead of dropping it: such pixels are concealment, not a picture.
        let corrupt = buffer
            .flags()
            .contains(gst::BufferFlags::CORRUPTED)
            .then(|| "the decoder marked the frame corrupted".to_string());
        let offset = info.offset()[0];
        let data = if self.zero_copy && offset == 0 {
            drop(vframe);
            let owned = sample.buffer_owned().expect("timing() checked the buffer");
            let mapped = owned
                .into_mapped_buffer_readable()
                .map_err(|_| self.decode_error(&format!("cannot map frame {index}")))?;
            Pixels::Mapped(mapped)
        } else {
            Pixels::Host(plane[..size].to_vec())
        };
        Ok(Frame {
            index,
            pts,
            duration,
            width,
            height,
            stride,
            format: PixelFormat::Rgb,
            data,
            captured: std::time::Instant::now(),
            corrupt,
        })
    }

    /// At EOS: a stream that produced no frame, or ended well before the container's stated
    /// duration, is an error rather than a short study.
    fn check_complete(&mut self) -> Result<(), CaptureError> {
        let Some(last) = self.last_pts else {
            return Err(self.decode_error("the stream ended before any frame was decoded"));
        };
        if self.duration.is_none() {
            self.duration = self
                .pipeline
                .query_duration::<gst::ClockTime>()
                .map(|d| Duration::from_nanos(d.nseconds()));
        }
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

/// Whether the pipeline has streaming tasks and all of them are paused or stopped.
fn tasks_all_paused(pipeline: &gst::Pipeline) -> bool {
    let mut tasks = 0;
    let mut running = 0;
    for element in pipeline.iterate_recurse().into_iter().flatten() {
        for pad in element.iterate_pads().into_iter().flatten() {
            match pad.task_state() {
                gst::TaskState::Started => running += 1,
                gst::TaskState::Paused => tasks += 1,
                _ => {}
            }
        }
    }
    tasks > 0 && running == 0
}

/// Links decodebin's first video pad to the converter; other streams (audio, subtitles) go to
/// a fakesink so they cannot stall the demuxer.
fn link_decoded_pad(
    pipeline: &gst::Pipeline,
    convert: &gst::Element,
    pad: &gst::Pad,
    video_linked: &AtomicBool,
) {
    let caps = pad.current_caps().unwrap_or_else(|| pad.query_caps(None));
    let is_video = caps
        .structure(0)
        .is_some_and(|s| s.name().starts_with("video/"));
    if is_video && !video_linked.swap(true, Ordering::SeqCst) {
        let Some(sinkpad) = convert.static_pad("sink") else {
            return;
        };
        if let Err(e) = pad.link(&sinkpad) {
            gst::element_error!(
                convert,
                gst::CoreError::Negotiation,
                ("cannot link the decoded video: {e:?}")
            );
        }
        return;
    }
    tracing::debug!("ignoring decoded stream {caps}");
    let Ok(fakesink) = gst::ElementFactory::make("fakesink")
        .property("sync", false)
        .property("async", false)
        .build()
    else {
        return;
    };
    if pipeline.add(&fakesink).is_ok() {
        let _ = fakesink.sync_state_with_parent();
        if let Some(sinkpad) = fakesink.static_pad("sink") {
            let _ = pad.link(&sinkpad);
        }
    }
}

/// Missing, unreadable or empty files fail before GStreamer sees them, with plain words.
fn check_file(path: &Path) -> Result<(), CaptureError> {
    let meta = std::fs::metadata(path).map_err(|source| match source.kind() {
        std::io::ErrorKind::NotFound => CaptureError::NotFound {
            path: path.to_path_buf(),
        },
        _ => CaptureError::Io {
            path: path.to_path_buf(),
            source,
        },
    })?;
    std::fs::File::open(path).map_err(|source| CaptureError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    if meta.len() == 0 {
        return Err(CaptureError::Empty {
            path: path.to_path_buf(),
        });
    }
    Ok(())
}
