//! Content area for video: detected on the mean brightness of a block of frames, kept while
//! it stays put, re-detected when it moves.
//!
//! Frames are taken in blocks of `block` consecutive frames of one size (a size change ends a
//! block). For each block the per-pixel mean of the frames' brightness planes goes through
//! [`ContentArea::detect`]: averaging makes the area robust to dark frames (lumen, the scope
//! against the wall) and to flicker, while the static text panel stays text. If the block's
//! area lies within [`moved_tolerance`] of the current one, the current one is kept, so crops
//! do not jitter; otherwise the new one replaces it (a scope or layout change). A block whose
//! mean shows no area (e.g. black frames before the scope is in) falls back to each frame's
//! own detection, which may find none: such frames have no image area.
//!
//! The result depends only on the frames, in order, from the first one: the same input gives
//! the same areas in pass 1 (scoring), pass 2 (annotated video) and after `--resume`.

use std::sync::Arc;

use crate::capture::Frame;
use crate::preprocess::{AreaSettings, ContentArea, Plane, RgbView};

/// Frames per detection block (at 30 fps, a quarter second; holds 8 frames in memory).
pub const DEFAULT_AREA_BLOCK: usize = 8;

/// A frame with the image area it is to be read in.
pub type Located = (Frame, Option<Arc<ContentArea>>);

/// Tracks the image area of a stream of frames.
pub struct AreaTracker {
    settings: AreaSettings,
    block: usize,
    pending: Vec<Frame>,
    current: Option<Arc<ContentArea>>,
    changes: u64,
}

impl AreaTracker {
    pub fn new(settings: AreaSettings, block: usize) -> Self {
        Self {
            settings,
            block: block.max(1),
            pending: Vec::new(),
            current: None,
            changes: 0,
        }
    }

    /// How many times the area was (re)detected.
    pub fn changes(&self) -> u64 {
        self.changes
    }

    /// Adds a frame; returns the frames whose area is now decided (a whole block, or none).
    pub fn push(&mut self, frame: Frame) -> Vec<Located> {
        let mut out = Vec::new();
        if let Some(first) = self.pending.first() {
            if (first.width, first.height) != (frame.width, frame.height) {
                out = self.flush();
            }
        }
        self.pending.push(frame);
        if self.pending.len() >= self.block {
            out.extend(self.flush());
        }
        out
    }

    /// Decides the frames still held (at the end of the stream).
    pub fn finish(&mut self) -> Vec<Located> {
        self.flush()
    }

    fn flush(&mut self) -> Vec<Located> {
        if self.pending.is_empty() {
            return Vec::new();
        }
        let frames = std::mem::take(&mut self.pending);
        let (w, h) = (frames[0].width as usize, frames[0].height as usize);
        let mut sum = vec![0u32; w * h];
        for f in &frames {
            for y in 0..h {
                let row = f.row(y as u32);
                for (s, px) in sum[y * w..(y + 1) * w].iter_mut().zip(row.chunks_exact(3)) {
                    *s += u32::from(px[0].max(px[1]).max(px[2]));
                }
            }
        }
        let n = frames.len() as u32;
        let mut mean = Plane::filled(w, h, 0);
        for y in 0..h {
            for (m, &s) in mean.row_mut(y).iter_mut().zip(&sum[y * w..(y + 1) * w]) {
                *m = ((s + n / 2) / n) as u8;
            }
        }
        match ContentArea::detect(&mean, &self.settings) {
            Some(found) => {
                let keep = self
                    .current
                    .as_ref()
                    .is_some_and(|c| c.frame_size() == found.frame_size() && !moved(c, &found));
                if !keep {
                    let b = found.bounds();
                    tracing::info!(
                        frame = frames[0].index,
                        "image area {}x{} at ({}, {}) in the {w}x{h} frame",
                        b.width,
                        b.height,
                        b.x,
                        b.y
                    );
                    self.current = Some(Arc::new(found));
                    self.changes += 1;
                }
                let area = self.current.clone();
                frames.into_iter().map(|f| (f, area.clone())).collect()
            }
            None => frames
                .into_iter()
                .map(|f| {
                    let area = RgbView::new(&f.data, f.width as usize, f.height as usize, f.stride)
                        .ok()
                        .and_then(|v| ContentArea::detect(&Plane::brightness(v), &self.settings))
                        .map(Arc::new);
                    if area.is_none() {
                        tracing::debug!(frame = f.index, "no image area");
                    }
                    (f, area)
                })
                .collect(),
        }
    }
}

/// Pixels an edge of the area may move before it counts as a new area: 1 % of the frame's
/// longer side, at least 4.
pub fn moved_tolerance(width: usize, height: usize) -> usize {
    (width.max(height) / 100).max(4)
}

fn moved(a: &ContentArea, b: &ContentArea) -> bool {
    let (w, h) = a.frame_size();
    let tol = moved_tolerance(w, h);
    let (ra, rb) = (a.bounds(), b.bounds());
    let edges = [
        (ra.x, rb.x),
        (ra.y, rb.y),
        (ra.x + ra.width, rb.x + rb.width),
        (ra.y + ra.height, rb.y + rb.height),
    ];
    edges.iter().any(|&(p, q)| p.abs_diff(q) > tol)
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::RgbImage;
    use std::time::Duration;

    fn disc(index: u64, cx: f32, dark: bool) -> Frame {
        let img = RgbImage::from_fn(128, 72, |x, y| {
            let (dx, dy) = (x as f32 - cx, y as f32 - 36.0);
            let inside = dx * dx + dy * dy < 30.0 * 30.0;
            if inside && !dark {
                image::Rgb([180, 90, 80])
            } else if inside {
                image::Rgb([10, 5, 5])
            } else {
                image::Rgb([0, 0, 0])
            }
        });
        Frame::from_rgb_image(index, Duration::ZERO, img)
    }

    #[test]
    fn a_dark_frame_takes_the_blocks_area() {
        let mut t = AreaTracker::new(AreaSettings::default(), 4);
        let mut out = Vec::new();
        for i in 0..4 {
            out.extend(t.push(disc(i, 40.0, i == 2)));
        }
        assert_eq!(out.len(), 4);
        let first = out[0].1.clone().unwrap();
        assert!(out.iter().all(|(_, a)| a.as_deref() == Some(&*first)));
        assert!(first.contains(40, 36));
    }

    #[test]
    fn small_moves_keep_the_area_and_big_ones_replace_it() {
        let mut t = AreaTracker::new(AreaSettings::default(), 2);
        let mut out = Vec::new();
        for (i, cx) in [40.0, 40.0, 41.0, 41.0, 80.0, 80.0].into_iter().enumerate() {
            out.extend(t.push(disc(i as u64, cx, false)));
        }
        out.extend(t.finish());
        assert_eq!(out.len(), 6);
        let area = |i: usize| out[i].1.clone().unwrap();
        assert!(
            Arc::ptr_eq(&area(0), &area(2)),
            "a 1-pixel move keeps the area"
        );
        assert!(!Arc::ptr_eq(&area(2), &area(4)));
        assert!(area(4).contains(80, 36) && !area(4).contains(30, 36));
        assert_eq!(t.changes(), 2);
    }

    #[test]
    fn black_frames_have_no_area_and_sizes_split_blocks() {
        let mut t = AreaTracker::new(AreaSettings::default(), 8);
        let black = Frame::from_rgb_image(0, Duration::ZERO, RgbImage::new(128, 72));
        assert!(t.push(black).is_empty());
        // A different size ends the block.
        let small = Frame::from_rgb_image(1, Duration::ZERO, RgbImage::new(64, 64));
        let out = t.push(small);
        assert_eq!(out.len(), 1);
        assert!(out[0].1.is_none());
        let rest = t.finish();
        assert_eq!(rest.len(), 1);
        assert_eq!(rest[0].0.index, 1);
    }
}
