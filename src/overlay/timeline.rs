//! The study timeline in the strip of a recorded study's annotated frames: peak smoothed
//! score per column, flagged stretches in [`super::ALERT`], the alert threshold dotted, and a
//! cursor at the current frame. Needs the whole study, so only offline modes draw it.

use image::RgbImage;

use super::{draw, ALERT, CALM, TRACK, WHITE};

/// The timeline of one study.
pub struct Timeline {
    smoothed: Vec<f32>,
    flagged: Vec<bool>,
    threshold: f32,
    /// Column summaries, computed for the first width drawn.
    columns: Option<(u32, Vec<(f32, bool)>)>,
}

impl Timeline {
    /// The timeline of a study with these smoothed scores (NaN: left out of smoothing, drawn
    /// as 0), flags and alert threshold.
    pub fn new(smoothed: Vec<f32>, flagged: Vec<bool>, threshold: f32) -> Self {
        Self {
            smoothed: smoothed
                .into_iter()
                .map(|v| if v.is_nan() { 0.0 } else { v })
                .collect(),
            flagged,
            threshold,
            columns: None,
        }
    }

    /// Draws the timeline between x `tl0..tl1` and y `gy0..gy1`, with the cursor at frame
    /// `index` spanning the strip from `top` down.
    pub fn draw(
        &mut self,
        img: &mut RgbImage,
        index: u64,
        (tl0, tl1): (i64, i64),
        (gy0, gy1): (i64, i64),
        top: i64,
    ) {
        if tl1 - tl0 < 8 {
            return;
        }
        let h = img.height() as i64;
        let columns = (tl1 - tl0) as usize;
        if self
            .columns
            .as_ref()
            .is_none_or(|(cw, _)| *cw as usize != columns)
        {
            let summary = draw::column_summary(&self.smoothed, &self.flagged, columns);
            self.columns = Some((columns as u32, summary));
        }
        let (_, summary) = self.columns.as_ref().expect("set above");
        draw::fill_rect(img, tl0, gy0, tl1, gy1, TRACK);
        let track_h = (gy1 - gy0) as f64;
        for (c, &(peak, flagged)) in summary.iter().enumerate() {
            let bar = (peak.clamp(0.0, 1.0) as f64 * track_h).round() as i64;
            let x = tl0 + c as i64;
            let colour = if flagged { ALERT } else { CALM };
            draw::fill_rect(img, x, gy1 - bar, x + 1, gy1, colour);
        }
        let ty = gy1 - (self.threshold as f64 * track_h).round() as i64;
        for x in (tl0..tl1).step_by(4) {
            draw::fill_rect(img, x, ty, x + 2, ty + 1, WHITE);
        }
        let cursor = tl0 + draw::column_of(index, self.smoothed.len() as u64, columns) as i64;
        draw::fill_rect(img, cursor - 1, top + 1, cursor + 1, h - 1, WHITE);
    }
}
