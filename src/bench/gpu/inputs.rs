//! What `bench gpu` feeds the model: deterministic normalized batches, and a 1080p tower
//! frame (a textured disc on black) for the end-to-end row.

use image::{Rgb, RgbImage};
use ndarray::Array4;

/// Deterministic pseudo-random images `[batch, 3, side, side]` in [−1, 1] (xorshift).
pub fn images(batch: usize, side: usize, seed: u64) -> Array4<f32> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    Array4::from_shape_fn((batch, 3, side, side), |_| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 40) as f32 / (1u64 << 23) as f32 - 1.0
    })
}

/// A 1920×1080 frame as a tower delivers it: a textured disc, right of centre, on black.
pub fn tower_frame() -> RgbImage {
    let (width, height) = (1920u32, 1080u32);
    let (cx, cy, r) = (1300.0f32, 540.0f32, 500.0f32);
    RgbImage::from_fn(width, height, |x, y| {
        let (dx, dy) = (x as f32 + 0.5 - cx, y as f32 + 0.5 - cy);
        if dx * dx + dy * dy > r * r {
            return Rgb([0, 0, 0]);
        }
        let wave = ((x / 7 + y / 11) % 32) as u8;
        Rgb([150 + wave * 3, 60 + wave, 50 + (y % 40) as u8])
    })
}
