//! File helpers of a study: identities (SHA-256), old thumbnails, the length hint and the
//! progress bars.

use std::path::Path;

use anyhow::Context;
use sha2::{Digest, Sha256};

use crate::util::hash::hex;

use crate::capture::{self, Capture};

/// Removes thumbnails of an earlier run (only files this command writes).
pub fn clear_thumbnails(dir: &Path) -> anyhow::Result<()> {
    for entry in
        std::fs::read_dir(dir).with_context(|| format!("{}: cannot read", dir.display()))?
    {
        let path = entry?.path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if name.starts_with("segment_") && name.ends_with(".png") {
            std::fs::remove_file(&path)
                .with_context(|| format!("{}: cannot remove", path.display()))?;
        }
    }
    Ok(())
}

/// SHA-256 of a video file, or of an image sequence's file-name list (cheap, and stable when
/// a corrupt image is replaced before `--resume`).
pub fn input_identity(input: &Path, settings: capture::Settings) -> anyhow::Result<String> {
    if input.is_file() {
        return sha256_file(input);
    }
    let capture = Capture::open(input, settings)?;
    let mut h = Sha256::new();
    for f in capture.image_files().unwrap_or_default() {
        h.update(
            f.file_name()
                .map(|n| n.as_encoded_bytes())
                .unwrap_or_default(),
        );
        h.update(b"\n");
    }
    Ok(hex(&h.finalize()))
}

/// SHA-256 of a file, streamed; the error names the file.
pub fn sha256_file(path: &Path) -> anyhow::Result<String> {
    crate::util::hash::sha256_file(path).with_context(|| format!("{}: cannot read", path.display()))
}

/// Frame count estimate for the progress bar (first frame's caps and duration).
pub fn probe_length(input: &Path, settings: capture::Settings) -> Option<u64> {
    let mut capture = Capture::open(input, settings).ok()?;
    if capture.info().frames_hint.is_none() {
        capture.next_frame().ok()??;
    }
    capture.info().frames_hint
}
