//! The device-input path on the CPU: `from_blob` over host memory stands in for the CUDA
//! buffer (the same code reads it), so the shape checks, the f16 conversion and the scores
//! are checked here; the GPU itself in `scripts/gpu-check` (`bench gpu`'s end-to-end row).

use super::*;
use crate::model::{Normalization, Variant};

const SIDE: usize = 32;

fn scorer() -> TorchScorer {
    let variant: Variant = "r14x0.5".parse().unwrap();
    let weights = Weights::random(&variant, 2, 5);
    let meta = ModelMetadata {
        variant,
        input_size: SIDE,
        normalization: Normalization::Bit,
        classes: vec!["cancer".into(), "non-cancer".into()],
        positive: 0,
        threshold: 0.5,
        weights_sha256: "random".into(),
        cam_output: Some(crate::model::metadata::OUTPUT_CAM.into()),
    };
    TorchScorer::from_weights(
        Path::new("random"),
        &weights,
        meta,
        Device::Cpu,
        Precision::Fp32,
    )
    .unwrap()
}

/// Values exactly representable in f16, with their f16 bits.
const VALUES: [(f32, u16); 6] = [
    (-1.0, 0xBC00),
    (-0.5, 0xB800),
    (0.0, 0x0000),
    (0.25, 0x3400),
    (0.5, 0x3800),
    (1.0, 0x3C00),
];

fn pattern(n: usize) -> Vec<usize> {
    (0..n * 3 * SIDE * SIDE)
        .map(|i| (i * 7 + i / 13) % VALUES.len())
        .collect()
}

fn batch_over<T>(data: &[T], images: usize, output: Output) -> DeviceBatch {
    DeviceBatch {
        ptr: data.as_ptr() as u64,
        bytes: std::mem::size_of_val(data),
        images,
        side: SIDE,
        output,
        ordinal: 0,
    }
}

#[test]
fn a_batch_read_in_place_scores_as_the_same_batch_copied_in() {
    let s = scorer();
    let picks = pattern(2);
    let f32s: Vec<f32> = picks.iter().map(|&k| VALUES[k].0).collect();
    let f16s: Vec<u16> = picks.iter().map(|&k| VALUES[k].1).collect();
    let host = Array4::from_shape_vec((2, 3, SIDE, SIDE), f32s.clone()).unwrap();
    let want = s.scores(s.run(host.view()).unwrap()).unwrap();
    for (batch, what) in [
        (batch_over(&f32s, 2, Output::F32), "f32"),
        (batch_over(&f16s, 2, Output::F16), "f16"),
    ] {
        let xs = s.device_tensor(&batch).unwrap();
        let got = s.scores(s.run_tensor(&xs).unwrap()).unwrap();
        assert_eq!(got.p, want.p, "{what}");
        assert_eq!(got.maps, want.maps, "{what}");
    }
}

#[test]
fn a_device_batch_of_the_wrong_size_or_kind_is_refused() {
    let s = scorer();
    let f32s = vec![0f32; 3 * SIDE * SIDE];
    for (batch, what) in [
        (
            batch_over(&f32s, 2, Output::F32),
            "two images claimed, one there",
        ),
        (batch_over(&f32s, 1, Output::U8), "u8 is not a model input"),
        (
            DeviceBatch {
                side: SIDE + 1,
                ..batch_over(&f32s, 1, Output::F32)
            },
            "another side",
        ),
    ] {
        let err = s.device_tensor(&batch).unwrap_err();
        assert!(
            matches!(err, InferError::InputShape { .. }),
            "{what}: {err}"
        );
    }
    // On the CPU the scorer takes host batches only.
    let mut s = s;
    assert!(s
        .score_device(&batch_over(&f32s, 1, Output::F32))
        .unwrap()
        .is_none());
}
