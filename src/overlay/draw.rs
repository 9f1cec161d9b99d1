//! Drawing primitives (no GStreamer): rectangles, outlines, a 3×5 digit font and the 5×7
//! capital-letter font, on anything that can fill a rectangle ([`Paint`]: a packed
//! [`RgbImage`], or a raw video frame's [`super::canvas::Canvas`]); the timeline's per-column
//! summary; fitting an image into a frame.

use image::{Rgb, RgbImage};

/// A surface the primitives draw on: its size and a clipped rectangle fill with an sRGB
/// colour. Everything else here is built from `fill_rect`.
pub trait Paint {
    /// Width and height in pixels.
    fn size(&self) -> (u32, u32);
    /// Fills `[x0, x1) × [y0, y1)`, clipped to the surface.
    fn fill_rect(&mut self, x0: i64, y0: i64, x1: i64, y1: i64, rgb: [u8; 3]);
}

impl Paint for RgbImage {
    fn size(&self) -> (u32, u32) {
        self.dimensions()
    }

    fn fill_rect(&mut self, x0: i64, y0: i64, x1: i64, y1: i64, rgb: [u8; 3]) {
        let (w, h) = (self.width() as i64, self.height() as i64);
        let (x0, x1) = (x0.clamp(0, w), x1.clamp(0, w));
        let (y0, y1) = (y0.clamp(0, h), y1.clamp(0, h));
        for y in y0..y1 {
            for x in x0..x1 {
                self.put_pixel(x as u32, y as u32, Rgb(rgb));
            }
        }
    }
}

/// A surface drawn on only within its top-left `width × height` (a frame above its strip).
pub struct Clipped<'a, P: Paint + ?Sized> {
    pub inner: &'a mut P,
    pub width: u32,
    pub height: u32,
}

impl<P: Paint + ?Sized> Paint for Clipped<'_, P> {
    fn size(&self) -> (u32, u32) {
        let (w, h) = self.inner.size();
        (w.min(self.width), h.min(self.height))
    }

    fn fill_rect(&mut self, x0: i64, y0: i64, x1: i64, y1: i64, rgb: [u8; 3]) {
        let (w, h) = self.size();
        let (w, h) = (i64::from(w), i64::from(h));
        let (x0, x1) = (x0.clamp(0, w), x1.clamp(0, w));
        let (y0, y1) = (y0.clamp(0, h), y1.clamp(0, h));
        if x0 < x1 && y0 < y1 {
            self.inner.fill_rect(x0, y0, x1, y1, rgb);
        }
    }
}

/// Fills `[x0, x1) × [y0, y1)`, clipped to the image.
pub fn fill_rect<P: Paint + ?Sized>(
    img: &mut P,
    x0: i64,
    y0: i64,
    x1: i64,
    y1: i64,
    colour: [u8; 3],
) {
    img.fill_rect(x0, y0, x1, y1, colour);
}

/// A `thickness`-pixel ring just inside the rectangle `(x0, y0, x1, y1)`, clipped.
pub fn ring<P: Paint + ?Sized>(
    img: &mut P,
    (x0, y0, x1, y1): (i64, i64, i64, i64),
    thickness: i64,
    colour: [u8; 3],
) {
    let t = thickness;
    fill_rect(img, x0, y0, x1, y0 + t, colour);
    fill_rect(img, x0, y1 - t, x1, y1, colour);
    fill_rect(img, x0, y0, x0 + t, y1, colour);
    fill_rect(img, x1 - t, y0, x1, y1, colour);
}

/// Outline of a finding's box (frame pixels): a `thickness`-pixel [`super::FINDING`] ring just
/// outside the box with a 1-pixel dark edge on either side, so it reads on pale and on red
/// mucosa, and a small cross at the peak. Clipped like every primitive.
pub fn finding<P: Paint + ?Sized>(img: &mut P, f: &crate::localize::Finding, thickness: i64) {
    let t = thickness.max(1);
    let (x0, y0) = (i64::from(f.x), i64::from(f.y));
    let (x1, y1) = (x0 + i64::from(f.width), y0 + i64::from(f.height));
    let dark = [0, 0, 0];
    ring(
        img,
        (x0 - t - 2, y0 - t - 2, x1 + t + 2, y1 + t + 2),
        1,
        dark,
    );
    ring(
        img,
        (x0 - t - 1, y0 - t - 1, x1 + t + 1, y1 + t + 1),
        t,
        super::FINDING,
    );
    ring(img, (x0 - 1, y0 - 1, x1 + 1, y1 + 1), 1, dark);
    let (px, py) = (i64::from(f.peak_x), i64::from(f.peak_y));
    let arm = 2 * t + 2;
    fill_rect(
        img,
        px - arm,
        py - t / 2,
        px + arm + 1,
        py + t / 2 + 1,
        super::FINDING,
    );
    fill_rect(
        img,
        px - t / 2,
        py - arm,
        px + t / 2 + 1,
        py + arm + 1,
        super::FINDING,
    );
}

/// 3×5 glyphs for digits, `.`, `-`, `%` and `p`; bit 2 is the left column.
const GLYPHS: [(char, [u8; 5]); 14] = [
    ('-', [0b000, 0b000, 0b111, 0b000, 0b000]),
    ('0', [0b111, 0b101, 0b101, 0b101, 0b111]),
    ('1', [0b010, 0b110, 0b010, 0b010, 0b111]),
    ('2', [0b111, 0b001, 0b111, 0b100, 0b111]),
    ('3', [0b111, 0b001, 0b111, 0b001, 0b111]),
    ('4', [0b101, 0b101, 0b111, 0b001, 0b001]),
    ('5', [0b111, 0b100, 0b111, 0b001, 0b111]),
    ('6', [0b111, 0b100, 0b111, 0b101, 0b111]),
    ('7', [0b111, 0b001, 0b010, 0b010, 0b010]),
    ('8', [0b111, 0b101, 0b111, 0b101, 0b111]),
    ('9', [0b111, 0b101, 0b111, 0b001, 0b111]),
    ('.', [0b000, 0b000, 0b000, 0b000, 0b010]),
    ('%', [0b101, 0b001, 0b010, 0b100, 0b101]),
    ('p', [0b000, 0b111, 0b101, 0b111, 0b100]),
];

/// Draws `text` with `scale`-pixel dots from top-left (`x`, `y`); unknown characters are
/// blanks. Returns the x after the text.
pub fn text<P: Paint + ?Sized>(
    img: &mut P,
    x: i64,
    y: i64,
    scale: i64,
    text: &str,
    colour: [u8; 3],
) -> i64 {
    let mut cx = x;
    for c in text.chars() {
        if let Some((_, rows)) = GLYPHS.iter().find(|(g, _)| *g == c) {
            for (r, bits) in rows.iter().enumerate() {
                for col in 0..3 {
                    if bits & (0b100 >> col) != 0 {
                        let px = cx + col * scale;
                        let py = y + r as i64 * scale;
                        fill_rect(img, px, py, px + scale, py + scale, colour);
                    }
                }
            }
        }
        cx += 4 * scale;
    }
    cx
}

/// Draws capital-letter `text` as tall as [`text`]'s digits at `scale` (the 5×7 font), from
/// top-left (`x`, `y`), clipped to the image. Returns the x after the text.
pub fn label<P: Paint + ?Sized>(
    img: &mut P,
    x: i64,
    y: i64,
    scale: i64,
    text: &str,
    colour: [u8; 3],
) -> i64 {
    use crate::synth::font;
    let s = (5 * scale / 7).max(1) as u32;
    let end = x + i64::from(font::text_width(text, s));
    let (width, height) = img.size();
    if x >= i64::from(width) || y >= i64::from(height) {
        return end;
    }
    let (x0, y0) = (x.max(0) as u32, y.max(0) as u32);
    let d = i64::from(s);
    font::for_each_dot(text, x0, y0, s, width, |px, py| {
        let (px, py) = (i64::from(px), i64::from(py));
        img.fill_rect(px, py, px + d, py + d, colour);
    });
    end
}

/// The timeline summary of column `c` of `columns`: frames `[c·n/columns, (c+1)·n/columns)`
/// (at least one frame), their peak score and whether any is flagged.
pub fn column_summary(scores: &[f32], flagged: &[bool], columns: usize) -> Vec<(f32, bool)> {
    let n = scores.len();
    if n == 0 || columns == 0 {
        return vec![(0.0, false); columns];
    }
    (0..columns)
        .map(|c| {
            let a = (c * n / columns).min(n - 1);
            let b = ((c + 1) * n / columns).clamp(a + 1, n);
            let peak = scores[a..b].iter().cloned().fold(0.0f32, f32::max);
            let any = flagged[a..b].iter().any(|&f| f);
            (peak, any)
        })
        .collect()
}

/// The timeline column showing frame `index` of `n`.
pub fn column_of(index: u64, n: u64, columns: usize) -> usize {
    if n == 0 || columns == 0 {
        return 0;
    }
    ((index.min(n - 1) as u128 * columns as u128 / n as u128) as usize).min(columns - 1)
}

/// `img` scaled (nearest neighbour, aspect kept) and centred on a black `w × h` canvas: for
/// the rare image sequence whose frames change size inside one video.
pub fn fit_into(img: &RgbImage, w: u32, h: u32) -> RgbImage {
    let (iw, ih) = img.dimensions();
    let mut out = RgbImage::new(w, h);
    if iw == 0 || ih == 0 || w == 0 || h == 0 {
        return out;
    }
    let scale = (w as f64 / iw as f64).min(h as f64 / ih as f64);
    let (sw, sh) = (
        ((iw as f64 * scale) as u32).clamp(1, w),
        ((ih as f64 * scale) as u32).clamp(1, h),
    );
    let (ox, oy) = ((w - sw) / 2, (h - sh) / 2);
    for y in 0..sh {
        let sy = ((y as f64 + 0.5) / scale) as u32;
        for x in 0..sw {
            let sx = ((x as f64 + 0.5) / scale) as u32;
            out.put_pixel(
                ox + x,
                oy + y,
                *img.get_pixel(sx.min(iw - 1), sy.min(ih - 1)),
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rectangles_clip() {
        let mut img = RgbImage::new(4, 3);
        fill_rect(&mut img, -2, 1, 10, 2, [9, 9, 9]);
        for x in 0..4 {
            assert_eq!(img.get_pixel(x, 1).0, [9, 9, 9]);
            assert_eq!(img.get_pixel(x, 0).0, [0, 0, 0]);
        }
        let mut img = RgbImage::new(10, 10);
        ring(&mut img, (1, 1, 9, 9), 2, [1, 2, 3]);
        assert_eq!(img.get_pixel(1, 1).0, [1, 2, 3]);
        assert_eq!(img.get_pixel(8, 8).0, [1, 2, 3]);
        assert_eq!(img.get_pixel(5, 5).0, [0, 0, 0], "inside stays");
        assert_eq!(img.get_pixel(0, 0).0, [0, 0, 0], "outside stays");
    }

    #[test]
    fn digits_draw_their_dots() {
        let mut img = RgbImage::new(40, 10);
        let end = text(&mut img, 0, 0, 2, "1.", [255, 255, 255]);
        assert_eq!(end, 16);
        // '1' top row is 010: the middle dot.
        assert_eq!(img.get_pixel(2, 0).0, [255, 255, 255]);
        assert_eq!(img.get_pixel(0, 0).0, [0, 0, 0]);
    }

    #[test]
    fn fit_keeps_aspect_on_black() {
        let img = RgbImage::from_pixel(4, 2, Rgb([9, 9, 9]));
        let out = fit_into(&img, 8, 8);
        assert_eq!(out.get_pixel(4, 4).0, [9, 9, 9]);
        assert_eq!(out.get_pixel(4, 0).0, [0, 0, 0]);
    }

    #[test]
    fn columns_cover_every_frame() {
        let scores = [0.1, 0.9, 0.2, 0.3, 0.8];
        let flags = [false, true, false, false, false];
        assert_eq!(
            column_summary(&scores, &flags, 2),
            vec![(0.9, true), (0.8, false)]
        );
        // More columns than frames: each column shows one frame.
        let many = column_summary(&scores, &flags, 10);
        assert_eq!(many.len(), 10);
        assert_eq!(many[9], (0.8, false));
        assert_eq!(column_of(0, 5, 2), 0);
        assert_eq!(column_of(4, 5, 2), 1);
        assert_eq!(column_of(99, 5, 2), 1);
    }
}
