//! Capture: turns an input — a video file or a directory/glob of images — into a sequence of
//! RGB [`Frame`]s that carry their index, presentation time, size and row stride.
//!
//! * **Video files**: anything GStreamer's `decodebin` handles (mp4, mkv, webm, ogv, avi, mov;
//!   H.264, H.265, VP8/9, Theora, MPEG-4, MJPEG…): `filesrc → decodebin → videoconvert →
//!   appsink`, the appsink caps fixed in code to `video/x-raw,format=RGB`. Offline the appsink
//!   keeps at most [`Settings::max_buffers`] frames and never drops: when the consumer is slow
//!   the decoder blocks (back-pressure), so every decoded frame is delivered.
//! * **Images** (capsule exports): a directory (every file with one of the
//!   [`IMAGE_EXTENSIONS`] in it, other files ignored) or a glob on the file name
//!   (`study/*.png`), in natural order (`img2` before `img10`); PTS = index /
//!   [`Settings::image_fps`].
//!
//! Thread: [`Capture::next_frame`] runs on the caller's thread (GStreamer decodes on its own
//! streaming threads behind the appsink). Failure modes, each a [`CaptureError`] naming the
//! file: missing/unreadable/empty input, not a recognised video, no video stream, a decode
//! error (with the GStreamer element, message and debug text), a video that ends before its
//! container's duration (truncated), an unreadable image. Frames decoded before an error are
//! delivered first, so callers can flush partial results.

mod frame;
mod images;
pub mod integrity;
mod listing;
pub mod stage;
pub mod timeline;
mod video;

use std::path::{Path, PathBuf};
use std::time::Duration;

pub use crate::gst::{init, watch_bus, BusEvent, PipelineError};
pub use frame::{Frame, PixelFormat, Pixels};
pub(crate) use video::link_video_pads;

/// Frames the appsink may hold before the decoder blocks.
pub const DEFAULT_MAX_BUFFERS: u32 = 8;
/// Frame rate given to image sequences, which have no timing of their own (2 fps is the
/// classic small-bowel capsule rate).
pub const DEFAULT_IMAGE_FPS: f64 = 2.0;
/// How long `next_frame` waits for a sample before it looks at the bus again.
const POLL: Duration = Duration::from_millis(50);

/// File extensions read as images: the crate's one list.
pub use crate::util::image_file::IMAGE_EXTENSIONS;

/// Capture settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Settings {
    /// Frames the appsink queues before the decoder blocks (offline back-pressure).
    pub max_buffers: u32,
    /// Let the appsink drop the oldest frames when full (live use only; offline must be false).
    pub drop: bool,
    /// Frames per second assumed for image sequences.
    pub image_fps: f64,
    /// A corrupt frame (damaged image file, buffer marked corrupted) is an error instead of a
    /// frame marked [`Frame::corrupt`].
    pub strict: bool,
    /// Frames keep the decoder's buffer mapped instead of a copy ([`Pixels::Mapped`]). Only
    /// for compositions that hold few frames at a time (live): the decoder's buffer pool may
    /// be bounded, and offline stages hold a block of frames plus full channels.
    pub zero_copy: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            max_buffers: DEFAULT_MAX_BUFFERS,
            drop: false,
            image_fps: DEFAULT_IMAGE_FPS,
            strict: false,
            zero_copy: false,
        }
    }
}

/// What the input is, as far as the capture knows before decoding it all.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamInfo {
    /// `video` or `images`.
    pub kind: SourceKind,
    /// Nominal frames per second (from the caps, or [`Settings::image_fps`]).
    pub fps: Option<f64>,
    /// Duration the container states, if any.
    pub duration: Option<Duration>,
    /// Frame count if known in advance (image sequences) or estimated from duration × fps.
    pub frames_hint: Option<u64>,
}

/// The two kinds of input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceKind {
    Video,
    Images,
}

/// Why capture failed; every variant names the input.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    #[error("{}: no such file or directory", path.display())]
    NotFound { path: PathBuf },
    #[error("{}: cannot read", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: empty file (0 bytes)", path.display())]
    Empty { path: PathBuf },
    #[error("{}: not a video format GStreamer recognises", path.display())]
    NotVideo {
        path: PathBuf,
        #[source]
        source: PipelineError,
    },
    #[error("{}: no video stream in the file", path.display())]
    NoVideoStream { path: PathBuf },
    #[error("{}: cannot decode", path.display())]
    Decode {
        path: PathBuf,
        #[source]
        source: PipelineError,
    },
    #[error(
        "{}: truncated or damaged: decoding stopped after {frames} frames at {:.3} s, but the container says {:.3} s",
        path.display(), decoded.as_secs_f64(), duration.as_secs_f64()
    )]
    Truncated {
        path: PathBuf,
        frames: u64,
        decoded: Duration,
        duration: Duration,
    },
    #[error("{}: no images ({} files) found", path.display(), IMAGE_EXTENSIONS.join("/"))]
    NoImages { path: PathBuf },
    #[error("{}: cannot decode image (frame {index})", path.display())]
    Image {
        path: PathBuf,
        index: u64,
        #[source]
        source: image::ImageError,
    },
    #[error("{}: decoding stopped after {frames} frames (the run was stopped)", path.display())]
    Cancelled { path: PathBuf, frames: u64 },
    #[error("{}: corrupt frame {index} (--strict): {reason}", path.display())]
    Corrupt {
        path: PathBuf,
        index: u64,
        reason: String,
    },
    #[error("{}: cannot set up the GStreamer pipeline: {what}", path.display())]
    Setup { path: PathBuf, what: String },
}

/// A frame source: a decoding GStreamer pipeline or an image sequence.
pub struct Capture {
    path: PathBuf,
    inner: Inner,
    strict: bool,
}

enum Inner {
    Video(Box<video::VideoSource>),
    Images(images::ImageSource),
}

impl Capture {
    /// Opens `path`: a directory or glob (`dir/*.png`) reads images, anything else is decoded
    /// as video. Setup errors come back here; decode errors come from [`Capture::next_frame`].
    pub fn open(path: &Path, settings: Settings) -> Result<Self, CaptureError> {
        let inner = if images::is_glob(path) || path.is_dir() {
            Inner::Images(images::ImageSource::open(path, settings)?)
        } else {
            Inner::Video(Box::new(video::VideoSource::open(path, settings)?))
        };
        Ok(Self {
            path: path.to_path_buf(),
            inner,
            strict: settings.strict,
        })
    }

    /// Makes a wait for the next video frame give up with [`CaptureError::Cancelled`] once
    /// `flag` is raised (the stage runner's stop). Image sequences never wait.
    pub fn cancel_on(&mut self, flag: std::sync::Arc<std::sync::atomic::AtomicBool>) {
        if let Inner::Video(v) = &mut self.inner {
            v.cancel = Some(flag);
        }
    }

    /// The input this capture reads.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The next frame, `Ok(None)` at the end of the input. After an error the capture is done.
    pub fn next_frame(&mut self) -> Result<Option<Frame>, CaptureError> {
        let frame = match &mut self.inner {
            Inner::Video(v) => v.next_frame()?,
            Inner::Images(i) => i.next_frame()?,
        };
        match frame {
            Some(Frame {
                index,
                corrupt: Some(reason),
                ..
            }) if self.strict => Err(CaptureError::Corrupt {
                path: self.corrupt_source(index),
                index,
                reason,
            }),
            frame => Ok(frame),
        }
    }

    /// The file a corrupt frame came from: the image itself, or the video.
    fn corrupt_source(&self, index: u64) -> PathBuf {
        self.image_files()
            .and_then(|files| files.get(index as usize))
            .unwrap_or(&self.path)
            .clone()
    }

    /// Advances past `n` frames without copying (video) or decoding (images) them; returns how
    /// many were skipped (fewer only at the end of the input). Used by `--resume`.
    pub fn skip_frames(&mut self, n: u64) -> Result<u64, CaptureError> {
        match &mut self.inner {
            Inner::Video(v) => v.skip(n),
            Inner::Images(i) => i.skip(n),
        }
    }

    /// What is known about the stream (fps and duration become known with the first frame).
    pub fn info(&self) -> StreamInfo {
        match &self.inner {
            Inner::Video(v) => v.info(),
            Inner::Images(i) => i.info(),
        }
    }

    /// For image sequences read to the end: SHA-256 of the manifest of `sha256  name` lines
    /// (one per file, frame order), which identifies the study as a file hash would.
    pub fn manifest_sha256(&self) -> Option<String> {
        match &self.inner {
            Inner::Video(_) => None,
            Inner::Images(i) => i.manifest_sha256(),
        }
    }

    /// For image sequences, the files in frame order.
    pub fn image_files(&self) -> Option<&[PathBuf]> {
        match &self.inner {
            Inner::Video(_) => None,
            Inner::Images(i) => Some(i.files()),
        }
    }
}

impl Iterator for Capture {
    type Item = Result<Frame, CaptureError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_frame().transpose()
    }
}
