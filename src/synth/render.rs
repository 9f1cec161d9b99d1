//! Renders a view of a [`Scene`] into the image area of a frame: height-field shading under
//! the scope's coaxial light (red light scatters deeper, so shadows stay red), specular
//! highlights on wet crests, a dark lumen, distance falloff, vignetting toward the rim,
//! optional blur and sensor grain. Pixels outside the area stay exactly black; pixels inside
//! are never black.

use image::RgbImage;

use super::layout::{FrameGeometry, ImageArea, Rect};
use super::mucosa::{Slow, Surface};
use super::scene::Scene;
use crate::rng::mix64;

/// The scope's view onto the world.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Camera {
    /// World point at the centre of the image area.
    pub center: [f32; 2],
    /// Rotation of the view (radians).
    pub angle: f32,
    /// World units per image-area radius (larger is further away).
    pub scale: f32,
}

impl Camera {
    /// World point seen at frame point `q` (image-area radius = 1, origin at its centre).
    #[inline]
    pub fn to_world(&self, q: [f32; 2]) -> [f32; 2] {
        let (s, c) = self.angle.sin_cos();
        [
            self.center[0] + self.scale * (c * q[0] - s * q[1]),
            self.center[1] + self.scale * (s * q[0] + c * q[1]),
        ]
    }

    /// Frame point (image-area radius = 1) where world point `w` appears.
    pub fn to_frame(&self, w: [f32; 2]) -> [f32; 2] {
        let (s, c) = self.angle.sin_cos();
        let (dx, dy) = (
            (w[0] - self.center[0]) / self.scale,
            (w[1] - self.center[1]) / self.scale,
        );
        [c * dx + s * dy, -s * dx + c * dy]
    }
}

/// The dark, far-away lumen of the stomach seen in the frame.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Lumen {
    /// Centre in frame coordinates (may lie outside the image area).
    pub at: [f32; 2],
    /// Radius in frame coordinates.
    pub radius: f32,
}

/// Image degradation applied after shading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Blur {
    /// Sharp.
    None,
    /// Out of focus: box blur with this radius in pixels.
    Defocus(u32),
    /// Motion along one axis with this radius in pixels.
    Motion {
        /// Along x (else along y).
        horizontal: bool,
        /// Radius in pixels.
        radius: u32,
    },
}

/// Illumination and sensor of the scope for one frame.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Optics {
    /// Slope of the wall toward its far side, in frame coordinates.
    pub tilt: [f32; 2],
    /// Light loss toward the far side (0 = none).
    pub falloff: f32,
    /// Optional dark lumen.
    pub lumen: Option<Lumen>,
    /// Overall gain.
    pub exposure: f32,
    /// Darkening at the rim of the image area, in `[0, 1]`.
    pub vignette: f32,
    /// Strength of specular highlights.
    pub specular: f32,
    /// Blur.
    pub blur: Blur,
    /// Sensor noise amplitude in 8-bit levels.
    pub grain: f32,
    /// Seed of the sensor noise.
    pub grain_seed: u64,
}

/// Where a malignant lesion appeared in a rendered frame.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LesionHit {
    /// Index into [`Scene::lesions`].
    pub lesion: usize,
    /// Bounding box of the pixels inside the image area whose lesion mask is at least 0.5.
    pub bbox: Rect,
    /// Number of those pixels.
    pub pixels: u32,
}

/// Spacing in pixels of the coarse grid the slow mucosa layers are sampled on.
const COARSE: usize = 4;
/// Pixels this far outside the outline are still sampled, for the shading gradient.
const APRON: f32 = 2.0;
/// Never-black floor of the red channel inside the image area.
pub(super) const RED_FLOOR: u8 = 3;

/// Renders `scene` through `camera` and `optics` into the image area of `img` (which must be
/// `geometry.width × geometry.height`), leaving other pixels untouched. Returns the visible
/// malignant lesions.
pub fn render(
    img: &mut RgbImage,
    geometry: &FrameGeometry,
    scene: &Scene,
    camera: &Camera,
    optics: &Optics,
) -> Vec<LesionHit> {
    let b = geometry.area.bounds(geometry.width, geometry.height);
    let (lesions, bubbles) = near_view(scene, camera);
    let field = Field::sample(&geometry.area, b, scene, camera, &lesions, &bubbles);
    shade(
        img,
        &geometry.area,
        b,
        &field,
        camera.scale / geometry.area.half,
        optics,
    );
    super::blur::apply(img, geometry, b, optics.blur);
    lesions
        .iter()
        .zip(field.hits)
        .filter_map(|(&lesion, hit)| {
            hit.map(|(bbox, pixels)| LesionHit {
                lesion,
                bbox,
                pixels,
            })
        })
        .collect()
}

/// Indices of the lesions and bubbles of `scene` that can touch the view.
fn near_view(scene: &Scene, camera: &Camera) -> (Vec<usize>, Vec<usize>) {
    let view = camera.scale * 1.5;
    let near =
        |c: [f32; 2], r: f32| (c[0] - camera.center[0]).hypot(c[1] - camera.center[1]) < view + r;
    let lesions: Vec<usize> = (0..scene.lesions.len())
        .filter(|&i| near(scene.lesions[i].center, scene.lesions[i].extent()))
        .collect();
    let bubbles: Vec<usize> = (0..scene.bubbles.len())
        .filter(|&i| near(scene.bubbles[i].center, scene.bubbles[i].radius))
        .collect();
    (lesions, bubbles)
}

/// Frame point (image-area radius = 1) of pixel position `(fx, fy)`.
#[inline]
fn pixel_q(area: &ImageArea, fx: f32, fy: f32) -> [f32; 2] {
    [(fx - area.cx) / area.half, (fy - area.cy) / area.half]
}

/// The surface at every pixel of the area's bounds (pass 1), row-major `b.w × b.h`.
struct Field {
    height: Vec<f32>,
    surf: Vec<Surface>,
    /// Running box and pixel count of each near lesion's malignant pixels.
    hits: Vec<Option<(Rect, u32)>>,
}

impl Field {
    /// Samples the slow layers on a coarse grid, then the surface at every pixel inside the
    /// area and its apron.
    fn sample(
        area: &ImageArea,
        b: Rect,
        scene: &Scene,
        camera: &Camera,
        lesions: &[usize],
        bubbles: &[usize],
    ) -> Self {
        let (bw, bh) = (b.w as usize, b.h as usize);
        let (gw, slow) = coarse_slow(area, b, scene, camera);
        let mut height = vec![0.0f32; bw * bh];
        let mut surf = vec![Surface::default(); bw * bh];
        let mut masks = vec![0.0f32; lesions.len()];
        let mut hits: Vec<Option<(Rect, u32)>> = vec![None; lesions.len()];
        for j in 0..bh {
            let fy = (b.y as usize + j) as f32 + 0.5;
            for i in 0..bw {
                let fx = (b.x as usize + i) as f32 + 0.5;
                let sd = area.signed_distance(fx, fy);
                if sd > APRON {
                    continue;
                }
                let w = camera.to_world(pixel_q(area, fx, fy));
                let (gi, gj) = (i / COARSE, j / COARSE);
                let at = |di: usize, dj: usize| &slow[(gj + dj) * gw + gi + di];
                let (tx, ty) = (
                    (i % COARSE) as f32 / COARSE as f32,
                    (j % COARSE) as f32 / COARSE as f32,
                );
                let sl = Slow::bilerp([at(0, 0), at(1, 0), at(0, 1), at(1, 1)], tx, ty);
                let s = scene.surface(w[0], w[1], &sl, lesions, bubbles, &mut masks);
                height[j * bw + i] = s.height;
                surf[j * bw + i] = s;
                if sd <= 0.0 {
                    for (k, &m) in masks.iter().enumerate() {
                        if m >= 0.5 && scene.lesions[lesions[k]].malignant {
                            grow(&mut hits[k], b.x + i as u32, b.y + j as u32);
                        }
                    }
                }
            }
        }
        Self { height, surf, hits }
    }
}

/// The slow mucosa layers every [`COARSE`] pixels over `b` (one extra row and column each
/// side); returns the grid width and the samples, row-major.
fn coarse_slow(area: &ImageArea, b: Rect, scene: &Scene, camera: &Camera) -> (usize, Vec<Slow>) {
    let (gw, gh) = (b.w as usize / COARSE + 2, b.h as usize / COARSE + 2);
    let mut slow = Vec::with_capacity(gw * gh);
    for gj in 0..gh {
        for gi in 0..gw {
            let q = pixel_q(
                area,
                (b.x as usize + gi * COARSE) as f32 + 0.5,
                (b.y as usize + gj * COARSE) as f32 + 0.5,
            );
            let w = camera.to_world(q);
            slow.push(scene.mucosa.slow(w[0], w[1]));
        }
    }
    (gw, slow)
}

/// Pass 2: shades every pixel inside the area from `field` (`px_world` world units a pixel).
fn shade(
    img: &mut RgbImage,
    area: &ImageArea,
    b: Rect,
    field: &Field,
    px_world: f32,
    optics: &Optics,
) {
    let (bw, bh) = (b.w as usize, b.h as usize);
    let height = &field.height;
    let tilt_len = optics.tilt[0].hypot(optics.tilt[1]).max(1e-6);
    let far = [optics.tilt[0] / tilt_len, optics.tilt[1] / tilt_len];
    for j in 0..bh {
        let y = b.y + j as u32;
        let fy = y as f32 + 0.5;
        for i in 0..bw {
            let x = b.x + i as u32;
            let fx = x as f32 + 0.5;
            let sd = area.signed_distance(fx, fy);
            if sd > 0.0 {
                continue;
            }
            let q = pixel_q(area, fx, fy);
            let (il, ir) = (i.saturating_sub(1), (i + 1).min(bw - 1));
            let (ju, jd) = (j.saturating_sub(1), (j + 1).min(bh - 1));
            let gx =
                (height[j * bw + ir] - height[j * bw + il]) / ((ir - il).max(1) as f32 * px_world);
            let gy =
                (height[jd * bw + i] - height[ju * bw + i]) / ((jd - ju).max(1) as f32 * px_world);
            let n = normalize([-(gx + optics.tilt[0]), -(gy + optics.tilt[1]), 1.0]);
            let l = normalize([-0.45 * q[0], -0.45 * q[1], 1.0]);
            let ndl = (n[0] * l[0] + n[1] * l[1] + n[2] * l[2]).max(0.0);
            let depth = 1.0 + optics.falloff * (0.5 + 0.5 * (q[0] * far[0] + q[1] * far[1]));
            let illum = lumen_shadow(optics, q, optics.exposure / (depth * depth));
            let rim = 1.0 + sd / area.half;
            let vignette = 1.0 - optics.vignette * super::noise::smoothstep(0.45, 1.0, rim).powi(2);
            let coverage = (0.5 - sd).min(1.0);
            let grain = grain_noise(optics.grain_seed, x, y).map(|g| g * optics.grain);
            let s = &field.surf[j * bw + i];
            let rgb = pixel(s, optics, ndl, illum, vignette * coverage, grain);
            img.put_pixel(x, y, image::Rgb(rgb));
        }
    }
}

/// `illum` darkened toward the lumen, if any, at frame point `q`.
#[inline]
fn lumen_shadow(optics: &Optics, q: [f32; 2], illum: f32) -> f32 {
    match optics.lumen {
        Some(lumen) => {
            let d2 = ((q[0] - lumen.at[0]).powi(2) + (q[1] - lumen.at[1]).powi(2))
                / (lumen.radius * lumen.radius);
            illum * (1.0 - 0.9 * (-d2).exp())
        }
        None => illum,
    }
}

/// The colour of surface `s` lit at `ndl` (normal · light) with `illum`, scaled by `k`
/// (vignette × coverage) plus sensor `grain`.
#[inline]
fn pixel(s: &Surface, optics: &Optics, ndl: f32, illum: f32, k: f32, grain: [f32; 3]) -> [u8; 3] {
    // Red scatters under the surface: it fills shadows and falls off more slowly.
    let lit = [
        ndl * (1.35 - 0.35 * ndl) * illum * (1.2 - 0.2 * illum.min(1.5)),
        ndl * illum,
        ndl * (0.8 + 0.2 * ndl) * illum * (0.9 + 0.1 * illum),
    ];
    // Blinn-Phong with the view along the light: a tight, saturating glint plus sheen.
    let n2 = ndl * ndl;
    let n8 = n2 * n2 * n2 * n2;
    let n32 = n8 * n8 * n8 * n8;
    let n256 = n32 * n32 * n32 * n32 * n32 * n32 * n32 * n32;
    let spec = optics.specular * (2.0 * s.wet * n256 + 0.08 * n8 * n2) * illum.min(1.0);
    let mut rgb = [0u8; 3];
    for c in 0..3 {
        let v = (s.albedo[c] * (0.04 + lit[c]) + spec + s.glow * illum) * k;
        rgb[c] = (v * 255.0 + grain[c] + 0.5).clamp(0.0, 255.0) as u8;
    }
    rgb[0] = rgb[0].max(RED_FLOOR);
    rgb
}

/// Extends the running box of a lesion by pixel `(x, y)`.
fn grow(hit: &mut Option<(Rect, u32)>, x: u32, y: u32) {
    match hit {
        None => *hit = Some((Rect { x, y, w: 1, h: 1 }, 1)),
        Some((r, n)) => {
            let (x1, y1) = ((r.x + r.w).max(x + 1), (r.y + r.h).max(y + 1));
            r.x = r.x.min(x);
            r.y = r.y.min(y);
            r.w = x1 - r.x;
            r.h = y1 - r.y;
            *n += 1;
        }
    }
}

#[inline]
fn normalize(v: [f32; 3]) -> [f32; 3] {
    let n = (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]).sqrt();
    [v[0] / n, v[1] / n, v[2] / n]
}

/// Per-pixel, per-channel sensor noise in `[-0.5, 0.5]`.
#[inline]
fn grain_noise(seed: u64, x: u32, y: u32) -> [f32; 3] {
    let h = mix64(seed ^ (u64::from(x) << 32 | u64::from(y)));
    let unit = |shift: u32| ((h >> shift) & 0xFFFF) as f32 / 65_535.0 - 0.5;
    [unit(0), unit(16), unit(32)]
}
