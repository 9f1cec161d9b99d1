//! Scores on disk while a study runs, and the checkpoint that `--resume` continues from.
//!
//! `scores.csv` (`frame,pts_ms,p_positive,status` and the finding's columns,
//! [`crate::localize::columns`]) gets one row per scored frame, appended
//! a batch at a time and synced; then `checkpoint.json` is replaced atomically with the number
//! of rows that are safely on disk and what they were computed from (input, model, batch,
//! preprocessing). On `--resume` the checkpoint must match the new run exactly; rows past the
//! checkpoint (a batch cut off by the interruption) are discarded.
//!
//! Values are stored as text with fixed precision, and a run always works on the values as
//! they read back, so a resumed study gives byte-identical `frames.csv`.

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use serde::{Deserialize, Serialize};

use crate::infer::stage::ScoredFrame;
pub use crate::infer::stage::{round_ms, round_p};
use crate::localize::columns;
use crate::preprocess::FrameStatus;

pub const SCORES_FILE: &str = "scores.csv";
pub const CHECKPOINT_FILE: &str = "checkpoint.json";
const SCORES_HEADER: &str = "frame,pts_ms,p_positive,status,box_x,box_y,box_w,box_h,peak_x,peak_y";
/// Version of the checkpoint format (2: the status column; 3: the finding's columns).
const CHECKPOINT_VERSION: u32 = 3;

/// What the scores were computed from; a resumed run must match every field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    /// The input path as given.
    pub input: String,
    /// SHA-256 of a video file, or of the file-name list of an image sequence.
    pub input_id: String,
    /// SHA-256 of the model file.
    pub model_sha256: String,
    pub batch: usize,
    /// Preprocessing and capture settings that change scores, as text.
    pub settings: String,
}

/// A checkpoint from another input, model or settings: the study cannot continue from it
/// (the error's cause says what differs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CannotResume {
    pub checkpoint: PathBuf,
}

impl std::fmt::Display for CannotResume {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: cannot resume (delete it or run without --resume to start over)",
            self.checkpoint.display()
        )
    }
}

/// The checkpoint file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Checkpoint {
    pub version: u32,
    pub identity: Identity,
    /// Rows of `scores.csv` that are on disk (frames `0..frames_done`).
    pub frames_done: u64,
}

/// Appends scores and keeps the checkpoint current.
pub struct ScoreLog {
    dir: PathBuf,
    identity: Identity,
    out: BufWriter<File>,
    rows: u64,
}

impl ScoreLog {
    /// Starts a new log in `dir` (replacing any old one).
    pub fn create(dir: &Path, identity: Identity) -> anyhow::Result<Self> {
        let path = dir.join(SCORES_FILE);
        let mut out = BufWriter::new(
            File::create(&path).with_context(|| format!("{}: cannot create", path.display()))?,
        );
        writeln!(out, "{SCORES_HEADER}")
            .with_context(|| format!("{}: cannot write", path.display()))?;
        let mut log = Self {
            dir: dir.to_path_buf(),
            identity,
            out,
            rows: 0,
        };
        log.commit()?;
        Ok(log)
    }

    /// Reopens the log in `dir` for `--resume`: checks the checkpoint against `identity`,
    /// returns the rows it covers and a log positioned after them. `Ok(None)` if `dir` has no
    /// checkpoint.
    pub fn resume(
        dir: &Path,
        identity: Identity,
    ) -> anyhow::Result<Option<(Self, Vec<ScoredFrame>)>> {
        let cp_path = dir.join(CHECKPOINT_FILE);
        let text = match std::fs::read_to_string(&cp_path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => {
                return Err(e)
                    .with_context(|| format!("{}: cannot read checkpoint", cp_path.display()))
            }
        };
        let cp: Checkpoint = serde_json::from_str(&text).with_context(|| {
            format!(
                "{}: not a checkpoint written by endoscan",
                cp_path.display()
            )
        })?;
        if cp.version != CHECKPOINT_VERSION {
            bail!(
                "{}: written by another endoscan version (format {}, this one reads {CHECKPOINT_VERSION}); run without --resume to start over",
                cp_path.display(),
                cp.version
            );
        }
        check_identity(&cp.identity, &identity).context(CannotResume {
            checkpoint: cp_path.clone(),
        })?;
        let scores_path = dir.join(SCORES_FILE);
        let file = File::open(&scores_path)
            .with_context(|| format!("{}: cannot read", scores_path.display()))?;
        let rows = read_scores(BufReader::new(file), cp.frames_done)
            .with_context(|| format!("{}: damaged", scores_path.display()))?;
        // Rewrite the file with exactly the checkpointed rows, then append.
        let mut log = Self::create(dir, identity)?;
        log.append(&rows)?;
        log.commit()?;
        Ok(Some((log, rows)))
    }

    /// Rows written.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Appends rows (already in frame order, continuing the log).
    pub fn append(&mut self, rows: &[ScoredFrame]) -> anyhow::Result<()> {
        let path = self.dir.join(SCORES_FILE);
        for r in rows {
            if r.index != self.rows {
                bail!(
                    "{}: frame {} arrived where frame {} was due",
                    path.display(),
                    r.index,
                    self.rows
                );
            }
            writeln!(
                self.out,
                "{},{:.3},{:.6},{},{}",
                r.index,
                r.pts_ms,
                r.p,
                r.status.name(),
                columns::format(r.finding.as_ref())
            )
            .with_context(|| format!("{}: cannot write", path.display()))?;
            self.rows += 1;
        }
        Ok(())
    }

    /// Makes the rows durable and records them in the checkpoint.
    pub fn commit(&mut self) -> anyhow::Result<()> {
        let path = self.dir.join(SCORES_FILE);
        self.out
            .flush()
            .and_then(|_| self.out.get_ref().sync_data())
            .with_context(|| format!("{}: cannot write", path.display()))?;
        let cp = Checkpoint {
            version: CHECKPOINT_VERSION,
            identity: self.identity.clone(),
            frames_done: self.rows,
        };
        let json = serde_json::to_string_pretty(&cp).expect("a checkpoint serializes");
        write_atomic(&self.dir.join(CHECKPOINT_FILE), json.as_bytes())
    }
}

fn check_identity(old: &Identity, new: &Identity) -> anyhow::Result<()> {
    let mut diffs = Vec::new();
    if old.input_id != new.input_id {
        diffs.push(format!(
            "it was made for input {} with different content",
            old.input
        ));
    }
    if old.model_sha256 != new.model_sha256 {
        diffs.push("it was made with a different model file".to_string());
    }
    if old.batch != new.batch {
        diffs.push(format!(
            "it was made with --batch {} (now {})",
            old.batch, new.batch
        ));
    }
    if old.settings != new.settings {
        diffs.push(format!(
            "settings differ: was [{}], now [{}]",
            old.settings, new.settings
        ));
    }
    if diffs.is_empty() {
        Ok(())
    } else {
        bail!("{}", diffs.join("; "))
    }
}

/// Reads the first `want` rows of a scores file.
pub fn read_scores<R: BufRead>(reader: R, want: u64) -> anyhow::Result<Vec<ScoredFrame>> {
    let mut lines = reader.lines();
    match lines.next() {
        Some(Ok(h)) if h == SCORES_HEADER => {}
        Some(Ok(h)) => bail!("header is '{h}', expected '{SCORES_HEADER}'"),
        Some(Err(e)) => return Err(e.into()),
        None => bail!("file is empty"),
    }
    let mut rows = Vec::with_capacity(want as usize);
    for (i, line) in lines.enumerate() {
        if rows.len() as u64 == want {
            break;
        }
        let line = line?;
        let row = parse_row(&line).with_context(|| format!("line {}: '{line}'", i + 2))?;
        if row.index != rows.len() as u64 {
            bail!(
                "line {}: frame {} where frame {} was due",
                i + 2,
                row.index,
                rows.len()
            );
        }
        rows.push(row);
    }
    if (rows.len() as u64) < want {
        bail!(
            "the checkpoint covers {want} frames but the file holds {}",
            rows.len()
        );
    }
    Ok(rows)
}

fn parse_row(line: &str) -> anyhow::Result<ScoredFrame> {
    let f: Vec<&str> = line.split(',').collect();
    if f.len() != 4 + columns::FIELDS {
        bail!("expected {} fields", 4 + columns::FIELDS);
    }
    let p: f32 = f[2].parse()?;
    if !(0.0..=1.0).contains(&p) {
        bail!("probability {p} is outside [0, 1]");
    }
    Ok(ScoredFrame {
        index: f[0].parse()?,
        pts_ms: f[1].parse()?,
        p,
        status: FrameStatus::parse(f[3])
            .with_context(|| format!("status '{}' is not a frame status", f[3]))?,
        finding: columns::parse(&f[4..])?,
    })
}

/// Writes `bytes` to `path` atomically ([`crate::util::atomic::write`]), so readers never see a
/// half-written file.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    crate::util::atomic::write(path, bytes)
        .with_context(|| format!("{}: cannot write", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::localize::Finding;

    fn identity() -> Identity {
        Identity {
            input: "a.mp4".into(),
            input_id: "aa".into(),
            model_sha256: "bb".into(),
            batch: 4,
            settings: "s".into(),
        }
    }

    fn scratch(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("endoscan-cp-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn row(i: u64) -> ScoredFrame {
        ScoredFrame {
            index: i,
            pts_ms: i as f64 * 33.333333,
            p: 0.1234567,
            status: if i.is_multiple_of(2) {
                FrameStatus::Ok
            } else {
                FrameStatus::Corrupt
            },
            finding: i.is_multiple_of(3).then_some(Finding {
                x: 5,
                y: 6,
                width: 70,
                height: 80,
                peak_x: 40,
                peak_y: 50,
            }),
        }
    }

    #[test]
    fn resume_returns_the_checkpointed_rows_only() {
        let dir = scratch("resume");
        let mut log = ScoreLog::create(&dir, identity()).unwrap();
        log.append(&[row(0), row(1), row(2), row(3)]).unwrap();
        log.commit().unwrap();
        // Rows after the last commit are lost in an interruption.
        log.append(&[row(4), row(5)]).unwrap();
        drop(log);
        let (mut log, rows) = ScoreLog::resume(&dir, identity()).unwrap().unwrap();
        assert_eq!(rows.len(), 4);
        assert_eq!(rows[3], row(3).rounded());
        assert!(rows[3].finding.is_some() && rows[2].finding.is_none());
        assert_eq!(log.rows(), 4);
        assert!(log.append(&[row(5)]).is_err(), "continuity is checked");
        log.append(&[row(4)]).unwrap();
    }

    #[test]
    fn resume_refuses_another_input_or_batch() {
        let dir = scratch("refuse");
        ScoreLog::create(&dir, identity()).unwrap();
        let other = Identity {
            batch: 8,
            input_id: "cc".into(),
            ..identity()
        };
        let err = format!("{:#}", ScoreLog::resume(&dir, other).err().unwrap());
        assert!(
            err.contains("--batch 4") && err.contains("different content"),
            "{err}"
        );
        assert!(err.contains("checkpoint.json"), "{err}");
        assert!(ScoreLog::resume(&scratch("none"), identity())
            .unwrap()
            .is_none());
    }

    #[test]
    fn damaged_scores_are_reported_with_the_line() {
        let h = SCORES_HEADER;
        let text = format!("{h}\n0,0.000,0.5,ok,,,,,,\n1,33.333,x,ok,,,,,,\n");
        let err = format!("{:#}", read_scores(text.as_bytes(), 2).unwrap_err());
        assert!(err.contains("line 3"), "{err}");
        let short = format!("{h}\n0,0.000,0.5,ok,,,,,,\n");
        let bad = format!("{h}\n0,0.000,0.5,fine,,,,,,\n");
        let err = format!("{:#}", read_scores(bad.as_bytes(), 1).unwrap_err());
        assert!(err.contains("'fine'"), "{err}");
        assert!(read_scores(short.as_bytes(), 2).is_err());
        let old = "frame,pts_ms,p_positive,status\n0,0.000,0.5,ok\n";
        assert!(read_scores(old.as_bytes(), 1).is_err());
        assert_eq!(read_scores(short.as_bytes(), 1).unwrap().len(), 1);
    }

    #[test]
    fn rounding_is_what_reads_back() {
        let r = row(7).rounded();
        assert_eq!(r.p, 0.123457);
        assert_eq!(r.pts_ms, 233.333);
    }
}
