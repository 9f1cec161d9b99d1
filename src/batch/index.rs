//! `endoscan batch index ARCHIVE`: every study the manifest lists, with where it stands —
//! `index.csv`, `index.json` and a self-contained `index.html` in the archive. Exit status ≠ 0
//! while any study is not complete.
//!
//! Status: **complete** (its summary says complete and no task recorded a failure since),
//! **failed** (the last task to try it recorded an error), **incomplete** (started and not
//! finished: being worked on, or its task was killed; the next run resumes it), **missing**
//! (no task has started it).

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::archive::{read_manifest, read_shard_reports, ShardReport};
use super::record::{State, StudyRecord, SummaryView};
use crate::data::csv;

/// Arguments of `endoscan batch index`.
#[derive(Debug, Clone, clap::Args)]
pub struct IndexArgs {
    /// The archive folder (`--out` of `endoscan batch`).
    #[arg(value_name = "ARCHIVE")]
    pub archive: PathBuf,
}

/// One study in the index.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IndexEntry {
    pub study_id: String,
    pub status: &'static str,
    pub input: String,
    pub model: String,
    pub frames: u64,
    pub segments: u64,
    pub flagged_s: f64,
    pub duration_s: f64,
    pub frames_per_s: f64,
    /// `<study_id>/report.html`, where there is one.
    pub report: Option<String>,
    pub error: Option<String>,
}

/// The whole index.
#[derive(Debug, Clone, Serialize)]
pub struct Index {
    pub archive: String,
    pub generated: String,
    pub counts: Counts,
    pub studies: Vec<IndexEntry>,
    pub shards: Vec<ShardReport>,
    /// Frames scored by all task runs over their summed wall time.
    pub frames_per_task_s: f64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub complete: usize,
    pub incomplete: usize,
    pub failed: usize,
    pub missing: usize,
    pub total_frames: u64,
}

/// The entry of study `id` in `archive`.
fn entry(archive: &Path, id: &str, input: &str, model: Option<&str>) -> IndexEntry {
    let dir = archive.join(id);
    let record = StudyRecord::read(&dir);
    let summary = SummaryView::read(&dir);
    let checkpoint = dir.join(crate::reprocess::checkpoint::CHECKPOINT_FILE);
    let started = record.is_some() || summary.is_some() || checkpoint.is_file();
    let status = match (&record, &summary) {
        _ if !started => "missing",
        (Some(r), _) if r.state == State::Failed => "failed",
        (Some(r), Some(s)) if r.state == State::Complete && s.complete => "complete",
        (None, Some(s)) if s.complete => "complete",
        _ => "incomplete",
    };
    let s = summary.clone().unwrap_or_default();
    let report = dir.join("report.html");
    IndexEntry {
        study_id: id.to_string(),
        status,
        input: input.to_string(),
        model: record
            .as_ref()
            .map(|r| r.model.clone())
            .or(model.map(str::to_string))
            .unwrap_or_else(|| "(the batch's --model)".into()),
        frames: s.frames,
        segments: s.segments,
        flagged_s: s.flagged_s,
        duration_s: s.duration_s,
        frames_per_s: s.pipeline_fps,
        report: report.is_file().then(|| format!("{id}/report.html")),
        error: match status {
            "failed" => record.and_then(|r| r.error),
            "incomplete" => summary.and_then(|s| s.error),
            _ => None,
        },
    }
}

impl Index {
    /// Reads the archive.
    pub fn build(archive: &Path) -> anyhow::Result<Self> {
        let manifest = read_manifest(archive)?;
        let studies: Vec<IndexEntry> = manifest
            .studies
            .iter()
            .map(|s| entry(archive, &s.study_id, &s.input, s.model.as_deref()))
            .collect();
        let mut counts = Counts::default();
        for e in &studies {
            match e.status {
                "complete" => counts.complete += 1,
                "failed" => counts.failed += 1,
                "missing" => counts.missing += 1,
                _ => counts.incomplete += 1,
            }
            counts.total_frames += e.frames;
        }
        let shards = read_shard_reports(archive);
        let (frames, wall) = shards
            .iter()
            .fold((0u64, 0f64), |(f, w), s| (f + s.frames, w + s.wall_s));
        Ok(Self {
            archive: archive.display().to_string(),
            generated: crate::util::clock::utc_now(),
            counts,
            studies,
            shards,
            frames_per_task_s: frames as f64 / wall.max(1e-9),
        })
    }

    /// `index.csv`: one row per study.
    pub fn csv(&self) -> String {
        let mut out = csv::record([
            "study_id",
            "status",
            "frames",
            "segments",
            "flagged_s",
            "duration_s",
            "frames_per_s",
            "model",
            "report",
            "error",
            "input",
        ]);
        out.push('\n');
        for e in &self.studies {
            // One line per study: an error's own line breaks become " | ".
            let error = e.error.as_deref().unwrap_or("").replace('\n', " | ");
            let numbers = [
                e.frames.to_string(),
                e.segments.to_string(),
                format!("{:.1}", e.flagged_s),
                format!("{:.1}", e.duration_s),
                format!("{:.1}", e.frames_per_s),
            ];
            let mut fields: Vec<&str> = vec![&e.study_id, e.status];
            fields.extend(numbers.iter().map(String::as_str));
            fields.extend([
                e.model.as_str(),
                e.report.as_deref().unwrap_or(""),
                error.as_str(),
                e.input.as_str(),
            ]);
            out.push_str(&csv::record(fields));
            out.push('\n');
        }
        out
    }

    /// Whether every study is complete.
    pub fn all_complete(&self) -> bool {
        self.counts.complete == self.studies.len()
    }
}

/// `endoscan batch index`.
pub fn run(args: &IndexArgs) -> anyhow::Result<()> {
    let index = Index::build(&args.archive)?;
    let write = |name: &str, text: String| -> anyhow::Result<()> {
        let path = args.archive.join(name);
        crate::util::atomic::write(&path, text.as_bytes())
            .map_err(|e| anyhow::anyhow!("{}: cannot write: {e}", path.display()))
    };
    write("index.csv", index.csv())?;
    write("index.json", serde_json::to_string_pretty(&index)?)?;
    write("index.html", super::index_html::render(&index))?;
    let c = &index.counts;
    eprintln!(
        "batch index: {} studies: {} complete, {} incomplete, {} failed, {} missing; {} frames; {:.1} frames per task-second\n  {}",
        index.studies.len(),
        c.complete,
        c.incomplete,
        c.failed,
        c.missing,
        c.total_frames,
        index.frames_per_task_s,
        args.archive.join("index.html").display()
    );
    if !index.all_complete() {
        anyhow::bail!(
            "{}: {} of {} studies are not complete",
            args.archive.display(),
            index.studies.len() - c.complete,
            index.studies.len()
        );
    }
    Ok(())
}
