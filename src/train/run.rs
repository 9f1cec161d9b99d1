//! `endoscan train` (feature `train`): the paper's BiT fine-tuning recipe, end to end.
//!
//! Input: [`TrainArgs`]. Output in the run folder: `split.csv`, `best.safetensors`,
//! `last*.safetensors` (resume checkpoint), `run.json`, `model.onnx` (decision threshold chosen
//! on the validation set) and `test/` (`endoscan eval` of `model.onnx` on the test subset).
//! Threads: data preparation and augmentation on loader workers, libtorch on the caller's.
//! Failure modes: bad data, arguments or weights fail before training, naming the file; a
//! diverging loss stops the run; a killed run resumes exactly with `--resume RUN`.

use anyhow::Context;
use tch::Device;

use super::amp::Amp;
use super::args::{Mode, RuntimeSettings, TrainArgs, TrainConfig, DEFAULT_EVALS_PER_RUN, MOMENTUM};
use super::augment::Augmenter;
use super::batch::BatchMaker;
use super::finish;
use super::record::{AugmentRecord, Plan};
use super::schedule::Schedule;
use super::setup::{self, RunData};
use super::start::{self, Start};
use super::steps::{train_steps, LoopContext};
use super::trainer::Trainer;
use crate::model::{ModelMetadata, Normalization, Weights};
use crate::util::outdir_lock::OutDirLock;

/// Top-level entry point of `endoscan train`.
pub fn run(args: &TrainArgs) -> anyhow::Result<()> {
    let runtime = RuntimeSettings::from_args(args)?;
    if let Some(t) = runtime.threads {
        tch::set_num_threads(t as i32);
    }
    let device = setup::device_of(runtime.device)?;
    let Some((config, previous)) = start::open(args)? else {
        return Ok(());
    };
    let run = config.out.clone();
    let _lock = OutDirLock::acquire(&run)?;

    // A run killed before its first checkpoint starts again from step 0 with its settings.
    let resuming = previous.as_ref().is_some_and(|r| r.step > 0);
    let from = Start::new(&config, previous.as_ref(), resuming)?;
    let data = setup::load_data(
        &config,
        from.normalization,
        previous.as_ref().map(|r| r.data.content_hash.as_str()),
        runtime.workers,
    )?;
    let positive = data.dataset.positive();
    let mut trainer = build_trainer(&config, from.weights, device, positive)?;
    let batch = match &previous {
        Some(r) => r.plan.batch,
        None => setup::batch_size(config.batch, &mut trainer, device, data.train.len())?,
    };
    let schedule = Schedule::new(config.rule, batch, config.images_total, data.train.len())?;
    let lr_scale = config.lr.map_or(1.0, |lr| lr / schedule.base_lr());
    let total = schedule.total_steps();
    let plan = plan_of(
        &config,
        &schedule,
        lr_scale,
        batch,
        &trainer,
        device,
        from.normalization,
    );
    let mut record = start::record(previous, &config, &plan, &data, from.weights_record)?;
    let meta = metadata(&config, from.normalization, positive);

    // Before features are cached: in local mode they come from the restored backbone.
    let mut state = start::state(resuming, &run, &mut trainer, total)?;
    let (train_maker, val_maker) = batch_makers(&config, &data, &mut trainer, batch)?;
    log_plan(&config, &plan, &data);

    let end = runtime.stop_after.map_or(total, |s| s.min(total));
    let ctx = LoopContext {
        run: &run,
        config: &config,
        meta: &meta,
        schedule: &schedule,
        lr_scale,
        eval_every: plan.eval_every,
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

/// The metadata of the models the run writes (default threshold until `finish` chooses one).
fn metadata(config: &TrainConfig, normalization: Normalization, positive: usize) -> ModelMetadata {
    ModelMetadata {
        variant: config.variant,
        input_size: config.input_size,
        normalization,
        classes: config.classes.clone(),
        positive,
        threshold: crate::model::metadata::DEFAULT_THRESHOLD,
        weights_sha256: String::new(),
        cam_output: None,
    }
}

/// The model (from `weights`, else initialised) on `device` and its trainer.
fn build_trainer(
    config: &TrainConfig,
    weights: Option<Weights>,
    device: Device,
    positive: usize,
) -> anyhow::Result<Trainer> {
    let model = setup::build_model(config, weights, device)?;
    let amp = Amp::new(config.precision, device).map_err(anyhow::Error::msg)?;
    Ok(Trainer::new(
        model,
        config.mode,
        amp,
        config.input_size,
        positive,
        MOMENTUM,
    )?)
}

/// The plan `run.json` records: batch, schedule, device, precision and what trains.
fn plan_of(
    config: &TrainConfig,
    schedule: &Schedule,
    lr_scale: f64,
    batch: usize,
    trainer: &Trainer,
    device: Device,
    normalization: Normalization,
) -> Plan {
    let total = schedule.total_steps();
    let eval_every = config
        .eval_every
        .unwrap_or_else(|| total.div_ceil(DEFAULT_EVALS_PER_RUN))
        .max(1);
    let total_parameters = trainer
        .model()
        .var_store()
        .variables()
        .values()
        .map(|v| v.numel())
        .sum();
    Plan {
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
        augmentation: config.augmentation().as_ref().map(AugmentRecord::from),
        feature_cache: config.caches_features(),
        trainable_parameters: trainer.sgd().numel(),
        total_parameters,
    }
}

/// The training (augmented, or labels only over cached features in local mode) and validation
/// batch makers.
fn batch_makers(
    config: &TrainConfig,
    data: &RunData,
    trainer: &mut Trainer,
    batch: usize,
) -> anyhow::Result<(BatchMaker, BatchMaker)> {
    let augmenter = config
        .augmentation()
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
    if !config.caches_features() {
        return Ok((train_maker, val_maker));
    }
    tracing::info!(
        "local mode: computing backbone features of {} train and {} validation images once",
        data.train.len(),
        data.val.len()
    );
    trainer.cache_features(&train_maker, &val_maker, batch)?;
    Ok((train_maker.labels_only(), val_maker))
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
