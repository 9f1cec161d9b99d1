//! Labelled image datasets, below both `train` and `eval`: [`Dataset`] (listing and checking
//! an ImageFolder or a CSV manifest, content hash), [`split`] (the seeded train/val/test
//! split), `csv` (the minimal CSV every file of a run uses), [`images`] (decoding and
//! preparing one image) and [`loader`] (threaded, in-order preparation of batches).
//!
//! Input: an ImageFolder (`DIR/<class>/**/*.png|jpg|ppm`, class names configurable) or a CSV
//! manifest with a header naming at least `path,label` (optionally `patient_id`; other columns
//! are ignored, so the `labels.csv` of `endoscan synth` works as is). Manifest paths are relative
//! to the CSV's folder. A directory without class folders but with a `labels.csv` is read as that
//! manifest.
//!
//! [`Dataset::scan`] lists samples without decoding; [`Dataset::verify`] decodes every image on
//! all cores, lists every unreadable or odd one in one error (or drops them with `skip_bad`) and
//! computes the content hash. [`Loader`] prepares batches on worker threads, in order, a few
//! batches ahead of the consumer, so the GPU never waits for JPEG decoding.
//!
//! Failure modes: every error names the file or folder and the problem; nothing panics on user
//! data.

pub(crate) mod csv;
mod dataset;
mod folder;
pub mod images;
pub mod loader;
mod manifest;
pub mod split;

use std::collections::HashSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::thread;

pub use dataset::Dataset;
pub use images::decode_rgb;
pub use loader::{Loader, LoaderSettings};

/// Class names in label order (label 0 first), as the recipe names them.
pub const DEFAULT_CLASSES: [&str; 2] = ["cancer", "non-cancer"];
/// The positive class of every metric.
pub const DEFAULT_POSITIVE: &str = "cancer";
/// Images with a side shorter than this are listed as odd.
pub const DEFAULT_MIN_SIDE: u32 = 16;
/// Manifest name looked for in a directory that has no class folders.
pub const MANIFEST_NAME: &str = "labels.csv";

/// How a dataset is read.
#[derive(Debug, Clone, PartialEq)]
pub struct DataSettings {
    /// Class names in label order; an ImageFolder has one folder per name.
    pub classes: Vec<String>,
    /// Name of the positive class.
    pub positive: String,
    /// Leave unreadable or odd images out (with a warning) instead of failing.
    pub skip_bad: bool,
    /// Images with a shorter side are listed as odd.
    pub min_side: u32,
    /// Decoding threads; 0 = all cores.
    pub threads: usize,
}

impl Default for DataSettings {
    fn default() -> Self {
        Self {
            classes: DEFAULT_CLASSES.iter().map(|c| c.to_string()).collect(),
            positive: DEFAULT_POSITIVE.to_string(),
            skip_bad: false,
            min_side: DEFAULT_MIN_SIDE,
            threads: 0,
        }
    }
}

impl DataSettings {
    /// Index of the positive class, after checking the class list.
    pub fn positive_index(&self) -> Result<usize, DataError> {
        if self.classes.len() < 2 {
            return Err(DataError::Classes(format!(
                "need at least two classes, got [{}]",
                self.classes.join(", ")
            )));
        }
        let mut seen = HashSet::new();
        for c in &self.classes {
            if c.is_empty() || c.contains(['/', '\\', ',']) {
                return Err(DataError::Classes(format!("bad class name '{c}'")));
            }
            if !seen.insert(c) {
                return Err(DataError::Classes(format!("class '{c}' is listed twice")));
            }
        }
        self.classes
            .iter()
            .position(|c| *c == self.positive)
            .ok_or_else(|| {
                DataError::Classes(format!(
                    "positive class '{}' is not one of [{}]",
                    self.positive,
                    self.classes.join(", ")
                ))
            })
    }

    /// Decoding threads, 0 resolved to all cores.
    fn threads(&self) -> usize {
        match self.threads {
            0 => thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        }
    }
}

/// One labelled image.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// Path as found on disk (root joined with [`Sample::key`]).
    pub path: PathBuf,
    /// Path relative to the dataset root with `/` separators (manifest paths as written): the
    /// key of `split.csv` and `predictions.csv`.
    pub key: String,
    /// Index into [`Dataset::classes`].
    pub label: usize,
    /// Patient the image belongs to, when the manifest says.
    pub patient: Option<String>,
}

/// Where a dataset was read from.
#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    ImageFolder(PathBuf),
    Manifest(PathBuf),
    /// Samples listed in code ([`Dataset::from_samples`]), keys relative to this folder.
    List(PathBuf),
}

impl Source {
    /// The folder or CSV file, for messages.
    pub fn path(&self) -> &Path {
        match self {
            Source::ImageFolder(p) | Source::Manifest(p) | Source::List(p) => p,
        }
    }
}

/// An image that cannot be used, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct BadImage {
    pub path: PathBuf,
    pub reason: String,
}

/// Dataset errors; each names the file or folder at fault.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error("{}: cannot read: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: no such file or folder", .0.display())]
    NotFound(PathBuf),
    #[error("{}: no class folders ({}) and no {MANIFEST_NAME}", dir.display(), expected.join(", "))]
    NoClasses { dir: PathBuf, expected: Vec<String> },
    #[error("{}: class folder '{class}' is missing; found only [{}] — a dataset needs every class", dir.display(), found.join(", "))]
    MissingClassFolder {
        dir: PathBuf,
        class: String,
        found: Vec<String>,
    },
    #[error("{}: class folder holds no images", .0.display())]
    EmptyClassFolder(PathBuf),
    #[error("{}: no usable images of class '{class}' — a dataset needs every class ({})", source_path.display(), classes.join(", "))]
    MissingClass {
        source_path: PathBuf,
        class: String,
        classes: Vec<String>,
    },
    #[error("{}: {}", path.display(), problems.join("; "))]
    Manifest {
        path: PathBuf,
        problems: Vec<String>,
    },
    #[error("{}", bad_images_message(source_path, images))]
    BadImages {
        source_path: PathBuf,
        images: Vec<BadImage>,
    },
    #[error("class settings: {0}")]
    Classes(String),
    #[error("{}: {reason}", path.display())]
    Image { path: PathBuf, reason: String },
    #[error("{}: {source}", path.display())]
    Prepare {
        path: PathBuf,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("a data loader worker panicked: {0}")]
    WorkerPanicked(String),
}

fn bad_images_message(source: &Path, images: &[BadImage]) -> String {
    let mut msg = format!(
        "{}: {} unreadable or odd image{} (fix or remove them, or pass --skip-bad to leave them out):",
        source.display(),
        images.len(),
        if images.len() == 1 { "" } else { "s" }
    );
    for bad in images {
        let _ = write!(msg, "\n  {}: {}", bad.path.display(), bad.reason);
    }
    msg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn class_settings_are_checked() {
        let mut s = DataSettings::default();
        assert_eq!(s.positive_index().unwrap(), 0);
        s.positive = "polyp".into();
        assert!(s
            .positive_index()
            .unwrap_err()
            .to_string()
            .contains("polyp"));
        s.classes = vec!["a".into(), "a".into()];
        s.positive = "a".into();
        assert!(s
            .positive_index()
            .unwrap_err()
            .to_string()
            .contains("twice"));
        s.classes = vec!["a".into()];
        assert!(s.positive_index().is_err());
    }
}
