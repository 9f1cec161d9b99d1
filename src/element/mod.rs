//! The `endoscan` GStreamer element: an in-place video filter that scores endoscopy video for
//! early gastric cancer and draws the newest result on every frame, never holding a frame back
//! (`imp.rs`). Properties are declared once in `settings.rs`; bus messages in `messages.rs`.
//!
//! `endoscan live` registers it in-process ([`register_static`]); the `gstendoscan` plugin
//! (`plugin/`, built by `cargo build --release` as `target/release/libgstendoscan.so`) registers
//! it from a plugin file:
//!
//! ```text
//! GST_PLUGIN_PATH=target/release gst-launch-1.0 videotestsrc ! videoconvert ! \
//!     endoscan model=models/demo.onnx ! videoconvert ! autovideosink
//! ```

mod frame;
mod imp;
pub mod messages;
pub mod settings;

use gstreamer as gst;
use gstreamer::glib;
use gstreamer::prelude::*;

glib::wrapper! {
    /// The `endoscan` element (see the module docs).
    pub struct Endoscan(ObjectSubclass<imp::Endoscan>)
        @extends gstreamer_video::VideoFilter, gstreamer_base::BaseTransform, gst::Element, gst::Object;
}

/// The element's factory name.
pub const NAME: &str = "endoscan";

/// Registers the element with `plugin` (the loadable plugin's init).
pub fn register(plugin: &gst::Plugin) -> Result<(), glib::BoolError> {
    gst::Element::register(Some(plugin), NAME, gst::Rank::NONE, Endoscan::static_type())
}

/// Registers the element in this process (no plugin file needed); idempotent.
pub fn register_static() -> Result<(), glib::BoolError> {
    if gst::ElementFactory::find(NAME).is_some() {
        return Ok(());
    }
    gst::Element::register(None, NAME, gst::Rank::NONE, Endoscan::static_type())
}
