//! [`Dataset`]: the samples of an ImageFolder, a CSV manifest or a list, checked and hashed.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::thread;

use image::RgbImage;
use sha2::{Digest, Sha256};

use super::images::{check_image, decode_rgb};
use super::{folder, manifest};
use super::{BadImage, DataError, DataSettings, Sample, Source, MANIFEST_NAME};
use crate::util::hash::hex;

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
            let (samples, bad) = manifest::read_manifest(path, &settings.classes)?;
            (Source::Manifest(path.to_path_buf()), samples, bad)
        } else {
            let has_class_dir = settings.classes.iter().any(|c| path.join(c).is_dir());
            let manifest = path.join(MANIFEST_NAME);
            if !has_class_dir && manifest.is_file() {
                let (samples, bad) = manifest::read_manifest(&manifest, &settings.classes)?;
                (Source::Manifest(manifest), samples, bad)
            } else {
                let (samples, bad) = folder::read_image_folder(path, &settings.classes)?;
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
