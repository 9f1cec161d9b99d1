//! Cheap hashed value noise, fractal sums and cellular (Worley) distances in 2-D.
//!
//! Lattice values come from an integer hash instead of a permutation table, so fields
//! never repeat across the large scenes the video pans over.

use crate::rng::mix64;

/// A seeded 2-D noise field.
#[derive(Debug, Clone, Copy)]
pub struct Noise {
    seed: u32,
}

/// `floor` without a libm call (x86-64 baseline has no SSE4.1 `roundss`); exact for the
/// coordinate range used here.
#[inline]
pub fn floor(x: f32) -> f32 {
    let t = x as i32 as f32;
    if t > x {
        t - 1.0
    } else {
        t
    }
}

/// Smoothstep fade of the lattice interpolation.
#[inline]
fn fade(t: f32) -> f32 {
    t * t * (3.0 - 2.0 * t)
}

impl Noise {
    /// A field from a 64-bit seed.
    pub fn new(seed: u64) -> Self {
        Self {
            seed: mix64(seed) as u32,
        }
    }

    /// 32 hash bits of the lattice point `(x, y)`.
    #[inline]
    fn hash(&self, x: i32, y: i32) -> u32 {
        let mut h =
            self.seed ^ (x as u32).wrapping_mul(0x27D4_EB2D) ^ (y as u32).wrapping_mul(0x1656_67B1);
        h ^= h >> 15;
        h = h.wrapping_mul(0x2C1B_3C6D);
        h ^= h >> 12;
        h = h.wrapping_mul(0x297A_2D39);
        h ^ (h >> 15)
    }

    /// Hash of a lattice point mapped to `[0, 1)`.
    #[inline]
    fn lattice(&self, x: i32, y: i32) -> f32 {
        (self.hash(x, y) >> 8) as f32 * (1.0 / 16_777_216.0)
    }

    /// Smooth value noise in `[0, 1)`; one lattice cell per unit.
    #[inline]
    pub fn value(&self, x: f32, y: f32) -> f32 {
        let (fx, fy) = (floor(x), floor(y));
        let (ix, iy) = (fx as i32, fy as i32);
        let (tx, ty) = (fade(x - fx), fade(y - fy));
        let a = self.lattice(ix, iy);
        let b = self.lattice(ix.wrapping_add(1), iy);
        let c = self.lattice(ix, iy.wrapping_add(1));
        let d = self.lattice(ix.wrapping_add(1), iy.wrapping_add(1));
        let top = a + (b - a) * tx;
        let bottom = c + (d - c) * tx;
        top + (bottom - top) * ty
    }

    /// Fractal sum of `octaves` value-noise layers, normalised to `[0, 1)`.
    pub fn fbm(&self, x: f32, y: f32, octaves: u32) -> f32 {
        let (mut sum, mut norm, mut amp) = (0.0, 0.0, 1.0);
        let (mut x, mut y) = (x, y);
        for _ in 0..octaves {
            sum += amp * self.value(x, y);
            norm += amp;
            amp *= 0.5;
            // Rotate and scale by a non-integer lacunarity to hide the lattice.
            let (nx, ny) = (1.6 * x + 1.2 * y + 17.3, -1.2 * x + 1.6 * y + 5.1);
            x = nx;
            y = ny;
        }
        sum / norm
    }

    /// Ridged noise in `[0, 1]`: 1 on the zero-crossing curves of the field (vessel-like lines).
    #[inline]
    pub fn ridge(&self, x: f32, y: f32) -> f32 {
        1.0 - (2.0 * self.value(x, y) - 1.0).abs()
    }

    /// Distances to the nearest and second-nearest jittered cell point (F1, F2).
    pub fn cells(&self, x: f32, y: f32) -> (f32, f32) {
        let (fx, fy) = (floor(x), floor(y));
        let (ix, iy) = (fx as i32, fy as i32);
        let (rx, ry) = (x - fx, y - fy);
        let (mut f1, mut f2) = (f32::MAX, f32::MAX);
        for dy in -1..=1 {
            for dx in -1..=1 {
                let h = self.hash(ix.wrapping_add(dx), iy.wrapping_add(dy));
                let jx = (h & 0xFFFF) as f32 * (0.8 / 65_536.0) + 0.1;
                let jy = (h >> 16) as f32 * (0.8 / 65_536.0) + 0.1;
                let (ex, ey) = (dx as f32 + jx - rx, dy as f32 + jy - ry);
                let d = ex * ex + ey * ey;
                if d < f1 {
                    f2 = f1;
                    f1 = d;
                } else if d < f2 {
                    f2 = d;
                }
            }
        }
        (f1.sqrt(), f2.sqrt())
    }
}

/// Hermite smoothstep of `x` between `e0` and `e1` (either order).
#[inline]
pub fn smoothstep(e0: f32, e1: f32, x: f32) -> f32 {
    let t = ((x - e0) / (e1 - e0)).clamp(0.0, 1.0);
    t * t * (3.0 - 2.0 * t)
}

/// Linear interpolation.
#[inline]
pub fn lerp(a: f32, b: f32, t: f32) -> f32 {
    a + (b - a) * t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn value_noise_is_bounded_continuous_and_seeded() {
        let n = Noise::new(3);
        let mut prev = n.value(0.0, 0.37);
        for i in 1..2_000 {
            let v = n.value(i as f32 * 0.01, 0.37);
            assert!((0.0..1.0).contains(&v));
            assert!((v - prev).abs() < 0.05, "jump at {i}");
            prev = v;
        }
        assert_ne!(n.value(0.5, 0.5), Noise::new(4).value(0.5, 0.5));
    }

    #[test]
    fn cells_are_ordered() {
        let n = Noise::new(1);
        for i in 0..500 {
            let (f1, f2) = n.cells(i as f32 * 0.13, i as f32 * 0.07);
            assert!(f1 <= f2 && f1 < 1.5);
        }
    }
}
