//! Pass 1: every frame scored, in stages joined by bounded channels.
//!
//! ```text
//! decode ──frames──▶ locate+prepare ──S×S images──▶ batch+infer ──scores──▶ caller (log, bar)
//! ```
//! Each arrow is a bounded crossbeam channel: a slow stage blocks the one before it, back to
//! the GStreamer decoder, and nothing is ever dropped. A stage that fails stops; the stages
//! after it finish what they already received (so partial results are complete up to the
//! failure), the stages before it stop at their next send. The first real error is returned
//! with the counts, so the caller can flush and mark the study incomplete.
//!
//! Frames before `resume_from` are decoded and located (the content area depends on every
//! frame from the first) but not scored: their scores come from the checkpoint.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context;
use crossbeam_channel::bounded;
use ndarray::Array4;

use super::area::AreaTracker;
use super::checkpoint::Scored;
use super::model::Scorer;
use crate::capture::{self, Capture, Frame, StreamInfo};
use crate::preprocess::{AreaSettings, Preprocessor, RgbView};

/// Settings of the scoring pass.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PassSettings {
    pub capture: capture::Settings,
    pub area: AreaSettings,
    pub area_block: usize,
    pub batch: usize,
    /// Frames each channel holds.
    pub queue: usize,
}

/// A frame on its way to the model.
struct Prepared {
    index: u64,
    pts_ms: f64,
    /// The model-sized image; `None` when the frame has no image area.
    image: Option<image::RgbImage>,
}

/// Busy time of each stage (time spent working, not waiting on channels).
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub struct StageTimes {
    pub decode_s: f64,
    pub prepare_s: f64,
    pub infer_s: f64,
    pub wall_s: f64,
}

/// How the pass ended.
#[derive(Debug)]
pub struct PassOutcome {
    /// Frames decoded (from the first frame, resumed ones included).
    pub decoded: u64,
    /// Frames scored in this pass.
    pub scored: u64,
    pub stream: StreamInfo,
    /// Content hash of an image sequence read to the end.
    pub manifest_sha256: Option<String>,
    /// How many times the image area was (re)detected.
    pub area_changes: u64,
    pub times: StageTimes,
    /// The pass stopped on request (`--interrupt-after`) before the end of the input.
    pub interrupted: bool,
    /// What stopped the pass early, if anything.
    pub error: Option<anyhow::Error>,
}

/// Runs pass 1 over `input`. `on_scores` receives scored frames in order, a batch at a time;
/// `stop_after` ends the pass after the batch that reaches that many frames in total.
/// Errors opening the input are returned as `Err`; later ones in [`PassOutcome::error`].
#[allow(clippy::too_many_arguments)]
pub fn score_frames(
    input: &Path,
    settings: PassSettings,
    preprocessor: &Preprocessor,
    scorer: &mut dyn Scorer,
    resume_from: u64,
    stop_after: Option<u64>,
    mut on_scores: impl FnMut(&[Scored]) -> anyhow::Result<()>,
) -> anyhow::Result<PassOutcome> {
    let mut capture = Capture::open(input, settings.capture)?;
    let batch = settings.batch.max(1);
    let queue = settings.queue.max(1);
    let start = Instant::now();
    let (frame_tx, frame_rx) = bounded::<Frame>(queue);
    let (prep_tx, prep_rx) = bounded::<Prepared>(queue.max(batch));
    let (score_tx, score_rx) = bounded::<Vec<Scored>>(4);

    std::thread::scope(|s| {
        let decode = std::thread::Builder::new()
            .name("decode".into())
            .spawn_scoped(s, move || {
                let mut busy = Duration::ZERO;
                let mut decoded = 0u64;
                let error = loop {
                    let t = Instant::now();
                    let next = capture.next_frame();
                    busy += t.elapsed();
                    match next {
                        Ok(Some(frame)) => {
                            decoded += 1;
                            if frame_tx.send(frame).is_err() {
                                break None;
                            }
                        }
                        Ok(None) => break None,
                        Err(e) => break Some(e),
                    }
                };
                (
                    decoded,
                    busy,
                    capture.info(),
                    capture.manifest_sha256(),
                    error,
                )
            })
            .expect("spawn decode thread");

        let prepare = std::thread::Builder::new()
            .name("prepare".into())
            .spawn_scoped(s, move || -> (Duration, u64, anyhow::Result<()>) {
                let mut tracker = AreaTracker::new(settings.area, settings.area_block);
                let mut busy = Duration::ZERO;
                let mut run = || -> anyhow::Result<()> {
                    let send = |located: Vec<super::area::Located>,
                                busy: &mut Duration|
                     -> anyhow::Result<bool> {
                        for (frame, area) in located {
                            if frame.index < resume_from {
                                continue;
                            }
                            let t = Instant::now();
                            let image = match area {
                                Some(area) => {
                                    let view = RgbView::new(
                                        &frame.data,
                                        frame.width as usize,
                                        frame.height as usize,
                                        frame.stride,
                                    )
                                    .with_context(|| format!("frame {}", frame.index))?;
                                    let prepared = preprocessor
                                        .prepare_in_area(view, (*area).clone())
                                        .with_context(|| format!("frame {}", frame.index))?;
                                    Some(prepared.image)
                                }
                                None => None,
                            };
                            *busy += t.elapsed();
                            let item = Prepared {
                                index: frame.index,
                                pts_ms: frame.pts_ms(),
                                image,
                            };
                            if prep_tx.send(item).is_err() {
                                return Ok(false);
                            }
                        }
                        Ok(true)
                    };
                    for frame in frame_rx.iter() {
                        let t = Instant::now();
                        let located = tracker.push(frame);
                        busy += t.elapsed();
                        if !send(located, &mut busy)? {
                            return Ok(());
                        }
                    }
                    let t = Instant::now();
                    let located = tracker.finish();
                    busy += t.elapsed();
                    send(located, &mut busy)?;
                    Ok(())
                };
                let result = run();
                (busy, tracker.changes(), result)
            })
            .expect("spawn prepare thread");

        let infer = std::thread::Builder::new()
            .name("infer".into())
            .spawn_scoped(s, move || -> (Duration, anyhow::Result<()>) {
                let mut busy = Duration::ZERO;
                let mut pending: Vec<Prepared> = Vec::with_capacity(batch);
                let mut images = 0usize;
                let mut flush =
                    |pending: &mut Vec<Prepared>, busy: &mut Duration| -> anyhow::Result<bool> {
                        if pending.is_empty() {
                            return Ok(true);
                        }
                        let t = Instant::now();
                        let rows = score_batch(preprocessor, scorer, pending)?;
                        *busy += t.elapsed();
                        pending.clear();
                        Ok(score_tx.send(rows).is_ok())
                    };
                let result = (|| {
                    for item in prep_rx.iter() {
                        images += usize::from(item.image.is_some());
                        pending.push(item);
                        if images == batch {
                            images = 0;
                            if !flush(&mut pending, &mut busy)? {
                                return Ok(());
                            }
                        }
                    }
                    flush(&mut pending, &mut busy).map(|_| ())
                })();
                (busy, result)
            })
            .expect("spawn infer thread");

        // The caller's side: scores in order.
        let mut scored = 0u64;
        let mut interrupted = false;
        let mut sink_error = None;
        for rows in score_rx.iter() {
            scored += rows.len() as u64;
            if let Err(e) = on_scores(&rows) {
                sink_error = Some(e);
                break;
            }
            if stop_after.is_some_and(|n| resume_from + scored >= n) {
                interrupted = true;
                break;
            }
        }
        drop(score_rx);
        let (infer_busy, infer_result) = infer.join().expect("infer thread does not panic");
        let (prepare_busy, area_changes, prepare_result) =
            prepare.join().expect("prepare thread does not panic");
        let (decoded, decode_busy, stream, manifest, decode_error) =
            decode.join().expect("decode thread does not panic");
        // Root causes first: a decode error explains what came after it.
        let error = decode_error
            .map(anyhow::Error::from)
            .or(prepare_result.err())
            .or(infer_result.err())
            .or(sink_error);
        // An early stop leaves the stream unfinished: it is not the end of the input.
        let interrupted = interrupted && error.is_none();
        Ok(PassOutcome {
            decoded,
            scored,
            stream,
            manifest_sha256: manifest,
            area_changes,
            times: StageTimes {
                decode_s: decode_busy.as_secs_f64(),
                prepare_s: prepare_busy.as_secs_f64(),
                infer_s: infer_busy.as_secs_f64(),
                wall_s: start.elapsed().as_secs_f64(),
            },
            interrupted,
            error,
        })
    })
}

/// Normalizes the images of `pending` into one batch, scores it, and returns every pending
/// frame's score in order (frames without an image area score 0).
fn score_batch(
    preprocessor: &Preprocessor,
    scorer: &mut dyn Scorer,
    pending: &[Prepared],
) -> anyhow::Result<Vec<Scored>> {
    let s = preprocessor.input_size();
    let images: Vec<&image::RgbImage> = pending.iter().filter_map(|p| p.image.as_ref()).collect();
    let mut probs = Vec::new();
    if !images.is_empty() {
        let mut input = Array4::<f32>::zeros((images.len(), 3, s, s));
        let flat = input.as_slice_mut().expect("a new array is contiguous");
        for (img, out) in images.iter().zip(flat.chunks_exact_mut(3 * s * s)) {
            preprocessor.normalize_into(img, out)?;
        }
        let first = pending[0].index;
        probs = scorer.score(input.view()).with_context(|| {
            format!(
                "scoring frames {first}..={}",
                pending[pending.len() - 1].index
            )
        })?;
        if probs.len() != images.len() {
            anyhow::bail!(
                "the model returned {} scores for {} frames",
                probs.len(),
                images.len()
            );
        }
        if let Some(bad) = probs.iter().find(|p| !(0.0..=1.0).contains(*p)) {
            anyhow::bail!("the model returned probability {bad} for a frame near {first}");
        }
    }
    let mut probs = probs.into_iter();
    Ok(pending
        .iter()
        .map(|p| {
            let (prob, image_area) = match p.image {
                Some(_) => (probs.next().expect("one score per image"), true),
                None => (0.0, false),
            };
            Scored {
                index: p.index,
                pts_ms: p.pts_ms,
                p: prob,
                image_area,
            }
            .rounded()
        })
        .collect())
}
