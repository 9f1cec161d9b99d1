//! Focal lesions on the mucosa. Malignant ones mimic early gastric cancer (type 0-IIc/0-IIb):
//! a subtle reddened or pale, slightly depressed patch with an irregular margin, interrupted
//! folds and a disrupted surface and vessel pattern. Benign mimics (erythema) are round,
//! flat, smooth-edged and keep the normal pattern, so colour alone does not give the label away.

use super::mucosa::{Components, Mucosa};
use super::noise::{lerp, smoothstep, Noise};
use super::rng::Rng;

/// Number of boundary harmonics (orders 2..=7).
const HARMONICS: usize = 6;

/// How a lesion changes colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tint {
    /// Reddened.
    Red,
    /// Pale / whitish.
    Pale,
}

/// One lesion in world coordinates.
#[derive(Debug, Clone)]
pub struct Lesion {
    /// Centre (world units).
    pub center: [f32; 2],
    /// Mean radius (world units).
    pub radius: f32,
    /// Whether it is an EGC-like lesion (positive label) rather than a benign mimic.
    pub malignant: bool,
    tint: Tint,
    /// Visibility scale in `(0, 1]`.
    contrast: f32,
    /// `(a cos φ, a sin φ)` of boundary harmonic `k + 2`.
    harmonics: [[f32; 2]; HARMONICS],
    margin: Noise,
    margin_amp: f32,
    edge: f32,
    depth: f32,
    rim: f32,
    pattern: Noise,
    pattern_freq: f32,
    pattern_lost: bool,
    /// Cached [`Lesion::extent`].
    reach: f32,
}

impl Lesion {
    /// An EGC-like lesion at `center` with mean `radius`.
    pub fn malignant(rng: &mut Rng, mucosa: &Mucosa, center: [f32; 2], radius: f32) -> Self {
        let irregularity = rng.range(0.05, 0.13);
        let contrast = rng.range(0.45, 1.0);
        Self {
            center,
            radius,
            malignant: true,
            tint: if rng.chance(0.6) {
                Tint::Red
            } else {
                Tint::Pale
            },
            contrast,
            harmonics: harmonics(rng, irregularity),
            margin: Noise::new(rng.fork()),
            margin_amp: rng.range(0.06, 0.15),
            edge: rng.range(0.22, 0.4),
            depth: radius * rng.range(0.015, 0.045) * (0.5 + 0.5 * contrast),
            rim: if rng.chance(0.4) {
                rng.range(0.2, 0.5)
            } else {
                0.0
            },
            pattern: Noise::new(rng.fork()),
            pattern_freq: mucosa.cell_freq * rng.range(1.8, 3.2),
            pattern_lost: rng.chance(0.35),
            reach: 0.0,
        }
        .with_reach()
    }

    /// A benign round erythema-like mimic.
    pub fn mimic(rng: &mut Rng, center: [f32; 2], radius: f32) -> Self {
        Self {
            center,
            radius,
            malignant: false,
            tint: if rng.chance(0.75) {
                Tint::Red
            } else {
                Tint::Pale
            },
            contrast: rng.range(0.3, 0.8),
            harmonics: harmonics(rng, 0.03),
            margin: Noise::new(rng.fork()),
            margin_amp: 0.02,
            edge: rng.range(0.25, 0.45),
            depth: 0.0,
            rim: 0.0,
            pattern: Noise::new(rng.fork()),
            pattern_freq: 1.0,
            pattern_lost: false,
            reach: 0.0,
        }
        .with_reach()
    }

    /// Fills in the cached extent.
    fn with_reach(mut self) -> Self {
        let wobble: f32 = self.harmonics.iter().map(|h| h[0].hypot(h[1])).sum();
        self.reach = self.radius * (1.0 + wobble + self.margin_amp + self.edge);
        self
    }

    /// Radius beyond which the mask is zero (world units).
    pub fn extent(&self) -> f32 {
        self.reach
    }

    /// Membership in `[0, 1]` of world point `(x, y)`; 0.5 on the margin.
    pub fn mask(&self, x: f32, y: f32) -> f32 {
        let (dx, dy) = (x - self.center[0], y - self.center[1]);
        let d2 = dx * dx + dy * dy;
        if d2 >= self.reach * self.reach {
            return 0.0;
        }
        let d = d2.sqrt();
        let (s1, c1) = if d > 1e-6 {
            (dy / d, dx / d)
        } else {
            (0.0, 1.0)
        };
        // sin/cos of kθ by the angle-addition recurrence, starting at k = 2.
        let (mut s, mut c) = (2.0 * s1 * c1, c1 * c1 - s1 * s1);
        let mut wobble = 0.0;
        for h in &self.harmonics {
            wobble += h[0] * s + h[1] * c;
            (s, c) = (s * c1 + c * s1, c * c1 - s * s1);
        }
        // Coarse lobes plus a fine jag; both scale with the lesion.
        let f = 2.2 / self.radius;
        let coarse = 2.0 * self.margin.value(x * f, y * f) - 1.0;
        let fine = 2.0 * self.margin.value(x * f * 3.3 + 50.0, y * f * 3.3) - 1.0;
        let jag = self.margin_amp * (0.75 * coarse + 0.25 * fine);
        let rho = self.radius * (1.0 + wobble + jag);
        let e = self.edge * self.radius;
        smoothstep(rho + e, rho - e, d)
    }

    /// Edits the mucosa layers at `(x, y)` where the mask is `m > 0`.
    pub fn apply(&self, m: f32, x: f32, y: f32, c: &mut Components) {
        let blotch = 0.65
            + 0.35
                * self
                    .pattern
                    .value(x * 9.0 / self.radius, y * 9.0 / self.radius);
        let s = m * self.contrast * blotch;
        match self.tint {
            Tint::Red => {
                c.base[1] *= 1.0 - 0.24 * s;
                c.base[2] *= 1.0 - 0.16 * s;
                c.base[0] *= 1.0 + 0.03 * s;
            }
            Tint::Pale => c.base = super::mucosa::lerp3(c.base, [0.95, 0.74, 0.66], 0.5 * s),
        }
        if !self.malignant {
            return;
        }
        // Folds stop abruptly at the lesion; the floor is slightly depressed with an optional
        // raised margin.
        c.fold = lerp(c.fold, c.fold_mean, 0.85 * smoothstep(0.1, 0.8, m));
        c.lift +=
            -self.depth * smoothstep(0.05, 0.6, m) + self.rim * self.depth * 4.0 * m * (1.0 - m);
        // The regular areae-gastricae pattern gives way to an irregular or absent one.
        let (f1, f2) = self
            .pattern
            .cells(x * self.pattern_freq, y * self.pattern_freq);
        let width = 0.1
            + 0.25
                * self
                    .pattern
                    .value(x * self.pattern_freq * 0.4, y * self.pattern_freq * 0.4);
        let irregular = if self.pattern_lost {
            0.25 * c.grain.abs()
        } else {
            1.0 - smoothstep(0.0, width, f2 - f1)
        };
        let inner = smoothstep(0.25, 0.9, m);
        c.groove = lerp(c.groove, irregular, inner);
        c.grain *= 1.0 + 1.2 * inner;
        // Regular vessels vanish; tortuous, broken microvessels appear.
        let vf = self.pattern_freq * 0.8;
        let tortuous = smoothstep(0.9, 0.97, self.pattern.ridge(x * vf + 3.0, y * vf - 5.0));
        let broken = smoothstep(0.35, 0.6, self.margin.value(x * vf * 0.5, y * vf * 0.5));
        let micro = (0.35 + 0.45 * self.contrast) * tortuous * broken;
        c.vessel = lerp(c.vessel, micro, inner);
    }
}

/// Random boundary harmonics with amplitudes falling off as 1/k.
fn harmonics(rng: &mut Rng, irregularity: f32) -> [[f32; 2]; HARMONICS] {
    std::array::from_fn(|i| {
        let a = irregularity * rng.range(0.3, 1.0) * 2.0 / (i as f32 + 2.0);
        let phi = rng.angle();
        [a * phi.cos(), a * phi.sin()]
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mask_is_one_inside_zero_outside() {
        let mut rng = Rng::new(5);
        let mucosa = Mucosa::sample(&mut rng);
        let l = Lesion::malignant(&mut rng, &mucosa, [1.0, 2.0], 0.2);
        assert!(l.mask(1.0, 2.0) > 0.99);
        assert_eq!(l.mask(1.0 + l.extent() + 0.01, 2.0), 0.0);
        assert!(l.extent() > 0.2 && l.extent() < 0.45);
    }
}
