//! Synthetic tower frames for the unit tests: a textured circle, octagon or rectangle on black,
//! right-aligned, with a panel of white text-like strokes on the left (as real 1920×1080
//! towers show patient data).

use image::{Rgb, RgbImage};

use super::crop::Rect;

/// Outline of the drawn image area.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outline {
    Circle,
    Octagon,
    Rectangle,
}

/// A drawn frame and what was drawn where.
pub struct TestFrame {
    pub image: RgbImage,
    /// Bounding box of the image-area pixels.
    pub area_bounds: Rect,
    /// Where the text panel was drawn.
    pub panel: Rect,
    outline: Outline,
    cx: f32,
    cy: f32,
    rx: f32,
    ry: f32,
}

impl TestFrame {
    /// Whether pixel `(x, y)` was drawn as image area (its centre lies inside the outline).
    pub fn in_area(&self, x: usize, y: usize) -> bool {
        let dx = (x as f32 + 0.5 - self.cx).abs();
        let dy = (y as f32 + 0.5 - self.cy).abs();
        match self.outline {
            Outline::Circle => dx * dx + dy * dy <= self.rx * self.rx,
            Outline::Octagon => dx <= self.rx && dy <= self.ry && dx + dy <= 1.7 * self.rx,
            Outline::Rectangle => dx <= self.rx && dy <= self.ry,
        }
    }
}

/// A textured image colour that never falls to the black level.
pub fn texture(x: usize, y: usize) -> Rgb<u8> {
    Rgb([
        (130 + (x * 7 + y * 3) % 90) as u8,
        (60 + (x * 5 + y * 11) % 70) as u8,
        (50 + (x * 13 + y * 2) % 60) as u8,
    ])
}

/// A `width × height` tower frame with the image area on the right, a dark lumen inside it
/// and a text panel on the left.
pub fn tower(width: usize, height: usize, outline: Outline) -> TestFrame {
    let h = height as f32;
    let ry = 0.45 * h;
    let rx = if outline == Outline::Rectangle {
        0.55 * h
    } else {
        ry
    };
    let cx = width as f32 - 0.04 * h - rx;
    let cy = 0.5 * h;
    let mut frame = TestFrame {
        image: RgbImage::new(width as u32, height as u32),
        area_bounds: Rect {
            x: 0,
            y: 0,
            width: 0,
            height: 0,
        },
        panel: Rect {
            x: (0.03 * width as f32) as usize,
            y: (0.05 * h) as usize,
            width: (cx - rx - 0.06 * h - 0.03 * width as f32) as usize,
            height: (0.9 * h) as usize,
        },
        outline,
        cx,
        cy,
        rx,
        ry,
    };
    let (mut x0, mut y0, mut x1, mut y1) = (usize::MAX, usize::MAX, 0, 0);
    for y in 0..height {
        for x in 0..width {
            if frame.in_area(x, y) {
                let (dx, dy) = (x as f32 - cx - 0.1 * rx, y as f32 - cy + 0.1 * ry);
                let lumen = dx * dx + dy * dy < (0.2 * ry) * (0.2 * ry);
                let colour = if lumen { Rgb([6, 4, 4]) } else { texture(x, y) };
                frame.image.put_pixel(x as u32, y as u32, colour);
                (x0, y0, x1, y1) = (x0.min(x), y0.min(y), x1.max(x + 1), y1.max(y + 1));
            }
        }
    }
    frame.area_bounds = Rect {
        x: x0,
        y: y0,
        width: x1 - x0,
        height: y1 - y0,
    };
    draw_text_panel(&mut frame.image, frame.panel, 1);
    frame
}

/// Fills `rect` with lines of seven-segment-like glyphs: 2-pixel strokes, a 3-pixel title line.
pub fn draw_text_panel(img: &mut RgbImage, rect: Rect, seed: u64) {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let white = Rgb([235, 235, 235]);
    let mut put = |x: usize, y: usize| {
        if x < rect.x + rect.width && y < rect.y + rect.height {
            img.put_pixel(x as u32, y as u32, white);
        }
    };
    let (gw, gh, line) = (14, 22, 30);
    let mut top = rect.y;
    let mut first = true;
    while top + gh <= rect.y + rect.height {
        let stroke = if first { 3 } else { 2 };
        let mut left = rect.x;
        while left + gw <= rect.x + rect.width {
            let segments = next();
            // Seven segments: three bars, four half-height posts.
            let bars = [0, gh / 2 - stroke / 2, gh - stroke];
            for (i, by) in bars.iter().enumerate() {
                if segments >> i & 1 == 1 {
                    for y in *by..by + stroke {
                        for x in 0..gw {
                            put(left + x, top + y);
                        }
                    }
                }
            }
            let posts = [(0, 0), (gw - stroke, 0), (0, gh / 2), (gw - stroke, gh / 2)];
            for (i, (px, py)) in posts.iter().enumerate() {
                if segments >> (3 + i) & 1 == 1 {
                    for y in *py..py + gh / 2 {
                        for x in *px..px + stroke {
                            put(left + x, top + y);
                        }
                    }
                }
            }
            left += gw + 4 + if next() % 7 == 0 { gw } else { 0 };
        }
        top += line;
        first = false;
    }
}
