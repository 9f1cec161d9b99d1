//! A live source through GStreamer: `SOURCE → (decode) → videoconvert → videoscale →
//! appsink(RGB, W×H)`. Devices and network streams are taken as they come; a file plays at its
//! own rate (the appsink syncs to the clock) as if it were live.
//!
//! The source counts as lost when its bus reports an error or EOS (network streams and
//! devices), or when no frame comes for [`QUIET_LIMIT`].

use std::time::{Duration, Instant};

use anyhow::{anyhow, Context};
use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;
use gstreamer_video as gst_video;

use super::{LiveSource, Pull, SourceFormat, SourceSpec};
use crate::gst::element;

/// How long a connection may take to deliver its first frame.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// A connected source silent this long is lost.
const QUIET_LIMIT: Duration = Duration::from_millis(1500);
/// Jitter buffer of network (RTSP) sources: small, this is live video.
const NETWORK_LATENCY_MS: u32 = 100;

pub(super) struct GstSource {
    pipeline: gst::Pipeline,
    sink: gst_app::AppSink,
    bus: gst::Bus,
    /// A recording: its end is the end of the run, not a loss.
    file: bool,
    first: Option<gst::Buffer>,
    last_frame: Instant,
}

impl GstSource {
    /// Builds and starts the pipeline, waiting for its first frame.
    pub(super) fn connect(
        spec: &SourceSpec,
        size: Option<(u32, u32)>,
    ) -> anyhow::Result<(Self, SourceFormat)> {
        let (pipeline, sink, file) = build(spec, size).map_err(|e| anyhow!(e))?;
        let bus = pipeline.bus().context("a pipeline has a bus")?;
        pipeline
            .set_state(gst::State::Playing)
            .map_err(|_| anyhow!("{}: the source does not start", spec.describe()))?;
        let mut source = Self {
            pipeline,
            sink,
            bus,
            file,
            first: None,
            last_frame: Instant::now(),
        };
        let deadline = Instant::now() + CONNECT_TIMEOUT;
        while Instant::now() < deadline {
            if let Some(reason) = source.bus_trouble() {
                return Err(anyhow!("{}: {reason}", spec.describe()));
            }
            if let Some(sample) = source
                .sink
                .try_pull_sample(gst::ClockTime::from_mseconds(100))
            {
                let format = format_of(&sample)
                    .with_context(|| format!("{}: unreadable video caps", spec.describe()))?;
                source.first = sample.buffer_owned();
                source.last_frame = Instant::now();
                return Ok((source, format));
            }
        }
        Err(anyhow!(
            "{}: no video within {} s",
            spec.describe(),
            CONNECT_TIMEOUT.as_secs()
        ))
    }

    /// An error or end of stream on the bus, as text.
    fn bus_trouble(&self) -> Option<String> {
        let msg = self
            .bus
            .pop_filtered(&[gst::MessageType::Error, gst::MessageType::Eos])?;
        Some(match msg.view() {
            gst::MessageView::Error(e) => format!(
                "{} ({})",
                e.error(),
                msg.src()
                    .map_or("?".into(), |s| s.path_string().to_string())
            ),
            _ => "end of stream".into(),
        })
    }
}

impl LiveSource for GstSource {
    fn pull(&mut self, timeout: Duration) -> Pull {
        if let Some(first) = self.first.take() {
            return Pull::Frame(first, None);
        }
        if let Some(sample) = self
            .sink
            .try_pull_sample(gst::ClockTime::from_nseconds(timeout.as_nanos() as u64))
        {
            if let Some(buffer) = sample.buffer_owned() {
                self.last_frame = Instant::now();
                return Pull::Frame(buffer, None);
            }
        }
        if self.sink.is_eos() && self.file {
            return Pull::Ended;
        }
        if let Some(reason) = self.bus_trouble() {
            return if self.file && reason == "end of stream" {
                Pull::Ended
            } else {
                Pull::Lost(reason)
            };
        }
        if self.last_frame.elapsed() > QUIET_LIMIT {
            return Pull::Lost(format!(
                "no frame for {:.1} s",
                self.last_frame.elapsed().as_secs_f64()
            ));
        }
        Pull::Nothing
    }
}

impl Drop for GstSource {
    fn drop(&mut self) {
        let _ = self.pipeline.set_state(gst::State::Null);
    }
}

/// The frame size and rate a sample's caps say.
fn format_of(sample: &gst::Sample) -> anyhow::Result<SourceFormat> {
    let caps = sample.caps().context("a sample without caps")?;
    let info = gst_video::VideoInfo::from_caps(caps)?;
    Ok(SourceFormat {
        width: info.width(),
        height: info.height(),
        fps: crate::gst::fps_of(&info).unwrap_or(super::DEFAULT_FPS),
    })
}

/// The source pipeline of `spec`; `size` forces the output size (aspect kept, borders black).
fn build(
    spec: &SourceSpec,
    size: Option<(u32, u32)>,
) -> Result<(gst::Pipeline, gst_app::AppSink, bool), String> {
    let pipeline = gst::Pipeline::with_name("live-source");
    let convert = element("videoconvert", &[])?;
    let scale = element("videoscale", &[("add-borders", &true)])?;
    let mut caps = gst_video::VideoCapsBuilder::new().format(gst_video::VideoFormat::Rgb);
    if let Some((w, h)) = size {
        caps = caps.width(w as i32).height(h as i32);
    }
    let file = matches!(spec, SourceSpec::Uri { file: true, .. });
    let sink = gst_app::AppSink::builder()
        .name("live-frames")
        .caps(&caps.build())
        .max_buffers(2)
        .drop(true)
        // A file plays at its own rate; live sources come at theirs.
        .sync(file)
        .enable_last_sample(false)
        .build();
    pipeline
        .add_many([&convert, &scale, sink.upcast_ref()])
        .map_err(|e| e.to_string())?;
    gst::Element::link_many([&convert, &scale, sink.upcast_ref()]).map_err(|e| e.to_string())?;
    match spec {
        SourceSpec::Device(path) => {
            // Capture cards give raw video, webcams often MJPEG: decodebin takes both.
            let src = element("v4l2src", &[("device", &path.display().to_string())])?;
            let decode = element("decodebin", &[])?;
            pipeline
                .add_many([&src, &decode])
                .map_err(|e| e.to_string())?;
            src.link(&decode).map_err(|e| e.to_string())?;
            crate::capture::link_video_pads(&pipeline, &decode, &convert);
        }
        SourceSpec::Uri { uri, .. } => {
            let src = element("uridecodebin", &[("uri", uri)])?;
            src.connect("source-setup", false, |args| {
                let source = args[1].get::<gst::Element>().ok()?;
                if source.find_property("latency").is_some() {
                    source.set_property("latency", NETWORK_LATENCY_MS);
                }
                None
            });
            pipeline.add(&src).map_err(|e| e.to_string())?;
            crate::capture::link_video_pads(&pipeline, &src, &convert);
        }
        SourceSpec::Description { text, file } => {
            // A description may end in caps (`… ! video/x-raw,width=1920`): caps only filter a
            // link, so give them one.
            let bin = gst::parse::bin_from_description(&format!("{text} ! queue"), true)
                .map_err(|e| format!("{}: {e}", file.display()))?;
            let decode = element("decodebin", &[])?;
            pipeline
                .add_many([bin.upcast_ref(), &decode])
                .map_err(|e| e.to_string())?;
            bin.link(&decode)
                .map_err(|_| format!("{}: the description has no source pad", file.display()))?;
            crate::capture::link_video_pads(&pipeline, &decode, &convert);
        }
        SourceSpec::Test(_) => return Err("test:// is not a GStreamer source".into()),
    }
    Ok((pipeline, sink, file))
}
