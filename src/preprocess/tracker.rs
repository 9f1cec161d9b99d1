//! The content area of a stream of frames, failing closed: what outputs show and what the model
//! sees comes only from an area that endoscopic pictures have shown, steadily, for a while.
//!
//! The rule (also in `docs/masking.md` and the report's method section):
//!
//! 1. **Screening.** Each frame is screened ([`Screening`]): corrupt frames (the capture says
//!    so), saturated white-outs, uniform fills and frames that differ abruptly from the one
//!    before are never evidence of the area.
//! 2. **Evidence.** Frames are taken in blocks of `block` consecutive frames of one size. The
//!    block's *evidence* is the per-pixel mean brightness of its evidence frames; its
//!    *candidate* is [`ContentArea::detect`] on that mean (dark frames and flicker average out,
//!    the static text panel stays text).
//! 3. **Trust.** The *trusted* area changes only to a candidate that has stayed put (every
//!    edge within [`moved_tolerance`]) over at least `adopt_frames` evidence frames spanning
//!    at least `adopt_ms` of stream time. Before any area is trusted, frames have no image
//!    area: they are written black and score 0.
//! 4. **What a frame gets.** A frame's area is the trusted area when its block's candidate
//!    (or, if the block's mean shows none, the frame's own detection) matches the trusted area;
//!    otherwise the part of the candidate inside the trusted area when that is at least half
//!    the candidate, else none. So a frame never shows more than the trusted area, nor more
//!    than its own block shows. Corrupt, saturated and uniform frames get no area: they are
//!    written black and not scored (a menu screen may itself list the patient).
//!
//! The result depends only on the frames, in order, from the first one: the same input gives
//! the same areas in every pass. Stills (`endoscan classify`) use [`TrackerSettings::still`]:
//! each image is its own evidence, trusted at once if it is a picture.

use std::sync::Arc;

use super::area::{AreaSettings, ContentArea};
use super::frame::{Plane, RgbView};
use super::screen::{Look, Screening};
pub use super::status::FrameStatus;
use crate::capture::Frame;

/// Frames per evidence block (at 30 fps a quarter second; holds 8 frames in memory).
pub const DEFAULT_AREA_BLOCK: usize = 8;
/// Stream time a new area must stay put before it is trusted.
pub const DEFAULT_ADOPT_MS: f64 = 500.0;
/// Evidence frames a new area must be seen in before it is trusted.
pub const DEFAULT_ADOPT_FRAMES: u64 = 3;

/// How the tracker collects evidence and when it trusts an area.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrackerSettings {
    pub area: AreaSettings,
    /// Frames per evidence block (≥ 1).
    pub block: usize,
    /// Stream time (ms) a new area must stay put before it is trusted.
    pub adopt_ms: f64,
    /// Evidence frames a new area must be seen in before it is trusted.
    pub adopt_frames: u64,
}

impl TrackerSettings {
    /// The settings for video and image sequences.
    pub fn video(area: AreaSettings) -> Self {
        Self {
            area,
            block: DEFAULT_AREA_BLOCK,
            adopt_ms: DEFAULT_ADOPT_MS,
            adopt_frames: DEFAULT_ADOPT_FRAMES,
        }
    }

    /// The settings for independent still images: each is its own evidence.
    pub fn still(area: AreaSettings) -> Self {
        Self {
            area,
            block: 1,
            adopt_ms: 0.0,
            adopt_frames: 1,
        }
    }
}

/// A frame with the area it is to be shown and scored in.
#[derive(Debug)]
pub struct Located {
    pub frame: Frame,
    pub area: Option<Arc<ContentArea>>,
    pub status: FrameStatus,
}

/// A frame waiting for its block to be decided.
struct Held {
    frame: Frame,
    status: FrameStatus,
    evidence: bool,
}

/// An area seen steadily, not yet trusted.
struct Candidate {
    area: ContentArea,
    first_ms: f64,
    end_ms: f64,
    frames: u64,
}

/// Tracks the image area of a stream of frames (see the module docs for the rule).
pub struct AreaTracker {
    settings: TrackerSettings,
    held: Vec<Held>,
    /// Per-pixel brightness sum of the block's evidence frames.
    sum: Vec<u32>,
    previous: Option<Screening>,
    trusted: Option<Arc<ContentArea>>,
    candidate: Option<Candidate>,
    changes: u64,
}

impl AreaTracker {
    pub fn new(settings: TrackerSettings) -> Self {
        Self {
            settings: TrackerSettings {
                block: settings.block.max(1),
                ..settings
            },
            held: Vec::new(),
            sum: Vec::new(),
            previous: None,
            trusted: None,
            candidate: None,
            changes: 0,
        }
    }

    /// How many times an area was adopted as trusted.
    pub fn changes(&self) -> u64 {
        self.changes
    }

    /// The area trusted now, if any.
    pub fn trusted(&self) -> Option<&ContentArea> {
        self.trusted.as_deref()
    }

    /// Adds a frame; returns the frames whose area is now decided (a whole block, or none).
    pub fn push(&mut self, frame: Frame) -> Vec<Located> {
        let mut out = Vec::new();
        if let Some(first) = self.held.first() {
            if (first.frame.width, first.frame.height) != (frame.width, frame.height) {
                out = self.flush();
            }
        }
        let held = self.screen(frame);
        self.held.push(held);
        if self.held.len() >= self.settings.block {
            out.extend(self.flush());
        }
        out
    }

    /// Decides the frames still held (at the end of the stream).
    pub fn finish(&mut self) -> Vec<Located> {
        self.flush()
    }

    /// Screens a frame and adds it to the block's evidence if it is evidence.
    fn screen(&mut self, frame: Frame) -> Held {
        if let Some(reason) = &frame.corrupt {
            tracing::warn!(frame = frame.index, "corrupt frame: {reason}");
            return Held {
                frame,
                status: FrameStatus::Corrupt,
                evidence: false,
            };
        }
        let Some(plane) = brightness(&frame) else {
            return Held {
                frame,
                status: FrameStatus::Corrupt,
                evidence: false,
            };
        };
        let screening = Screening::of(&plane, self.settings.area.black_level);
        let previous = self.previous.replace(screening);
        let abrupt = previous.is_some_and(|p| screening.abrupt_after(&p));
        // One line per run of such frames (a white balance is dozens), not one per frame.
        let run_starts = previous.is_none_or(|p| p.look != screening.look);
        let status = match screening.look {
            Look::Picture => FrameStatus::Ok,
            Look::Saturated => FrameStatus::Saturated,
            Look::Uniform => FrameStatus::Uniform,
        };
        if status != FrameStatus::Ok && run_starts {
            tracing::info!(
                frame = frame.index,
                "not a picture ({}) from here",
                status.name()
            );
        } else if status != FrameStatus::Ok {
            tracing::debug!(frame = frame.index, "not a picture ({})", status.name());
        } else if abrupt {
            tracing::debug!(
                frame = frame.index,
                "abrupt change: not used as area evidence"
            );
        }
        let evidence = status == FrameStatus::Ok && !abrupt;
        if evidence {
            self.add_evidence(&plane);
        }
        Held {
            frame,
            status,
            evidence,
        }
    }

    fn add_evidence(&mut self, plane: &Plane) {
        let (w, h) = (plane.width(), plane.height());
        if self.sum.len() != w * h {
            self.sum = vec![0; w * h];
        }
        for y in 0..h {
            for (s, &v) in self.sum[y * w..(y + 1) * w].iter_mut().zip(plane.row(y)) {
                *s += u32::from(v);
            }
        }
    }

    fn flush(&mut self) -> Vec<Located> {
        if self.held.is_empty() {
            return Vec::new();
        }
        let held = std::mem::take(&mut self.held);
        let candidate = self.block_candidate(&held);
        self.sum.clear();
        if let Some(area) = &candidate {
            let evidence = held.iter().filter(|h| h.evidence).map(|h| &h.frame);
            self.weigh(area, evidence);
        }
        let block_area = candidate.as_ref().map(|c| self.resolve(c));
        held.into_iter()
            .map(|h| {
                let area = match h.status {
                    FrameStatus::Ok => match &block_area {
                        Some(area) => area.clone(),
                        None => self.own_area(&h.frame),
                    },
                    // No picture: nothing of it is shown (a menu may itself list the patient).
                    _ => None,
                };
                let status = match (h.status, &area) {
                    (FrameStatus::Ok, None) => FrameStatus::NoArea,
                    (status, _) => status,
                };
                Located {
                    frame: h.frame,
                    area,
                    status,
                }
            })
            .collect()
    }

    /// The candidate of a block: detection on the mean of its evidence frames.
    fn block_candidate(&self, held: &[Held]) -> Option<ContentArea> {
        let n = held.iter().filter(|h| h.evidence).count() as u32;
        let first = &held.first()?.frame;
        if n == 0 {
            return None;
        }
        let (w, h) = (first.width as usize, first.height as usize);
        let mut mean = Plane::filled(w, h, 0);
        for y in 0..h {
            for (m, &s) in mean
                .row_mut(y)
                .iter_mut()
                .zip(&self.sum[y * w..(y + 1) * w])
            {
                *m = ((s + n / 2) / n) as u8;
            }
        }
        ContentArea::detect(&mean, &self.settings.area)
    }

    /// Counts a block's candidate towards trust, adopting it once it has stayed put long enough.
    fn weigh<'a>(&mut self, area: &ContentArea, evidence: impl Iterator<Item = &'a Frame>) {
        let frames: Vec<&Frame> = evidence.collect();
        let (Some(first), Some(last)) = (frames.first(), frames.last()) else {
            return;
        };
        if self.trusted.as_deref().is_some_and(|t| same_place(t, area)) {
            self.candidate = None;
            return;
        }
        let end_ms = last.pts_ms() + last.duration.map_or(0.0, |d| d.as_secs_f64() * 1e3);
        let candidate = match self.candidate.take() {
            Some(mut c) if same_place(&c.area, area) => {
                c.end_ms = end_ms;
                c.frames += frames.len() as u64;
                c
            }
            _ => Candidate {
                area: area.clone(),
                first_ms: first.pts_ms(),
                end_ms,
                frames: frames.len() as u64,
            },
        };
        let s = &self.settings;
        if candidate.frames >= s.adopt_frames && candidate.end_ms - candidate.first_ms >= s.adopt_ms
        {
            let b = candidate.area.bounds();
            let (w, h) = candidate.area.frame_size();
            tracing::info!(
                frame = last.index,
                "image area {}x{} at ({}, {}) in the {w}x{h} frame trusted after {} frames ({:.0} ms) in place",
                b.width,
                b.height,
                b.x,
                b.y,
                candidate.frames,
                candidate.end_ms - candidate.first_ms
            );
            self.trusted = Some(Arc::new(candidate.area));
            self.changes += 1;
        } else {
            self.candidate = Some(candidate);
        }
    }

    /// What a frame whose evidence shows `seen` gets: never more than the trusted area.
    fn resolve(&self, seen: &ContentArea) -> Option<Arc<ContentArea>> {
        let trusted = self
            .trusted
            .as_ref()
            .filter(|t| t.frame_size() == seen.frame_size())?;
        if same_place(trusted, seen) {
            return Some(trusted.clone());
        }
        trusted
            .intersection(seen)
            .filter(|both| 2 * both.pixel_count() >= seen.pixel_count())
            .map(Arc::new)
    }

    /// A frame's own detection, resolved against the trusted area.
    fn own_area(&self, frame: &Frame) -> Option<Arc<ContentArea>> {
        let own = ContentArea::detect(&brightness(frame)?, &self.settings.area)?;
        self.resolve(&own)
    }
}

/// The frame's brightness plane; `None` if its buffer does not hold its pixels.
fn brightness(frame: &Frame) -> Option<Plane> {
    RgbView::new(
        &frame.data,
        frame.width as usize,
        frame.height as usize,
        frame.stride,
    )
    .ok()
    .map(Plane::brightness)
}

/// Pixels an edge of the area may move before it counts as a new area: 1 % of the frame's
/// longer side, at least 4.
pub fn moved_tolerance(width: usize, height: usize) -> usize {
    (width.max(height) / 100).max(4)
}

/// Whether two areas of the same frame size have every edge within [`moved_tolerance`].
fn same_place(a: &ContentArea, b: &ContentArea) -> bool {
    if a.frame_size() != b.frame_size() {
        return false;
    }
    let (w, h) = a.frame_size();
    let tol = moved_tolerance(w, h);
    let (ra, rb) = (a.bounds(), b.bounds());
    let edges = [
        (ra.x, rb.x),
        (ra.y, rb.y),
        (ra.x + ra.width, rb.x + rb.width),
        (ra.y + ra.height, rb.y + rb.height),
    ];
    edges.iter().all(|&(p, q)| p.abs_diff(q) <= tol)
}

#[cfg(test)]
#[path = "tracker_tests.rs"]
mod tests;
