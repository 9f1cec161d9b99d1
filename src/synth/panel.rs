//! The video tower's on-screen data panel with FAKE patient data, drawn with [`super::font`].

use image::{Rgb, RgbImage};

use super::font::{draw_text, GLYPH_H};
use super::layout::Rect;
use super::rng::Rng;

/// Seed stream of patient identities.
const STREAM_PATIENT: u64 = 2;

const SURNAME_SYLLABLES: [&str; 16] = [
    "KA", "MO", "RI", "TA", "SE", "NO", "HA", "YU", "BEL", "DOR", "VAN", "LIN", "MAR", "OS", "TE",
    "GRU",
];
const GIVEN_NAMES: [&str; 12] = [
    "ALEX", "SAM", "ROBIN", "KIM", "NOA", "JULES", "MIKA", "RENE", "ANDY", "SASHA", "TONI", "ELI",
];
const SCOPES: [&str; 4] = ["GX-290 SIM", "GX-190 SIM", "EV-760 SIM", "ZX-1200 SIM"];

/// A fictitious patient shown on the panel; every field is synthetic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Patient {
    /// Sequential id, also used in `labels.csv`.
    pub id: u32,
    /// `SURNAME^GIVEN`.
    pub name: String,
    /// `F` or `M`.
    pub sex: char,
    /// Date of birth `(year, month, day)`.
    pub birth: (u32, u32, u32),
    /// Exam date `(year, month, day)`.
    pub exam: (u32, u32, u32),
    /// Exam start in seconds after midnight.
    pub start_s: u32,
    /// Scope model.
    pub scope: &'static str,
}

impl Patient {
    /// The fake patient `id` of a dataset generated with `seed`.
    pub fn fake(seed: u64, id: u32) -> Self {
        let mut rng = Rng::derive(seed, STREAM_PATIENT, u64::from(id));
        let syllables = rng.between(2, 3);
        let surname: String = (0..syllables)
            .map(|_| SURNAME_SYLLABLES[rng.below(SURNAME_SYLLABLES.len() as u64) as usize])
            .collect();
        let given = GIVEN_NAMES[rng.below(GIVEN_NAMES.len() as u64) as usize];
        let exam_year = rng.between(2019, 2025);
        Self {
            id,
            name: format!("{surname}^{given}"),
            sex: if rng.chance(0.5) { 'F' } else { 'M' },
            birth: (
                exam_year - rng.between(35, 88),
                rng.between(1, 12),
                rng.between(1, 28),
            ),
            exam: (exam_year, rng.between(1, 12), rng.between(1, 28)),
            start_s: rng.between(7 * 3600, 17 * 3600),
            scope: SCOPES[rng.below(SCOPES.len() as u64) as usize],
        }
    }

    /// The id as written in `labels.csv`.
    pub fn label(&self) -> String {
        format!("P{:05}", self.id)
    }
}

/// Draws the panel for `patient` at `elapsed_s` seconds into the exam, clipped to `rect`.
pub fn draw_panel(img: &mut RgbImage, rect: Rect, patient: &Patient, elapsed_s: f64) {
    // Fit 11 lines in the height and 22 characters in the width.
    let scale = (rect.h / 200)
        .min(rect.w / (22 * super::font::ADVANCE))
        .max(1);
    let line = (GLYPH_H + 4) * scale;
    let clock = patient.start_s as u64 + elapsed_s.max(0.0) as u64;
    let (b, e) = (patient.birth, patient.exam);
    let age = e.0 - b.0 - u32::from((e.1, e.2) < (b.1, b.2));
    let lines = [
        format!("ID:{}", patient.label()),
        format!("NAME:{}", patient.name),
        format!("SEX:{}  AGE:{age}", patient.sex),
        format!("D.O.B:{:04}/{:02}/{:02}", b.0, b.1, b.2),
        String::new(),
        format!("{:04}/{:02}/{:02}", e.0, e.1, e.2),
        format!(
            "{:02}:{:02}:{:02}",
            clock / 3600 % 24,
            clock / 60 % 60,
            clock % 60
        ),
        String::new(),
        format!("SCOPE:{}", patient.scope),
        "EH:A5  CT:3  CVP:1".to_owned(),
        "SYNTHETIC DATA".to_owned(),
    ];
    let white = Rgb([228, 228, 228]);
    let mut y = rect.y + scale * 4;
    for text in &lines {
        if y + GLYPH_H * scale > rect.y + rect.h {
            break;
        }
        draw_text(img, text, rect.x + scale * 2, y, scale, white, rect);
        y += line;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patients_are_reproducible_and_plausible() {
        let p = Patient::fake(1, 7);
        assert_eq!(p, Patient::fake(1, 7));
        assert_ne!(p, Patient::fake(1, 8));
        assert!(p.birth.0 < p.exam.0);
        assert_eq!(p.label(), "P00007");
    }

    #[test]
    fn panel_draws_inside_its_rect() {
        let mut img = RgbImage::new(300, 200);
        let rect = Rect {
            x: 10,
            y: 10,
            w: 120,
            h: 180,
        };
        draw_panel(&mut img, rect, &Patient::fake(3, 1), 65.0);
        let inside = |x: u32, y: u32| (10..130).contains(&x) && (10..190).contains(&y);
        assert!(img.enumerate_pixels().any(|(_, _, p)| p.0[0] > 0));
        assert!(img
            .enumerate_pixels()
            .all(|(x, y, p)| inside(x, y) || p.0[0] == 0));
    }
}
