//! The display pipeline of `endoscan live`:
//!
//! ```text
//! appsrc(RGB, live) ! endoscan ! tee ─ queue(leaky) ! videoconvert ! display sink (no sync)
//!                                   └ queue(leaky) ! videoconvert ! x264enc ! mp4mux ! file
//! ```
//!
//! Every frame is stamped with the pipeline's running time when it is pushed (its capture
//! time) and read again where it reaches the display sink: the difference is the
//! capture→display latency. Queues before the sinks leak rather than block, so a slow display
//! or encoder can never hold the capture back. The MP4 is fragmented (one fragment a second):
//! it stays playable however the run ends.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use anyhow::{anyhow, Context};
use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;
use gstreamer_video as gst_video;

use super::args::Display;
use super::latency::LatencyLog;
use super::source::SourceFormat;
use crate::element::settings::Settings as ElementSettings;
use crate::overlay::canvas::{Canvas, RawLayout};
use crate::overlay::live::draw_no_signal;

/// What the display sink saw.
#[derive(Default)]
pub struct Shown {
    pub displayed: AtomicU64,
    /// Capture→display latency of real (not NO SIGNAL) frames, ms.
    pub latency: Mutex<LatencyLog>,
}

/// How the display pipeline is made.
pub struct DisplaySettings {
    pub format: SourceFormat,
    pub display: Display,
    pub record: Option<PathBuf>,
    pub element: ElementSettings,
}

/// A running display pipeline.
pub struct DisplayPipeline {
    pub pipeline: gst::Pipeline,
    appsrc: gst_app::AppSrc,
    format: SourceFormat,
    pub shown: Arc<Shown>,
    no_signal: gst::Buffer,
}

impl DisplayPipeline {
    /// Builds the pipeline and starts it playing.
    pub fn start(settings: &DisplaySettings) -> anyhow::Result<Self> {
        crate::element::register_static().context("cannot register the endoscan element")?;
        let f = settings.format;
        let pipeline = gst::parse::launch(&description(settings))
            .context("cannot build the display pipeline")?
            .downcast::<gst::Pipeline>()
            .map_err(|_| anyhow!("the display description is not a pipeline"))?;
        let by_name = |name: &str| {
            pipeline
                .by_name(name)
                .with_context(|| format!("the display pipeline has no '{name}'"))
        };
        let appsrc = by_name("capture")?
            .downcast::<gst_app::AppSrc>()
            .map_err(|_| anyhow!("'capture' is not an appsrc"))?;
        let info = gst_video::VideoInfo::builder(gst_video::VideoFormat::Rgb, f.width, f.height)
            .fps(fps_fraction(f.fps))
            .build()
            .context("cannot describe the live video")?;
        appsrc.set_caps(Some(&info.to_caps()?));
        appsrc.set_property("is-live", true);
        appsrc.set_property("format", gst::Format::Time);
        appsrc.set_max_buffers(4);
        appsrc.set_leaky_type(gst_app::AppLeakyType::Downstream);
        configure_element(&by_name("ai")?, &settings.element);
        let shown = Arc::new(Shown::default());
        watch_display(&by_name("display")?, &shown)?;
        pipeline
            .set_state(gst::State::Playing)
            .map_err(|_| anyhow!("the display pipeline does not start (see the log above)"))?;
        Ok(Self {
            pipeline,
            appsrc,
            format: f,
            shown,
            no_signal: no_signal_frame(f)?,
        })
    }

    /// Pushes a captured frame, stamped with the running time now; `false` if the pipeline
    /// no longer takes frames.
    pub fn push(&self, mut buffer: gst::Buffer) -> bool {
        let now = self.appsrc.current_running_time();
        let buf = buffer.make_mut();
        buf.set_pts(now);
        buf.set_dts(now);
        buf.set_duration(gst::ClockTime::from_nseconds(
            (1e9 / self.format.fps) as u64,
        ));
        self.appsrc.push_buffer(buffer).is_ok()
    }

    /// Pushes a NO SIGNAL frame (a GAP buffer: the element leaves it alone).
    pub fn push_no_signal(&self) -> bool {
        let mut buffer = self
            .no_signal
            .copy_deep()
            .unwrap_or_else(|_| self.no_signal.clone());
        buffer.make_mut().set_flags(gst::BufferFlags::GAP);
        self.push(buffer)
    }

    /// Ends the stream and waits (at most `timeout`) for the sinks to finish the recording.
    pub fn finish(&self, timeout: std::time::Duration) -> anyhow::Result<()> {
        let _ = self.appsrc.end_of_stream();
        let bus = self.pipeline.bus().context("a pipeline has a bus")?;
        let done = bus.timed_pop_filtered(
            gst::ClockTime::from_nseconds(timeout.as_nanos() as u64),
            &[gst::MessageType::Eos, gst::MessageType::Error],
        );
        let _ = self.pipeline.set_state(gst::State::Null);
        match done.as_ref().map(|m| m.view()) {
            Some(gst::MessageView::Eos(_)) => Ok(()),
            Some(gst::MessageView::Error(e)) => Err(anyhow!("finishing the video: {}", e.error())),
            _ => Err(anyhow!(
                "the video did not finish within {} s",
                timeout.as_secs()
            )),
        }
    }
}

impl Drop for DisplayPipeline {
    fn drop(&mut self) {
        let _ = self.pipeline.set_state(gst::State::Null);
    }
}

/// The frame rate as a fraction (1/1000 precision; `Fraction::new` reduces it).
fn fps_fraction(fps: f64) -> gst::Fraction {
    gst::Fraction::new((fps * 1000.0).round().max(1.0) as i32, 1000)
}

/// The `gst-launch` description of the display pipeline.
fn description(settings: &DisplaySettings) -> String {
    let sink = match settings.display {
        Display::Window => "autovideosink name=display sync=false",
        Display::None => "fakesink name=display sync=false async=false",
    };
    let mut text = format!(
        "appsrc name=capture ! endoscan name=ai ! tee name=split \
         split. ! queue max-size-buffers=3 max-size-bytes=0 max-size-time=0 leaky=downstream ! \
         videoconvert ! {sink}"
    );
    if let Some(path) = &settings.record {
        let key = settings.format.fps.round().max(1.0) as u32;
        text.push_str(&format!(
            " split. ! queue max-size-buffers=60 max-size-bytes=0 max-size-time=0 leaky=downstream ! \
             videoconvert ! video/x-raw,format=I420 ! \
             x264enc tune=zerolatency speed-preset=ultrafast key-int-max={key} ! h264parse ! \
             mp4mux fragment-duration=1000 ! filesink name=record location=\"{}\"",
            path.display().to_string().replace('"', "\\\"")
        ));
    }
    text
}

/// Sets every property the element declares from `settings`.
fn configure_element(element: &gst::Element, settings: &ElementSettings) {
    for pspec in crate::element::settings::properties() {
        element.set_property_from_value(pspec.name(), &settings.get(pspec.name()));
    }
}

/// Counts frames reaching the display sink and their latency since capture.
fn watch_display(sink: &gst::Element, shown: &Arc<Shown>) -> anyhow::Result<()> {
    let pad = sink
        .static_pad("sink")
        .context("the display sink has no sink pad")?;
    let shown = shown.clone();
    let clock_of = sink.downgrade();
    pad.add_probe(gst::PadProbeType::BUFFER, move |_, info| {
        let Some(buffer) = info.buffer() else {
            return gst::PadProbeReturn::Ok;
        };
        shown.displayed.fetch_add(1, Ordering::Relaxed);
        let gap = buffer.flags().contains(gst::BufferFlags::GAP);
        let now = clock_of.upgrade().and_then(|s| s.current_running_time());
        if let (false, Some(now), Some(pts)) = (gap, now, buffer.pts()) {
            let ms = now.nseconds().saturating_sub(pts.nseconds()) as f64 / 1e6;
            shown.latency.lock().expect("latency lock").record(ms);
        }
        gst::PadProbeReturn::Ok
    });
    Ok(())
}

/// The NO SIGNAL picture at the live size.
fn no_signal_frame(f: SourceFormat) -> anyhow::Result<gst::Buffer> {
    let stride = (f.width as usize * 3).next_multiple_of(4);
    let mut data = vec![0u8; stride * f.height as usize];
    let mut canvas = Canvas::new(
        RawLayout::Rgb,
        f.width,
        f.height,
        vec![(&mut data[..], stride)],
    )?;
    draw_no_signal(&mut canvas);
    Ok(gst::Buffer::from_mut_slice(data))
}
