//! Step 6 of the content-area rule: the convex hull of the detected rows' end pixels, filled
//! row by row with exact integer arithmetic, so image content that is dark where it touches
//! the outline is not cut out of the area.

use super::area::Span;

/// Row spans of the convex hull of the end pixels of `row_spans` (one span per frame row).
pub(super) fn fill_convex(row_spans: &[Span]) -> Vec<Span> {
    let mut points: Vec<(i64, i64)> = Vec::new();
    for (y, span) in row_spans.iter().enumerate() {
        if !span.is_empty() {
            points.push((span.start as i64, y as i64));
            points.push((span.end as i64 - 1, y as i64));
        }
    }
    let hull = convex_hull(points);
    let mut filled = vec![Span::default(); row_spans.len()];
    let Some(&(_, first)) = hull.iter().min_by_key(|p| p.1) else {
        return filled;
    };
    let last = hull.iter().map(|p| p.1).max().unwrap_or(first);
    for y in first..=last {
        let (mut lo, mut hi) = (i64::MAX, i64::MIN);
        for (i, &a) in hull.iter().enumerate() {
            let b = hull[(i + 1) % hull.len()];
            if y < a.1.min(b.1) || y > a.1.max(b.1) {
                continue;
            }
            if a.1 == b.1 {
                lo = lo.min(a.0.min(b.0));
                hi = hi.max(a.0.max(b.0));
                continue;
            }
            // x on edge a→b at row y, as the fraction num / den (den > 0).
            let num = a.0 * (b.1 - a.1) + (b.0 - a.0) * (y - a.1);
            let den = b.1 - a.1;
            let (num, den) = if den < 0 { (-num, -den) } else { (num, den) };
            lo = lo.min(num.div_euclid(den) + i64::from(num.rem_euclid(den) != 0));
            hi = hi.max(num.div_euclid(den));
        }
        if lo <= hi {
            filled[y as usize] = Span {
                start: lo as usize,
                end: hi as usize + 1,
            };
        }
    }
    filled
}

/// Convex hull of `points` (Andrew's monotone chain), counter-clockwise without collinear
/// points; a single point or a segment comes back as its one or two distinct points.
fn convex_hull(mut points: Vec<(i64, i64)>) -> Vec<(i64, i64)> {
    points.sort_unstable();
    points.dedup();
    if points.len() < 3 {
        return points;
    }
    let cross = |o: (i64, i64), a: (i64, i64), b: (i64, i64)| {
        (a.0 - o.0) * (b.1 - o.1) - (a.1 - o.1) * (b.0 - o.0)
    };
    let mut hull: Vec<(i64, i64)> = Vec::with_capacity(2 * points.len());
    for pass in [
        points.as_slice(),
        &points.iter().rev().copied().collect::<Vec<_>>(),
    ] {
        let floor = hull.len();
        for &p in pass {
            while hull.len() >= floor + 2
                && cross(hull[hull.len() - 2], hull[hull.len() - 1], p) <= 0
            {
                hull.pop();
            }
            hull.push(p);
        }
        hull.pop();
    }
    hull
}
