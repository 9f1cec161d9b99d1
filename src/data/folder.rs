//! Listing an ImageFolder: `DIR/<class>/**`, sorted, non-image files ignored.

use std::path::{Path, PathBuf};

use super::images::UNSUPPORTED_EXTENSIONS;
use super::{BadImage, DataError, Sample};
use crate::util::image_file::is_image_extension;

/// Lists `dir/<class>/**` for every class, sorted; non-image files are ignored, image formats
/// this build cannot decode are listed as bad.
pub(super) fn read_image_folder(
    dir: &Path,
    classes: &[String],
) -> Result<(Vec<Sample>, Vec<BadImage>), DataError> {
    let found: Vec<String> = classes
        .iter()
        .filter(|c| dir.join(c).is_dir())
        .cloned()
        .collect();
    if found.is_empty() {
        return Err(DataError::NoClasses {
            dir: dir.to_path_buf(),
            expected: classes.to_vec(),
        });
    }
    if let Some(missing) = classes.iter().find(|c| !found.contains(c)) {
        return Err(DataError::MissingClassFolder {
            dir: dir.to_path_buf(),
            class: missing.clone(),
            found,
        });
    }
    let mut samples = Vec::new();
    let mut bad = Vec::new();
    for (label, class) in classes.iter().enumerate() {
        let class_dir = dir.join(class);
        let mut files = Vec::new();
        walk(&class_dir, &mut files)?;
        files.sort();
        let before = samples.len() + bad.len();
        for path in files {
            let ext = path
                .extension()
                .and_then(|e| e.to_str())
                .map(str::to_ascii_lowercase)
                .unwrap_or_default();
            let hidden = path
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with('.'));
            if hidden {
                continue;
            }
            if UNSUPPORTED_EXTENSIONS.contains(&ext.as_str()) {
                bad.push(BadImage {
                    path,
                    reason: format!("unsupported image format '.{ext}' (use PNG, JPEG or PNM)"),
                });
                continue;
            }
            if !is_image_extension(&ext) {
                tracing::debug!("ignoring non-image file {}", path.display());
                continue;
            }
            let key = match path.strip_prefix(dir).ok().and_then(key_of) {
                Some(key) => key,
                None => {
                    bad.push(BadImage {
                        path,
                        reason: "file name is not valid UTF-8".into(),
                    });
                    continue;
                }
            };
            samples.push(Sample {
                path,
                key,
                label,
                patient: None,
            });
        }
        if samples.len() + bad.len() == before {
            return Err(DataError::EmptyClassFolder(class_dir));
        }
    }
    Ok((samples, bad))
}

/// `/`-joined UTF-8 relative path.
fn key_of(rel: &Path) -> Option<String> {
    let parts: Option<Vec<&str>> = rel.components().map(|c| c.as_os_str().to_str()).collect();
    parts.map(|p| p.join("/"))
}

/// Collects the files under `dir`, following symlinks.
fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), DataError> {
    let io = |source| DataError::Io {
        path: dir.to_path_buf(),
        source,
    };
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let path = entry.map_err(io)?.path();
        if path.is_dir() {
            walk(&path, out)?;
        } else {
            out.push(path);
        }
    }
    Ok(())
}
