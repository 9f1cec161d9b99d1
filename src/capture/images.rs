//! Image sequences (capsule exports): a directory or a file-name glob, read in natural order.
//!
//! An image that cannot be read stops the sequence with an error naming the file and its frame
//! index (frames before it have been delivered). An image that is damaged — it fails the
//! [`integrity`] checks or the decoder — becomes a black frame marked corrupt with the reason:
//! it is counted and listed, never scored as a picture (with `--strict` the first one is
//! fatal).

use std::path::{Path, PathBuf};
use std::time::Duration;

use sha2::{Digest, Sha256};

use super::integrity::{self, ImageKind};
use super::listing::{glob_match, has_wildcards, natural_cmp};
use super::{CaptureError, Frame, Settings, SourceKind, StreamInfo};
use crate::util::hash::hex;
use crate::util::image_file::{decode_rgb_bytes, is_image_extension};

pub(super) struct ImageSource {
    files: Vec<PathBuf>,
    fps: f64,
    next: usize,
    /// SHA-256 over `sha256(file) name` lines of the files read so far.
    manifest: Sha256,
    /// Size of the last image decoded.
    last_size: Option<(u32, u32)>,
}

/// Size of the black stand-in for a damaged first image whose header is unreadable.
const FALLBACK_SIZE: (u32, u32) = (640, 480);
/// Largest stand-in a damaged header may ask for (a 8K frame).
const MAX_PIXELS: u64 = 7680 * 4320;

/// Logs when a file's content is not the format its name says (it is read all the same).
fn warn_on_misnamed(path: &Path, kind: ImageKind) {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or_default()
        .to_ascii_lowercase();
    if kind != ImageKind::Other && !kind.extensions().contains(&ext.as_str()) {
        tracing::warn!(
            "{}: named .{ext} but the content is {kind:?}",
            path.display()
        );
    }
}

/// Whether the last component of `path` is a glob.
pub(super) fn is_glob(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(has_wildcards)
}

impl ImageSource {
    pub(super) fn open(path: &Path, settings: Settings) -> Result<Self, CaptureError> {
        let (dir, pattern) = if is_glob(path) {
            let dir = match path.parent() {
                Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
                _ => PathBuf::from("."),
            };
            let pattern = path
                .file_name()
                .and_then(|n| n.to_str())
                .map(str::to_string);
            (dir, pattern)
        } else {
            (path.to_path_buf(), None)
        };
        let entries = std::fs::read_dir(&dir).map_err(|source| match source.kind() {
            std::io::ErrorKind::NotFound => CaptureError::NotFound { path: dir.clone() },
            _ => CaptureError::Io {
                path: dir.clone(),
                source,
            },
        })?;
        let mut named = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|source| CaptureError::Io {
                path: dir.clone(),
                source,
            })?;
            let name = entry.file_name();
            let Some(name) = name.to_str() else {
                tracing::warn!("{}: skipping a file name that is not UTF-8", dir.display());
                continue;
            };
            if name.starts_with('.') || !is_image_name(name) {
                continue;
            }
            if pattern.as_deref().is_some_and(|p| !glob_match(p, name)) {
                continue;
            }
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                continue;
            }
            named.push(name.to_string());
        }
        if named.is_empty() {
            return Err(CaptureError::NoImages {
                path: path.to_path_buf(),
            });
        }
        named.sort_by(|a, b| natural_cmp(a, b));
        let fps = if settings.image_fps.is_finite() && settings.image_fps > 0.0 {
            settings.image_fps
        } else {
            super::DEFAULT_IMAGE_FPS
        };
        tracing::info!(
            "{}: {} images, first {}, last {}",
            path.display(),
            named.len(),
            named[0],
            named[named.len() - 1]
        );
        Ok(Self {
            files: named.into_iter().map(|n| dir.join(n)).collect(),
            fps,
            next: 0,
            manifest: Sha256::new(),
            last_size: None,
        })
    }

    pub(super) fn files(&self) -> &[PathBuf] {
        &self.files
    }

    pub(super) fn info(&self) -> StreamInfo {
        StreamInfo {
            kind: SourceKind::Images,
            fps: Some(self.fps),
            duration: Some(self.pts(self.files.len() as u64)),
            frames_hint: Some(self.files.len() as u64),
        }
    }

    pub(super) fn next_frame(&mut self) -> Result<Option<Frame>, CaptureError> {
        let Some(bytes) = self.read_next()? else {
            return Ok(None);
        };
        let index = (self.next - 1) as u64;
        let path = self.files[self.next - 1].clone();
        let decoded = integrity::check(&bytes).and_then(|kind| {
            warn_on_misnamed(&path, kind);
            decode_rgb_bytes(&bytes)
        });
        let mut frame = match decoded {
            Ok(img) => {
                let frame = Frame::from_rgb_image(index, self.pts(index), img);
                self.last_size = Some((frame.width, frame.height));
                frame
            }
            Err(reason) => {
                tracing::warn!(
                    "{}: corrupt image (frame {index}): {reason}",
                    path.display()
                );
                self.corrupt_frame(index, &bytes, reason)
            }
        };
        frame.duration = Some(Duration::from_secs_f64(1.0 / self.fps));
        Ok(Some(frame))
    }

    /// A black stand-in for a damaged image: the size its header states, else the size of the
    /// image before it, else [`FALLBACK_SIZE`].
    fn corrupt_frame(&self, index: u64, bytes: &[u8], reason: String) -> Frame {
        let (width, height) = image::ImageReader::new(std::io::Cursor::new(bytes))
            .with_guessed_format()
            .ok()
            .and_then(|r| r.into_dimensions().ok())
            .filter(|&(w, h)| w > 0 && h > 0 && u64::from(w) * u64::from(h) <= MAX_PIXELS)
            .or(self.last_size)
            .unwrap_or(FALLBACK_SIZE);
        let mut frame =
            Frame::from_rgb_image(index, self.pts(index), image::RgbImage::new(width, height));
        frame.corrupt = Some(reason);
        frame
    }

    pub(super) fn skip(&mut self, n: u64) -> Result<u64, CaptureError> {
        for skipped in 0..n {
            if self.read_next()?.is_none() {
                return Ok(skipped);
            }
        }
        Ok(n)
    }

    /// SHA-256 of the manifest (`sha256 name` per file, in frame order) once every file has
    /// been read; identifies the study like a video file's own hash does.
    pub(super) fn manifest_sha256(&self) -> Option<String> {
        (self.next == self.files.len()).then(|| hex(&self.manifest.clone().finalize()))
    }

    fn read_next(&mut self) -> Result<Option<Vec<u8>>, CaptureError> {
        let Some(path) = self.files.get(self.next) else {
            return Ok(None);
        };
        let bytes = std::fs::read(path).map_err(|source| CaptureError::Io {
            path: path.clone(),
            source,
        })?;
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        self.manifest
            .update(format!("{}  {name}\n", hex(&Sha256::digest(&bytes))).as_bytes());
        self.next += 1;
        Ok(Some(bytes))
    }

    fn pts(&self, index: u64) -> Duration {
        Duration::from_secs_f64(index as f64 / self.fps)
    }
}

fn is_image_name(name: &str) -> bool {
    name.rsplit_once('.')
        .is_some_and(|(_, ext)| is_image_extension(ext))
}
