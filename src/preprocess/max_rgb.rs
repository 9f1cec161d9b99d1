//! Per-pixel `max(R, G, B)` of packed RGB rows: the brightness every frame is screened and
//! located by. SSSE3 where the CPU has it (16 pixels a step), else one pixel at a time; both
//! give the same bytes (tested against each other).

/// Writes the brightness of the `out.len()` pixels of `rgb` (`3 · out.len()` bytes) to `out`.
pub fn max_rgb_row(rgb: &[u8], out: &mut [u8]) {
    assert!(
        rgb.len() >= 3 * out.len(),
        "a row of {} pixels needs {} bytes",
        out.len(),
        3 * out.len()
    );
    #[cfg(target_arch = "x86_64")]
    if is_x86_feature_detected!("ssse3") {
        // SAFETY: SSSE3 is present; the lengths were checked above.
        let done = unsafe { x86::max_rgb_16s(rgb, out) };
        return scalar(&rgb[3 * done..], &mut out[done..]);
    }
    scalar(rgb, out);
}

fn scalar(rgb: &[u8], out: &mut [u8]) {
    for (o, p) in out.iter_mut().zip(rgb.chunks_exact(3)) {
        *o = p[0].max(p[1]).max(p[2]);
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    /// The whole 16-pixel groups of `out`; returns how many pixels were written.
    ///
    /// Three 16-byte loads hold 16 pixels. The maximum of a load and its copies shifted by one
    /// and two bytes holds each pixel's maximum at the pixel's first byte (shifts take their
    /// missing bytes from the next load), and one shuffle per load gathers those bytes.
    #[target_feature(enable = "ssse3")]
    pub unsafe fn max_rgb_16s(rgb: &[u8], out: &mut [u8]) -> usize {
        let groups = out.len() / 16;
        let z = -128i8;
        let first_a = _mm_setr_epi8(0, 3, 6, 9, 12, 15, z, z, z, z, z, z, z, z, z, z);
        let first_b = _mm_setr_epi8(z, z, z, z, z, z, 2, 5, 8, 11, 14, z, z, z, z, z);
        let first_c = _mm_setr_epi8(z, z, z, z, z, z, z, z, z, z, z, 1, 4, 7, 10, 13);
        for g in 0..groups {
            let p = rgb.as_ptr().add(48 * g);
            let a = _mm_loadu_si128(p.cast());
            let b = _mm_loadu_si128(p.add(16).cast());
            let c = _mm_loadu_si128(p.add(32).cast());
            let ma = _mm_max_epu8(
                _mm_max_epu8(a, _mm_alignr_epi8::<1>(b, a)),
                _mm_alignr_epi8::<2>(b, a),
            );
            let mb = _mm_max_epu8(
                _mm_max_epu8(b, _mm_alignr_epi8::<1>(c, b)),
                _mm_alignr_epi8::<2>(c, b),
            );
            let mc = _mm_max_epu8(
                _mm_max_epu8(c, _mm_srli_si128::<1>(c)),
                _mm_srli_si128::<2>(c),
            );
            let gathered = _mm_or_si128(
                _mm_or_si128(_mm_shuffle_epi8(ma, first_a), _mm_shuffle_epi8(mb, first_b)),
                _mm_shuffle_epi8(mc, first_c),
            );
            _mm_storeu_si128(out.as_mut_ptr().add(16 * g).cast(), gathered);
        }
        16 * groups
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::{Rng, Train};

    #[test]
    fn every_row_length_gives_the_per_pixel_maximum() {
        let mut rng = Rng::<Train>::new(4);
        for len in (0..70).chain([1919, 1920, 4096]) {
            let rgb: Vec<u8> = (0..3 * len + 5).map(|_| rng.next_u64() as u8).collect();
            let mut fast = vec![0u8; len];
            max_rgb_row(&rgb, &mut fast);
            let slow: Vec<u8> = (0..len)
                .map(|i| rgb[3 * i].max(rgb[3 * i + 1]).max(rgb[3 * i + 2]))
                .collect();
            assert_eq!(fast, slow, "{len} pixels");
        }
    }

    #[test]
    fn each_channel_can_be_the_maximum() {
        for c in 0..3 {
            let mut rgb = vec![10u8; 48];
            for i in 0..16 {
                rgb[3 * i + c] = 100 + i as u8;
            }
            let mut out = [0u8; 16];
            max_rgb_row(&rgb, &mut out);
            assert_eq!(out.to_vec(), (100..116).collect::<Vec<u8>>(), "channel {c}");
        }
    }
}
