//! The gastric mucosa as an infinite procedural surface in world units (1 unit is the
//! image-area radius at zoom 1): base colour, rugal folds, areae-gastricae texture, vessels
//! and wetness. Lesions edit the [`Components`] before they become a [`Surface`].

use std::f32::consts::PI;

use super::noise::{floor, lerp, smoothstep, Noise};
use super::rng::Rng;

/// The separable layers of the mucosa at one point, before composition.
#[derive(Debug, Clone, Copy)]
pub struct Components {
    /// Diffuse colour before texture and vessels, linear-ish RGB in `[0, 1]`.
    pub base: [f32; 3],
    /// Height of rugal folds (world units).
    pub fold: f32,
    /// Local mean fold height, what a flattened fold sinks to.
    pub fold_mean: f32,
    /// Slow undulation of the surface (world units).
    pub relief: f32,
    /// Areae-gastricae groove strength, 1 on the grooves between the mucosal areas.
    pub groove: f32,
    /// Fine granular bumps in `[-1, 1]`.
    pub grain: f32,
    /// Vessel visibility in `[0, 1]`.
    pub vessel: f32,
    /// Wet-film gloss in `[0, 1]`, scales specular highlights.
    pub wet: f32,
    /// Extra height from lesions (world units, negative when depressed).
    pub lift: f32,
}

/// The slowly varying layers of the mucosa at one point.
#[derive(Debug, Clone, Copy, Default)]
pub struct Slow {
    /// Base colour.
    pub base: [f32; 3],
    /// Domain warp of folds and vessels, in `[-0.5, 0.5]`.
    pub warp: f32,
    /// Fold presence in `[0, 1]`.
    pub presence: f32,
    /// Slow undulation (world units).
    pub relief: f32,
    /// Wet-film gloss.
    pub wet: f32,
    /// Vessel segment visibility.
    pub fade: f32,
}

impl Slow {
    /// Bilinear interpolation of four corner samples `[top-left, top-right, bottom-left,
    /// bottom-right]` at fractions `(tx, ty)`.
    #[inline]
    pub fn bilerp(c: [&Slow; 4], tx: f32, ty: f32) -> Slow {
        let w = [
            (1.0 - tx) * (1.0 - ty),
            tx * (1.0 - ty),
            (1.0 - tx) * ty,
            tx * ty,
        ];
        let mix =
            |f: fn(&Slow) -> f32| w[0] * f(c[0]) + w[1] * f(c[1]) + w[2] * f(c[2]) + w[3] * f(c[3]);
        Slow {
            base: [mix(|s| s.base[0]), mix(|s| s.base[1]), mix(|s| s.base[2])],
            warp: mix(|s| s.warp),
            presence: mix(|s| s.presence),
            relief: mix(|s| s.relief),
            wet: mix(|s| s.wet),
            fade: mix(|s| s.fade),
        }
    }
}

/// What the renderer shades at one point.
#[derive(Debug, Clone, Copy, Default)]
pub struct Surface {
    /// Diffuse colour.
    pub albedo: [f32; 3],
    /// Height above the mean wall (world units).
    pub height: f32,
    /// Gloss in `[0, 1]`.
    pub wet: f32,
    /// Light scattered by bubble rims, added after shading.
    pub glow: f32,
}

/// Colour of vessels seen through the mucosa.
const VESSEL_RGB: [f32; 3] = [0.50, 0.17, 0.27];

/// Parameters and noise fields of one patient's mucosa.
#[derive(Debug, Clone)]
pub struct Mucosa {
    tone: Noise,
    warp: Noise,
    swell: Noise,
    areas: Noise,
    vessels: Noise,
    gloss: Noise,
    palette: [[f32; 3]; 3],
    tone_freq: f32,
    fold_dir: [f32; 2],
    fold_freq: f32,
    fold_amp: f32,
    fold_warp: f32,
    fold_power: f32,
    fold_floor: f32,
    /// Areae-gastricae cells per world unit.
    pub cell_freq: f32,
    cell_depth: f32,
    vessel_freq: f32,
    vessel_vis: f32,
    gloss_freq: f32,
}

impl Mucosa {
    /// A random mucosa.
    pub fn sample(rng: &mut Rng) -> Self {
        // Orange-pink well-lit mucosa, a redder and a paler variant; jittered per patient.
        let warm = rng.range(-0.06, 0.06);
        let sat = rng.range(0.9, 1.1);
        let tint = |r: f32, g: f32, b: f32| [r, (g + warm) * sat, (b + warm * 0.5) * sat];
        let palette = [
            tint(0.98, 0.54, 0.40),
            tint(0.93, 0.38, 0.29),
            tint(1.0, 0.66, 0.54),
        ];
        let theta = rng.angle();
        let atrophy = rng.f32();
        Self {
            tone: Noise::new(rng.fork()),
            warp: Noise::new(rng.fork()),
            swell: Noise::new(rng.fork()),
            areas: Noise::new(rng.fork()),
            vessels: Noise::new(rng.fork()),
            gloss: Noise::new(rng.fork()),
            palette,
            tone_freq: rng.range(0.8, 2.0),
            fold_dir: [theta.cos(), theta.sin()],
            fold_freq: rng.range(1.4, 3.2),
            fold_amp: if rng.chance(0.85) {
                rng.range(0.03, 0.09)
            } else {
                rng.range(0.005, 0.02)
            },
            fold_warp: rng.range(0.15, 0.6),
            fold_power: rng.range(0.45, 0.9),
            fold_floor: rng.range(0.0, 0.4),
            cell_freq: rng.range(16.0, 30.0),
            cell_depth: rng.range(0.0001, 0.0004),
            vessel_freq: rng.range(2.5, 5.0),
            // Vessels show through thin (atrophic) mucosa only.
            vessel_vis: smoothstep(0.3, 1.0, atrophy) * 0.8,
            gloss_freq: rng.range(3.0, 7.0),
        }
    }

    /// Makes sure rugal folds are prominent (the video needs landmarks to show motion).
    pub fn with_folds(mut self) -> Self {
        self.fold_amp = self.fold_amp.max(0.05);
        self.fold_floor = 0.6;
        self
    }

    /// The slowly varying layers at world point `(x, y)`; smooth over several pixels, so the
    /// renderer samples them on a coarse grid and interpolates.
    pub fn slow(&self, x: f32, y: f32) -> Slow {
        let warp = self.warp.fbm(x * 0.9, y * 0.9, 2) - 0.5;
        // Warped tone noise: lattice-free, blotchy redness.
        let (tx, ty) = (
            x * self.tone_freq + 1.5 * warp,
            y * self.tone_freq - 1.5 * warp,
        );
        let t = self.tone.fbm(tx, ty, 3);
        let t2 = self.tone.value(ty * 2.3 + 31.0, tx * 2.3);
        let red = lerp3(self.palette[0], self.palette[1], smoothstep(0.25, 0.8, t));
        let (vx, vy) = (x * self.vessel_freq + warp * 1.5, y * self.vessel_freq);
        Slow {
            base: lerp3(red, self.palette[2], 0.3 * smoothstep(0.45, 0.95, t2)),
            warp,
            presence: smoothstep(0.2, 0.6, self.swell.value(x * 0.7 + 11.0, y * 0.7))
                .max(self.fold_floor),
            relief: 0.04 * (self.swell.value(x * 1.6, y * 1.6) - 0.5),
            wet: smoothstep(
                0.4,
                0.75,
                self.gloss.value(x * self.gloss_freq, y * self.gloss_freq),
            ),
            // Fades vessel segments in and out so ridge lines read as branches, not loops.
            fade: smoothstep(0.3, 0.65, self.vessels.value(vx * 0.6 + 40.0, vy * 0.6)),
        }
    }

    /// All layers at world point `(x, y)`, given its slow layers.
    pub fn components(&self, x: f32, y: f32, slow: &Slow) -> Components {
        let along = x * self.fold_dir[0] + y * self.fold_dir[1];
        let phase = (along + slow.warp * self.fold_warp * 2.0) * self.fold_freq;
        let profile = (PI * (phase - floor(phase)))
            .sin()
            .max(0.0)
            .powf(self.fold_power);
        let amp = self.fold_amp * slow.presence;

        let (f1, f2) = self.areas.cells(x * self.cell_freq, y * self.cell_freq);
        let groove = 1.0 - smoothstep(0.0, 0.1, f2 - f1);
        let (gx, gy) = (0.8 * x + 0.6 * y, -0.6 * x + 0.8 * y);
        let grain = 2.0
            * self
                .areas
                .value(gx * self.cell_freq * 2.3, gy * self.cell_freq * 2.3)
            - 1.0;

        let (vx, vy) = (x * self.vessel_freq + slow.warp * 1.5, y * self.vessel_freq);
        let r1 = self.vessels.ridge(vx, vy);
        let trunk = slow.fade * smoothstep(0.88, 0.985, r1);
        // Finer branches sprout only near a trunk.
        let r2 = self.vessels.ridge(vx * 2.3 + 7.0, vy * 2.3 - 3.0);
        let branch =
            smoothstep(0.93, 0.99, r2) * smoothstep(0.55, 0.9, r1) * (0.4 + 0.6 * slow.fade);
        Components {
            base: slow.base,
            fold: amp * profile,
            fold_mean: amp * 0.7,
            relief: slow.relief,
            groove,
            grain,
            vessel: self.vessel_vis * trunk.max(0.6 * branch),
            wet: slow.wet,
            lift: 0.0,
        }
    }

    /// Composes edited layers into a shadeable surface.
    pub fn surface(&self, c: &Components) -> Surface {
        let shade = 1.0 - 0.08 * c.groove;
        let mut albedo = [
            c.base[0] * shade,
            c.base[1] * shade * 0.96,
            c.base[2] * shade,
        ];
        let v = 0.5 * c.vessel;
        for (a, vc) in albedo.iter_mut().zip(VESSEL_RGB) {
            *a = lerp(*a, vc, v);
        }
        Surface {
            albedo,
            height: c.fold + c.relief + c.lift - self.cell_depth * c.groove + 0.0004 * c.grain,
            wet: c.wet,
            glow: 0.0,
        }
    }
}

/// Component-wise linear interpolation of colours.
#[inline]
pub fn lerp3(a: [f32; 3], b: [f32; 3], t: f32) -> [f32; 3] {
    [
        lerp(a[0], b[0], t),
        lerp(a[1], b[1], t),
        lerp(a[2], b[2], t),
    ]
}
