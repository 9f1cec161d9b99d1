//! Labelled image datasets for training and evaluation.
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

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write as _;
use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};

use crossbeam_channel::{Receiver, Sender};
use image::RgbImage;
use sha2::{Digest, Sha256};

use super::rng::Rng;

/// Class names in label order (label 0 first), as the recipe names them.
pub const DEFAULT_CLASSES: [&str; 2] = ["cancer", "non-cancer"];
/// The positive class of every metric.
pub const DEFAULT_POSITIVE: &str = "cancer";
/// Images with a side shorter than this are listed as odd.
pub const DEFAULT_MIN_SIDE: u32 = 16;
/// Manifest name looked for in a directory that has no class folders.
pub const MANIFEST_NAME: &str = "labels.csv";
/// File extensions decoded (features of the `image` dependency).
const IMAGE_EXTENSIONS: [&str; 7] = ["png", "jpg", "jpeg", "ppm", "pgm", "pbm", "pnm"];
/// Image extensions recognised but not decodable by this build: listed as bad, not ignored.
const UNSUPPORTED_EXTENSIONS: [&str; 6] = ["bmp", "tif", "tiff", "webp", "gif", "dcm"];

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

/// A labelled set of images.
#[derive(Debug, Clone)]
pub struct Dataset {
    source: Source,
    root: PathBuf,
    classes: Vec<String>,
    positive: usize,
    samples: Vec<Sample>,
    bad: Vec<BadImage>,
    content_hash: Option<String>,
}

impl Dataset {
    /// Scans and verifies: the dataset training and evaluation use.
    pub fn open(path: &Path, settings: &DataSettings) -> Result<Self, DataError> {
        let mut dataset = Self::scan(path, settings)?;
        dataset.verify(settings)?;
        Ok(dataset)
    }

    /// Lists the samples of an ImageFolder or CSV manifest without decoding any image. Files
    /// already known to be unusable (missing, unsupported format) go to [`Dataset::bad`] for
    /// [`Dataset::verify`] to report with the rest.
    pub fn scan(path: &Path, settings: &DataSettings) -> Result<Self, DataError> {
        let positive = settings.positive_index()?;
        let meta = std::fs::metadata(path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => DataError::NotFound(path.to_path_buf()),
            _ => DataError::Io {
                path: path.to_path_buf(),
                source: e,
            },
        })?;
        let (source, samples, bad) = if meta.is_file() {
            let (samples, bad) = read_manifest(path, &settings.classes)?;
            (Source::Manifest(path.to_path_buf()), samples, bad)
        } else {
            let has_class_dir = settings.classes.iter().any(|c| path.join(c).is_dir());
            let manifest = path.join(MANIFEST_NAME);
            if !has_class_dir && manifest.is_file() {
                let (samples, bad) = read_manifest(&manifest, &settings.classes)?;
                (Source::Manifest(manifest), samples, bad)
            } else {
                let (samples, bad) = read_image_folder(path, &settings.classes)?;
                (Source::ImageFolder(path.to_path_buf()), samples, bad)
            }
        };
        let root = match &source {
            Source::ImageFolder(dir) => dir.clone(),
            Source::Manifest(csv) => csv.parent().map(Path::to_path_buf).unwrap_or_default(),
            Source::List(root) => root.clone(),
        };
        let dataset = Self {
            source,
            root,
            classes: settings.classes.clone(),
            positive,
            samples,
            bad,
            content_hash: None,
        };
        if let Err(missing) = dataset.check_classes() {
            // Bad files may be why a class is empty: list them first.
            dataset.settle_bad(settings.skip_bad)?;
            return Err(missing);
        }
        Ok(dataset)
    }

    /// A dataset of given samples (keys relative to `root`), e.g. for tests or a study that
    /// builds its own lists; labels must index `settings.classes`, every class must occur.
    pub fn from_samples(
        root: PathBuf,
        samples: Vec<Sample>,
        settings: &DataSettings,
    ) -> Result<Self, DataError> {
        let positive = settings.positive_index()?;
        if let Some(s) = samples.iter().find(|s| s.label >= settings.classes.len()) {
            return Err(DataError::Image {
                path: s.path.clone(),
                reason: format!(
                    "label {} out of range ({} classes)",
                    s.label,
                    settings.classes.len()
                ),
            });
        }
        let dataset = Self {
            source: Source::List(root.clone()),
            root,
            classes: settings.classes.clone(),
            positive,
            samples,
            bad: Vec::new(),
            content_hash: None,
        };
        dataset.check_classes()?;
        Ok(dataset)
    }

    /// Decodes every image (on `settings.threads` threads), lists every unreadable or odd one
    /// (with those found by [`Dataset::scan`]) — failing unless `skip_bad` — and computes the
    /// content hash of what is kept. After an error the dataset is incomplete: drop it.
    pub fn verify(&mut self, settings: &DataSettings) -> Result<(), DataError> {
        tracing::info!(
            "checking {} images of {}",
            self.samples.len(),
            self.source.path().display()
        );
        let min_side = settings.min_side;
        let results = parallel_map(&self.samples, settings.threads(), |s| {
            check_image(&s.path, min_side)
        });
        let mut digests = Vec::with_capacity(self.samples.len());
        let mut kept = Vec::with_capacity(self.samples.len());
        for (sample, result) in std::mem::take(&mut self.samples).into_iter().zip(results) {
            match result {
                Ok(digest) => {
                    digests.push(digest);
                    kept.push(sample);
                }
                Err(reason) => self.bad.push(BadImage {
                    path: sample.path,
                    reason,
                }),
            }
        }
        self.samples = kept;
        self.settle_bad(settings.skip_bad)?;
        self.check_classes()?;
        self.content_hash = Some(self.hash(digests.iter()));
        Ok(())
    }

    /// Keeps only the samples whose index passes `keep` (e.g. one subset of a split); the content
    /// hash is dropped (verify again to get the subset's).
    pub fn retain_indices(&mut self, keep: impl Fn(usize) -> bool) {
        let mut i = 0;
        self.samples.retain(|_| {
            i += 1;
            keep(i - 1)
        });
        self.content_hash = None;
    }

    /// Fails listing every bad image unless `skip_bad`, in which case each is a warning.
    fn settle_bad(&self, skip_bad: bool) -> Result<(), DataError> {
        if self.bad.is_empty() {
            return Ok(());
        }
        if !skip_bad {
            return Err(DataError::BadImages {
                source_path: self.source.path().to_path_buf(),
                images: self.bad.clone(),
            });
        }
        for b in &self.bad {
            tracing::warn!("skipping {}: {}", b.path.display(), b.reason);
        }
        Ok(())
    }

    fn check_classes(&self) -> Result<(), DataError> {
        let counts = self.class_counts();
        match counts.iter().position(|&n| n == 0) {
            Some(missing) => Err(DataError::MissingClass {
                source_path: self.source.path().to_path_buf(),
                class: self.classes[missing].clone(),
                classes: self.classes.clone(),
            }),
            None => Ok(()),
        }
    }

    /// SHA-256 over (key, class name, SHA-256 of the file bytes) of every sample in key order.
    fn hash<'a>(&self, digests: impl Iterator<Item = &'a [u8; 32]>) -> String {
        let mut rows: Vec<(&str, &str, &[u8; 32])> = self
            .samples
            .iter()
            .zip(digests)
            .map(|(s, d)| (s.key.as_str(), self.classes[s.label].as_str(), d))
            .collect();
        rows.sort_unstable_by(|a, b| a.0.cmp(b.0));
        let mut hasher = Sha256::new();
        for (key, class, digest) in rows {
            hasher.update(key.as_bytes());
            hasher.update([0]);
            hasher.update(class.as_bytes());
            hasher.update([0]);
            hasher.update(digest);
        }
        hex(&hasher.finalize())
    }

    /// Where the samples were listed from.
    pub fn source(&self) -> &Source {
        &self.source
    }

    /// Folder that sample keys are relative to.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Class names in label order.
    pub fn classes(&self) -> &[String] {
        &self.classes
    }

    /// Label of the positive class.
    pub fn positive(&self) -> usize {
        self.positive
    }

    /// The samples, ImageFolder in path order, manifests in row order.
    pub fn samples(&self) -> &[Sample] {
        &self.samples
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.samples.len()
    }

    /// Whether there are no samples.
    pub fn is_empty(&self) -> bool {
        self.samples.is_empty()
    }

    /// Images found unreadable or odd so far (listing, and decoding in [`Dataset::verify`]);
    /// they are not among [`Dataset::samples`].
    pub fn bad(&self) -> &[BadImage] {
        &self.bad
    }

    /// Samples per class, in label order.
    pub fn class_counts(&self) -> Vec<usize> {
        let mut counts = vec![0; self.classes.len()];
        for s in &self.samples {
            counts[s.label] += 1;
        }
        counts
    }

    /// Hex SHA-256 of the verified dataset (file list, labels and bytes); `None` before
    /// [`Dataset::verify`].
    pub fn content_hash(&self) -> Option<&str> {
        self.content_hash.as_deref()
    }

    /// Decodes sample `index` to 8-bit RGB (grayscale and alpha are converted).
    pub fn decode(&self, index: usize) -> Result<RgbImage, DataError> {
        decode_rgb(&self.samples[index].path)
    }
}

/// Reads and decodes an image file to 8-bit RGB.
pub fn decode_rgb(path: &Path) -> Result<RgbImage, DataError> {
    let bytes = std::fs::read(path).map_err(|source| DataError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    decode_bytes(&bytes).map_err(|reason| DataError::Image {
        path: path.to_path_buf(),
        reason,
    })
}

fn decode_bytes(bytes: &[u8]) -> Result<RgbImage, String> {
    if bytes.is_empty() {
        return Err("empty file".into());
    }
    let reader = image::ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| format!("cannot read: {e}"))?;
    if reader.format().is_none() {
        return Err("not an image in a supported format (PNG, JPEG, PNM)".into());
    }
    let img = reader.decode().map_err(|e| format!("cannot decode: {e}"))?;
    Ok(img.into_rgb8())
}

/// Reads, hashes and decodes one file; `Err` is the reason it is unusable.
fn check_image(path: &Path, min_side: u32) -> Result<[u8; 32], String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read: {e}"))?;
    let img = decode_bytes(&bytes)?;
    let (w, h) = img.dimensions();
    if w.min(h) < min_side {
        return Err(format!("odd size {w}×{h} (sides under {min_side} px)"));
    }
    Ok(Sha256::digest(&bytes).into())
}

pub(crate) use crate::util::hash::hex;

/// Runs `f` over `items` on `threads` scoped threads; results in item order.
fn parallel_map<T: Sync, R: Send>(
    items: &[T],
    threads: usize,
    f: impl Fn(&T) -> R + Sync,
) -> Vec<R> {
    let next = AtomicUsize::new(0);
    let out: Vec<Mutex<Option<R>>> = items.iter().map(|_| Mutex::new(None)).collect();
    thread::scope(|scope| {
        for _ in 0..threads.clamp(1, items.len().max(1)) {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(item) = items.get(i) else { break };
                let r = f(item);
                *out[i].lock().expect("result slot poisoned") = Some(r);
            });
        }
    });
    out.into_iter()
        .map(|m| {
            m.into_inner()
                .expect("result slot poisoned")
                .expect("every item was mapped")
        })
        .collect()
}

/// Lists `dir/<class>/**` for every class, sorted; non-image files are ignored, image formats
/// this build cannot decode are listed as bad.
fn read_image_folder(
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
            if !IMAGE_EXTENSIONS.contains(&ext.as_str()) {
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

/// Reads a `path,label[,patient_id]` manifest; files that do not exist are bad images, every
/// malformed row is reported together.
fn read_manifest(
    csv_path: &Path,
    classes: &[String],
) -> Result<(Vec<Sample>, Vec<BadImage>), DataError> {
    let text = std::fs::read_to_string(csv_path).map_err(|source| DataError::Io {
        path: csv_path.to_path_buf(),
        source,
    })?;
    let table = csv::Table::parse(&text).map_err(|problem| DataError::Manifest {
        path: csv_path.to_path_buf(),
        problems: vec![problem],
    })?;
    let manifest_err = |problems| DataError::Manifest {
        path: csv_path.to_path_buf(),
        problems,
    };
    let path_col = table.column("path");
    let label_col = table.column("label");
    let (Some(path_col), Some(label_col)) = (path_col, label_col) else {
        return Err(manifest_err(vec![format!(
            "header must name the columns 'path' and 'label' (found: {})",
            table.header.join(",")
        )]));
    };
    let patient_col = table
        .column("patient_id")
        .or_else(|| table.column("patient"));
    let root = csv_path.parent().unwrap_or(Path::new(""));
    let by_name: HashMap<&str, usize> = classes
        .iter()
        .enumerate()
        .map(|(i, c)| (c.as_str(), i))
        .collect();
    let mut problems = Vec::new();
    let mut samples = Vec::new();
    let mut bad = Vec::new();
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for (line, row) in &table.rows {
        let key = row[path_col].trim();
        let label = row[label_col].trim();
        if key.is_empty() {
            problems.push(format!("line {line}: empty path"));
            continue;
        }
        let Some(&label_idx) = by_name.get(label) else {
            problems.push(format!(
                "line {line}: unknown label '{label}' (expected one of: {})",
                classes.join(", ")
            ));
            continue;
        };
        if let Some(first) = seen.insert(key.to_string(), *line) {
            problems.push(format!(
                "line {line}: '{key}' already listed on line {first}"
            ));
            continue;
        }
        let path = root.join(key);
        if !path.is_file() {
            bad.push(BadImage {
                path,
                reason: "no such file".into(),
            });
            continue;
        }
        let patient = patient_col
            .map(|c| row[c].trim())
            .filter(|p| !p.is_empty())
            .map(str::to_string);
        samples.push(Sample {
            path,
            key: key.to_string(),
            label: label_idx,
            patient,
        });
    }
    if !problems.is_empty() {
        return Err(manifest_err(problems));
    }
    if samples.is_empty() && bad.is_empty() {
        return Err(manifest_err(vec!["lists no images".into()]));
    }
    Ok((samples, bad))
}

/// Minimal RFC 4180 CSV: quoted fields with `""` escapes, one record per line.
pub(crate) mod csv {
    use std::borrow::Cow;

    /// A header and its rows (with 1-based line numbers), every row as wide as the header.
    pub(crate) struct Table {
        pub header: Vec<String>,
        pub rows: Vec<(usize, Vec<String>)>,
    }

    impl Table {
        /// Parses text; blank lines are skipped, a leading BOM is ignored.
        pub(crate) fn parse(text: &str) -> Result<Self, String> {
            let text = text.strip_prefix('\u{feff}').unwrap_or(text);
            let mut lines = text
                .lines()
                .enumerate()
                .map(|(i, l)| (i + 1, l))
                .filter(|(_, l)| !l.trim().is_empty());
            let (_, head) = lines.next().ok_or("empty file: no header line")?;
            let header: Vec<String> = parse_record(head)
                .map_err(|e| format!("line 1: {e}"))?
                .into_iter()
                .map(|h| h.trim().to_ascii_lowercase())
                .collect();
            let mut rows = Vec::new();
            for (n, line) in lines {
                let row = parse_record(line).map_err(|e| format!("line {n}: {e}"))?;
                if row.len() != header.len() {
                    return Err(format!(
                        "line {n}: {} fields, the header has {}",
                        row.len(),
                        header.len()
                    ));
                }
                rows.push((n, row));
            }
            Ok(Self { header, rows })
        }

        /// Index of a column by (lower-case) name.
        pub(crate) fn column(&self, name: &str) -> Option<usize> {
            self.header.iter().position(|h| h == name)
        }
    }

    /// Splits one CSV line into fields.
    pub(crate) fn parse_record(line: &str) -> Result<Vec<String>, String> {
        let mut fields = Vec::new();
        let mut field = String::new();
        let mut chars = line.chars().peekable();
        let mut quoted = false;
        let mut at_start = true;
        while let Some(c) = chars.next() {
            match (quoted, c) {
                (false, '"') if at_start => quoted = true,
                (true, '"') if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                (true, '"') => {
                    quoted = false;
                    if !matches!(chars.peek(), None | Some(',')) {
                        return Err("text after a closing quote".into());
                    }
                }
                (false, ',') => {
                    fields.push(std::mem::take(&mut field));
                    at_start = true;
                    continue;
                }
                (_, c) => field.push(c),
            }
            at_start = false;
        }
        if quoted {
            return Err("unterminated quote".into());
        }
        fields.push(field);
        Ok(fields)
    }

    /// A field, quoted when it holds a comma, quote, line break or edge space.
    pub(crate) fn field(s: &str) -> Cow<'_, str> {
        let needs = s.contains([',', '"', '\n', '\r']) || s.trim() != s;
        if needs {
            Cow::Owned(format!("\"{}\"", s.replace('"', "\"\"")))
        } else {
            Cow::Borrowed(s)
        }
    }

    /// One CSV line (without newline) from fields.
    pub(crate) fn record<'a>(fields: impl IntoIterator<Item = &'a str>) -> String {
        fields.into_iter().map(field).collect::<Vec<_>>().join(",")
    }
}

/// Which samples make up each training step: successive epochs, each a fresh seeded
/// permutation, cut into batches. Step `s` is a pure function of (seed, `s`), so a resumed run
/// sees exactly the batches an uninterrupted one would.
#[derive(Debug, Clone)]
pub struct Sampler {
    len: usize,
    batch: usize,
    seed: u64,
}

/// Stream id of epoch permutations in [`Rng::derive`].
const EPOCH_STREAM: u64 = 0x45_50_4f_43_48; // "EPOCH"

impl Sampler {
    /// A sampler over `len` samples; `None` if `len` or `batch` is 0.
    pub fn new(len: usize, batch: usize, seed: u64) -> Option<Self> {
        (len > 0 && batch > 0).then_some(Self { len, batch, seed })
    }

    /// The permutation of epoch `epoch`.
    pub fn epoch_order(&self, epoch: u64) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.len).collect();
        Rng::derive(self.seed, &[EPOCH_STREAM, epoch]).shuffle(&mut order);
        order
    }

    /// Sample indices of step `step`: positions `step·B .. (step+1)·B` of the epoch stream.
    pub fn batch(&self, step: u64) -> Vec<usize> {
        let start = step as u128 * self.batch as u128;
        let mut out = Vec::with_capacity(self.batch);
        let mut epoch = (start / self.len as u128) as u64;
        let mut offset = (start % self.len as u128) as usize;
        let mut order = self.epoch_order(epoch);
        while out.len() < self.batch {
            if offset == self.len {
                epoch += 1;
                offset = 0;
                order = self.epoch_order(epoch);
            }
            let take = (self.batch - out.len()).min(self.len - offset);
            out.extend_from_slice(&order[offset..offset + take]);
            offset += take;
        }
        out
    }
}

/// Loader settings; the default uses all cores and keeps one job per worker in flight.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LoaderSettings {
    /// Worker threads; 0 = all cores.
    pub workers: usize,
    /// Jobs in flight beyond the one being consumed (≥ workers keeps every worker busy).
    pub prefetch: usize,
}

type JobResult<T> = (usize, Result<T, DataError>);

/// Runs `prepare` on worker threads over a list of jobs (typically one per batch) and yields
/// the results in job order, keeping at most `prefetch` jobs in flight. Dropping the loader
/// stops the workers after their current job.
pub struct Loader<J, T> {
    jobs: std::vec::IntoIter<J>,
    job_tx: Option<Sender<(usize, J)>>,
    result_rx: Receiver<JobResult<T>>,
    pending: BTreeMap<usize, Result<T, DataError>>,
    submitted: usize,
    next: usize,
    total: usize,
    in_flight: usize,
    workers: Vec<JoinHandle<()>>,
}

impl<J: Send + 'static, T: Send + 'static> Loader<J, T> {
    /// Starts the workers; `prepare(job)` runs on one of them, panics become
    /// [`DataError::WorkerPanicked`].
    pub fn new<F>(jobs: Vec<J>, settings: LoaderSettings, prepare: F) -> Self
    where
        F: Fn(J) -> Result<T, DataError> + Send + Sync + 'static,
    {
        let workers = match settings.workers {
            0 => thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        };
        let in_flight = settings.prefetch.max(workers).max(1);
        let total = jobs.len();
        let (job_tx, job_rx) = crossbeam_channel::unbounded::<(usize, J)>();
        let (result_tx, result_rx) = crossbeam_channel::unbounded();
        let prepare = Arc::new(prepare);
        let handles = (0..workers.min(total.max(1)))
            .map(|i| {
                let job_rx = job_rx.clone();
                let result_tx: Sender<JobResult<T>> = result_tx.clone();
                let prepare = Arc::clone(&prepare);
                thread::Builder::new()
                    .name(format!("loader-{i}"))
                    .spawn(move || {
                        for (index, job) in job_rx {
                            let run = std::panic::AssertUnwindSafe(|| prepare(job));
                            let result = std::panic::catch_unwind(run)
                                .unwrap_or_else(|p| Err(DataError::WorkerPanicked(panic_text(&p))));
                            if result_tx.send((index, result)).is_err() {
                                break;
                            }
                        }
                    })
                    .expect("cannot spawn a data loader thread")
            })
            .collect();
        let mut loader = Self {
            jobs: jobs.into_iter(),
            job_tx: Some(job_tx),
            result_rx,
            pending: BTreeMap::new(),
            submitted: 0,
            next: 0,
            total,
            in_flight,
            workers: handles,
        };
        loader.top_up();
        loader
    }

    /// Submits jobs until `in_flight` are outstanding.
    fn top_up(&mut self) {
        while self.submitted < self.total && self.submitted - self.next < self.in_flight {
            let (Some(job), Some(tx)) = (self.jobs.next(), &self.job_tx) else {
                return;
            };
            if tx.send((self.submitted, job)).is_err() {
                return;
            }
            self.submitted += 1;
        }
    }
}

fn panic_text(payload: &Box<dyn std::any::Any + Send>) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}

impl<J: Send + 'static, T: Send + 'static> Iterator for Loader<J, T> {
    type Item = Result<T, DataError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.next >= self.total {
            return None;
        }
        let result = loop {
            if let Some(r) = self.pending.remove(&self.next) {
                break r;
            }
            match self.result_rx.recv() {
                Ok((index, r)) => {
                    self.pending.insert(index, r);
                }
                Err(_) => break Err(DataError::WorkerPanicked("all workers exited".into())),
            }
        };
        self.next += 1;
        self.top_up();
        Some(result)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.total - self.next;
        (left, Some(left))
    }
}

impl<J, T> Drop for Loader<J, T> {
    fn drop(&mut self) {
        self.job_tx = None;
        // Unblock workers waiting to send, then wait for them to finish their current job.
        while self.result_rx.try_recv().is_ok() {}
        for handle in self.workers.drain(..) {
            let _ = handle.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_records_round_trip() {
        let fields = ["a,b", "say \"hi\"", "plain", " edge", ""];
        let line = csv::record(fields);
        assert_eq!(line, "\"a,b\",\"say \"\"hi\"\"\",plain,\" edge\",");
        assert_eq!(csv::parse_record(&line).unwrap(), fields);
        assert!(csv::parse_record("\"open").is_err());
        assert!(csv::parse_record("\"a\"b,c").is_err());
    }

    #[test]
    fn csv_table_checks_widths_and_names_lines() {
        let t =
            csv::Table::parse("\u{feff}Path,Label\n\na.png,cancer\r\nb.png,non-cancer\n").unwrap();
        assert_eq!(t.column("label"), Some(1));
        assert_eq!(t.rows.len(), 2);
        assert_eq!(t.rows[1].0, 4);
        assert_eq!(t.rows[1].1[1], "non-cancer");
        let err = csv::Table::parse("path,label\na.png\n").err().unwrap();
        assert!(err.contains("line 2"), "{err}");
    }

    #[test]
    fn sampler_walks_epochs_deterministically() {
        let s = Sampler::new(5, 3, 9).unwrap();
        let first: Vec<usize> = (0..5).flat_map(|step| s.batch(step)).collect();
        // 15 draws = 3 whole epochs, each a permutation of 0..5.
        for epoch in first.chunks(5) {
            let mut e = epoch.to_vec();
            e.sort_unstable();
            assert_eq!(e, vec![0, 1, 2, 3, 4]);
        }
        assert_eq!(s.batch(3), Sampler::new(5, 3, 9).unwrap().batch(3));
        assert_ne!(s.epoch_order(0), s.epoch_order(1));
        assert_eq!(Sampler::new(2, 7, 1).unwrap().batch(0).len(), 7);
        assert!(Sampler::new(0, 3, 1).is_none());
    }

    #[test]
    fn loader_keeps_order_and_reports_errors_and_panics() {
        let settings = LoaderSettings {
            workers: 3,
            prefetch: 4,
        };
        let out: Vec<_> = Loader::new((0..50u64).collect(), settings, |j| {
            thread::sleep(std::time::Duration::from_micros((50 - j) * 20));
            match j {
                7 => Err(DataError::Image {
                    path: "seven.png".into(),
                    reason: "bad".into(),
                }),
                9 => panic!("nine"),
                _ => Ok(j * 2),
            }
        })
        .collect();
        assert_eq!(out.len(), 50);
        for (j, r) in out.iter().enumerate() {
            match j {
                7 => assert!(r.as_ref().unwrap_err().to_string().contains("seven.png")),
                9 => assert!(r.as_ref().unwrap_err().to_string().contains("nine")),
                _ => assert_eq!(*r.as_ref().unwrap(), j as u64 * 2),
            }
        }
    }

    #[test]
    fn dropping_a_loader_early_stops_it() {
        let mut loader = Loader::new(
            (0..1000).collect(),
            LoaderSettings::default(),
            Ok::<_, DataError>,
        );
        assert_eq!(loader.next().unwrap().unwrap(), 0);
        drop(loader);
    }

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
