//! Train / validation / test split (recipe.md, "Data"): stratified ~70/15/15, grouped by patient
//! when ids exist so no patient appears in two subsets, seeded and deterministic, stored as
//! `split.csv` (`path,label,patient_id,subset`) so a run can be repeated or evaluated with
//! exactly the same images.
//!
//! Algorithm: every patient is a group (a sample without an id is its own group). Groups are
//! shuffled with the seed, ordered by size (largest first, stable), and each goes to the subset
//! whose per-class counts lag their targets most, weighted by the group's class mix. Without
//! patient ids this reproduces the targets to within one image per class.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use super::{csv, Dataset};

/// The generator of splits: the crate's SplitMix64 under the [`Train`](crate::rng::Train) scheme.
type Rng = crate::rng::Rng<crate::rng::Train>;

/// Default fractions of train, validation and test.
pub const DEFAULT_FRACTIONS: [f64; 3] = [0.70, 0.15, 0.15];
/// File name of a split inside a run folder.
pub const SPLIT_FILE: &str = "split.csv";
/// Stream id of the group shuffle in [`Rng::derive`].
const SPLIT_STREAM: u64 = 0x53_50_4c_49_54; // "SPLIT"

/// One of the three subsets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, clap::ValueEnum)]
pub enum Subset {
    Train,
    Val,
    Test,
}

impl Subset {
    /// All subsets in order.
    pub const ALL: [Subset; 3] = [Subset::Train, Subset::Val, Subset::Test];

    /// The name written to `split.csv`.
    pub fn name(self) -> &'static str {
        match self {
            Subset::Train => "train",
            Subset::Val => "val",
            Subset::Test => "test",
        }
    }
}

impl fmt::Display for Subset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Subset {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "train" => Ok(Subset::Train),
            "val" | "valid" | "validation" => Ok(Subset::Val),
            "test" => Ok(Subset::Test),
            other => Err(format!(
                "unknown subset '{other}' (expected train, val or test)"
            )),
        }
    }
}

/// How to split.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SplitSettings {
    /// Fractions of train, validation and test; they must be ≥ 0 and sum to 1.
    pub fractions: [f64; 3],
    pub seed: u64,
}

impl Default for SplitSettings {
    fn default() -> Self {
        Self {
            fractions: DEFAULT_FRACTIONS,
            seed: 0,
        }
    }
}

/// Split errors; file errors name the file.
#[derive(Debug, thiserror::Error)]
pub enum SplitError {
    #[error("split fractions {0:?} must be ≥ 0 and sum to 1")]
    Fractions([f64; 3]),
    #[error(
        "cannot split {groups} patient group(s) into train, validation and test: need at least 3"
    )]
    TooFewGroups { groups: usize },
    #[error("{}: cannot read or write: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: {}", path.display(), problems.join("; "))]
    File {
        path: PathBuf,
        problems: Vec<String>,
    },
}

/// The subset of every sample of one dataset, aligned with [`Dataset::samples`]; a split read
/// from a file may leave samples out of every subset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Split {
    subsets: Vec<Option<Subset>>,
    /// Subsets of the dataset's bad images ([`Dataset::bad`]) that a split file lists.
    bad: Vec<Option<Subset>>,
}

impl Split {
    /// Splits `dataset` as the module doc describes.
    pub fn stratified(dataset: &Dataset, settings: &SplitSettings) -> Result<Self, SplitError> {
        let f = settings.fractions;
        if f.iter().any(|x| !(0.0..=1.0).contains(x)) || (f.iter().sum::<f64>() - 1.0).abs() > 1e-6
        {
            return Err(SplitError::Fractions(f));
        }
        let n_classes = dataset.classes().len();
        let groups = groups_of(dataset, n_classes);
        if groups.len() < 3 {
            return Err(SplitError::TooFewGroups {
                groups: groups.len(),
            });
        }
        let mut order: Vec<usize> = (0..groups.len()).collect();
        Rng::derive(settings.seed, &[SPLIT_STREAM]).shuffle(&mut order);
        order.sort_by_key(|&g| std::cmp::Reverse(groups[g].members.len()));

        let totals = dataset.class_counts();
        let target = |s: usize, c: usize| f[s] * totals[c] as f64;
        let mut counts = vec![vec![0usize; n_classes]; 3];
        let mut subsets = vec![None; dataset.len()];
        for g in order {
            let group = &groups[g];
            // Minimizes the growth of Σ_s Σ_c (count − target)²: the subset whose counts lag
            // most in the classes this group brings. Subsets with no share are never chosen.
            let cost = |s: usize| -> f64 {
                (0..n_classes)
                    .map(|c| (counts[s][c] as f64 - target(s, c)) * group.class_counts[c] as f64)
                    .sum()
            };
            let best = (0..3)
                .filter(|&s| f[s] > 0.0)
                .min_by(|&a, &b| cost(a).total_cmp(&cost(b)))
                .expect("fractions sum to 1, so one subset has a share");
            for (count, add) in counts[best].iter_mut().zip(&group.class_counts) {
                *count += add;
            }
            for &i in &group.members {
                subsets[i] = Some(Subset::ALL[best]);
            }
        }
        let split = Self {
            subsets,
            bad: vec![None; dataset.bad().len()],
        };
        split.log_summary(dataset);
        Ok(split)
    }

    /// Subset of sample `index`; `None` if a split file did not list it.
    pub fn subset_of(&self, index: usize) -> Option<Subset> {
        self.subsets[index]
    }

    /// Indices of the samples in `subset`, in dataset order.
    pub fn indices(&self, subset: Subset) -> Vec<usize> {
        (0..self.subsets.len())
            .filter(|&i| self.subsets[i] == Some(subset))
            .collect()
    }

    /// Indices into [`Dataset::bad`] of the bad images a split file puts in `subset`.
    pub fn bad_indices(&self, subset: Subset) -> Vec<usize> {
        (0..self.bad.len())
            .filter(|&i| self.bad[i] == Some(subset))
            .collect()
    }

    /// Number of samples the split covers (dataset length).
    pub fn len(&self) -> usize {
        self.subsets.len()
    }

    /// Whether the split covers no samples.
    pub fn is_empty(&self) -> bool {
        self.subsets.is_empty()
    }

    /// Samples per (subset, class).
    pub fn counts(&self, dataset: &Dataset) -> [Vec<usize>; 3] {
        let mut counts: [Vec<usize>; 3] = std::array::from_fn(|_| vec![0; dataset.classes().len()]);
        for (s, sample) in self.subsets.iter().zip(dataset.samples()) {
            if let Some(s) = s {
                counts[*s as usize][sample.label] += 1;
            }
        }
        counts
    }

    fn log_summary(&self, dataset: &Dataset) {
        let counts = self.counts(dataset);
        for s in Subset::ALL {
            let per_class: Vec<String> = dataset
                .classes()
                .iter()
                .zip(&counts[s as usize])
                .map(|(c, n)| format!("{n} {c}"))
                .collect();
            tracing::info!("{s}: {}", per_class.join(", "));
            if counts[s as usize].contains(&0) {
                tracing::warn!("{s} subset lacks a class: metrics on it are undefined");
            }
        }
    }

    /// Writes `path,label,patient_id,subset`, one row per assigned sample in dataset order.
    pub fn write(&self, dataset: &Dataset, path: &Path) -> Result<(), SplitError> {
        let mut text = String::from("path,label,patient_id,subset\n");
        let rows = dataset.samples().iter().zip(&self.subsets);
        for (sample, subset) in rows.filter_map(|(s, sub)| sub.map(|sub| (s, sub))) {
            let label = &dataset.classes()[sample.label];
            let patient = sample.patient.as_deref().unwrap_or("");
            text += &csv::record([sample.key.as_str(), label, patient, subset.name()]);
            text.push('\n');
        }
        std::fs::write(path, text).map_err(|source| SplitError::Io {
            path: path.to_path_buf(),
            source,
        })
    }

    /// Reads a `split.csv` for `dataset`: every listed path must be a sample of the dataset with
    /// the same label; dataset samples the file does not list are left out of every subset
    /// (reported as a warning, for example images skipped as bad).
    pub fn read(dataset: &Dataset, path: &Path) -> Result<Self, SplitError> {
        let text = std::fs::read_to_string(path).map_err(|source| SplitError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let file_err = |problems| SplitError::File {
            path: path.to_path_buf(),
            problems,
        };
        let table = csv::Table::parse(&text).map_err(|p| file_err(vec![p]))?;
        let (Some(path_col), Some(label_col), Some(subset_col)) = (
            table.column("path"),
            table.column("label"),
            table.column("subset"),
        ) else {
            return Err(file_err(vec![format!(
                "header must name 'path', 'label' and 'subset' (found: {})",
                table.header.join(",")
            )]));
        };
        let index: HashMap<&str, usize> = dataset
            .samples()
            .iter()
            .enumerate()
            .map(|(i, s)| (s.key.as_str(), i))
            .collect();
        let mut subsets = vec![None; dataset.len()];
        let mut bad = vec![None; dataset.bad().len()];
        let mut problems = Vec::new();
        for (line, row) in &table.rows {
            let key = row[path_col].trim();
            let subset = match row[subset_col].trim().parse::<Subset>() {
                Ok(s) => s,
                Err(e) => {
                    problems.push(format!("line {line}: {e}"));
                    continue;
                }
            };
            let Some(&i) = index.get(key) else {
                let full = dataset.root().join(key);
                if let Some(b) = dataset.bad().iter().position(|b| b.path == full) {
                    bad[b] = Some(subset);
                    continue;
                }
                problems.push(format!(
                    "line {line}: '{key}' is not in the dataset {}",
                    dataset.source().path().display()
                ));
                continue;
            };
            let label = row[label_col].trim();
            let expected = &dataset.classes()[dataset.samples()[i].label];
            if label != expected {
                problems.push(format!(
                    "line {line}: '{key}' is labelled '{label}' here but '{expected}' in the dataset"
                ));
            }
            if subsets[i].replace(subset).is_some() {
                problems.push(format!("line {line}: '{key}' is listed twice"));
            }
        }
        if !problems.is_empty() {
            return Err(file_err(problems));
        }
        let unlisted = subsets.iter().filter(|s| s.is_none()).count();
        if unlisted > 0 {
            tracing::warn!(
                "{}: {unlisted} dataset images are not in the split and are left out",
                path.display()
            );
        }
        Ok(Self { subsets, bad })
    }
}

/// One patient's samples.
struct Group {
    members: Vec<usize>,
    class_counts: Vec<usize>,
}

/// Groups by patient id in first-appearance order; samples without an id are singletons.
fn groups_of(dataset: &Dataset, n_classes: usize) -> Vec<Group> {
    let mut groups: Vec<Group> = Vec::new();
    let mut by_patient: HashMap<&str, usize> = HashMap::new();
    for (i, sample) in dataset.samples().iter().enumerate() {
        let g = match sample.patient.as_deref() {
            Some(p) => *by_patient.entry(p).or_insert_with(|| {
                groups.push(Group {
                    members: Vec::new(),
                    class_counts: vec![0; n_classes],
                });
                groups.len() - 1
            }),
            None => {
                groups.push(Group {
                    members: Vec::new(),
                    class_counts: vec![0; n_classes],
                });
                groups.len() - 1
            }
        };
        groups[g].members.push(i);
        groups[g].class_counts[sample.label] += 1;
    }
    groups
}

#[cfg(test)]
#[path = "split_tests.rs"]
mod tests;
