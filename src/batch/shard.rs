//! Which studies a task takes: shard `I` of `N` takes the manifest rows `r` (0-based, in file
//! order) with `r mod N = I`. Round robin, so long and short studies listed together spread
//! over the shards, and a shard's rows never change while the manifest does not.
//!
//! Where `--shard` is not given, the cluster says: a Slurm job array task
//! (`SLURM_ARRAY_TASK_ID` within `SLURM_ARRAY_TASK_MIN..=MAX`, step `SLURM_ARRAY_TASK_STEP`) or
//! a Kubernetes Indexed Job pod (`JOB_COMPLETION_INDEX`, with the count from `--shard-count`
//! or `ENDOSCAN_SHARD_COUNT`). Neither: one shard, every study.

use std::fmt;

/// Shard `index` of `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl Shard {
    /// Every study.
    pub const ALL: Shard = Shard { index: 0, count: 1 };

    /// `I/N` with `0 ≤ I < N`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let bad = || format!("--shard {text}: expected I/N with 0 ≤ I < N, e.g. 0/4");
        let (i, n) = text.split_once('/').ok_or_else(bad)?;
        let (index, count) = (
            i.trim().parse::<usize>().map_err(|_| bad())?,
            n.trim().parse::<usize>().map_err(|_| bad())?,
        );
        Self::new(index, count).ok_or_else(bad)
    }

    fn new(index: usize, count: usize) -> Option<Self> {
        (count > 0 && index < count).then_some(Self { index, count })
    }

    /// Whether manifest row `row` belongs to this shard.
    pub fn takes(&self, row: usize) -> bool {
        row % self.count == self.index
    }

    /// The shard the environment names (`var` reads a variable), else [`Shard::ALL`];
    /// `count` is `--shard-count`.
    pub fn from_env(
        var: impl Fn(&str) -> Option<String>,
        count: Option<usize>,
    ) -> Result<Self, String> {
        let num = |name: &str| -> Result<Option<i64>, String> {
            match var(name) {
                None => Ok(None),
                Some(v) if v.trim().is_empty() => Ok(None),
                Some(v) => v
                    .trim()
                    .parse()
                    .map(Some)
                    .map_err(|_| format!("{name}={v}: not an integer")),
            }
        };
        if let Some(id) = num("SLURM_ARRAY_TASK_ID")? {
            let (min, max) = (num("SLURM_ARRAY_TASK_MIN")?, num("SLURM_ARRAY_TASK_MAX")?);
            let step = num("SLURM_ARRAY_TASK_STEP")?.unwrap_or(1).max(1);
            let (min, max) = (min.unwrap_or(0), max.unwrap_or(id));
            let from_range = (max - min) / step + 1;
            let total = match count.map(|c| c as i64) {
                Some(c) => c,
                None => num("SLURM_ARRAY_TASK_COUNT")?.unwrap_or(from_range),
            };
            let index = (id - min) / step;
            return usize::try_from(index)
                .ok()
                .zip(usize::try_from(total).ok())
                .and_then(|(i, n)| Self::new(i, n))
                .ok_or_else(|| {
                    format!("SLURM_ARRAY_TASK_ID={id} (min {min}, max {max}, step {step}) is not a task of {total}")
                });
        }
        if let Some(index) = num("JOB_COMPLETION_INDEX")? {
            let total = match count {
                Some(c) => Some(c as i64),
                None => num("ENDOSCAN_SHARD_COUNT")?,
            };
            let Some(total) = total else {
                return Err(format!(
                    "JOB_COMPLETION_INDEX={index} but no shard count: pass --shard-count N or set ENDOSCAN_SHARD_COUNT (the Job's completions)"
                ));
            };
            return usize::try_from(index)
                .ok()
                .zip(usize::try_from(total).ok())
                .and_then(|(i, n)| Self::new(i, n))
                .ok_or_else(|| format!("JOB_COMPLETION_INDEX={index} is not a shard of {total}"));
        }
        match count {
            Some(n) if n > 1 => Err(format!(
                "--shard-count {n} but no shard index: pass --shard I/{n}, or run as a Slurm array task or a Kubernetes Indexed Job pod"
            )),
            _ => Ok(Self::ALL),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn shards_cover_every_row_exactly_once() {
        for n in 1..6 {
            for row in 0..23 {
                let owners = (0..n).filter(|&i| Shard { index: i, count: n }.takes(row));
                assert_eq!(owners.count(), 1, "row {row} of {n} shards");
            }
        }
        assert!(Shard::parse("2/4").unwrap().takes(6));
        assert!(!Shard::parse("2/4").unwrap().takes(7));
    }

    #[test]
    fn bad_shards_are_refused() {
        for text in ["4/4", "1/0", "a/2", "3", "-1/2"] {
            assert!(Shard::parse(text).is_err(), "{text}");
        }
    }

    #[test]
    fn slurm_arrays_name_the_shard() {
        let e = env(&[
            ("SLURM_ARRAY_TASK_ID", "2"),
            ("SLURM_ARRAY_TASK_MIN", "0"),
            ("SLURM_ARRAY_TASK_MAX", "3"),
        ]);
        assert_eq!(Shard::from_env(e, None), Ok(Shard { index: 2, count: 4 }));
        // --array=1-8:2 → tasks 1, 3, 5, 7.
        let e = env(&[
            ("SLURM_ARRAY_TASK_ID", "5"),
            ("SLURM_ARRAY_TASK_MIN", "1"),
            ("SLURM_ARRAY_TASK_MAX", "7"),
            ("SLURM_ARRAY_TASK_STEP", "2"),
        ]);
        assert_eq!(Shard::from_env(e, None), Ok(Shard { index: 2, count: 4 }));
        let e = env(&[
            ("SLURM_ARRAY_TASK_ID", "1"),
            ("SLURM_ARRAY_TASK_COUNT", "3"),
        ]);
        assert_eq!(Shard::from_env(e, None), Ok(Shard { index: 1, count: 3 }));
    }

    #[test]
    fn indexed_jobs_need_a_count() {
        let e = env(&[("JOB_COMPLETION_INDEX", "3"), ("ENDOSCAN_SHARD_COUNT", "5")]);
        assert_eq!(Shard::from_env(e, None), Ok(Shard { index: 3, count: 5 }));
        let e = env(&[("JOB_COMPLETION_INDEX", "3")]);
        assert_eq!(
            Shard::from_env(&e, Some(4)),
            Ok(Shard { index: 3, count: 4 })
        );
        assert!(Shard::from_env(&e, None)
            .unwrap_err()
            .contains("--shard-count"));
        assert!(Shard::from_env(&e, Some(3)).is_err());
    }

    #[test]
    fn no_cluster_means_every_study() {
        assert_eq!(Shard::from_env(env(&[]), None), Ok(Shard::ALL));
        assert!(Shard::from_env(env(&[]), Some(3)).is_err());
    }
}
