//! `endoscan train` (feature `train`): the paper's BiT fine-tuning recipe, end to end.
//!
//! Input: [`TrainArgs`]. Output in the run folder: `split.csv`, `best.safetensors`,
//! `last*.safetensors` (resume checkpoint), `run.json`, `model.onnx` (decision threshold chosen
//! on the validation set) and `test/` (`endoscan eval` of `model.onnx` on the test subset).
//! Threads: data preparation and augmentation on loader workers, libtorch on the caller's.
//! Failure modes: bad data, arguments or weights fail before training, naming the file; a
//! diverging loss stops the run; a killed run resumes exactly with `--resume RUN`.

use std::path::Path;
use std::time::Instant;

use anyhow::{bail, Context};

use super::amp::Amp;
use super::args::{
    Mode, RuntimeSettings, Select, TrainArgs, TrainConfig, DEFAULT_EVALS_PER_RUN, MOMENTUM,
};
use super::augment::Augmenter;
use super::batch::BatchMaker;
use super::checkpoint::{self, ResumeState};
use super::data::{Loader, LoaderSettings};
use super::finish;
use super::progress::{clock, Progress};
use super::record::{
    AugmentRecord, BestRecord, DataRecord, EvalRecord, Plan, RunRecord, WeightsRecord, RUN_FORMAT,
};
use super::schedule::Schedule;
use super::setup::{self, RunData};
use super::trainer::{Trainer, ValScores};
use crate::eval::metrics::{auc, roc_curve};
use crate::model::{ModelMetadata, Weights};
use crate::util::outdir_lock::OutDirLock;

/// Batches prepared ahead of the training step.
const PREFETCH: usize = 4;

/// Top-level entry point of `endoscan train`.
pub fn run(args: &TrainArgs) -> anyhow::Result<()> {
    let runtime = RuntimeSettings::from_args(args)?;
    if let Some(t) = runtime.threads {
        tch::set_num_threads(t as i32);
    }
    let device = setup::device_of(runtime.device)?;
    let (config, previous) = match &args.resume {
        Some(run) => {
            let record = RunRecord::read(run)?;
            if record.status == "done" {
                println!("{}: the run is complete; nothing to resume", run.display());
                return Ok(());
            }
            (record.config.clone(), Some(record))
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
            (config, None)
        }
    };
    let run = config.out.clone();
    let _lock = OutDirLock::acquire(&run)?;

    // A run killed before its first checkpoint starts again from step 0 with its settings.
    let resuming = previous.as_ref().is_some_and(|r| r.step > 0);
    let weights = if resuming {
        None
    } else {
        config.weights.as_deref().map(Weights::load).transpose()?
    };
    let normalization = match &previous {
        Some(r) => r.plan.normalization.parse().map_err(anyhow::Error::msg)?,
        None => setup::normalization_of(&config, weights.as_ref())?,
    };
    let weights_record = match &previous {
        Some(r) => r.weights.clone(),
        None => weights
            .as_ref()
            .zip(config.weights.as_ref())
            .map(|(w, p)| WeightsRecord {
                path: p.clone(),
                sha256: w.sha256.clone(),
            }),
    };
    let data = setup::load_data(
        &config,
        normalization,
        previous.as_ref().map(|r| r.data.content_hash.as_str()),
        runtime.workers,
    )?;
    let model = setup::build_model(&config, weights, device)?;
    let total_parameters = model
        .var_store()
        .variables()
        .values()
        .map(|v| v.numel())
        .sum();
    let amp = Amp::new(config.precision, device).map_err(anyhow::Error::msg)?;
    let positive = data.dataset.positive();
    let mut trainer = Trainer::new(
        model,
        config.mode,
        amp,
        config.input_size,
        positive,
        MOMENTUM,
    )?;

    let batch = match &previous {
        Some(r) => r.plan.batch,
        None => setup::batch_size(config.batch, &mut trainer, device, data.train.len())?,
    };
    let schedule = Schedule::new(config.rule, batch, config.images_total, data.train.len())?;
    let lr_scale = config.lr.map_or(1.0, |lr| lr / schedule.base_lr());
    let total = schedule.total_steps();
    let eval_every = config
        .eval_every
        .unwrap_or_else(|| total.div_ceil(DEFAULT_EVALS_PER_RUN))
        .max(1);
    let augmentation = config.augmentation();
    let plan = Plan {
        batch,
        total_steps: total,
        base_lr: schedule.base_lr() * lr_scale,
        warmup_steps: schedule.warmup_steps(),
        decay_steps: schedule.boundaries().to_vec(),
        eval_every,
        momentum: MOMENTUM,
        weight_decay: 0.0,
        device: setup::device_name(device),
        precision: trainer.amp().precision().to_string(),
        normalization: normalization.to_string(),
        augmentation: augmentation.as_ref().map(AugmentRecord::from),
        feature_cache: config.caches_features(),
        trainable_parameters: trainer.sgd().numel(),
        total_parameters,
    };
    let mut record = match previous {
        Some(mut r) => {
            if r.plan.device != plan.device {
                tracing::warn!("the run started on {} and continues on {}: results may differ from an uninterrupted run", r.plan.device, plan.device);
            }
            r.resumed_at.push(r.step);
            r
        }
        None => {
            let r = new_record(&config, plan.clone(), &data, weights_record);
            r.write(&run)?;
            r
        }
    };
    let meta = ModelMetadata {
        variant: config.variant,
        input_size: config.input_size,
        normalization,
        classes: config.classes.clone(),
        positive,
        threshold: crate::model::metadata::DEFAULT_THRESHOLD,
        weights_sha256: String::new(),
    };

    // Before features are cached: in local mode they come from the restored backbone.
    let mut state = if resuming {
        let state = checkpoint::load_last(&run, &mut trainer)?;
        tracing::info!("resuming {} at step {}/{total}", run.display(), state.step);
        state
    } else {
        ResumeState {
            amp_scale: trainer.amp().scale,
            ..ResumeState::default()
        }
    };
    let augmenter = augmentation
        .map(Augmenter::new)
        .transpose()
        .map_err(anyhow::Error::msg)?;
    let train_maker = BatchMaker::new(
        data.frames.clone(),
        data.train.clone(),
        data.labels(&data.train),
        batch,
        config.seed,
        augmenter,
    )
    .context("the training subset is empty")?;
    let val_maker = BatchMaker::new(
        data.frames.clone(),
        data.val.clone(),
        data.labels(&data.val),
        batch,
        config.seed,
        None,
    )
    .context("the validation subset is empty")?;
    let train_maker = if config.caches_features() {
        tracing::info!(
            "local mode: computing backbone features of {} train and {} validation images once",
            data.train.len(),
            data.val.len()
        );
        trainer.cache_features(&train_maker, &val_maker, batch)?;
        train_maker.labels_only()
    } else {
        train_maker
    };

    log_plan(&config, &plan, &data);

    let end = runtime.stop_after.map_or(total, |s| s.min(total));
    let ctx = LoopContext {
        run: &run,
        config: &config,
        meta: &meta,
        schedule: &schedule,
        lr_scale,
        eval_every,
        batch,
    };
    train_steps(
        &ctx,
        &mut trainer,
        train_maker,
        &val_maker,
        &mut state,
        end,
        runtime.workers,
        &mut record,
    )?;
    if state.step < total {
        println!(
            "stopped after step {}/{total}; continue with: endoscan train --resume {}",
            state.step,
            run.display()
        );
        return Ok(());
    }
    finish::finish(&config, &meta, &data, &mut record, runtime)
}

/// What the step loop reads.
struct LoopContext<'a> {
    run: &'a Path,
    config: &'a TrainConfig,
    meta: &'a ModelMetadata,
    schedule: &'a Schedule,
    lr_scale: f64,
    eval_every: u64,
    batch: usize,
}

/// Steps `state.step..end`, validating and checkpointing every `eval_every` steps and at `end`.
#[allow(clippy::too_many_arguments)]
fn train_steps(
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

fn log_plan(config: &TrainConfig, plan: &Plan, data: &RunData) {
    tracing::info!(
        "{} {} fine-tuning on {}: {} train / {} val / {} test images, batch {}, {} steps, lr {:.3e} ({} rule{}), {} {}, {} of {} parameters train",
        config.variant,
        match config.mode { Mode::Global => "global", Mode::Local => "local" },
        plan.device,
        data.train.len(),
        data.val.len(),
        data.test.len(),
        plan.batch,
        plan.total_steps,
        plan.base_lr,
        config.rule,
        if config.lr.is_some() { ", --lr" } else { "" },
        plan.precision,
        match (&plan.augmentation, plan.feature_cache) {
            (Some(_), _) => "with augmentation",
            (None, true) => "without augmentation (cached features)",
            (None, false) => "without augmentation",
        },
        plan.trainable_parameters,
        plan.total_parameters,
    );
}
