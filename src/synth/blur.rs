//! Blur of a rendered frame (defocus, motion) inside the image area's bounds, then the exact
//! black outline and the never-black floor put back.

use image::RgbImage;

use super::layout::{FrameGeometry, Rect};
use super::render::{Blur, RED_FLOOR};

/// Blurs the area's bounds `b` as `blur` asks, then restores the outline.
pub(super) fn apply(img: &mut RgbImage, geometry: &FrameGeometry, b: Rect, blur: Blur) {
    match blur {
        Blur::None => return,
        Blur::Defocus(r) => {
            box_blur(img, b, r, true);
            box_blur(img, b, r, false);
        }
        Blur::Motion { horizontal, radius } => box_blur(img, b, radius, horizontal),
    }
    restore_outline(img, geometry);
}

/// Box blur with `radius` along one axis within rectangle `b`.
fn box_blur(img: &mut RgbImage, b: Rect, radius: u32, horizontal: bool) {
    if radius == 0 || b.w == 0 || b.h == 0 {
        return;
    }
    let (lines, len) = if horizontal { (b.h, b.w) } else { (b.w, b.h) };
    let at = |line: u32, k: u32| {
        if horizontal {
            (b.x + k, b.y + line)
        } else {
            (b.x + line, b.y + k)
        }
    };
    let r = radius as i64;
    let mut src = vec![[0u32; 3]; len as usize];
    for line in 0..lines {
        for (k, px) in src.iter_mut().enumerate() {
            let (x, y) = at(line, k as u32);
            let p = img.get_pixel(x, y).0;
            *px = [u32::from(p[0]), u32::from(p[1]), u32::from(p[2])];
        }
        let n = len as i64;
        for k in 0..n {
            let (lo, hi) = ((k - r).max(0), (k + r).min(n - 1));
            let mut sum = [0u32; 3];
            for px in &src[lo as usize..=hi as usize] {
                for c in 0..3 {
                    sum[c] += px[c];
                }
            }
            let count = (hi - lo + 1) as u32;
            let (x, y) = at(line, k as u32);
            img.put_pixel(
                x,
                y,
                image::Rgb(sum.map(|s| ((s + count / 2) / count) as u8)),
            );
        }
    }
}

/// After blurring, puts the exact black outline and the never-black floor back.
fn restore_outline(img: &mut RgbImage, geometry: &FrameGeometry) {
    let b = geometry.area.bounds(geometry.width, geometry.height);
    for y in b.y..b.y + b.h {
        for x in b.x..b.x + b.w {
            let p = img.get_pixel_mut(x, y);
            if geometry.area.contains(x, y) {
                p.0[0] = p.0[0].max(RED_FLOOR);
            } else {
                p.0 = [0, 0, 0];
            }
        }
    }
}
