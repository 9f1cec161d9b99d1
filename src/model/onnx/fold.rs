//! Pure kernel math done once at export time: weight standardization folded into the kernel,
//! and TensorFlow's HWIO layout transposed to ONNX's OIHW.

use crate::model::weights::Tensor;

/// Epsilon of BiT's weight standardization (bit_pytorch `StdConv2d`).
pub const WS_EPS: f64 = 1e-10;

/// `[kh, kw, in, out]` of an HWIO kernel; `None` if it is not 4-D.
fn hwio(t: &Tensor) -> Option<[usize; 4]> {
    t.shape.as_slice().try_into().ok()
}

/// HWIO → OIHW, values unchanged.
pub fn hwio_to_oihw(t: &Tensor) -> Option<Vec<f32>> {
    let [kh, kw, ci, co] = hwio(t)?;
    let mut out = vec![0.0; t.data.len()];
    for (i, &v) in t.data.iter().enumerate() {
        let o = i % co;
        let c = (i / co) % ci;
        let x = (i / (co * ci)) % kw;
        let y = i / (co * ci * kw);
        out[((o * ci + c) * kh + y) * kw + x] = v;
    }
    Some(out)
}

/// HWIO kernel → standardized OIHW kernel: per output channel,
/// `w' = (w − mean) / sqrt(var + 1e-10)` with mean and biased variance over (in, kh, kw),
/// computed in f64.
pub fn standardize_to_oihw(t: &Tensor) -> Option<Vec<f32>> {
    let [_, _, _, co] = hwio(t)?;
    let oihw = hwio_to_oihw(t)?;
    let per_out = oihw.len() / co.max(1);
    let mut out = Vec::with_capacity(oihw.len());
    for filter in oihw.chunks(per_out.max(1)) {
        let n = filter.len() as f64;
        let mean = filter.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
        let var = filter
            .iter()
            .map(|&v| (f64::from(v) - mean).powi(2))
            .sum::<f64>()
            / n;
        let inv = 1.0 / (var + WS_EPS).sqrt();
        out.extend(filter.iter().map(|&v| ((f64::from(v) - mean) * inv) as f32));
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transposes_hwio_to_oihw() {
        // value = 1000·y + 100·x + 10·c + o, so each index is readable in the value.
        let (kh, kw, ci, co) = (3, 2, 4, 5);
        let mut data = Vec::new();
        for y in 0..kh {
            for x in 0..kw {
                for c in 0..ci {
                    for o in 0..co {
                        data.push((1000 * y + 100 * x + 10 * c + o) as f32);
                    }
                }
            }
        }
        let t = Tensor {
            shape: vec![kh, kw, ci, co],
            data,
        };
        let out = hwio_to_oihw(&t).unwrap();
        let at = |o: usize, c: usize, y: usize, x: usize| out[((o * ci + c) * kh + y) * kw + x];
        assert_eq!(at(4, 3, 2, 1), 2134.0);
        assert_eq!(at(1, 2, 0, 1), 121.0);
        assert!(hwio_to_oihw(&Tensor::zeros(vec![3])).is_none());
    }

    #[test]
    fn standardized_filters_have_zero_mean_unit_variance() {
        let t = Tensor {
            shape: vec![3, 3, 2, 4],
            data: (0..72)
                .map(|i| ((i * 37) % 11) as f32 * 0.3 - 1.0)
                .collect(),
        };
        let out = standardize_to_oihw(&t).unwrap();
        for filter in out.chunks(18) {
            let mean = filter.iter().sum::<f32>() / 18.0;
            let var = filter.iter().map(|v| (v - mean).powi(2)).sum::<f32>() / 18.0;
            assert!(
                mean.abs() < 1e-6 && (var - 1.0).abs() < 1e-5,
                "{mean} {var}"
            );
        }
        // A constant filter standardizes to zeros, not NaN.
        let flat = standardize_to_oihw(&Tensor {
            shape: vec![1, 1, 3, 1],
            data: vec![0.7; 3],
        })
        .unwrap();
        assert!(flat.iter().all(|v| v.abs() < 1e-3), "{flat:?}");
    }
}
