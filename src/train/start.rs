//! Starting or resuming a run of `endoscan train`: the run folder, its `run.json`, the starting
//! weights and normalization, and the step state to continue from.

use anyhow::Context;

use super::args::{TrainArgs, TrainConfig};
use super::checkpoint::{self, ResumeState};
use super::record::{DataRecord, Plan, RunRecord, WeightsRecord, RUN_FORMAT};
use super::setup::{self, RunData};
use super::trainer::Trainer;
use crate::model::{Normalization, Weights};

/// The configuration of the run `args` ask for, and the record of the run it continues; `None`
/// when `--resume` names a complete run (after saying so). A fresh run's folder is created.
pub fn open(args: &TrainArgs) -> anyhow::Result<Option<(TrainConfig, Option<RunRecord>)>> {
    match &args.resume {
        Some(run) => {
            let record = RunRecord::read(run)?;
            if record.status == "done" {
                println!("{}: the run is complete; nothing to resume", run.display());
                return Ok(None);
            }
            Ok(Some((record.config.clone(), Some(record))))
        }
        None => {
            let config = TrainConfig::from_args(args)?;
            checkpoint::ensure_fresh(&config.out)?;
            std::fs::create_dir_all(&config.out).with_context(|| {
                format!(
                    "--out {}: cannot create the run folder",
                    config.out.display()
                )
            })?;
            Ok(Some((config, None)))
        }
    }
}

/// What a run starts from.
pub struct Start {
    /// `--weights`, loaded (none when resuming from a checkpoint).
    pub weights: Option<Weights>,
    pub normalization: Normalization,
    /// What `run.json` says of the starting weights.
    pub weights_record: Option<WeightsRecord>,
}

impl Start {
    /// Loads `--weights` unless `resuming`; normalization and weights record come from the
    /// `previous` record when there is one.
    pub fn new(
        config: &TrainConfig,
        previous: Option<&RunRecord>,
        resuming: bool,
    ) -> anyhow::Result<Self> {
        let weights = if resuming {
            None
        } else {
            config.weights.as_deref().map(Weights::load).transpose()?
        };
        let normalization = match previous {
            Some(r) => r.plan.normalization.parse().map_err(anyhow::Error::msg)?,
            None => setup::normalization_of(config, weights.as_ref())?,
        };
        let weights_record = match previous {
            Some(r) => r.weights.clone(),
            None => weights
                .as_ref()
                .zip(config.weights.as_ref())
                .map(|(w, p)| WeightsRecord {
                    path: p.clone(),
                    sha256: w.sha256.clone(),
                }),
        };
        Ok(Self {
            weights,
            normalization,
            weights_record,
        })
    }
}

/// The run record: `previous` marked resumed (warning when the device changed), or a new one
/// written to the run folder.
pub fn record(
    previous: Option<RunRecord>,
    config: &TrainConfig,
    plan: &Plan,
    data: &RunData,
    weights: Option<WeightsRecord>,
) -> anyhow::Result<RunRecord> {
    Ok(match previous {
        Some(mut r) => {
            if r.plan.device != plan.device {
                tracing::warn!("the run started on {} and continues on {}: results may differ from an uninterrupted run", r.plan.device, plan.device);
            }
            r.resumed_at.push(r.step);
            r
        }
        None => {
            let r = new_record(config, plan.clone(), data, weights);
            r.write(&config.out)?;
            r
        }
    })
}

/// The step state: restored from the resume checkpoint when `resuming` (which also restores
/// the trainer), else step 0.
pub fn state(
    resuming: bool,
    run: &std::path::Path,
    trainer: &mut Trainer,
    total: u64,
) -> anyhow::Result<ResumeState> {
    Ok(if resuming {
        let state = checkpoint::load_last(run, trainer)?;
        tracing::info!("resuming {} at step {}/{total}", run.display(), state.step);
        state
    } else {
        ResumeState {
            amp_scale: trainer.amp().scale,
            ..ResumeState::default()
        }
    })
}

fn new_record(
    config: &TrainConfig,
    plan: Plan,
    data: &RunData,
    weights: Option<WeightsRecord>,
) -> RunRecord {
    RunRecord {
        format: RUN_FORMAT,
        endoscan_version: env!("CARGO_PKG_VERSION").to_string(),
        git_revision: super::record::git_revision(),
        config: config.clone(),
        plan,
        data: DataRecord {
            source: data.dataset.source().path().to_path_buf(),
            content_hash: data.dataset.content_hash().unwrap_or_default().to_string(),
            classes: data.dataset.classes().to_vec(),
            positive: config.positive.clone(),
            split: data.split_file.clone(),
            counts: data.counts.clone(),
            skipped: data.skipped.clone(),
        },
        weights,
        status: "running".into(),
        step: 0,
        resumed_at: Vec::new(),
        evals: Vec::new(),
        best: None,
        train_seconds: 0.0,
        threshold: None,
        test: None,
    }
}
