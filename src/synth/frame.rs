//! One still frame in memory: a random view of a random mucosa, with or without an
//! EGC-like lesion lying fully inside the image area. Used by `endoscan synth` and by other
//! modules' tests as a fixture.

use image::RgbImage;

use super::layout::{FrameGeometry, Layout, Rect};
use super::lesion::Lesion;
use super::panel::{draw_panel, Patient};
use super::render::{render, Blur, Camera, Lumen, Optics};
use super::rng::Rng;
use super::scene::Scene;

/// Seed stream of still images.
const STREAM_IMAGE: u64 = 1;
/// Images per fake patient in [`generate_frame`].
const IMAGES_PER_PATIENT: u64 = 4;

/// What to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameSpec {
    /// Frame layout.
    pub layout: Layout,
    /// Frame width in pixels.
    pub width: u32,
    /// Frame height in pixels.
    pub height: u32,
    /// Dataset seed.
    pub seed: u64,
    /// Image index within the dataset.
    pub index: u64,
    /// Whether to include an EGC-like lesion.
    pub lesion: bool,
}

/// A generated frame and its ground truth.
#[derive(Debug, Clone)]
pub struct SynthFrame {
    /// RGB pixels, `geometry.width × geometry.height`.
    pub image: RgbImage,
    /// Where the image area and panel are.
    pub geometry: FrameGeometry,
    /// Bounding box of the lesion (inside the image area), if any.
    pub lesion: Option<Rect>,
}

/// Errors of the in-memory generator.
#[derive(Debug, thiserror::Error)]
pub enum SynthError {
    /// The size does not suit the layout.
    #[error("frame size {width}x{height} does not suit the {layout} layout: {reason}")]
    Size {
        /// Layout asked for.
        layout: Layout,
        /// Width asked for.
        width: u32,
        /// Height asked for.
        height: u32,
        /// Why not.
        reason: String,
    },
}

/// Generates one frame; same spec, same pixels.
pub fn generate_frame(spec: &FrameSpec) -> Result<SynthFrame, SynthError> {
    spec.layout
        .check_size(spec.width, spec.height)
        .map_err(|reason| SynthError::Size {
            layout: spec.layout,
            width: spec.width,
            height: spec.height,
            reason,
        })?;
    let geometry = spec.layout.geometry(spec.width, spec.height);
    let patient = Patient::fake(spec.seed, (spec.index / IMAGES_PER_PATIENT) as u32 + 1);
    Ok(render_still(
        spec.layout,
        &geometry,
        spec.seed,
        spec.index,
        spec.lesion,
        &patient,
    ))
}

/// Renders still `index` of the dataset `seed` for `patient` (size already validated).
pub(crate) fn render_still(
    layout: Layout,
    geometry: &FrameGeometry,
    seed: u64,
    index: u64,
    lesion: bool,
    patient: &Patient,
) -> SynthFrame {
    let mut rng = Rng::derive(seed, STREAM_IMAGE, index);
    let mut scene = Scene::new(&mut rng);
    let camera = Camera {
        center: [rng.range(-1000.0, 1000.0), rng.range(-1000.0, 1000.0)],
        angle: rng.angle(),
        scale: rng.range(0.8, 1.3),
    };
    let optics = still_optics(&mut rng, layout, geometry);

    let placed = lesion.then(|| place_lesion(&mut rng, &mut scene, &camera, geometry));
    add_mimics(&mut rng, &mut scene, &camera);
    let clusters = if layout == Layout::Capsule {
        rng.between(0, 4)
    } else {
        rng.between(0, 2)
    };
    for _ in 0..clusters {
        let at = camera.to_world(disc_point(&mut rng, 0.9));
        let count = rng.between(1, 14);
        let spread = camera.scale * rng.range(0.05, 0.3);
        let size = camera.scale * rng.range(0.02, 0.07);
        scene.add_bubbles(&mut rng, at, spread, count, size);
    }

    let mut image = RgbImage::new(geometry.width, geometry.height);
    if let Some(panel) = geometry.panel {
        draw_panel(&mut image, panel, patient, (index % 512) as f64 * 9.0);
    }
    let hits = render(&mut image, geometry, &scene, &camera, &optics);
    let lesion = placed.map(|(i, fallback)| {
        hits.iter()
            .find(|h| h.lesion == i)
            .map_or(fallback, |h| h.bbox)
    });
    SynthFrame {
        image,
        geometry: *geometry,
        lesion,
    }
}

/// Uniform point in the disc of radius `r` (frame units).
fn disc_point(rng: &mut Rng, r: f32) -> [f32; 2] {
    let (a, d) = (rng.angle(), r * rng.f32().sqrt());
    [d * a.cos(), d * a.sin()]
}

/// Adds a malignant lesion whose bounding square lies inside the image area; returns its
/// index in the scene and that square (the fallback box).
fn place_lesion(
    rng: &mut Rng,
    scene: &mut Scene,
    camera: &Camera,
    geometry: &FrameGeometry,
) -> (usize, Rect) {
    let area = geometry.area;
    for attempt in 0..64 {
        let shrink = if attempt < 32 { 1.0 } else { 0.6 };
        let radius = rng.range(0.08, 0.26) * shrink;
        let q = disc_point(rng, 0.8);
        let lesion = Lesion::malignant(
            rng,
            &scene.mucosa,
            camera.to_world(q),
            radius * camera.scale,
        );
        let reach = lesion.extent() / camera.scale * area.half + 1.0;
        let (px, py) = (area.cx + q[0] * area.half, area.cy + q[1] * area.half);
        let (x0, y0) = ((px - reach).floor(), (py - reach).floor());
        if x0 < 0.0 || y0 < 0.0 {
            continue;
        }
        let side = (2.0 * reach).ceil() as u32 + 1;
        let square = Rect {
            x: x0 as u32,
            y: y0 as u32,
            w: side,
            h: side,
        };
        if area.contains_rect(square) {
            scene.lesions.push(lesion);
            return (scene.lesions.len() - 1, square);
        }
    }
    // A small lesion at the centre always fits.
    let lesion = Lesion::malignant(rng, &scene.mucosa, camera.center, 0.06 * camera.scale);
    let reach = (lesion.extent() / camera.scale * area.half + 1.0).ceil();
    scene.lesions.push(lesion);
    let side = 2 * reach as u32 + 1;
    let square = Rect {
        x: (area.cx - reach).max(0.0) as u32,
        y: (area.cy - reach).max(0.0) as u32,
        w: side,
        h: side,
    };
    (scene.lesions.len() - 1, square)
}

/// Adds zero to two benign mimics that do not overlap existing lesions.
fn add_mimics(rng: &mut Rng, scene: &mut Scene, camera: &Camera) {
    let count = if rng.chance(0.5) {
        rng.between(1, 2)
    } else {
        0
    };
    for _ in 0..count {
        let at = camera.to_world(disc_point(rng, 0.9));
        let radius = camera.scale * rng.range(0.05, 0.2);
        let mimic = Lesion::mimic(rng, at, radius);
        let clear = scene.lesions.iter().all(|l| {
            (l.center[0] - at[0]).hypot(l.center[1] - at[1]) > l.extent() + mimic.extent()
        });
        if clear {
            scene.lesions.push(mimic);
        }
    }
}

/// Random illumination and sensor for a still frame.
fn still_optics(rng: &mut Rng, layout: Layout, geometry: &FrameGeometry) -> Optics {
    let dir = rng.angle();
    let tilt = rng.range(0.1, 0.8);
    let lumen = rng.chance(0.55).then(|| {
        let d = rng.range(0.55, 1.2);
        Lumen {
            at: [dir.cos() * d, dir.sin() * d],
            radius: rng.range(0.3, 0.6),
        }
    });
    let exposure = match rng.f32() {
        u if u < 0.1 => rng.range(0.55, 0.75),
        u if u < 0.2 => rng.range(1.3, 1.6),
        _ => rng.range(0.85, 1.2),
    };
    let max_blur = (geometry.area.half / 50.0).max(1.0) as u32;
    let blur = match rng.f32() {
        u if u < 0.08 => Blur::Defocus(rng.between(1, max_blur)),
        u if u < 0.13 => Blur::Motion {
            horizontal: rng.chance(0.5),
            radius: rng.between(1, max_blur + 1),
        },
        _ => Blur::None,
    };
    let capsule = layout == Layout::Capsule;
    Optics {
        tilt: [tilt * dir.cos(), tilt * dir.sin()],
        falloff: rng.range(0.2, 0.9) + 0.5 * tilt,
        lumen,
        exposure,
        vignette: rng.range(0.4, 0.75),
        specular: if capsule {
            rng.range(0.4, 0.9)
        } else {
            rng.range(0.7, 1.4)
        },
        blur,
        grain: rng.range(1.0, 4.0),
        grain_seed: rng.fork(),
    }
}
