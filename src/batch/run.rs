//! One task of `endoscan batch`: the studies of its shard, one after the other, each exactly as
//! `endoscan reprocess` would make it in `ARCHIVE/<study_id>/`.
//!
//! Per study: already complete from the same input and model → skipped; a checkpoint there
//! (a task killed mid-study, a Slurm requeue, a pod restart) → resumed, which gives the same
//! `frames.csv` as an uninterrupted run; a checkpoint from another input, model or settings →
//! started over; held by another live task (its output-folder lock) → left to it. A failure is
//! recorded with its error and the task goes on; the exit status says whether any failed.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;

use super::manifest::{Manifest, StudyRow};
use super::record::{fingerprint, State, StudyRecord, SummaryView};
use super::shard::Shard;
use super::BatchArgs;
use crate::infer::{model_or_bundled, Model};
use crate::reprocess::checkpoint::CannotResume;
use crate::reprocess::files::input_identity;
use crate::reprocess::{ModelInfo, Reprocess, Settings};
use crate::util::clock::utc_now;
use crate::util::host::hostname;
use crate::util::outdir_lock::LockError;

/// A model and the settings its studies run with.
struct LoadedModel {
    model: Model,
    info: ModelInfo,
    settings: Settings,
}

/// What became of one study.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Skipped,
    Complete {
        frames: u64,
        wall_s: f64,
    },
    Failed(String),
    /// Another live task holds the study's folder.
    Busy(String),
}

/// The task: its archive, shard and loaded models.
struct Task<'a> {
    args: &'a BatchArgs,
    archive: &'a Path,
    shard: Shard,
    models: HashMap<PathBuf, LoadedModel>,
}

/// Runs this task's shard of `manifest` into `archive`.
pub fn run_shard(
    args: &BatchArgs,
    shard: Shard,
    manifest: &Manifest,
    archive: &Path,
) -> anyhow::Result<()> {
    std::fs::create_dir_all(archive)
        .with_context(|| format!("{}: cannot create the archive folder", archive.display()))?;
    super::archive::write_manifest(archive, manifest)?;
    let mine: Vec<&StudyRow> = manifest
        .studies
        .iter()
        .filter(|s| shard.takes(s.row))
        .collect();
    tracing::info!(
        "batch: shard {shard} takes {} of the {} studies in {}",
        mine.len(),
        manifest.studies.len(),
        manifest.path.display()
    );
    let mut task = Task {
        args,
        archive,
        shard,
        models: HashMap::new(),
    };
    let started = Instant::now();
    let mut outcomes = Vec::new();
    for (k, study) in mine.iter().enumerate() {
        let outcome = task.study(study);
        log_outcome(k + 1, mine.len(), study, &outcome);
        outcomes.push((study.study_id.clone(), outcome));
    }
    super::archive::write_shard_report(archive, shard, &outcomes, started.elapsed().as_secs_f64())?;
    let failed: Vec<&str> = outcomes
        .iter()
        .filter(|(_, o)| matches!(o, Outcome::Failed(_)))
        .map(|(id, _)| id.as_str())
        .collect();
    if !failed.is_empty() {
        anyhow::bail!(
            "shard {shard}: {} of {} studies failed ({}); their errors are in ARCHIVE/<study_id>/batch.json and `endoscan batch index`",
            failed.len(),
            mine.len(),
            failed.join(", ")
        );
    }
    Ok(())
}

fn log_outcome(k: usize, n: usize, study: &StudyRow, outcome: &Outcome) {
    let id = &study.study_id;
    match outcome {
        Outcome::Skipped => tracing::info!("[{k}/{n}] {id}: already complete, skipped"),
        Outcome::Complete { frames, wall_s } => tracing::info!(
            "[{k}/{n}] {id}: complete, {frames} frames in {wall_s:.1} s ({:.1} frames/s)",
            *frames as f64 / wall_s.max(1e-9)
        ),
        Outcome::Failed(e) => tracing::error!("[{k}/{n}] {id}: failed: {e}"),
        Outcome::Busy(e) => tracing::warn!("[{k}/{n}] {id}: left to the task working on it ({e})"),
    }
}

impl Task<'_> {
    fn study(&mut self, study: &StudyRow) -> Outcome {
        match self.try_study(study) {
            Ok(outcome) => outcome,
            Err(e) => Outcome::Failed(format!("{e:#}")),
        }
    }

    fn model(&mut self, path: &Path) -> anyhow::Result<&mut LoadedModel> {
        if !self.models.contains_key(path) {
            let options = self.args.options.backend.options(true);
            let model = Model::load(path, &options)?;
            let threshold = model.metadata().threshold;
            let settings = Settings::from_options(&self.args.options, false, threshold)?;
            let info = ModelInfo::new(path, model.metadata())?;
            let loaded = LoadedModel {
                model,
                info,
                settings,
            };
            self.models.insert(path.to_path_buf(), loaded);
        }
        Ok(self.models.get_mut(path).expect("inserted above"))
    }

    fn try_study(&mut self, study: &StudyRow) -> anyhow::Result<Outcome> {
        let dir = self.archive.join(&study.study_id);
        let model_path = model_or_bundled(study.model.as_deref().or(self.args.model.as_deref()))?;
        let (shard, host) = (self.shard.to_string(), hostname());
        let mut record = StudyRecord {
            study_id: study.study_id.clone(),
            input: study.input.display().to_string(),
            model: model_path.display().to_string(),
            state: State::Running,
            error: None,
            input_id: None,
            model_sha256: String::new(),
            input_fingerprint: fingerprint(&study.input),
            shard,
            host,
            started: utc_now(),
            finished: None,
            frames: 0,
            wall_s: 0.0,
        };
        let loaded = match self.model(&model_path) {
            Ok(m) => m,
            Err(e) => return self.fail(&dir, record, e),
        };
        record.model_sha256 = loaded.info.sha256.clone();
        let capture = loaded.settings.capture;
        let previous = StudyRecord::read(&dir);
        if let Some(prev) = previous.filter(|p| is_done(p, &dir, &record)) {
            let same = prev.input_fingerprint.is_some()
                && prev.input_fingerprint == record.input_fingerprint;
            if same || input_identity(&study.input, capture).ok() == prev.input_id {
                return Ok(Outcome::Skipped);
            }
        }
        record.input_id = match input_identity(&study.input, capture) {
            Ok(id) => Some(id),
            Err(e) => return self.fail(&dir, record, e),
        };
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("{}: cannot create", dir.display()))?;
        record.write(&dir)?;
        let started = Instant::now();
        let result = run_study(self.model(&model_path)?, &study.input, &dir);
        record.wall_s = started.elapsed().as_secs_f64();
        record.finished = Some(utc_now());
        match result {
            Err(e) if is_busy(&e) => Ok(Outcome::Busy(format!("{e:#}"))),
            Err(e) => self.fail(&dir, record, e),
            Ok((frames, None)) => {
                record.state = State::Complete;
                record.frames = frames;
                record.write(&dir)?;
                Ok(Outcome::Complete {
                    frames,
                    wall_s: record.wall_s,
                })
            }
            Ok((frames, Some(e))) => {
                record.frames = frames;
                self.fail(&dir, record, e)
            }
        }
    }

    fn fail(
        &self,
        dir: &Path,
        mut record: StudyRecord,
        e: anyhow::Error,
    ) -> anyhow::Result<Outcome> {
        let text = format!("{e:#}");
        record.state = State::Failed;
        record.error = Some(text.clone());
        record.finished.get_or_insert_with(utc_now);
        std::fs::create_dir_all(dir)
            .with_context(|| format!("{}: cannot create", dir.display()))?;
        record.write(dir)?;
        Ok(Outcome::Failed(text))
    }
}

/// Whether `prev` says the study was finished from the model `now` names, its summary agreeing.
fn is_done(prev: &StudyRecord, dir: &Path, now: &StudyRecord) -> bool {
    prev.state == State::Complete
        && prev.model_sha256 == now.model_sha256
        && prev.input == now.input
        && SummaryView::read(dir).is_some_and(|s| s.complete && s.model_sha256 == now.model_sha256)
}

/// Reprocesses `input` into `dir`, resuming a checkpoint there (or starting over when it is
/// from another input, model or settings): frames scored in this run, and the error that
/// stopped the study, if one did.
fn run_study(
    model: &mut LoadedModel,
    input: &Path,
    dir: &Path,
) -> anyhow::Result<(u64, Option<anyhow::Error>)> {
    let checkpoint = dir
        .join(crate::reprocess::checkpoint::CHECKPOINT_FILE)
        .is_file();
    let mut settings = model.settings.clone();
    settings.resume = checkpoint;
    let preprocessor = model.model.preprocessor().clone();
    let attempt = |settings: Settings, model: &mut LoadedModel| {
        Reprocess::new(settings)?.run(input, &model.info, &preprocessor, &mut model.model, dir)
    };
    let study = match attempt(settings.clone(), model) {
        Err(e) if settings.resume && e.downcast_ref::<CannotResume>().is_some() => {
            tracing::warn!("{}: {e:#}; starting the study over", dir.display());
            settings.resume = false;
            attempt(settings, model)?
        }
        other => other?,
    };
    let frames = study.summary.frames.scored;
    Ok((frames, study.error))
}

fn is_busy(e: &anyhow::Error) -> bool {
    matches!(e.downcast_ref::<LockError>(), Some(LockError::InUse { .. }))
}
