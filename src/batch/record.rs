//! What the archive says about one study: `ARCHIVE/<study_id>/batch.json`, written by the task
//! that works on it (atomically, so a killed task leaves the previous version), and the study's
//! own `summary.json` written by reprocess.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Name of the batch's record in a study folder.
pub const RECORD_FILE: &str = "batch.json";

/// Where a study stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    /// A task started it and has not finished (or was killed).
    Running,
    Complete,
    Failed,
}

/// The batch's record of one study.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StudyRecord {
    pub study_id: String,
    pub input: String,
    pub model: String,
    pub state: State,
    /// Why it failed.
    pub error: Option<String>,
    /// What the outputs were made from: the input's identity (SHA-256 of a video, of an image
    /// sequence's file names) and the model's SHA-256.
    pub input_id: Option<String>,
    pub model_sha256: String,
    /// Size and modification time of a video input when `input_id` was taken: unchanged, the
    /// file is not hashed again on the next run.
    pub input_fingerprint: Option<(u64, i128)>,
    pub shard: String,
    pub host: String,
    pub started: String,
    pub finished: Option<String>,
    /// Frames scored in this run and its wall time.
    pub frames: u64,
    pub wall_s: f64,
}

impl StudyRecord {
    /// The record in `dir`, if there is a readable one.
    pub fn read(dir: &Path) -> Option<Self> {
        let text = std::fs::read_to_string(dir.join(RECORD_FILE)).ok()?;
        serde_json::from_str(&text).ok()
    }

    /// Writes the record into `dir` atomically.
    pub fn write(&self, dir: &Path) -> anyhow::Result<()> {
        let path = dir.join(RECORD_FILE);
        let text = serde_json::to_string_pretty(self)?;
        crate::util::atomic::write(&path, text.as_bytes())
            .map_err(|e| anyhow::anyhow!("{}: cannot write: {e}", path.display()))
    }
}

/// Size and modification time (ns since the epoch) of a file.
pub fn fingerprint(path: &Path) -> Option<(u64, i128)> {
    let meta = std::fs::metadata(path).ok()?;
    let modified = meta.modified().ok()?;
    let ns = match modified.duration_since(std::time::UNIX_EPOCH) {
        Ok(d) => d.as_nanos() as i128,
        Err(e) => -(e.duration().as_nanos() as i128),
    };
    meta.is_file().then_some((meta.len(), ns))
}

/// The fields of a study's `summary.json` the batch and its index use.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SummaryView {
    pub complete: bool,
    pub error: Option<String>,
    pub frames: u64,
    pub segments: u64,
    pub flagged_s: f64,
    pub duration_s: f64,
    pub pipeline_fps: f64,
    pub model_sha256: String,
}

impl SummaryView {
    /// `dir/summary.json`, if readable.
    pub fn read(dir: &Path) -> Option<Self> {
        let path: PathBuf = dir.join(crate::reprocess::outputs::SUMMARY_FILE);
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()?;
        let num = |p: &str| {
            v.pointer(p)
                .and_then(serde_json::Value::as_f64)
                .unwrap_or(0.0)
        };
        Some(Self {
            complete: v.get("complete")?.as_bool()?,
            error: v.get("error").and_then(|e| e.as_str()).map(str::to_string),
            frames: num("/frames/decoded") as u64,
            segments: num("/segments") as u64,
            flagged_s: num("/flagged_s"),
            duration_s: num("/duration_s"),
            pipeline_fps: num("/pipeline_fps"),
            model_sha256: v
                .pointer("/model/sha256")
                .and_then(|s| s.as_str())
                .unwrap_or_default()
                .to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_and_a_damaged_one_reads_as_none() {
        let dir = std::env::temp_dir().join(format!("endoscan-record-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let record = StudyRecord {
            study_id: "s1".into(),
            input: "a.mp4".into(),
            model: "m.onnx".into(),
            state: State::Complete,
            error: None,
            input_id: Some("ab".into()),
            model_sha256: "cd".into(),
            input_fingerprint: Some((10, -5)),
            shard: "0/1".into(),
            host: "h".into(),
            started: "t0".into(),
            finished: Some("t1".into()),
            frames: 3,
            wall_s: 1.5,
        };
        record.write(&dir).unwrap();
        assert_eq!(StudyRecord::read(&dir), Some(record));
        std::fs::write(dir.join(RECORD_FILE), "{\"study_id\":").unwrap();
        assert_eq!(StudyRecord::read(&dir), None);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
