//! The plan and the kernel's arithmetic, transliterated line for line from `prepare.cu`,
//! against the CPU reference (`Preprocessor::prepare_in_area`): the tables, spans and
//! geometry the GPU receives produce the reference's bytes. (The CUDA code itself is compared
//! on a GPU by `scripts/gpu-check`.)

use super::*;
use crate::model::Normalization;
use crate::preprocess::testframes::{self, Outline};
use crate::preprocess::{Plane, Preprocessor, RgbView};

/// `resized_pixel` of `kernels/prepare.cu` on the CPU.
fn kernel_pixel(
    frame: &[u8],
    layout: &InputLayout,
    plan: &PreparePlan,
    ox: usize,
    oy: usize,
) -> [u8; 3] {
    let r = plan.resize;
    let k = layout.yuv_coefficients();
    let mut v = [1u32 << 20; 3];
    let (fy, fx) = (plan.y_first[oy] as usize, plan.x_first[ox] as usize);
    for k_y in 0..r.taps_y as usize {
        let wy = plan.y_weights[oy * r.taps_y as usize + k_y] as u32;
        if wy == 0 {
            continue;
        }
        let crop_row = fy + k_y;
        let y = r.crop_y as usize + crop_row;
        let (start, end) = (plan.spans[2 * crop_row], plan.spans[2 * crop_row + 1]);
        let mut h = [0u32; 3];
        for j in 0..r.taps_x as usize {
            let wx = plan.x_weights[ox * r.taps_x as usize + j] as u32;
            let x = r.crop_x as usize + fx + j;
            if wx == 0 || (x as i32) < start || (x as i32) >= end {
                continue;
            }
            let p = layout.rgb_at(frame, &k, x, y);
            for c in 0..3 {
                h[c] += wx * u32::from(p[c]);
            }
        }
        for c in 0..3 {
            v[c] += wy * ((h[c] + 64) >> 7);
        }
    }
    v.map(|s| (s >> 21).min(255) as u8)
}

/// `frame` (packed RGB) re-encoded in `format`.
fn encode(frame: &image::RgbImage, format: RawLayout) -> (InputLayout, Vec<u8>) {
    let (w, h) = (frame.width() as usize, frame.height() as usize);
    let layout = InputLayout::packed(format, w, h);
    let mut data = vec![0u8; layout.frame_bytes()];
    match format.packed() {
        Some(p) => {
            let (bpp, [r, g, b]) = (p.bpp, p.rgb);
            for (i, p) in frame.pixels().enumerate() {
                data[bpp * i + r] = p.0[0];
                data[bpp * i + g] = p.0[1];
                data[bpp * i + b] = p.0[2];
            }
        }
        None => {
            // Luma = green, chroma a fixed tint: any bytes do, the reference converts the same.
            for (i, p) in frame.pixels().enumerate() {
                data[i] = p.0[1];
            }
            for (i, byte) in data[w * h..].iter_mut().enumerate() {
                *byte = 100 + (i % 57) as u8;
            }
        }
    }
    (layout, data)
}

#[test]
fn the_kernel_arithmetic_on_the_plan_is_the_cpu_reference() {
    let cases = [
        (1920, 1080, Outline::Circle, 384),
        (1280, 720, Outline::Octagon, 224),
        (640, 480, Outline::Rectangle, 97),
        (320, 240, Outline::Circle, 448), // an upscale
    ];
    for (w, h, outline, size) in cases {
        let tower = testframes::tower(w, h, outline);
        for format in RawLayout::ALL {
            let (layout, data) = encode(&tower.image, format);
            let rgb = layout.to_rgb(&data).unwrap();
            let view = RgbView::from_image(&rgb);
            let area = ContentArea::detect(&Plane::brightness(view), &Default::default()).unwrap();
            let pre = Preprocessor::new(size, Normalization::Bit).unwrap();
            let reference = pre.prepare_in_area(view, area.clone()).unwrap();
            let plan = PreparePlan::new(&area, reference.crop, size).unwrap();
            for (ox, oy, p) in reference.image.enumerate_pixels() {
                let got = kernel_pixel(&data, &layout, &plan, ox as usize, oy as usize);
                assert_eq!(
                    got, p.0,
                    "{w}x{h} {:?} → {size}: pixel ({ox}, {oy})",
                    format
                );
            }
        }
    }
}

#[test]
fn plans_pad_tables_and_mirror_the_kernel_structs() {
    let area = ContentArea::full(100, 80);
    let crop = Crop::centred_square(area.bounds());
    let plan = PreparePlan::new(&area, crop, 32).unwrap();
    assert_eq!(
        plan.resize,
        ResizeArg {
            crop_x: 10,
            crop_y: 0,
            size: 32,
            taps_x: plan.resize.taps_x,
            taps_y: plan.resize.taps_y
        }
    );
    assert_eq!(plan.x_weights.len(), 32 * plan.resize.taps_x as usize);
    assert_eq!(plan.spans.len(), 2 * 80);
    assert_eq!(&plan.spans[..2], &[0, 100]);
    for row in plan.y_weights.chunks(plan.resize.taps_y as usize) {
        assert_eq!(row.iter().sum::<i32>(), 1 << 14);
    }
    // 16 ints in prelude.cuh's FrameLayout, 5 in prepare.cu's Resize.
    assert_eq!(std::mem::size_of::<FrameLayoutArg>(), 64);
    assert_eq!(std::mem::size_of::<ResizeArg>(), 20);
    let nv12 = FrameLayoutArg::new(&InputLayout::packed(RawLayout::Nv12, 1920, 1080)).unwrap();
    assert_eq!(
        (nv12.kind, nv12.u_offset, nv12.chroma_stride),
        (1, 1920 * 1080, 1920)
    );
    let bgrx = FrameLayoutArg::new(&InputLayout::packed(RawLayout::Bgrx, 8, 2)).unwrap();
    assert_eq!(
        (bgrx.kind, bgrx.bytes_per_pixel, bgrx.r, bgrx.b, bgrx.stride),
        (0, 4, 2, 0, 32)
    );
}
