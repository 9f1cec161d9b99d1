//! Sink: writes RGB frames to an H.264 MP4 file that any player (and browser) can scrub.
//!
//! `appsrc → videoconvert → I420 → x264enc → h264parse → mp4mux faststart → filesink`.
//! Input: packed RGB images of one even size, each with its PTS, pushed in order from the
//! caller's thread; the appsrc blocks when its queue is full (back-pressure, never drops).
//! Encoding runs on GStreamer's streaming threads. [`VideoSink::finish`] sends EOS and waits
//! for the file to be complete. Failures (element missing, encoder error, disk full) come back
//! as [`SinkError`] naming the output file and the element.

use std::path::{Path, PathBuf};
use std::time::Duration;

use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;
use gstreamer_video as gst_video;

use crate::gst::{watch_bus, BusEvent, PipelineError};

/// x264 constant-quality factor (lower is better; 23 is x264's default, visually clean).
pub const DEFAULT_QUALITY: u32 = 23;
/// x264 speed preset: `veryfast` keeps 1080p encoding well ahead of inference on a laptop CPU.
pub const DEFAULT_SPEED_PRESET: &str = "veryfast";
/// Bytes of raw video the appsrc queues before `push` blocks.
const MAX_QUEUED_BYTES: u64 = 64 << 20;
/// How long `finish` waits for the muxer to complete the file.
const FINISH_TIMEOUT: Duration = Duration::from_secs(600);

/// Encoder settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Settings {
    /// x264 constant-quality factor, 0–51.
    pub quality: u32,
    /// x264 speed preset name (`ultrafast` … `veryslow`).
    pub speed_preset: &'static str,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            quality: DEFAULT_QUALITY,
            speed_preset: DEFAULT_SPEED_PRESET,
        }
    }
}

/// Why writing the video failed.
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    #[error("{}: cannot set up the encoder: {what}", path.display())]
    Setup { path: PathBuf, what: String },
    #[error("{}: frame {index} is {got_w}x{got_h}, the video is {width}x{height}", path.display())]
    Size {
        path: PathBuf,
        index: u64,
        got_w: u32,
        got_h: u32,
        width: u32,
        height: u32,
    },
    #[error("{}: encoding failed", path.display())]
    Pipeline {
        path: PathBuf,
        #[source]
        source: PipelineError,
    },
}

/// An MP4 file being written.
pub struct VideoSink {
    path: PathBuf,
    pipeline: gst::Pipeline,
    src: gst_app::AppSrc,
    width: u32,
    height: u32,
    pushed: u64,
    /// PTS of the first frame pushed: the video's time zero.
    first_pts: Option<Duration>,
    finished: bool,
}

impl VideoSink {
    /// Starts writing `path` with frames of `width × height` (both even) at nominal `fps`.
    pub fn new(
        path: &Path,
        width: u32,
        height: u32,
        fps: f64,
        settings: Settings,
    ) -> Result<Self, SinkError> {
        let setup = |what: String| SinkError::Setup {
            path: path.to_path_buf(),
            what,
        };
        crate::gst::init().map_err(setup)?;
        if width == 0 || height == 0 || width % 2 == 1 || height % 2 == 1 {
            return Err(setup(format!(
                "frame size {width}x{height} must be even and non-zero for H.264 4:2:0"
            )));
        }
        let location = path
            .to_str()
            .ok_or_else(|| setup("the path is not valid UTF-8".into()))?;
        let fps = if fps.is_finite() && fps > 0.0 {
            fps
        } else {
            30.0
        };
        let fps = gst::Fraction::approximate_f64(fps).unwrap_or_else(|| gst::Fraction::new(30, 1));
        let caps = gst_video::VideoCapsBuilder::new()
            .format(gst_video::VideoFormat::Rgb)
            .width(width as i32)
            .height(height as i32)
            .framerate(fps)
            .build();
        let src = gst_app::AppSrc::builder()
            .name("annotated")
            .caps(&caps)
            .format(gst::Format::Time)
            .is_live(false)
            .block(true)
            .max_bytes(MAX_QUEUED_BYTES)
            .build();
        let pipeline = gst::Pipeline::with_name("annotated-video");
        let mut chain = vec![src.clone().upcast::<gst::Element>()];
        chain.extend(encoder_chain(location, settings).map_err(setup)?);
        pipeline
            .add_many(&chain)
            .map_err(|e| setup(e.to_string()))?;
        gst::Element::link_many(&chain).map_err(|e| setup(e.to_string()))?;
        let sink = Self {
            path: path.to_path_buf(),
            pipeline,
            src,
            width,
            height,
            pushed: 0,
            first_pts: None,
            finished: false,
        };
        if sink.pipeline.set_state(gst::State::Playing).is_err() {
            return Err(sink.bus_error("the encoder refused to start"));
        }
        tracing::info!("{}: writing {width}x{height} H.264", path.display());
        Ok(sink)
    }

    /// Frame size the video was opened with.
    pub fn size(&self) -> (u32, u32) {
        (self.width, self.height)
    }

    /// A handle that stops the encoder from another thread (a push blocked on a hung encoder
    /// then returns with an error).
    pub fn aborter(&self) -> impl Fn() + Send + Sync + 'static {
        let pipeline = self.pipeline.clone();
        move || {
            let _ = pipeline.set_state(gst::State::Null);
        }
    }

    /// Frames pushed so far.
    pub fn frames(&self) -> u64 {
        self.pushed
    }

    /// Queues one frame; blocks while the encoder is behind.
    pub fn push(
        &mut self,
        image: &image::RgbImage,
        pts: Duration,
        duration: Option<Duration>,
    ) -> Result<(), SinkError> {
        let (w, h) = image.dimensions();
        if (w, h) != (self.width, self.height) {
            return Err(SinkError::Size {
                path: self.path.clone(),
                index: self.pushed,
                got_w: w,
                got_h: h,
                width: self.width,
                height: self.height,
            });
        }
        // GStreamer's default RGB stride rounds rows up to 4 bytes.
        let row = w as usize * 3;
        let stride = row.next_multiple_of(4);
        let data = if stride == row {
            image.as_raw().clone()
        } else {
            let mut padded = vec![0u8; stride * h as usize];
            for (dst, src) in padded
                .chunks_exact_mut(stride)
                .zip(image.as_raw().chunks_exact(row))
            {
                dst[..row].copy_from_slice(src);
            }
            padded
        };
        let mut buffer = gst::Buffer::from_mut_slice(data);
        {
            let b = buffer.get_mut().expect("a new buffer is writable");
            // The video starts at its first frame, whatever the source's clock said.
            let pts = pts.saturating_sub(*self.first_pts.get_or_insert(pts));
            b.set_pts(gst::ClockTime::from_nseconds(pts.as_nanos() as u64));
            if let Some(d) = duration {
                b.set_duration(gst::ClockTime::from_nseconds(d.as_nanos() as u64));
            }
        }
        if self.src.push_buffer(buffer).is_err() {
            return Err(self.bus_error("the encoder stopped accepting frames"));
        }
        self.pushed += 1;
        Ok(())
    }

    /// Ends the stream and waits until the MP4 is complete on disk.
    pub fn finish(mut self) -> Result<u64, SinkError> {
        self.finished = true;
        if self.src.end_of_stream().is_err() {
            return Err(self.bus_error("the encoder did not accept the end of stream"));
        }
        let bus = self.pipeline.bus().expect("a pipeline always has a bus");
        let deadline = std::time::Instant::now() + FINISH_TIMEOUT;
        let result = loop {
            match watch_bus(&bus, gst::ClockTime::from_seconds(1)) {
                Some(BusEvent::Eos) => break Ok(self.pushed),
                Some(BusEvent::Error(source)) => {
                    break Err(SinkError::Pipeline {
                        path: self.path.clone(),
                        source,
                    })
                }
                None if std::time::Instant::now() > deadline => {
                    break Err(SinkError::Pipeline {
                        path: self.path.clone(),
                        source: PipelineError::app(
                            "sink",
                            "timed out waiting for the file to be finalised",
                        ),
                    })
                }
                None => {}
            }
        };
        let _ = self.pipeline.set_state(gst::State::Null);
        result
    }

    fn bus_error(&self, fallback: &str) -> SinkError {
        let bus = self.pipeline.bus().expect("a pipeline always has a bus");
        let source = match watch_bus(&bus, gst::ClockTime::from_mseconds(500)) {
            Some(BusEvent::Error(e)) => e,
            _ => PipelineError::app("sink", fallback),
        };
        SinkError::Pipeline {
            path: self.path.clone(),
            source,
        }
    }
}

/// `videoconvert → I420 → x264enc → h264parse → mp4mux → filesink(location)`.
fn encoder_chain(location: &str, settings: Settings) -> Result<Vec<gst::Element>, String> {
    use crate::gst::element;
    // 4:2:0 so browsers and hospital PCs can play the file (x264 would pick 4:4:4 for RGB).
    let i420 = gst_video::VideoCapsBuilder::new()
        .format(gst_video::VideoFormat::I420)
        .build();
    let encoder = element("x264enc", &[("quantizer", &settings.quality.min(51))])?;
    encoder.set_property_from_str("pass", "qual");
    encoder.set_property_from_str("speed-preset", settings.speed_preset);
    Ok(vec![
        element("videoconvert", &[])?,
        element("capsfilter", &[("caps", &i420)])?,
        encoder,
        element("h264parse", &[])?,
        element("mp4mux", &[("faststart", &true)])?,
        element("filesink", &[("location", &location)])?,
    ])
}

impl Drop for VideoSink {
    fn drop(&mut self) {
        if !self.finished {
            tracing::warn!(
                "{}: closed after {} frames without finishing; the file is incomplete",
                self.path.display(),
                self.pushed
            );
        }
        let _ = self.pipeline.set_state(gst::State::Null);
    }
}
