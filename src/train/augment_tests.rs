use super::*;

/// A 3×2 image whose pixel (x, y) is [10x+y, 100+10x+y, 200+x+y].
fn known() -> RgbImage {
    RgbImage::from_fn(3, 2, |x, y| {
        image::Rgb([
            (10 * x + y) as u8,
            (100 + 10 * x + y) as u8,
            (200 + x + y) as u8,
        ])
    })
}

fn px(img: &RgbImage, x: u32, y: u32) -> [u8; 3] {
    img.get_pixel(x, y).0
}

#[test]
fn flips_mirror_the_right_axis() {
    let img = known();
    let lr = apply(&Op::Fliplr, img.clone());
    assert_eq!(px(&lr, 0, 0), px(&img, 2, 0));
    assert_eq!(px(&lr, 2, 1), px(&img, 0, 1));
    let ud = apply(&Op::Flipud, img.clone());
    assert_eq!(px(&ud, 0, 0), px(&img, 0, 1));
    assert_eq!(px(&ud, 1, 1), px(&img, 1, 0));
}

#[test]
fn rot90_turns_clockwise() {
    // Clockwise: the top-left pixel goes to the top-right; the bottom-left to the top-left.
    let img = known();
    let r1 = apply(&Op::Rot90(1), img.clone());
    assert_eq!(r1.dimensions(), (2, 3));
    assert_eq!(px(&r1, 1, 0), px(&img, 0, 0));
    assert_eq!(px(&r1, 0, 0), px(&img, 0, 1));
    assert_eq!(px(&r1, 0, 2), px(&img, 2, 1));
    let r2 = apply(&Op::Rot90(2), img.clone());
    assert_eq!(px(&r2, 0, 0), px(&img, 2, 1));
    let r3 = apply(&Op::Rot90(3), img.clone());
    assert_eq!(px(&r3, 0, 0), px(&img, 2, 0));
    assert_eq!(apply(&Op::Rot90(1), r3), img);
}

#[test]
fn multiply_clips_then_truncates() {
    let img = RgbImage::from_raw(2, 1, vec![0, 1, 3, 100, 201, 255]).unwrap();
    // 1.5: 1.5→1, 4.5→4, 150, 301.5→255, 382.5→255; 0.8: 0.8→0, 2.4→2, 80, 160.8→160, 204.
    assert_eq!(
        multiply(img.clone(), 1.5).into_raw(),
        vec![0, 1, 4, 150, 255, 255]
    );
    assert_eq!(multiply(img, 0.8).into_raw(), vec![0, 0, 2, 80, 160, 204]);
}

#[test]
fn blur_kernel_size_follows_imgaug() {
    // 3.3σ below 3, 2.9σ below 5, 2.6σ from 5; min 5; truncated, then odd.
    for (sigma, k) in [
        (0.5, 5),   // max(1.65, 5) = 5
        (1.0, 5),   // 3.3 → 5
        (1.6, 5),   // 5.28 → 5
        (1.9, 7),   // 6.27 → 6 → 7
        (2.0, 7),   // 6.6 → 6 → 7
        (2.5, 9),   // 8.25 → 8 → 9
        (2.99, 9),  // 9.867 → 9
        (3.0, 9),   // 8.7 → 8 → 9
        (4.0, 11),  // 11.6 → 11
        (4.99, 15), // 14.471 → 14 → 15
        (5.0, 13),  // 13.0 → 13
    ] {
        assert_eq!(blur_kernel_size(sigma), k, "σ = {sigma}");
    }
}

#[test]
fn gaussian_kernel_matches_opencv() {
    // cv2.getGaussianKernel(5, 1.0) = [0.05448868, 0.24420134, 0.40261995, 0.24420134, 0.05448868]
    let k = gaussian_kernel(5, 1.0);
    let expected = [
        0.054_488_68,
        0.244_201_34,
        0.402_619_95,
        0.244_201_34,
        0.054_488_68,
    ];
    for (a, b) in k.iter().zip(expected) {
        assert!((a - b).abs() < 1e-8, "{k:?}");
    }
}

#[test]
fn reflect101_mirrors_without_repeating_the_edge() {
    let got: Vec<usize> = (-3..8).map(|p| reflect101(p, 5)).collect();
    assert_eq!(got, vec![3, 2, 1, 0, 1, 2, 3, 4, 3, 2, 1]);
    assert_eq!(reflect101(-4, 1), 0);
    // Longer than the image: keeps bouncing (OpenCV loops the same way).
    assert_eq!(reflect101(9, 3), 1);
}

#[test]
fn blur_of_an_impulse_is_the_kernel_and_tiny_sigma_is_a_no_op() {
    let mut img = RgbImage::new(9, 9);
    img.put_pixel(4, 4, image::Rgb([200, 100, 0]));
    assert_eq!(gaussian_blur(&img, 0.001), img);
    let out = gaussian_blur(&img, 1.0);
    let k = gaussian_kernel(5, 1.0);
    for (dy, ky) in k.iter().enumerate() {
        for (dx, kx) in k.iter().enumerate() {
            let v = 200.0 * ky * kx;
            let got = out.get_pixel(2 + dx as u32, 2 + dy as u32).0[0] as f64;
            assert!((got - v).abs() <= 0.5 + 1e-3, "({dx},{dy}): {got} vs {v}");
        }
    }
    assert_eq!(out.get_pixel(0, 0).0, [0, 0, 0]);
    // Flat images stay flat (weights sum to 1, borders reflect).
    let flat = RgbImage::from_pixel(7, 5, image::Rgb([37, 128, 250]));
    assert_eq!(gaussian_blur(&flat, 4.2), flat);
}

#[test]
fn blur_reflects_at_borders() {
    // A 1-D ramp: reflect-101 at x = 0 uses x = 1, 2 as the left neighbours.
    let img = RgbImage::from_fn(6, 1, |x, _| image::Rgb([(x * 40) as u8; 3]));
    let k = gaussian_kernel(5, 1.0);
    let row = [0.0, 40.0, 80.0, 120.0, 160.0, 200.0];
    let at0: f64 = [row[2], row[1], row[0], row[1], row[2]]
        .iter()
        .zip(&k)
        .map(|(v, w)| v * w)
        .sum();
    let out = gaussian_blur(&img, 1.0);
    assert_eq!(out.get_pixel(0, 0).0[0], (at0 + 0.5) as u8);
}

#[test]
fn some_of_draws_zero_one_or_two_distinct_ops_in_list_order() {
    let aug = Augmenter::default();
    let mut counts = [0usize; 3];
    let mut per_kind = [0usize; 5];
    let draws = 30_000;
    for i in 0..draws {
        let ops = aug.plan(&mut Rng::derive(42, &[i]));
        counts[ops.len()] += 1;
        let kinds: Vec<usize> = ops
            .iter()
            .map(|op| match op {
                Op::Fliplr => 0,
                Op::Flipud => 1,
                Op::Rot90(k) => {
                    assert!((1..=3).contains(k));
                    2
                }
                Op::Multiply(f) => {
                    assert!((0.8..=1.5).contains(f));
                    3
                }
                Op::GaussianBlur(s) => {
                    assert!((0.0..=5.0).contains(s));
                    4
                }
            })
            .collect();
        assert!(
            kinds.windows(2).all(|w| w[0] < w[1]),
            "not distinct in list order: {ops:?}"
        );
        for k in kinds {
            per_kind[k] += 1;
        }
    }
    // n uniform on {0, 1, 2}: 10 000 each, ±4σ (σ ≈ 82).
    for c in counts {
        assert!((c as i64 - 10_000).abs() < 330, "{counts:?}");
    }
    // Each op is chosen with probability (0 + 1/5 + 2/5) / 3 = 0.2 → 6 000 each (σ ≈ 69).
    for c in per_kind {
        assert!((c as i64 - 6_000).abs() < 280, "{per_kind:?}");
    }
}

#[test]
fn augment_is_reproducible_per_seed() {
    let img = RgbImage::from_fn(16, 16, |x, y| {
        image::Rgb([(x * 16) as u8, (y * 16) as u8, 7])
    });
    let aug = Augmenter::default();
    let a = aug.augment(img.clone(), &mut Rng::derive(3, &[1]));
    let b = aug.augment(img.clone(), &mut Rng::derive(3, &[1]));
    assert_eq!(a, b);
    let changed = (0..50).any(|i| aug.augment(img.clone(), &mut Rng::derive(3, &[i])) != img);
    assert!(changed);
}

#[test]
fn settings_are_checked() {
    let bad = AugmentSettings {
        ops: (3, 2),
        ..Default::default()
    };
    assert!(Augmenter::new(bad).is_err());
    let bad = AugmentSettings {
        multiply: (1.5, 0.8),
        ..Default::default()
    };
    assert!(Augmenter::new(bad)
        .unwrap_err()
        .to_string()
        .contains("multiply"));
    assert!(Augmenter::new(AugmentSettings::default()).is_ok());
}
