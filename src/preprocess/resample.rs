//! The resize of [`super::resize`] with x86-64 SIMD: the same bytes as the documented filter
//! (`resize_reference`, checked byte for byte in the tests), several times faster.
//!
//! - **Horizontal pass** (SSSE3): two taps at once. Eight bytes of the masked row (two RGB
//!   pixels) are shuffled into the i16 lanes `[r₀ r₁ g₀ g₁ b₀ b₁ 0 0]` and multiplied-added
//!   with `[w₀ w₁ …]` (`pmaddwd`), giving the three channel sums in one instruction.
//! - **Vertical pass** (SSE2): two rows of the horizontal result interleaved the same way,
//!   eight columns per step.
//! - Only the rows the vertical filter still needs are kept (a ring of rows), so both passes
//!   stay in cache; tables, weights and buffers are cached per thread for the last geometry,
//!   so a video's frames allocate nothing but their output.
//!
//! Every sum is exact in i32 (pixels ≤ 255 and intermediates ≤ 32640 fit i16 lanes, weights
//! ≤ 2¹⁴), so the rounding is the reference's.

use std::arch::x86_64::*;
use std::cell::RefCell;

use image::RgbImage;

use super::area::ContentArea;
use super::crop::Rect;
use super::frame::RgbView;
use super::resize::{ResizeTable, MID_BITS, WEIGHT_BITS};

const H_SHIFT: i32 = (WEIGHT_BITS - MID_BITS) as i32;
const V_SHIFT: i32 = (WEIGHT_BITS + MID_BITS) as i32;

/// Whether this CPU runs the fast path (SSSE3: every x86-64 CPU since 2006).
pub fn available() -> bool {
    is_x86_feature_detected!("ssse3")
}

/// One axis' taps as weight pairs: output `i` reads samples `first[i]..first[i] + 2·pairs`,
/// with `weights[i·pairs + p]` = `[w₂ₚ, w₂ₚ₊₁]` repeated over the eight i16 lanes (zero weights
/// pad the shorter outputs).
#[derive(Debug)]
struct PairTaps {
    first: Vec<usize>,
    /// How far past `first` each output reads (`first + len` is the last sample used + 1).
    len: Vec<usize>,
    pairs: usize,
    weights: Vec<[i16; 8]>,
}

impl PairTaps {
    fn new(table: &ResizeTable) -> Self {
        let outputs = table.output_len();
        let widest = (0..outputs)
            .map(|i| table.taps(i).1.len())
            .max()
            .unwrap_or(1);
        let pairs = widest.div_ceil(2);
        let mut taps = Self {
            first: Vec::with_capacity(outputs),
            len: Vec::with_capacity(outputs),
            pairs,
            weights: Vec::with_capacity(outputs * pairs),
        };
        for i in 0..outputs {
            let (first, w) = table.taps(i);
            taps.first.push(first);
            taps.len.push(w.len());
            for p in 0..pairs {
                let at = |k: usize| w.get(k).map_or(0, |&v| v as i16);
                let (a, b) = (at(2 * p), at(2 * p + 1));
                taps.weights.push([a, b, a, b, a, b, a, b]);
            }
        }
        // The horizontal pass checks its reads against the last output's only: it reads
        // furthest, as tap starts never go back.
        assert!(
            taps.first.windows(2).all(|w| w[0] <= w[1]),
            "tap starts are non-decreasing"
        );
        taps
    }

    fn pair(&self, i: usize, p: usize) -> &[i16; 8] {
        &self.weights[i * self.pairs + p]
    }
}

/// Everything a geometry needs, built once and reused while frames keep it.
#[derive(Debug)]
struct Plan {
    key: (usize, usize, usize, usize),
    horizontal: PairTaps,
    vertical: PairTaps,
    /// Rows of the horizontal result kept at once.
    ring_rows: usize,
    /// `u16`s per kept row: `3 · out_width` and room for the 8-byte stores.
    slot: usize,
    ring: Vec<u16>,
    line: Vec<u8>,
}

impl Plan {
    fn new(key: (usize, usize, usize, usize)) -> Self {
        let (src_w, src_h, out_w, out_h) = key;
        let horizontal = PairTaps::new(&ResizeTable::triangle(src_w, out_w));
        let vertical = PairTaps::new(&ResizeTable::triangle(src_h, out_h));
        // Rows are computed in order up to the furthest one needed so far; output j needs
        // rows first[j].. of them, so the ring must reach back that far.
        let mut furthest = 0;
        let mut ring_rows = 1;
        for (&first, &len) in vertical.first.iter().zip(&vertical.len) {
            furthest = furthest.max(first + len);
            ring_rows = ring_rows.max(furthest - first);
        }
        let slot = 3 * out_w + 8;
        // The horizontal pass reads 8 bytes from each pair's first pixel, up to two pixels
        // past the last tap of the widest output: zero padding keeps that inside the line.
        let line = vec![0u8; 3 * (src_w + 2 * horizontal.pairs) + 16];
        Self {
            key,
            horizontal,
            vertical,
            ring_rows,
            slot,
            ring: vec![0u16; ring_rows * slot],
            line,
        }
    }

    /// Copies row `y` of `src` into the line, pixels outside `area` (and the padding) zero.
    fn mask_row(&mut self, frame: RgbView<'_>, area: &ContentArea, src: Rect, y: usize) {
        let span = area.span(y);
        let start = span.start.clamp(src.x, src.x + src.width);
        let end = span.end.clamp(start, src.x + src.width);
        let (a, b) = (3 * (start - src.x), 3 * (end - src.x));
        self.line[..a].fill(0);
        self.line[a..b].copy_from_slice(&frame.row(y)[3 * start..3 * end]);
        self.line[b..3 * src.width].fill(0);
    }

    fn run(&mut self, frame: RgbView<'_>, area: &ContentArea, src: Rect) -> RgbImage {
        let (_, _, out_w, out_h) = self.key;
        let n = 3 * out_w;
        let mut out = vec![0u8; n * out_h];
        let mut computed = 0;
        let mut taps = Vec::with_capacity(self.vertical.pairs);
        for (j, out_row) in out.chunks_exact_mut(n).enumerate() {
            let (first, len) = (self.vertical.first[j], self.vertical.len[j]);
            while computed < first + len {
                self.mask_row(frame, area, src, src.y + computed);
                let at = (computed % self.ring_rows) * self.slot;
                let slot = &mut self.ring[at..at + self.slot];
                // SAFETY: `available()` was checked by the caller; the line holds the padding
                // `horizontal` reads (see `Plan::new`) and the slot `3·out_w + 8` values.
                unsafe { horizontal(&self.line, &self.horizontal, slot) };
                computed += 1;
            }
            taps.clear();
            for p in 0..self.vertical.pairs {
                // A zero-weight padding tap reads the last real row, which is kept.
                let row = |k: usize| ((first + k.min(len - 1)) % self.ring_rows) * self.slot;
                taps.push((row(2 * p), row(2 * p + 1), *self.vertical.pair(j, p)));
            }
            // SAFETY: SSE2 is part of x86-64; every offset is a kept row of `slot ≥ n` values.
            unsafe { vertical(&self.ring, &taps, out_row) };
        }
        RgbImage::from_raw(out_w as u32, out_h as u32, out).expect("buffer sized for the image")
    }
}

thread_local! {
    static PLAN: RefCell<Option<Plan>> = const { RefCell::new(None) };
}

/// [`super::resize::resize_masked`] on the SIMD path; the caller checked [`available`].
pub fn resize_masked(
    frame: RgbView<'_>,
    area: &ContentArea,
    src: Rect,
    out_width: usize,
    out_height: usize,
) -> RgbImage {
    let key = (src.width, src.height, out_width, out_height);
    PLAN.with(|cell| {
        let mut cached = cell.borrow_mut();
        let plan = match cached.as_mut() {
            Some(plan) if plan.key == key => plan,
            _ => cached.insert(Plan::new(key)),
        };
        plan.run(frame, area, src)
    })
}

/// One row of the horizontal pass: `out[3i..3i+3]` = output `i`'s R, G, B with 7 fraction bits.
/// The common pair counts (1–4: downscales up to about 4×) run with their loop unrolled.
#[target_feature(enable = "ssse3")]
unsafe fn horizontal(line: &[u8], taps: &PairTaps, out: &mut [u16]) {
    let outputs = taps.first.len();
    let last_read = taps
        .first
        .last()
        .map_or(0, |f| 3 * (f + 2 * taps.pairs) + 2);
    // Tap starts never decrease (checked in `PairTaps::new`): the last output reads furthest.
    assert!(line.len() >= last_read && out.len() > 3 * outputs);
    match taps.pairs {
        1 => horizontal_pairs::<1>(line, taps, out),
        2 => horizontal_pairs::<2>(line, taps, out),
        3 => horizontal_pairs::<3>(line, taps, out),
        4 => horizontal_pairs::<4>(line, taps, out),
        _ => horizontal_any(line, taps, out),
    }
}

/// Two RGB pixels at `at` as the i16 lanes `[r₀ r₁ g₀ g₁ b₀ b₁ 0 0]`.
#[inline(always)]
unsafe fn pixel_pair(at: *const u8, shuffle: __m128i) -> __m128i {
    _mm_shuffle_epi8(_mm_loadl_epi64(at.cast()), shuffle)
}

#[inline(always)]
unsafe fn pair_shuffle() -> __m128i {
    _mm_setr_epi8(
        0, -128, 3, -128, 1, -128, 4, -128, 2, -128, 5, -128, -128, -128, -128, -128,
    )
}

/// Four u16 stored: R, G, B and a zero the next output (or the slot's padding) overwrites.
#[inline(always)]
unsafe fn store_rgb(out: *mut u16, acc: __m128i) {
    let v = _mm_srli_epi32::<H_SHIFT>(acc);
    _mm_storel_epi64(out.cast(), _mm_packs_epi32(v, v));
}

/// [`horizontal`] for outputs of exactly `P` pairs; bounds checked by the caller.
#[target_feature(enable = "ssse3")]
unsafe fn horizontal_pairs<const P: usize>(line: &[u8], taps: &PairTaps, out: &mut [u16]) {
    let (shuffle, round) = (pair_shuffle(), _mm_set1_epi32(1 << (H_SHIFT - 1)));
    let mut weights: *const __m128i = taps.weights.as_ptr().cast();
    for (i, &first) in taps.first.iter().enumerate() {
        let base = line.as_ptr().add(3 * first);
        let mut acc = round;
        for p in 0..P {
            let w = _mm_loadu_si128(weights.add(p));
            acc = _mm_add_epi32(acc, _mm_madd_epi16(pixel_pair(base.add(6 * p), shuffle), w));
        }
        weights = weights.add(P);
        store_rgb(out.as_mut_ptr().add(3 * i), acc);
    }
}

/// [`horizontal`] for any pair count.
#[target_feature(enable = "ssse3")]
unsafe fn horizontal_any(line: &[u8], taps: &PairTaps, out: &mut [u16]) {
    let (shuffle, round) = (pair_shuffle(), _mm_set1_epi32(1 << (H_SHIFT - 1)));
    for (i, &first) in taps.first.iter().enumerate() {
        let base = line.as_ptr().add(3 * first);
        let mut acc = round;
        for p in 0..taps.pairs {
            let w = _mm_loadu_si128(taps.pair(i, p).as_ptr().cast());
            acc = _mm_add_epi32(acc, _mm_madd_epi16(pixel_pair(base.add(6 * p), shuffle), w));
        }
        store_rgb(out.as_mut_ptr().add(3 * i), acc);
    }
}

/// One output row of the vertical pass over kept rows: `taps` holds (row a, row b, weights).
#[target_feature(enable = "sse2")]
unsafe fn vertical(ring: &[u16], taps: &[(usize, usize, [i16; 8])], out: &mut [u8]) {
    let n = out.len();
    assert!(taps.iter().all(|&(a, b, _)| a.max(b) + n <= ring.len()));
    let round = _mm_set1_epi32(1 << (V_SHIFT - 1));
    let ptr = ring.as_ptr();
    let mut c = 0;
    while c + 8 <= n {
        let (mut lo, mut hi) = (round, round);
        for (a, b, w) in taps {
            let ra = _mm_loadu_si128(ptr.add(a + c).cast());
            let rb = _mm_loadu_si128(ptr.add(b + c).cast());
            let w = _mm_loadu_si128(w.as_ptr().cast());
            lo = _mm_add_epi32(lo, _mm_madd_epi16(_mm_unpacklo_epi16(ra, rb), w));
            hi = _mm_add_epi32(hi, _mm_madd_epi16(_mm_unpackhi_epi16(ra, rb), w));
        }
        let v = _mm_packs_epi32(_mm_srai_epi32::<V_SHIFT>(lo), _mm_srai_epi32::<V_SHIFT>(hi));
        _mm_storel_epi64(out.as_mut_ptr().add(c).cast(), _mm_packus_epi16(v, v));
        c += 8;
    }
    for (c, o) in out.iter_mut().enumerate().skip(c) {
        let sum = taps.iter().fold(1i32 << (V_SHIFT - 1), |s, (a, b, w)| {
            s + i32::from(w[0]) * i32::from(ring[a + c]) + i32::from(w[1]) * i32::from(ring[b + c])
        });
        *o = (sum >> V_SHIFT).min(255) as u8;
    }
}
