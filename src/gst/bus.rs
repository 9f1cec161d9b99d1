//! The one place that reads a pipeline's bus: errors become [`PipelineError`]s, warnings are
//! logged, EOS is reported.

use gstreamer as gst;
use gstreamer::prelude::*;

/// An error message from a pipeline: which element, what, and GStreamer's debug text.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{error} (element {src}){}", debug.as_deref().map(|d| format!("; debug: {d}")).unwrap_or_default())]
pub struct PipelineError {
    /// Path of the element that posted the error, e.g. `/GstPipeline:pipeline0/GstDecodeBin:…`.
    pub src: String,
    /// The error message.
    pub error: String,
    /// GStreamer's debug string, if any.
    pub debug: Option<String>,
    /// The error says the input is not a recognised media format (GStreamer's "type not
    /// found" and "wrong type", e.g. a text file).
    pub not_media: bool,
}

impl PipelineError {
    /// An error raised by our own code around a pipeline.
    pub fn app(src: &str, error: impl Into<String>) -> Self {
        Self {
            src: src.to_string(),
            error: error.into(),
            debug: None,
            not_media: false,
        }
    }
}

/// What the bus said.
#[derive(Debug)]
pub enum BusEvent {
    Eos,
    Error(PipelineError),
}

/// Pops bus messages for up to `timeout` (zero: only what is queued) and returns the first
/// error or EOS; warnings are logged on the way.
pub fn watch_bus(bus: &gst::Bus, timeout: gst::ClockTime) -> Option<BusEvent> {
    use gst::MessageView;
    let deadline = std::time::Instant::now() + std::time::Duration::from_nanos(timeout.nseconds());
    loop {
        // Not `timed_pop_filtered`: with a zero timeout it returns before popping anything.
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        let msg = bus.timed_pop(gst::ClockTime::from_nseconds(left.as_nanos() as u64))?;
        match msg.view() {
            MessageView::Eos(_) => return Some(BusEvent::Eos),
            MessageView::Error(err) => {
                return Some(BusEvent::Error(PipelineError {
                    src: element_path(msg.src()),
                    error: err.error().to_string(),
                    debug: err.debug().map(|d| d.to_string()),
                    not_media: err.error().matches(gst::StreamError::TypeNotFound)
                        || err.error().matches(gst::StreamError::WrongType),
                }))
            }
            MessageView::Warning(w) => {
                tracing::warn!(
                    element = %element_path(msg.src()),
                    debug = w.debug().map(|d| d.to_string()).unwrap_or_default(),
                    "GStreamer warning: {}",
                    w.error()
                );
            }
            _ => {}
        }
    }
}

fn element_path(src: Option<&gst::Object>) -> String {
    src.map(|s| s.path_string().to_string())
        .unwrap_or_else(|| "unknown".to_string())
}
