//! The video's story: a scope drifting along the stomach wall over one large scene, passing
//! EGC-like lesions that enter and leave the view, one at a time, over contiguous segments.
//! Each frame is a pure function of `(seed, index)`, so frames render in any order.
//!
//! Ground truth: a frame is `cancer` when at least half of a malignant lesion's area is
//! visible inside the image area; the box bounds the visible part.

use std::f32::consts::TAU;

use image::RgbImage;

use super::config::VideoConfig;
use super::layout::{FrameGeometry, Layout, Rect};
use super::lesion::Lesion;
use super::panel::{draw_panel, Patient};
use super::render::{render, Blur, Camera, Lumen, Optics};
use super::rng::Rng;
use super::scene::Scene;
use crate::rng::mix64;

/// Seed stream of the video scene.
const STREAM_VIDEO: u64 = 4;
/// A lesion counts as shown when this share of its area is visible.
pub const VISIBLE_FRACTION: f32 = 0.5;
/// Largest lesion radius in image-area radii.
const MAX_LESION_RADIUS: f32 = 0.24;
/// Farthest the image area reaches from its centre (octagon corners), in image-area radii.
const VIEW_REACH: f32 = 1.2;

/// A slow sinusoid `amp · sin(2π f t + phase)`.
#[derive(Debug, Clone, Copy)]
struct Wave {
    amp: f32,
    freq: f32,
    phase: f32,
}

impl Wave {
    fn random(rng: &mut Rng, amp: f32, freq: (f32, f32)) -> Self {
        Self {
            amp,
            freq: rng.range(freq.0, freq.1),
            phase: rng.angle(),
        }
    }

    fn at(&self, t: f32) -> f32 {
        self.amp * (TAU * self.freq * t + self.phase).sin()
    }
}

/// The scope's path along the wall: forward at `speed`, swaying sideways.
#[derive(Debug, Clone, Copy)]
struct Route {
    /// World units per image-area radius.
    scale: f32,
    /// Camera travel from "lesion out of view" to "lesion at the centre".
    lead: f32,
    speed: f32,
    /// Length of the whole path.
    travel: f32,
    sway: [Wave; 2],
}

impl Route {
    /// A route for a video of `seconds`.
    fn plan(rng: &mut Rng, seconds: f32) -> Self {
        let scale = rng.range(0.9, 1.1);
        let lead = 1.08 * scale * (VIEW_REACH + 1.6 * MAX_LESION_RADIUS);
        let speed = (0.45 * scale).max((2.0 * lead + 0.5 * scale) / seconds);
        let sway = [
            Wave::random(rng, 0.2 * scale, (0.03, 0.08)),
            Wave::random(rng, 0.06 * scale, (0.2, 0.4)),
        ];
        Self {
            scale,
            lead,
            speed,
            travel: speed * seconds,
            sway,
        }
    }

    /// Sideways position of the path at `x`.
    fn y(&self, x: f32) -> f32 {
        self.sway[0].at(x / self.speed) + self.sway[1].at(x / self.speed)
    }

    /// Malignant lesions along the path, evenly spaced with a gap of `2 · lead` that keeps two
    /// out of the view at once; about `positive_fraction` of the travel shows one.
    fn place_lesions(&self, rng: &mut Rng, scene: &mut Scene, positive_fraction: f64) {
        let (scale, lead, travel) = (self.scale, self.lead, self.travel);
        let spacing = 2.0 * lead;
        let fits = if travel >= 2.0 * lead {
            ((travel - 2.0 * lead) / spacing) as usize + 1
        } else {
            0
        };
        let wanted = (positive_fraction as f32 * travel / (2.0 * scale)).round() as usize;
        let count = if positive_fraction > 0.0 {
            wanted.max(1)
        } else {
            0
        }
        .min(fits);
        for k in 0..count {
            let x = if count == 1 {
                travel / 2.0
            } else {
                lead + k as f32 * (travel - 2.0 * lead) / (count - 1) as f32
            };
            let y = self.y(x) + rng.range(-0.3, 0.3) * scale;
            let radius = rng.range(0.12, MAX_LESION_RADIUS) * scale;
            let lesion = Lesion::malignant(rng, &scene.mucosa, [x, y], radius);
            scene.lesions.push(lesion);
        }
    }

    /// Benign look-alikes near the path, clear of the lesions placed so far.
    fn place_mimics(&self, rng: &mut Rng, scene: &mut Scene) {
        let scale = self.scale;
        let mimics = (self.travel / (2.5 * scale)) as usize;
        for _ in 0..mimics {
            let x = rng.range(0.0, self.travel);
            let at = [x, self.y(x) + rng.range(-0.9, 0.9) * scale];
            let radius = rng.range(0.05, 0.18) * scale;
            let mimic = Lesion::mimic(rng, at, radius);
            let clear = scene.lesions.iter().all(|l| {
                (l.center[0] - at[0]).hypot(l.center[1] - at[1]) > l.extent() + mimic.extent()
            });
            if clear {
                scene.lesions.push(mimic);
            }
        }
    }

    /// Clusters of bubbles near the path.
    fn place_bubbles(&self, rng: &mut Rng, scene: &mut Scene) {
        let scale = self.scale;
        let clusters = (self.travel / (3.0 * scale)) as usize + 1;
        for _ in 0..clusters {
            let x = rng.range(0.0, self.travel);
            let at = [x, self.y(x) + rng.range(-1.0, 1.0) * scale];
            let count = rng.between(1, 10);
            scene.add_bubbles(rng, at, 0.25 * scale, count, 0.05 * scale);
        }
    }
}

/// The light and sensor of the whole video (frames vary it over time).
fn base_optics(rng: &mut Rng, layout: Layout) -> Optics {
    let dir = rng.angle();
    Optics {
        tilt: [dir.cos(), dir.sin()],
        falloff: rng.range(0.4, 0.8),
        lumen: Some(Lumen {
            at: [0.0, 0.0],
            radius: rng.range(0.3, 0.5),
        }),
        exposure: rng.range(0.95, 1.15),
        vignette: rng.range(0.45, 0.65),
        specular: if layout == Layout::Capsule { 0.7 } else { 1.0 },
        blur: Blur::None,
        grain: rng.range(1.5, 3.0),
        grain_seed: 0,
    }
}

/// One rendered video frame and its ground truth.
#[derive(Debug, Clone)]
pub struct TrackFrame {
    /// RGB pixels.
    pub image: RgbImage,
    /// Visible lesion box, when the frame is `cancer`.
    pub lesion: Option<Rect>,
}

/// The planned video.
#[derive(Debug, Clone)]
pub struct Track {
    geometry: FrameGeometry,
    video: VideoConfig,
    seed: u64,
    scene: Scene,
    /// World area (mask ≥ 0.5) of each scene lesion.
    lesion_area: Vec<f32>,
    patient: Patient,
    speed: f32,
    scale: f32,
    angle: f32,
    sway: [Wave; 2],
    spin: Wave,
    zoom: Wave,
    light: Wave,
    breathe: Wave,
    base: Optics,
}

impl Track {
    /// Plans the scene and camera path of a video with roughly `positive_fraction` of its
    /// frames showing a lesion.
    pub fn new(
        seed: u64,
        layout: Layout,
        geometry: FrameGeometry,
        video: VideoConfig,
        positive_fraction: f64,
    ) -> Self {
        let mut rng = Rng::derive(seed, STREAM_VIDEO, 0);
        let mut scene = Scene::with_folds(&mut rng);
        let route = Route::plan(&mut rng, video.seconds(video.frames) as f32);
        route.place_lesions(&mut rng, &mut scene, positive_fraction);
        route.place_mimics(&mut rng, &mut scene);
        route.place_bubbles(&mut rng, &mut scene);
        let lesion_area = scene.lesions.iter().map(area).collect();
        let base = base_optics(&mut rng, layout);
        Self {
            geometry,
            video,
            seed,
            scene,
            lesion_area,
            patient: Patient::fake(seed, 0),
            speed: route.speed,
            scale: route.scale,
            angle: rng.angle(),
            sway: route.sway,
            spin: Wave::random(&mut rng, 0.15, (0.03, 0.07)),
            zoom: Wave::random(&mut rng, 0.06, (0.05, 0.12)),
            light: Wave::random(&mut rng, 0.5, (0.02, 0.05)),
            breathe: Wave::random(&mut rng, 0.07, (0.15, 0.3)),
            base,
        }
    }

    /// Number of lesions placed along the path.
    pub fn malignant_lesions(&self) -> usize {
        self.scene.lesions.iter().filter(|l| l.malignant).count()
    }

    /// The camera at `t` seconds.
    fn camera(&self, t: f32) -> Camera {
        Camera {
            center: [self.speed * t, self.sway[0].at(t) + self.sway[1].at(t)],
            angle: self.angle + self.spin.at(t),
            scale: self.scale * (1.0 + self.zoom.at(t)),
        }
    }

    /// Lighting at `t` seconds of frame `index`: the far side swings slowly, auto-exposure hunts.
    fn optics(&self, t: f32, index: u64) -> Optics {
        let dir = self.base.tilt[1].atan2(self.base.tilt[0]) + self.light.at(t);
        let (s, c) = dir.sin_cos();
        Optics {
            tilt: [0.3 * c, 0.3 * s],
            lumen: self.base.lumen.map(|l| Lumen {
                at: [0.95 * c, 0.95 * s],
                ..l
            }),
            exposure: self.base.exposure * (1.0 + self.breathe.at(t)),
            grain_seed: mix64(self.seed ^ mix64(index)),
            ..self.base
        }
    }

    /// Renders frame `index` with its ground truth.
    pub fn frame(&self, index: u64) -> TrackFrame {
        let t = self.video.seconds(index) as f32;
        let camera = self.camera(t);
        let mut image = RgbImage::new(self.geometry.width, self.geometry.height);
        if let Some(panel) = self.geometry.panel {
            draw_panel(&mut image, panel, &self.patient, f64::from(t));
        }
        let hits = render(
            &mut image,
            &self.geometry,
            &self.scene,
            &camera,
            &self.optics(t, index),
        );
        let px_area = (camera.scale / self.geometry.area.half).powi(2);
        let lesion = hits
            .iter()
            .map(|h| {
                (
                    h.pixels as f32 * px_area / self.lesion_area[h.lesion],
                    h.bbox,
                )
            })
            .filter(|(shown, _)| *shown >= VISIBLE_FRACTION)
            .max_by(|a, b| a.0.total_cmp(&b.0))
            .map(|(_, bbox)| bbox);
        TrackFrame { image, lesion }
    }
}

/// World area where the lesion mask is at least 0.5, by sampling a grid over its extent.
fn area(lesion: &Lesion) -> f32 {
    const N: usize = 96;
    let e = lesion.extent();
    let step = 2.0 * e / N as f32;
    let mut inside = 0usize;
    for j in 0..N {
        for i in 0..N {
            let x = lesion.center[0] - e + (i as f32 + 0.5) * step;
            let y = lesion.center[1] - e + (j as f32 + 0.5) * step;
            inside += usize::from(lesion.mask(x, y) >= 0.5);
        }
    }
    (inside as f32 * step * step).max(f32::MIN_POSITIVE)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn track(seconds: u64, fraction: f64) -> Track {
        let video = VideoConfig {
            fps_num: 10,
            fps_den: 1,
            frames: seconds * 10,
        };
        Track::new(
            7,
            Layout::Capsule,
            Layout::Capsule.geometry(256, 256),
            video,
            fraction,
        )
    }

    #[test]
    fn short_videos_still_get_a_lesion_and_long_ones_more() {
        assert_eq!(track(2, 0.3).malignant_lesions(), 1);
        assert!(track(60, 0.3).malignant_lesions() >= 3);
        assert_eq!(track(60, 0.0).malignant_lesions(), 0);
    }

    #[test]
    fn a_lesion_enters_and_leaves_once() {
        let t = track(2, 0.3);
        let labels: Vec<bool> = (0..20).map(|i| t.frame(i).lesion.is_some()).collect();
        assert!(!labels[0] && !labels[19], "{labels:?}");
        let rises = labels.windows(2).filter(|w| !w[0] && w[1]).count();
        assert_eq!(rises, 1, "{labels:?}");
    }
}
