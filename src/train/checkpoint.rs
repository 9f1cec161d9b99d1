//! Checkpoints of a run folder (feature `train`).
//!
//! - `best.safetensors`: the best validated weights, official BiT layout with the model's
//!   metadata (what `endoscan export` reads; `model.onnx` is made from it).
//! - `last.safetensors`: the weights at the last checkpoint, same layout, with `endoscan.step`.
//! - `last.state.safetensors`: the SGD momentum buffers (VarStore names and layout) and, in its
//!   metadata, the step and the [`ResumeState`] (validations, best, loss sums, fp16 scale).
//!
//! Each file is replaced atomically. The previous `last.safetensors` is kept as
//! `last.prev.safetensors` until the new state is written, so a kill at any instant leaves a
//! weights file whose step matches the state's: [`load_last`] picks it.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{bail, Context};
use serde::{Deserialize, Serialize};
use tch::{Device, Tensor};

use super::record::{BestRecord, EvalRecord};
use super::trainer::Trainer;
use crate::model::weights::{self, Weights};
use crate::model::ModelMetadata;

pub const BEST_FILE: &str = "best.safetensors";
pub const LAST_FILE: &str = "last.safetensors";
pub const PREV_FILE: &str = "last.prev.safetensors";
pub const STATE_FILE: &str = "last.state.safetensors";
/// Metadata key of the step a weights or state file belongs to.
pub const STEP_KEY: &str = "endoscan.step";
/// Metadata key of the JSON [`ResumeState`].
const STATE_KEY: &str = "endoscan.resume_state";

/// Everything besides weights and momentum that a resumed run needs to continue exactly.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ResumeState {
    /// Steps done.
    pub step: u64,
    pub evals: Vec<EvalRecord>,
    pub best: Option<BestRecord>,
    /// Training losses since the last validation.
    pub loss_sum: f64,
    pub loss_count: u64,
    pub train_seconds: f64,
    pub amp_scale: f64,
    pub amp_clean_steps: u64,
}

/// Writes `best.safetensors`: the trainer's weights with `meta` and the step.
pub fn save_best(
    run: &Path,
    trainer: &Trainer,
    meta: &ModelMetadata,
    step: u64,
) -> anyhow::Result<()> {
    save_weights(&run.join(BEST_FILE), trainer, meta, step)
}

fn save_weights(
    path: &Path,
    trainer: &Trainer,
    meta: &ModelMetadata,
    step: u64,
) -> anyhow::Result<()> {
    let mut w = trainer.model().to_weights()?;
    w.metadata = meta.to_map();
    w.metadata.insert(STEP_KEY.into(), step.to_string());
    w.save_safetensors(path)
        .with_context(|| format!("{}: cannot write the checkpoint", path.display()))
}

/// Writes the resume checkpoint of `state.step` (see the module doc for the order).
pub fn save_last(
    run: &Path,
    trainer: &Trainer,
    meta: &ModelMetadata,
    state: &ResumeState,
) -> anyhow::Result<()> {
    let (last, prev) = (run.join(LAST_FILE), run.join(PREV_FILE));
    if last.exists() {
        std::fs::rename(&last, &prev)
            .with_context(|| format!("{}: cannot keep the previous checkpoint", last.display()))?;
    }
    save_weights(&last, trainer, meta, state.step)?;
    let mut tensors = BTreeMap::new();
    for (name, buf) in trainer.sgd().momentum() {
        tensors.insert(name.to_string(), to_tensor(buf)?);
    }
    let mut metadata = BTreeMap::new();
    metadata.insert(STEP_KEY.to_string(), state.step.to_string());
    metadata.insert(
        STATE_KEY.to_string(),
        serde_json::to_string(state).expect("the resume state serializes"),
    );
    let path = run.join(STATE_FILE);
    Weights {
        tensors,
        sha256: String::new(),
        metadata,
    }
    .save_safetensors(&path)
    .with_context(|| format!("{}: cannot write the optimizer state", path.display()))
}

/// Restores weights, momentum and the fp16 scale from the last checkpoint of `run` into
/// `trainer`; returns the resume state.
pub fn load_last(run: &Path, trainer: &mut Trainer) -> anyhow::Result<ResumeState> {
    let state_path = run.join(STATE_FILE);
    let saved = Weights::load(&state_path)
        .with_context(|| format!("{}: cannot read the optimizer state", state_path.display()))?;
    let state: ResumeState = saved
        .metadata
        .get(STATE_KEY)
        .and_then(|s| serde_json::from_str(s).ok())
        .with_context(|| format!("{}: no resume state in the metadata", state_path.display()))?;
    let weights_path = [run.join(LAST_FILE), run.join(PREV_FILE)]
        .into_iter()
        .find(|p| step_of(p) == Some(state.step))
        .with_context(|| {
            format!(
                "{}: no {LAST_FILE} or {PREV_FILE} of step {} to resume from",
                run.display(),
                state.step
            )
        })?;
    let weights = Weights::load(&weights_path)?;
    trainer
        .model_mut()
        .load_weights(&weights)
        .with_context(|| format!("{}: does not fit this run's model", weights_path.display()))?;
    let device = trainer.model().var_store().device();
    trainer
        .sgd_mut()
        .load_momentum(|name| {
            let t = saved.tensors.get(name)?;
            let dims: Vec<i64> = t.shape.iter().map(|&d| d as i64).collect();
            Tensor::f_from_slice(&t.data)
                .and_then(|x| x.f_view(dims.as_slice()))
                .and_then(|x| x.f_to_device(device))
                .ok()
        })
        .map_err(|e| anyhow::anyhow!("{}: {e}", state_path.display()))?;
    let amp = trainer.amp_mut();
    amp.scale = state.amp_scale;
    amp.clean_steps = state.amp_clean_steps;
    Ok(state)
}

/// The step in a safetensors file's metadata, read from its header alone.
fn step_of(path: &Path) -> Option<u64> {
    use std::io::Read;
    let mut file = std::fs::File::open(path).ok()?;
    let mut len = [0u8; 8];
    file.read_exact(&mut len).ok()?;
    let len = usize::try_from(u64::from_le_bytes(len)).ok()?;
    let mut header = vec![0u8; len.min(1 << 26)];
    file.read_exact(&mut header).ok()?;
    let header: serde_json::Value = serde_json::from_slice(&header).ok()?;
    header["__metadata__"][STEP_KEY].as_str()?.parse().ok()
}

/// A tch tensor as a row-major f32 [`weights::Tensor`] (same shape, CPU).
fn to_tensor(t: &Tensor) -> anyhow::Result<weights::Tensor> {
    let cpu = t
        .f_to_device(Device::Cpu)?
        .f_to_kind(tch::Kind::Float)?
        .f_contiguous()?;
    let shape = cpu.size().iter().map(|&d| d as usize).collect();
    let data = Vec::<f32>::try_from(cpu.f_flatten(0, -1)?)?;
    Ok(weights::Tensor { shape, data })
}

/// Fails if `run` already holds a run (a new run must not overwrite one).
pub fn ensure_fresh(run: &Path) -> anyhow::Result<()> {
    for name in [super::record::RUN_FILE, LAST_FILE, STATE_FILE, BEST_FILE] {
        if run.join(name).exists() {
            bail!(
                "{}: already holds a training run ({name}); continue it with --resume {0} or choose another --out",
                run.display()
            );
        }
    }
    Ok(())
}
