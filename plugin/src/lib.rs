//! The `gstendoscan` GStreamer plugin: registers the `endoscan` element of the endoscan
//! library so any GStreamer application can load it from `libgstendoscan.so`.

use gstreamer as gst;

fn plugin_init(plugin: &gst::Plugin) -> Result<(), gst::glib::BoolError> {
    endoscan::element::register(plugin)
}

gst::plugin_define!(
    endoscan,
    env!("CARGO_PKG_DESCRIPTION"),
    plugin_init,
    env!("CARGO_PKG_VERSION"),
    "MIT/X11",
    "endoscan",
    "endoscan",
    "https://github.com/endoscan/endoscan"
);
