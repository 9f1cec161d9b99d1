//! Live sources: what `endoscan live SOURCE` watches, as packed RGB buffers of one fixed size.
//!
//! [`SourceSpec::parse`] reads the command line's SOURCE; [`connect`] opens it (a GStreamer
//! pipeline ending in an appsink, or the synthetic endoscope) and returns a [`LiveSource`] that
//! the capture loop pulls from. A source that errors, ends or goes quiet reports
//! [`Pull::Lost`]; the capture loop then shows NO SIGNAL and connects again.

mod gst_source;
mod test_source;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context};
use gstreamer as gst;

pub use test_source::{TestClip, TestSpec};

/// What the capture loop got from a source.
pub enum Pull {
    /// A frame of the negotiated size, packed RGB, and whether it shows a lesion when the
    /// source knows (the synthetic endoscope does: alert latency is measured from it).
    Frame(gst::Buffer, Option<bool>),
    /// Nothing within the timeout (the source is still there).
    Nothing,
    /// The source is gone (unplugged, server stopped, stream error); the reason says which.
    Lost(String),
    /// A file played as if live reached its end: the run is over.
    Ended,
}

/// A connected source.
pub trait LiveSource: Send {
    /// The next frame, waiting at most `timeout`.
    fn pull(&mut self, timeout: Duration) -> Pull;
}

/// Frame rate assumed for a source whose caps state none.
pub const DEFAULT_FPS: f64 = 30.0;

/// Frame size and rate of a source.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SourceFormat {
    pub width: u32,
    pub height: u32,
    /// Nominal frames per second ([`DEFAULT_FPS`] when the source does not say).
    pub fps: f64,
}

/// The SOURCE argument, parsed.
#[derive(Debug, Clone, PartialEq)]
pub enum SourceSpec {
    /// `test://`: the synthetic live endoscope.
    Test(TestSpec),
    /// A V4L2 capture device.
    Device(PathBuf),
    /// A URI GStreamer plays; `file` when it is a recording (its end ends the run).
    Uri { uri: String, file: bool },
    /// A GStreamer description from `pipeline:FILE`.
    Description { text: String, file: PathBuf },
}

impl SourceSpec {
    /// Parses SOURCE (see `endoscan live --help`); the error names what is wrong with it.
    pub fn parse(text: &str) -> anyhow::Result<Self> {
        if let Some(query) = text.strip_prefix("test://") {
            return Ok(Self::Test(TestSpec::parse(query.trim_start_matches('?'))?));
        }
        if let Some(file) = text.strip_prefix("pipeline:") {
            let file = PathBuf::from(file);
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("{}: cannot read the source pipeline", file.display()))?;
            let text = strip_comments(&text);
            if text.trim().is_empty() {
                bail!("{}: the source pipeline is empty", file.display());
            }
            return Ok(Self::Description { text, file });
        }
        if text.starts_with("/dev/") {
            return Ok(Self::Device(PathBuf::from(text)));
        }
        if let Some((scheme, _)) = text.split_once("://") {
            if scheme.is_empty()
                || !scheme
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '+')
            {
                bail!("{text}: not a URI, device, file or test:// source");
            }
            return Ok(Self::Uri {
                uri: text.to_string(),
                file: scheme == "file",
            });
        }
        let path = PathBuf::from(text);
        let path = path
            .canonicalize()
            .with_context(|| format!("{text}: no such video file, device or URI"))?;
        let uri = gst::glib::filename_to_uri(&path, None)
            .with_context(|| format!("{}: cannot make a file URI", path.display()))?;
        Ok(Self::Uri {
            uri: uri.to_string(),
            file: true,
        })
    }

    /// How the source is named in logs and errors.
    pub fn describe(&self) -> String {
        match self {
            Self::Test(_) => "test://".into(),
            Self::Device(p) => p.display().to_string(),
            Self::Uri { uri, .. } => uri.clone(),
            Self::Description { file, .. } => format!("pipeline:{}", file.display()),
        }
    }
}

/// Description lines without `#` comments.
fn strip_comments(text: &str) -> String {
    text.lines()
        .map(|l| l.split('#').next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Opens `spec`; `size` forces the frame size (a reconnection keeps the first one's size).
/// `clip` is the synthetic endoscope's rendered loop, shared by reconnections.
pub fn connect(
    spec: &SourceSpec,
    size: Option<(u32, u32)>,
    clip: Option<&std::sync::Arc<TestClip>>,
) -> anyhow::Result<(Box<dyn LiveSource>, SourceFormat)> {
    match spec {
        SourceSpec::Test(_) => {
            let clip = clip.context("test:// source without its rendered clip")?;
            let source = test_source::TestSource::connect(clip.clone())?;
            Ok((Box::new(source), clip.format()))
        }
        _ => {
            let (source, format) = gst_source::GstSource::connect(spec, size)?;
            Ok((Box::new(source), format))
        }
    }
}

#[cfg(test)]
mod tests;
