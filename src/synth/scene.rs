//! A scene: one mucosa with its lesions and bubbles, all in world coordinates.

use super::lesion::Lesion;
use super::mucosa::{Mucosa, Slow, Surface};
use super::noise::{lerp, smoothstep};
use super::rng::Rng;

/// A mucus/air bubble sitting on the mucosa.
#[derive(Debug, Clone, Copy)]
pub struct Bubble {
    /// Centre (world units).
    pub center: [f32; 2],
    /// Radius (world units).
    pub radius: f32,
}

impl Bubble {
    /// Adds the dome, whitish film and bright rim of the bubble to `s` at distance `d` from its
    /// centre (`d < radius`).
    fn apply(&self, d: f32, s: &mut Surface) {
        let t = d / self.radius;
        s.height += self.radius * 0.7 * (1.0 - t * t).max(0.0).sqrt();
        for a in &mut s.albedo {
            *a = lerp(*a, *a * 0.85 + 0.15, 0.4);
        }
        s.wet = 1.0;
        s.glow += 0.3 * smoothstep(0.72, 0.93, t) * (1.0 - smoothstep(0.95, 1.0, t));
    }
}

/// Everything that can be seen, in world units.
#[derive(Debug, Clone)]
pub struct Scene {
    /// The wall.
    pub mucosa: Mucosa,
    /// Malignant lesions and benign mimics.
    pub lesions: Vec<Lesion>,
    /// Bubbles on top of everything.
    pub bubbles: Vec<Bubble>,
}

impl Scene {
    /// A scene with a random mucosa and nothing on it.
    pub fn new(rng: &mut Rng) -> Self {
        Self {
            mucosa: Mucosa::sample(rng),
            lesions: Vec::new(),
            bubbles: Vec::new(),
        }
    }

    /// A scene with a random mucosa whose folds are prominent.
    pub fn with_folds(rng: &mut Rng) -> Self {
        Self {
            mucosa: Mucosa::sample(rng).with_folds(),
            lesions: Vec::new(),
            bubbles: Vec::new(),
        }
    }

    /// Adds a cluster of `count` bubbles scattered around `center` within `spread`.
    pub fn add_bubbles(
        &mut self,
        rng: &mut Rng,
        center: [f32; 2],
        spread: f32,
        count: u32,
        size: f32,
    ) {
        for _ in 0..count {
            let (a, r) = (rng.angle(), spread * rng.f32().sqrt());
            self.bubbles.push(Bubble {
                center: [center[0] + r * a.cos(), center[1] + r * a.sin()],
                radius: size * rng.range(0.3, 1.0).powi(2),
            });
        }
    }

    /// The shaded-surface inputs at world point `(x, y)` with slow layers `slow`, considering only the lesions and
    /// bubbles listed in `lesions` / `bubbles` (pre-culled by the caller). Also returns the
    /// mask of each listed lesion through `masks`.
    pub fn surface(
        &self,
        x: f32,
        y: f32,
        slow: &Slow,
        lesions: &[usize],
        bubbles: &[usize],
        masks: &mut [f32],
    ) -> Surface {
        let mut c = self.mucosa.components(x, y, slow);
        for (slot, &i) in masks.iter_mut().zip(lesions) {
            let lesion = &self.lesions[i];
            let m = lesion.mask(x, y);
            *slot = m;
            if m > 0.0 {
                lesion.apply(m, x, y, &mut c);
            }
        }
        let mut s = self.mucosa.surface(&c);
        for &i in bubbles {
            let b = &self.bubbles[i];
            let (dx, dy) = (x - b.center[0], y - b.center[1]);
            let d2 = dx * dx + dy * dy;
            if d2 < b.radius * b.radius {
                b.apply(d2.sqrt(), &mut s);
            }
        }
        s
    }
}
