//! Image sequences (capsule exports): a directory or a file-name glob, read in natural order.
//!
//! An image that cannot be read or decoded stops the sequence with an error naming the file
//! and its frame index (frames before it have been delivered): a study must not go on with a
//! silent hole in it. Replace or remove the file and rerun with `--resume`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use sha2::{Digest, Sha256};

use super::listing::{glob_match, has_wildcards, natural_cmp};
use super::{CaptureError, Frame, Settings, SourceKind, StreamInfo, IMAGE_EXTENSIONS};

pub(super) struct ImageSource {
    files: Vec<PathBuf>,
    fps: f64,
    next: usize,
    /// SHA-256 over `sha256(file) name` lines of the files read so far.
    manifest: Sha256,
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
        let path = &self.files[self.next - 1];
        let img = image::load_from_memory(&bytes).map_err(|source| CaptureError::Image {
            path: path.clone(),
            index,
            source,
        })?;
        let mut frame = Frame::from_rgb_image(index, self.pts(index), img.to_rgb8());
        frame.duration = Some(Duration::from_secs_f64(1.0 / self.fps));
        Ok(Some(frame))
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
        .is_some_and(|(_, ext)| IMAGE_EXTENSIONS.iter().any(|e| e.eq_ignore_ascii_case(ext)))
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
