//! The one place that starts GStreamer and reads pipeline buses; capture, sink and synth use
//! it (and the live element will).

mod bus;

pub use bus::{watch_bus, BusEvent, PipelineError};

/// Initializes GStreamer once; safe to call from anywhere.
pub fn init() -> Result<(), String> {
    static INIT: std::sync::OnceLock<Result<(), String>> = std::sync::OnceLock::new();
    INIT.get_or_init(|| gstreamer::init().map_err(|e| format!("cannot initialise GStreamer: {e}")))
        .clone()
}

/// Makes an element of `factory` with `properties`, or says which plugin is missing.
pub fn element(
    factory: &str,
    properties: &[(&str, &dyn gstreamer::glib::value::ToSendValue)],
) -> Result<gstreamer::Element, String> {
    let mut builder = gstreamer::ElementFactory::make(factory);
    for (name, value) in properties {
        builder = builder.property(name, value.to_send_value());
    }
    builder
        .build()
        .map_err(|e| format!("element {factory} is not available: {e}"))
}
