//! The step loop of `endoscan train`: batches from loader workers through the trainer, with
//! validation, the best and resume checkpoints and `run.json` every `eval_every` steps.

use std::path::Path;
use std::time::Instant;

use anyhow::bail;

use super::args::{Select, TrainConfig};
use super::batch::BatchMaker;
use super::checkpoint::{self, ResumeState};
use super::progress::{clock, Progress};
use super::record::{BestRecord, EvalRecord, RunRecord};
use super::schedule::Schedule;
use super::trainer::{Trainer, ValScores};
use crate::data::{Loader, LoaderSettings};
use crate::metrics::{auc, roc_curve};
use crate::model::ModelMetadata;

/// Batches prepared ahead of the training step.
const PREFETCH: usize = 4;

/// What the step loop reads.
pub struct LoopContext<'a> {
    pub run: &'a Path,
    pub config: &'a TrainConfig,
    pub meta: &'a ModelMetadata,
    pub schedule: &'a Schedule,
    pub lr_scale: f64,
    pub eval_every: u64,
    pub batch: usize,
}

/// Steps `state.step..end`, validating and checkpointing every `eval_every` steps and at `end`.
#[allow(clippy::too_many_arguments)]
pub fn train_steps(
    ctx: &LoopContext<'_>,
    trainer: &mut Trainer,
    maker: BatchMaker,
    val: &BatchMaker,
    state: &mut ResumeState,
    end: u64,
    workers: usize,
    record: &mut RunRecord,
) -> anyhow::Result<()> {
    if state.step >= end {
        return Ok(());
    }
    let total = ctx.schedule.total_steps();
    let started = Instant::now();
    let seconds_before = state.train_seconds;
    let mut progress = Progress::new(state.step, total, ctx.batch);
    let settings = LoaderSettings {
        workers,
        prefetch: PREFETCH,
    };
    let maker = std::sync::Arc::new(maker);
    let steps: Vec<u64> = (state.step..end).collect();
    let loader = Loader::new(steps, settings, move |step| maker.make(step));
    for batch in loader {
        let batch = batch?;
        let step = batch.step;
        let lr = ctx
            .schedule
            .lr_at(step)
            .expect("steps stop at the schedule's end")
            * ctx.lr_scale;
        let loss = trainer.step(&batch, lr)?;
        if !loss.is_finite() {
            progress.finish();
            bail!("the training loss became {loss} at step {step}: the learning rate ({lr:.3e}) is too high for this model and data (set a lower --lr)");
        }
        state.step = step + 1;
        state.loss_sum += loss;
        state.loss_count += 1;
        progress.step(state.step, loss, lr);
        if state.step.is_multiple_of(ctx.eval_every) || state.step == end {
            state.train_seconds = seconds_before + started.elapsed().as_secs_f64();
            if state.step.is_multiple_of(ctx.eval_every) || state.step == total {
                let line = validate(ctx, trainer, val, state, lr)?;
                progress.println(&line);
            }
            state.amp_scale = trainer.amp().scale;
            state.amp_clean_steps = trainer.amp().clean_steps;
            checkpoint::save_last(ctx.run, trainer, ctx.meta, state)?;
            record.step = state.step;
            record.evals = state.evals.clone();
            record.best = state.best.clone();
            record.train_seconds = state.train_seconds;
            record.status = if state.step == total {
                "trained"
            } else {
                "stopped"
            }
            .into();
            record.write(ctx.run)?;
        }
    }
    progress.finish();
    let rate = progress.images_per_second(state.step);
    tracing::info!(
        "trained steps to {}/{total} in {} ({rate:.1} images/s)",
        state.step,
        clock(started.elapsed().as_secs_f64())
    );
    Ok(())
}

/// Validates, records the result and keeps the best checkpoint; returns a summary line.
fn validate(
    ctx: &LoopContext<'_>,
    trainer: &Trainer,
    val: &BatchMaker,
    state: &mut ResumeState,
    lr: f64,
) -> anyhow::Result<String> {
    let scores = trainer.validate(val, ctx.batch)?;
    let (accuracy, val_auc) = summarize(&scores, ctx.meta.positive);
    let eval = EvalRecord {
        step: state.step,
        images_seen: state.step * ctx.batch as u64,
        lr,
        train_loss: (state.loss_count > 0).then(|| state.loss_sum / state.loss_count as f64),
        val_loss: scores.loss,
        val_accuracy: accuracy,
        val_auc,
        seconds: state.train_seconds,
    };
    state.loss_sum = 0.0;
    state.loss_count = 0;
    let value = match ctx.config.select {
        Select::Auc => val_auc.unwrap_or(accuracy),
        Select::Accuracy => accuracy,
        Select::Loss => -scores.loss,
    };
    let better = state
        .best
        .as_ref()
        .is_none_or(|b| value > b.value || (value == b.value && scores.loss < b.val_loss));
    if better {
        checkpoint::save_best(ctx.run, trainer, ctx.meta, state.step)?;
        state.best = Some(BestRecord {
            step: state.step,
            value,
            val_loss: scores.loss,
        });
    }
    let line = format!(
        "step {}: train loss {}  val loss {:.4}  val accuracy {:.2} %  val AUC {}{}",
        state.step,
        eval.train_loss.map_or("—".into(), |l| format!("{l:.4}")),
        scores.loss,
        accuracy * 100.0,
        val_auc.map_or("—".into(), |a| format!("{a:.4}")),
        if better { "  (best so far)" } else { "" }
    );
    state.evals.push(eval);
    Ok(line)
}

/// Accuracy at probability 0.5 and ROC AUC of validation scores.
fn summarize(scores: &ValScores, positive: usize) -> (f64, Option<f64>) {
    let truth: Vec<bool> = scores
        .labels
        .iter()
        .map(|&l| l as usize == positive)
        .collect();
    let correct = scores
        .probabilities
        .iter()
        .zip(&truth)
        .filter(|(&p, &t)| (p >= 0.5) == t)
        .count();
    let accuracy = correct as f64 / truth.len().max(1) as f64;
    (accuracy, auc(&roc_curve(&scores.probabilities, &truth)))
}
