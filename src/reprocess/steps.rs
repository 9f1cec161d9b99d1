//! The steps of one study, in order: open the score log (or resume it), pass 1 (score),
//! smooth into segments, pass 2 (annotated video and thumbnails), write the results. Each step
//! records its error instead of returning early, so a failed study still writes everything
//! it has, marked incomplete.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context;

use super::checkpoint::{self, Identity, ScoreLog};
use super::files::{clear_thumbnails, input_identity, probe_length};
use super::outputs::{self, SegmentRecord, SegmentsFile};
use super::pipeline::{self, PassOutcome, PassSettings};
use super::summary::{Counts, ModelInfo, Summary};
use super::{annotate, quality, report, Settings, Study};
use crate::capture::SourceKind;
use crate::infer::stage::ScoredFrame;
use crate::infer::Scorer;
use crate::preprocess::{FrameStatus, Preprocessor};
use crate::smooth::{Smoothed, Smoother};
use crate::util::progress;

/// A study in progress.
pub struct StudyRun<'a> {
    s: &'a Settings,
    input: &'a Path,
    out: &'a Path,
    input_id: String,
    log: ScoreLog,
    rows: Vec<ScoredFrame>,
    counts: Counts,
    error: Option<anyhow::Error>,
    records: Vec<SegmentRecord>,
}

impl<'a> StudyRun<'a> {
    /// Creates the output folder and the score log, or reopens it with `--resume`.
    pub fn open(
        s: &'a Settings,
        input: &'a Path,
        model: &ModelInfo,
        preprocessor: &Preprocessor,
        out: &'a Path,
    ) -> anyhow::Result<Self> {
        let input_id = input_identity(input, s.capture)?;
        let identity = Identity {
            input: input.display().to_string(),
            input_id: input_id.clone(),
            model_sha256: model.sha256.clone(),
            batch: s.batch,
            settings: format!(
                "{} input_size={} normalization={}",
                s.score_identity(),
                preprocessor.input_size(),
                preprocessor.normalization()
            ),
        };
        let (log, rows) = open_log(out, identity, s.resume)?;
        let thumbs = out.join(outputs::THUMBNAIL_DIR);
        // Thumbnails of an earlier run would not match this one's segments.
        if thumbs.exists() {
            clear_thumbnails(&thumbs)?;
        }
        let counts = Counts {
            resumed: rows.len() as u64,
            ..Counts::default()
        };
        Ok(Self {
            s,
            input,
            out,
            input_id,
            log,
            rows,
            counts,
            error: None,
            records: Vec::new(),
        })
    }

    /// Pass 1: every frame not yet checkpointed scored, logged and checkpointed as it comes.
    pub fn score(
        &mut self,
        preprocessor: &Preprocessor,
        scorer: &mut dyn Scorer,
    ) -> anyhow::Result<PassOutcome> {
        let s = self.s;
        let resumed = self.counts.resumed;
        let bar = progress::bar_if(
            s.progress,
            probe_length(self.input, s.capture),
            "scoring",
            "frames",
        );
        bar.set_position(resumed);
        let settings = PassSettings {
            capture: s.capture,
            tracker: s.tracker,
            batch: s.batch,
            queue: s.queue,
            stall_after: s.stall_after,
            preprocess: s.preprocess,
        };
        let (log, rows) = (&mut self.log, &mut self.rows);
        let mut last_commit = std::time::Instant::now();
        let on_scores = |batch: &[ScoredFrame]| {
            log.append(batch)?;
            if last_commit.elapsed() >= s.checkpoint_interval {
                log.commit()?;
                last_commit = std::time::Instant::now();
            }
            rows.extend_from_slice(batch);
            bar.set_position(rows.len() as u64);
            Ok(())
        };
        let mut pass = pipeline::score_frames(
            self.input,
            settings,
            preprocessor,
            scorer,
            resumed,
            s.interrupt_after,
            on_scores,
        )?;
        bar.finish_and_clear();
        self.check_scores(&mut pass);
        Ok(pass)
    }

    /// After pass 1: everything scored is on disk, and every decoded frame was scored.
    fn check_scores(&mut self, pass: &mut PassOutcome) {
        // Whatever was scored is checkpointed, whether the pass ended or stopped.
        let mut error = self.log.commit().err();
        if self.log.rows() != self.rows.len() as u64 {
            error = error.or(Some(anyhow::anyhow!(
                "{}: {} rows on disk but {} frames scored",
                self.out.join(checkpoint::SCORES_FILE).display(),
                self.log.rows(),
                self.rows.len()
            )));
        }
        let mut error = pass.error.take().or(error);
        if pass.interrupted {
            error = Some(anyhow::anyhow!(
                "interrupted after {} frames (--interrupt-after); run again with --resume to continue",
                self.rows.len()
            ));
        }
        let rows = &self.rows;
        let c = &mut self.counts;
        c.decoded = pass.decoded;
        c.scored = rows.len() as u64;
        c.without_image_area = count_status(rows, FrameStatus::NoArea);
        c.not_a_picture =
            count_status(rows, FrameStatus::Saturated) + count_status(rows, FrameStatus::Uniform);
        c.corrupt = count_status(rows, FrameStatus::Corrupt);
        if error.is_none() && c.decoded != c.scored {
            error = Some(anyhow::anyhow!(
                "{}: decoded {} frames but scored {}",
                self.input.display(),
                c.decoded,
                c.scored
            ));
        }
        self.error = error;
    }

    /// Smoothing: scores → smoothed scores, flags and segments (frames that carry no score
    /// are left out).
    pub fn smooth(&mut self) -> anyhow::Result<Smoothed> {
        let pts: Vec<f64> = self.rows.iter().map(|r| r.pts_ms).collect();
        let p: Vec<f32> = self.rows.iter().map(|r| r.p).collect();
        let keep: Vec<bool> = self.rows.iter().map(|r| r.status.is_smoothed()).collect();
        let smoothed = Smoother::new(self.s.smooth)?.process_kept(&pts, &p, &keep)?;
        self.counts.flagged = smoothed.flagged.iter().filter(|&&f| f).count() as u64;
        self.records = smoothed
            .segments
            .iter()
            .enumerate()
            .map(|(i, seg)| SegmentRecord {
                id: i + 1,
                segment: seg.clone(),
                thumbnail: None,
                thumbnail_source: None,
                finding: self
                    .rows
                    .get(seg.representative_frame as usize)
                    .and_then(|r| r.finding),
            })
            .collect();
        Ok(smoothed)
    }

    /// Pass 2, for complete studies: the annotated video and the segment thumbnails.
    pub fn annotate(&mut self, smoothed: &Smoothed) -> anyhow::Result<()> {
        if self.error.is_none() {
            self.write_annotations(smoothed)?;
        }
        if self.error.is_some() {
            for r in &mut self.records {
                r.thumbnail = None;
            }
        }
        Ok(())
    }

    fn write_annotations(&mut self, smoothed: &Smoothed) -> anyhow::Result<()> {
        let s = self.s;
        let thumbs = self.out.join(outputs::THUMBNAIL_DIR);
        std::fs::create_dir_all(&thumbs)
            .with_context(|| format!("{}: cannot create", thumbs.display()))?;
        let thumbnails: BTreeMap<u64, PathBuf> = self
            .records
            .iter_mut()
            .map(|r| {
                let name = format!(
                    "segment_{:03}_frame_{:06}.png",
                    r.id, r.segment.representative_frame
                );
                r.thumbnail = Some(format!("{}/{name}", outputs::THUMBNAIL_DIR));
                (r.segment.representative_frame, thumbs.join(name))
            })
            .collect();
        let video_path = self.out.join(outputs::VIDEO_FILE);
        let bar = progress::bar_if(s.progress, Some(self.counts.scored), "annotating", "frames");
        let job = annotate::AnnotateJob {
            capture: s.capture,
            tracker: s.tracker,
            stall_after: s.stall_after,
            scores: &self.rows,
            smoothed,
            overlay: s.overlay,
            sink: s.sink,
            video: s.video.then_some(video_path.as_path()),
            thumbnails,
        };
        match annotate::annotate(self.input, job, &|n| bar.set_position(n)) {
            Ok(done) if done.frames == self.counts.scored => {
                self.counts.annotated = s.video.then_some(done.frames);
                for r in &mut self.records {
                    let frame = r.segment.representative_frame;
                    r.thumbnail_source = done.thumbnail_sources.get(&frame).copied();
                }
            }
            Ok(done) => {
                self.error = Some(anyhow::anyhow!(
                    "{}: the second decode gave {} frames, the first {}",
                    self.input.display(),
                    done.frames,
                    self.counts.scored
                ))
            }
            Err(e) => self.error = Some(e.context("writing the annotated video and thumbnails")),
        }
        bar.finish_and_clear();
        Ok(())
    }

    /// Writes `frames.csv`, `segments.json`, `summary.json` and `report.html`.
    pub fn write_results(
        mut self,
        model: &ModelInfo,
        pass: PassOutcome,
        smoothed: &Smoothed,
    ) -> anyhow::Result<Study> {
        let out = self.out;
        let c = &mut self.counts;
        c.written =
            outputs::write_frames_csv(&out.join(outputs::FRAMES_FILE), &self.rows, smoothed)?;
        if self.error.is_none() && !(c.decoded == c.scored && c.scored == c.written) {
            self.error = Some(anyhow::anyhow!(
                "frame counts disagree: decoded {}, scored {}, written {}",
                c.decoded,
                c.scored,
                c.written
            ));
        }
        let complete = self.error.is_none();
        outputs::write_json(
            &out.join(outputs::SEGMENTS_FILE),
            &SegmentsFile {
                complete,
                frames: c.written,
                rule: &self.s.smooth,
                segments: &self.records,
            },
        )?;
        let summary = self.summary(model, &pass);
        outputs::write_json(&out.join(outputs::SUMMARY_FILE), &summary)?;
        let html = report::render(
            &summary,
            &self.rows,
            smoothed,
            &self.records,
            out,
            self.s.video,
        );
        checkpoint::write_atomic(&out.join(outputs::REPORT_FILE), html.as_bytes())?;
        let video_path = out.join(outputs::VIDEO_FILE);
        if summary.frames.annotated.is_none() && video_path.exists() {
            // A partial file, or one from an earlier run that does not match these results.
            std::fs::remove_file(&video_path)
                .with_context(|| format!("{}: cannot remove", video_path.display()))?;
        }
        Ok(Study {
            summary,
            error: self.error,
        })
    }

    fn summary(&self, model: &ModelInfo, pass: &PassOutcome) -> Summary {
        let rows = &self.rows;
        let duration_s = match (rows.last(), rows.len()) {
            (Some(last), n) if n > 1 => {
                (last.pts_ms - rows[0].pts_ms) / 1e3 * n as f64 / (n - 1) as f64
            }
            (Some(_), _) => pass.stream.fps.map(|f| 1.0 / f).unwrap_or(0.0),
            _ => 0.0,
        };
        let complete = self.error.is_none();
        Summary {
            complete,
            error: self.error.as_ref().map(|e| format!("{e:#}")),
            input: self.input.display().to_string(),
            input_kind: pass.stream.kind,
            input_sha256: match pass.stream.kind {
                SourceKind::Video => Some(self.input_id.clone()),
                SourceKind::Images => pass.manifest_sha256.clone(),
            },
            model: model.clone(),
            frames: self.counts.clone(),
            fps: pass.stream.fps,
            duration_s,
            segments: self.records.len(),
            flagged_s: self
                .records
                .iter()
                .map(|r| (r.segment.end_ms - r.segment.start_ms) / 1e3)
                // Not `sum()`: an empty f64 sum is -0.0, printed "-0.0 s".
                .fold(0.0, |total, s| total + s),
            smoothing: self.s.smooth,
            area_changes: pass.area_changes,
            corrupt: pass.corrupt.clone(),
            masking: quality::MaskingRule::from(&self.s.tracker),
            times: pass.times,
            pipeline_fps: if pass.times.wall_s > 0.0 {
                pass.scored as f64 / pass.times.wall_s
            } else {
                0.0
            },
            out_dir: self.out.display().to_string(),
            outputs: self.output_files(complete),
        }
    }

    fn output_files(&self, complete: bool) -> BTreeMap<&'static str, String> {
        let path = |name: &str| self.out.join(name).display().to_string();
        let mut files = BTreeMap::new();
        files.insert("frames_csv", path(outputs::FRAMES_FILE));
        files.insert("segments_json", path(outputs::SEGMENTS_FILE));
        files.insert("summary_json", path(outputs::SUMMARY_FILE));
        files.insert("report_html", path(outputs::REPORT_FILE));
        files.insert("checkpoint", path(checkpoint::CHECKPOINT_FILE));
        if self.counts.annotated.is_some() {
            files.insert("annotated_mp4", path(outputs::VIDEO_FILE));
        }
        if complete {
            files.insert("thumbnails", path(outputs::THUMBNAIL_DIR));
        }
        files
    }
}

/// A new score log in `out`, or with `resume` the checkpointed one and its rows.
fn open_log(
    out: &Path,
    identity: Identity,
    resume: bool,
) -> anyhow::Result<(ScoreLog, Vec<ScoredFrame>)> {
    if resume {
        if let Some((log, rows)) = ScoreLog::resume(out, identity.clone())? {
            tracing::info!(
                "{}: resuming after {} checkpointed frames",
                out.display(),
                rows.len()
            );
            return Ok((log, rows));
        }
        tracing::warn!(
            "{}: no checkpoint to resume from; starting at the first frame",
            out.display()
        );
    }
    Ok((ScoreLog::create(out, identity)?, Vec::new()))
}

fn count_status(rows: &[ScoredFrame], status: FrameStatus) -> u64 {
    rows.iter().filter(|r| r.status == status).count() as u64
}
