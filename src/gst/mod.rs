//! The one place that starts GStreamer and reads pipeline buses; capture, sink and synth use
//! it (and the live element will).

mod bus;

pub use bus::{watch_bus, BusEvent, PipelineError};

/// Initializes GStreamer once; safe to call from anywhere.
pub fn init() -> Result<(), String> {
    static INIT: std::sync::OnceLock<Result<(), String>> = std::sync::OnceLock::new();
    INIT.get_or_init(|| {
        gstreamer::init().map_err(|e| format!("cannot initialise GStreamer: {e}"))?;
        route_gstreamer_messages();
        Ok(())
    })
    .clone()
}

/// GStreamer's own warnings and failed assertions (libav decoders print hundreds per file on
/// some Matroska inputs, e.g. "Sticky event misordering") go to the log at debug level instead
/// of the terminal: they are not the user's to act on, and real failures reach endoscan as bus
/// errors, reported with the file. Messages of other libraries keep GLib's default handling.
fn route_gstreamer_messages() {
    use gstreamer::glib;
    glib::log_set_default_handler(|domain, level, message| match domain {
        Some(d) if d.starts_with("GStreamer") => {
            tracing::debug!(target: "endoscan::gstreamer", "{d} {level:?}: {message}")
        }
        _ => glib::log_default_handler(domain, level, Some(message)),
    });
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

/// The frame rate the caps state, if they state one (variable-rate streams say 0/1).
pub fn fps_of(info: &gstreamer_video::VideoInfo) -> Option<f64> {
    let fps = info.fps();
    (fps.numer() > 0 && fps.denom() > 0).then(|| f64::from(fps.numer()) / f64::from(fps.denom()))
}
