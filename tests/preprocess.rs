//! Preprocessing against independent references: a NumPy implementation of the documented
//! detection / crop / mask / resize / normalize, and torch's antialiased bilinear resize; and
//! content-area detection on synthetic tower and capsule frames with patient-data panels.

use std::path::{Path, PathBuf};
use std::process::Command;

use endoscan::model::Normalization;
use endoscan::preprocess::{Crop, PreparedFrame, Preprocessor, Rect};
use endoscan::synth::{generate_frame, FrameSpec, Layout};
use image::RgbImage;

/// The NumPy / torch reference. Reads cases from argv triples `frame.ppm size norm` and
/// writes `frame.ppm.json` (bounds, crop), `.u8` (S×S×3 NumPy resize), `.torch.u8` (torch
/// resize of the same masked crop) and `.f32` (NCHW normalization of the Rust u8 image in
/// `frame.ppm.rust.u8`).
const REFERENCE: &str = r#"
import json, math, sys
from fractions import Fraction
import numpy as np
import torch

def read_ppm(path):
    data = open(path, "rb").read()
    fields, pos = [], 0
    while len(fields) < 4:
        while data[pos:pos + 1].isspace():
            pos += 1
        start = pos
        while not data[pos:pos + 1].isspace():
            pos += 1
        fields.append(data[start:pos])
    assert fields[0] == b"P6" and fields[3] == b"255"
    w, h = int(fields[1]), int(fields[2])
    return np.frombuffer(data[pos + 1:pos + 1 + w * h * 3], np.uint8).reshape(h, w, 3)

def detect(img, black=24, cell=8, min_fraction=0.02):
    bright = img.max(axis=2) > black
    h, w = bright.shape
    gh, gw = -(-h // cell), -(-w // cell)
    def per_cell(a):
        pad = np.zeros((gh * cell, gw * cell), np.int64)
        pad[:h, :w] = a
        return pad.reshape(gh, cell, gw, cell).sum(axis=(1, 3))
    on = 2 * per_cell(bright) > per_cell(np.ones_like(bright))
    labels = np.zeros(on.shape, np.int64)
    best, best_size, n = 0, 0, 0
    for r in range(gh):
        for c in range(gw):
            if not on[r, c] or labels[r, c]:
                continue
            n += 1
            labels[r, c] = n
            stack, size = [(r, c)], 0
            while stack:
                y, x = stack.pop()
                size += 1
                for yy, xx in ((y, x - 1), (y, x + 1), (y - 1, x), (y + 1, x)):
                    if 0 <= yy < gh and 0 <= xx < gw and on[yy, xx] and not labels[yy, xx]:
                        labels[yy, xx] = n
                        stack.append((yy, xx))
            if size > best_size:
                best, best_size = n, size
    assert best_size > 0 and best_size >= min_fraction * gh * gw, "no area"
    group = labels == best
    grown = np.zeros_like(group)
    padded = np.pad(group, 1)
    for dy in (0, 1, 2):
        for dx in (0, 1, 2):
            grown |= padded[dy:dy + gh, dx:dx + gw]
    allowed = np.repeat(np.repeat(grown, cell, axis=0), cell, axis=1)[:h, :w]
    hits = bright & allowed
    ends = []
    for y in np.nonzero(hits.any(axis=1))[0]:
        xs = np.nonzero(hits[y])[0]
        ends += [(int(xs[0]), int(y)), (int(xs[-1]), int(y))]
    spans = fill_hull(ends)
    ys = sorted(spans)
    x0 = min(s for s, _ in spans.values())
    x1 = max(e for _, e in spans.values())
    return spans, (x0, ys[0], x1 - x0, ys[-1] + 1 - ys[0])

def fill_hull(points):
    # Row spans (end exclusive) of the pixels whose points lie in the convex hull of `points`.
    pts = sorted(set(points))
    def cross(o, a, b):
        return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])
    def chain(seq):
        out = []
        for p in seq:
            while len(out) >= 2 and cross(out[-2], out[-1], p) <= 0:
                out.pop()
            out.append(p)
        return out
    hull = pts if len(pts) < 3 else chain(pts)[:-1] + chain(pts[::-1])[:-1]
    edges = list(zip(hull, hull[1:] + hull[:1]))
    spans = {}
    for y in range(min(p[1] for p in hull), max(p[1] for p in hull) + 1):
        xs = []
        for (x1, y1), (x2, y2) in edges:
            if y1 == y2 == y:
                xs += [Fraction(x1), Fraction(x2)]
            elif min(y1, y2) <= y <= max(y1, y2) and y1 != y2:
                xs.append(x1 + Fraction((x2 - x1) * (y - y1), y2 - y1))
        lo, hi = math.ceil(min(xs)), math.floor(max(xs))
        if lo <= hi:
            spans[y] = (lo, hi + 1)
    return spans

def triangle(n, m):
    scale = n / m
    support = max(scale, 1.0)
    centres = (np.arange(m) + 0.5) * scale
    taps = np.arange(n) + 0.5
    w = np.maximum(0.0, 1.0 - np.abs(taps[None, :] - centres[:, None]) / support)
    return w / w.sum(axis=1, keepdims=True)

for frame, size, norm in zip(*[iter(sys.argv[1:])] * 3):
    size = int(size)
    img = read_ppm(frame)
    spans, (bx, by, bw, bh) = detect(img)
    side = min(bw, bh)
    cx, cy = bx + (bw - side) // 2, by + (bh - side) // 2
    crop = img[cy:cy + side, cx:cx + side].astype(np.float64)
    for r in range(side):
        s, e = spans.get(cy + r, (0, 0))
        keep = np.zeros(side, bool)
        keep[max(s - cx, 0):max(e - cx, 0)] = True
        crop[r, ~keep] = 0.0
    wy, wx = triangle(side, size), triangle(side, size)
    resized = np.stack([wy @ crop[:, :, c] @ wx.T for c in range(3)], axis=2)
    np.floor(resized + 0.5).clip(0, 255).astype(np.uint8).tofile(frame + ".u8")
    t = torch.from_numpy(crop.transpose(2, 0, 1)[None].copy())
    t = torch.nn.functional.interpolate(t, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
    np.floor(t[0].numpy().transpose(1, 2, 0) + 0.5).clip(0, 255).astype(np.uint8).tofile(frame + ".torch.u8")
    rust = np.fromfile(frame + ".rust.u8", np.uint8).reshape(size, size, 3)
    scale, offset = {"bit": (1 / 127.5, -1.0), "unit": (1 / 255, 0.0)}[norm]
    x = rust.transpose(2, 0, 1).astype(np.float32) * np.float32(scale) + np.float32(offset)
    x.astype("<f4").tofile(frame + ".f32")
    json.dump({"bounds": [bx, by, bw, bh], "crop": [cx, cy, side]}, open(frame + ".json", "w"))
"#;

fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("preprocess-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn python() -> PathBuf {
    let root = std::env::var_os("ENDOSCAN_ROOT")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from);
    root.join(".venv/bin/python")
}

fn tower(width: u32, height: u32, index: u64) -> RgbImage {
    synth(Layout::Tower, width, height, index).image
}

fn synth(layout: Layout, width: u32, height: u32, index: u64) -> endoscan::synth::SynthFrame {
    generate_frame(&FrameSpec {
        layout,
        width,
        height,
        seed: 7,
        index,
        lesion: !index.is_multiple_of(2),
    })
    .unwrap()
}

struct Case {
    name: &'static str,
    frame: RgbImage,
    size: usize,
    norm: Normalization,
}

/// Writes a binary PPM (P6); `image` would write PAM (P7) for `.ppm`.
fn write_ppm(path: &Path, img: &RgbImage) {
    let mut bytes = format!("P6\n{} {}\n255\n", img.width(), img.height()).into_bytes();
    bytes.extend_from_slice(img.as_raw());
    std::fs::write(path, bytes).unwrap();
}

fn max_diff_u8(a: &[u8], b: &[u8]) -> u8 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| x.abs_diff(*y))
        .max()
        .unwrap_or(0)
}

#[test]
fn equals_independent_numpy_and_torch_references() {
    let dir = scratch("reference");
    // Wide frame without border: the centred square of the short side.
    let plain = RgbImage::from_fn(300, 200, |x, y| {
        image::Rgb([
            (60 + (x * 3 + y) % 190) as u8,
            (40 + (x + 5 * y) % 150) as u8,
            (90 + (x * y) % 120) as u8,
        ])
    });
    let cases = [
        Case {
            name: "tower1080",
            frame: tower(1920, 1080, 0),
            size: 384,
            norm: Normalization::Bit,
        },
        Case {
            name: "tower540",
            frame: tower(960, 540, 1),
            size: 128,
            norm: Normalization::Unit,
        },
        Case {
            name: "capsule",
            frame: synth(Layout::Capsule, 256, 256, 2).image,
            size: 384,
            norm: Normalization::Bit,
        },
        Case {
            name: "plain",
            frame: plain,
            size: 97,
            norm: Normalization::Bit,
        },
    ];
    let mut args: Vec<String> = Vec::new();
    let mut prepared: Vec<(PathBuf, PreparedFrame, Vec<f32>)> = Vec::new();
    for case in &cases {
        let path = dir.join(format!("{}.ppm", case.name));
        write_ppm(&path, &case.frame);
        let pre = Preprocessor::new(case.size, case.norm).unwrap();
        let out = pre.prepare(&case.frame).unwrap();
        std::fs::write(path.with_extension("ppm.rust.u8"), out.image.as_raw()).unwrap();
        let mut x = vec![0.0f32; 3 * case.size * case.size];
        pre.normalize_into(&out.image, &mut x).unwrap();
        args.extend([
            path.display().to_string(),
            case.size.to_string(),
            case.norm.to_string(),
        ]);
        prepared.push((path, out, x));
    }
    let run = Command::new(python())
        .arg("-c")
        .arg(REFERENCE)
        .args(&args)
        .output()
        .expect("run .venv/bin/python");
    assert!(
        run.status.success(),
        "reference failed:\n{}",
        String::from_utf8_lossy(&run.stderr)
    );

    for (case, (path, out, x)) in cases.iter().zip(&prepared) {
        let name = path.display().to_string();
        let json: serde_json::Value =
            serde_json::from_slice(&std::fs::read(format!("{name}.json")).unwrap()).unwrap();
        let b = out.area.bounds();
        assert_eq!(
            json["bounds"],
            serde_json::json!([b.x, b.y, b.width, b.height]),
            "{}",
            case.name
        );
        assert_eq!(
            json["crop"],
            serde_json::json!([out.crop.x, out.crop.y, out.crop.side]),
            "{}",
            case.name
        );
        let numpy = std::fs::read(format!("{name}.u8")).unwrap();
        let torch = std::fs::read(format!("{name}.torch.u8")).unwrap();
        let (dn, dt) = (
            max_diff_u8(out.image.as_raw(), &numpy),
            max_diff_u8(out.image.as_raw(), &torch),
        );
        let off = out
            .image
            .as_raw()
            .iter()
            .zip(&numpy)
            .filter(|(a, b)| a != b)
            .count();
        eprintln!(
            "{}: crop {:?}, max |Δ| vs numpy {dn} ({:.3} % of values off by one), vs torch {dt}",
            case.name,
            out.crop,
            100.0 * off as f64 / numpy.len() as f64
        );
        assert!(dn <= 1, "{}: {dn} levels from NumPy", case.name);
        assert!(dt <= 1, "{}: {dt} levels from torch", case.name);
        let reference: Vec<f32> = std::fs::read(format!("{name}.f32"))
            .unwrap()
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        let dx = x
            .iter()
            .zip(&reference)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        assert_eq!(x.len(), reference.len());
        assert!(dx <= 1e-6, "{}: normalization differs by {dx}", case.name);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn tower_frames_give_the_image_area_not_the_panel() {
    for (width, height) in [(1920, 1080), (960, 540), (1280, 720)] {
        for index in 0..3 {
            let frame = synth(Layout::Tower, width, height, index);
            let g = frame.geometry;
            let panel = g.panel.expect("towers have a panel");
            let truth = g.area.bounds(width, height);
            let out = Preprocessor::new(384, Normalization::Bit)
                .unwrap()
                .prepare(&frame.image)
                .unwrap();
            let b = out.area.bounds();
            let label =
                format!("{width}x{height} #{index}: found {b:?}, area {truth:?}, panel {panel:?}");
            assert!(b.x as u32 >= panel.x + panel.w, "took the panel: {label}");
            // Within 2 pixels of the drawn outline on every side.
            let near = |a: usize, b: u32| (a as i64 - b as i64).abs() <= 2;
            assert!(near(b.x, truth.x) && near(b.y, truth.y), "{label}");
            assert!(
                near(b.x + b.width, truth.x + truth.w) && near(b.y + b.height, truth.y + truth.h),
                "{label}"
            );
            // Every pixel the area shows lies in the drawn image area (nothing of the panel).
            for y in b.y..b.y + b.height {
                let span = out.area.span(y);
                for x in [span.start, span.end.saturating_sub(1)] {
                    if !span.is_empty() {
                        assert!(
                            g.area.signed_distance(x as f32 + 0.5, y as f32 + 0.5) <= 1.0,
                            "({x}, {y}) {label}"
                        );
                    }
                }
            }
            assert_eq!(out.crop, Crop::centred_square(b), "{label}");
        }
    }
}

#[test]
fn capsule_frames_keep_their_circle() {
    for side in [256u32, 384, 512] {
        let frame = synth(Layout::Capsule, side, side, 3);
        let out = Preprocessor::new(384, Normalization::Bit)
            .unwrap()
            .prepare(&frame.image)
            .unwrap();
        let b = out.area.bounds();
        let truth = frame.geometry.area.bounds(side, side);
        assert!(
            (b.width as i64 - truth.w as i64).abs() <= 2
                && (b.height as i64 - truth.h as i64).abs() <= 2,
            "{b:?} vs {truth:?}"
        );
        assert_eq!(out.image.dimensions(), (384, 384));
    }
}

#[test]
fn jpeg_artefacts_do_not_move_the_area() {
    let frame = tower(1920, 1080, 4);
    let dir = scratch("jpeg");
    let path = dir.join("tower.jpg");
    frame.save(&path).unwrap();
    let decoded = endoscan::preprocess::read_rgb(&path).unwrap();
    let pre = Preprocessor::new(384, Normalization::Bit).unwrap();
    let (lossless, lossy) = (pre.prepare(&frame).unwrap(), pre.prepare(&decoded).unwrap());
    let (a, b): (Rect, Rect) = (lossless.area.bounds(), lossy.area.bounds());
    for (p, q) in [
        (a.x, b.x),
        (a.y, b.y),
        (a.x + a.width, b.x + b.width),
        (a.y + a.height, b.y + b.height),
    ] {
        assert!(p.abs_diff(q) <= 2, "{a:?} vs {b:?}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
