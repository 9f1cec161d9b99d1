//! The archive's own files, beside the study folders: `batch-manifest.json` (every study the
//! manifest lists, so the index knows the missing ones) and `shards/shard-I-of-N.json` (what
//! each task did, for throughput).

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::manifest::Manifest;
use super::run::Outcome;
use super::shard::Shard;

/// The manifest as the archive keeps it.
pub const MANIFEST_FILE: &str = "batch-manifest.json";
/// Folder of the shard reports.
pub const SHARDS_DIR: &str = "shards";

/// One study of the recorded manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ListedStudy {
    pub study_id: String,
    pub input: String,
    pub model: Option<String>,
}

/// The recorded manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArchiveManifest {
    pub manifest: String,
    pub studies: Vec<ListedStudy>,
}

/// Records `manifest` in the archive (every task writes the same file; atomically).
pub fn write_manifest(archive: &Path, manifest: &Manifest) -> anyhow::Result<()> {
    let listed = ArchiveManifest {
        manifest: manifest.path.display().to_string(),
        studies: manifest
            .studies
            .iter()
            .map(|s| ListedStudy {
                study_id: s.study_id.clone(),
                input: s.input.display().to_string(),
                model: s.model.as_ref().map(|m| m.display().to_string()),
            })
            .collect(),
    };
    let path = archive.join(MANIFEST_FILE);
    crate::util::atomic::write(&path, serde_json::to_string_pretty(&listed)?.as_bytes())
        .map_err(|e| anyhow::anyhow!("{}: cannot write: {e}", path.display()))
}

/// The recorded manifest of `archive`.
pub fn read_manifest(archive: &Path) -> anyhow::Result<ArchiveManifest> {
    let path = archive.join(MANIFEST_FILE);
    let text = std::fs::read_to_string(&path).map_err(|e| {
        anyhow::anyhow!(
            "{}: cannot read ({e}); is {} an archive written by `endoscan batch`?",
            path.display(),
            archive.display()
        )
    })?;
    serde_json::from_str(&text).map_err(|e| anyhow::anyhow!("{}: damaged: {e}", path.display()))
}

/// What one task run did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShardReport {
    pub shard: String,
    pub host: String,
    pub finished: String,
    pub studies: usize,
    pub complete: usize,
    pub skipped: usize,
    pub failed: usize,
    pub busy: usize,
    /// Frames scored by this run and its wall time.
    pub frames: u64,
    pub wall_s: f64,
    pub frames_per_s: f64,
}

/// Writes `shards/shard-I-of-N.json` for this run.
pub fn write_shard_report(
    archive: &Path,
    shard: Shard,
    outcomes: &[(String, Outcome)],
    wall_s: f64,
) -> anyhow::Result<()> {
    let count = |f: fn(&Outcome) -> bool| outcomes.iter().filter(|(_, o)| f(o)).count();
    let frames: u64 = outcomes
        .iter()
        .map(|(_, o)| match o {
            Outcome::Complete { frames, .. } => *frames,
            _ => 0,
        })
        .sum();
    let report = ShardReport {
        shard: shard.to_string(),
        host: crate::util::host::hostname(),
        finished: crate::util::clock::utc_now(),
        studies: outcomes.len(),
        complete: count(|o| matches!(o, Outcome::Complete { .. })),
        skipped: count(|o| matches!(o, Outcome::Skipped)),
        failed: count(|o| matches!(o, Outcome::Failed(_))),
        busy: count(|o| matches!(o, Outcome::Busy(_))),
        frames,
        wall_s,
        frames_per_s: frames as f64 / wall_s.max(1e-9),
    };
    let dir = archive.join(SHARDS_DIR);
    std::fs::create_dir_all(&dir)
        .map_err(|e| anyhow::anyhow!("{}: cannot create: {e}", dir.display()))?;
    let path = dir.join(format!("shard-{}-of-{}.json", shard.index, shard.count));
    crate::util::atomic::write(&path, serde_json::to_string_pretty(&report)?.as_bytes())
        .map_err(|e| anyhow::anyhow!("{}: cannot write: {e}", path.display()))
}

/// Every shard report in the archive.
pub fn read_shard_reports(archive: &Path) -> Vec<ShardReport> {
    let Ok(entries) = std::fs::read_dir(archive.join(SHARDS_DIR)) else {
        return Vec::new();
    };
    let mut reports: Vec<ShardReport> = entries
        .filter_map(Result::ok)
        .filter_map(|e| serde_json::from_str(&std::fs::read_to_string(e.path()).ok()?).ok())
        .collect();
    reports.sort_by(|a, b| a.shard.cmp(&b.shard));
    reports
}
