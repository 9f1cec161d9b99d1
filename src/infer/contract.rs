//! The I/O contract between an endoscan ONNX graph and its metadata: one f32 input
//! [`INPUT`] `[N, 3, S, S]`, and an f32 output [`OUTPUT_PROBS`] (or else [`OUTPUT_LOGITS`])
//! `[N, classes]`; where the metadata declares one, the class-activation map
//! `[N, classes, h, w]`. Pure checks on names and shapes as ONNX Runtime reports them.

use std::fmt::Write;

use crate::model::metadata::{INPUT, OUTPUT_LOGITS, OUTPUT_PROBS};
use crate::model::ModelMetadata;

/// One graph input or output: its name, whether it is an f32 tensor, and its dimensions
/// (`-1` where dynamic).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Port {
    pub name: String,
    pub is_f32: bool,
    pub dims: Vec<i64>,
}

/// What the output holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputKind {
    /// Softmax probabilities, used as they are.
    Probs,
    /// Raw class scores; the classifier applies a softmax.
    Logits,
}

/// How to run a graph that passed [`check`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contract {
    /// The batch size the graph is fixed to, `None` when dynamic.
    pub fixed_batch: Option<usize>,
    /// Name of the output to read.
    pub output: String,
    pub kind: OutputKind,
    /// Name of the class-activation map output, when the model has one.
    pub cam: Option<String>,
}

/// Checks the graph's ports against the metadata; the error says what differs.
pub fn check(inputs: &[Port], outputs: &[Port], meta: &ModelMetadata) -> Result<Contract, String> {
    let s = meta.input_size as i64;
    let names = |ports: &[Port]| {
        ports
            .iter()
            .map(|p| format!("'{}'", p.name))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let [input] = inputs else {
        return Err(format!(
            "expected one input '{INPUT}', found {}: {}",
            inputs.len(),
            names(inputs)
        ));
    };
    if input.name != INPUT {
        return Err(format!("expected input '{INPUT}', found '{}'", input.name));
    }
    let want_in = [-1, 3, s, s];
    if !input.is_f32 || !fits(&input.dims, &want_in) {
        return Err(format!(
            "input '{INPUT}' is {} {}, metadata says f32 {}",
            if input.is_f32 { "f32" } else { "non-f32" },
            dims_text(&input.dims),
            dims_text(&want_in)
        ));
    }
    let fixed_batch = usize::try_from(input.dims[0]).ok().filter(|&b| b > 0);
    let (output, kind) = [
        (OUTPUT_PROBS, OutputKind::Probs),
        (OUTPUT_LOGITS, OutputKind::Logits),
    ]
    .into_iter()
    .find_map(|(name, kind)| outputs.iter().find(|p| p.name == name).map(|p| (p, kind)))
    .ok_or_else(|| {
        format!(
            "no output '{OUTPUT_PROBS}' or '{OUTPUT_LOGITS}' (found {})",
            names(outputs)
        )
    })?;
    let want_out = [
        fixed_batch.map_or(-1, |b| b as i64),
        meta.classes.len() as i64,
    ];
    if !output.is_f32 || !fits(&output.dims, &want_out) {
        return Err(format!(
            "output '{}' is {} {}, metadata says f32 {} ({} classes: {})",
            output.name,
            if output.is_f32 { "f32" } else { "non-f32" },
            dims_text(&output.dims),
            dims_text(&want_out),
            meta.classes.len(),
            meta.classes.join(", ")
        ));
    }
    let cam = match &meta.cam_output {
        Some(name) => Some(check_cam(outputs, name, want_out)?),
        None => None,
    };
    Ok(Contract {
        fixed_batch,
        output: output.name.clone(),
        kind,
        cam,
    })
}

/// The declared class-activation map output must be f32 `[N, classes, h, w]`.
fn check_cam(outputs: &[Port], name: &str, [batch, classes]: [i64; 2]) -> Result<String, String> {
    let port = outputs.iter().find(|p| p.name == name).ok_or_else(|| {
        format!("the metadata declares a class-activation map '{name}' but the graph has no such output")
    })?;
    let want = [batch, classes, -1, -1];
    if !port.is_f32 || !fits(&port.dims, &want) {
        return Err(format!(
            "class-activation map '{name}' is {} {}, expected f32 {}",
            if port.is_f32 { "f32" } else { "non-f32" },
            dims_text(&port.dims),
            dims_text(&want)
        ));
    }
    Ok(name.to_string())
}

/// Whether `dims` has the rank of `want` and agrees wherever both are static (`> 0`).
fn fits(dims: &[i64], want: &[i64]) -> bool {
    dims.len() == want.len()
        && dims
            .iter()
            .zip(want)
            .all(|(&d, &w)| d <= 0 || w <= 0 || d == w)
}

/// `[?, 3, 128, 128]`-style text, `?` for dynamic dimensions.
pub fn dims_text(dims: &[i64]) -> String {
    let mut text = String::from("[");
    for (i, &d) in dims.iter().enumerate() {
        let sep = if i == 0 { "" } else { ", " };
        let _ = if d > 0 {
            write!(text, "{sep}{d}")
        } else {
            write!(text, "{sep}?")
        };
    }
    text + "]"
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::metadata::OUTPUT_CAM;
    use crate::model::Normalization;

    fn meta() -> ModelMetadata {
        ModelMetadata {
            variant: "r14x0.5".parse().unwrap(),
            input_size: 64,
            normalization: Normalization::Bit,
            classes: vec!["cancer".into(), "non-cancer".into()],
            positive: 0,
            threshold: 0.5,
            weights_sha256: String::new(),
            cam_output: None,
        }
    }

    fn port(name: &str, dims: &[i64]) -> Port {
        Port {
            name: name.into(),
            is_f32: true,
            dims: dims.to_vec(),
        }
    }

    #[test]
    fn accepts_dynamic_and_fixed_batches_preferring_probs() {
        let inputs = [port(INPUT, &[-1, 3, 64, 64])];
        let outputs = [port(OUTPUT_LOGITS, &[-1, 2]), port(OUTPUT_PROBS, &[-1, 2])];
        let c = check(&inputs, &outputs, &meta()).unwrap();
        assert_eq!(
            (c.fixed_batch, c.output.as_str(), c.kind),
            (None, OUTPUT_PROBS, OutputKind::Probs)
        );
        let inputs = [port(INPUT, &[4, 3, 64, 64])];
        let c = check(&inputs, &[port(OUTPUT_LOGITS, &[4, 2])], &meta()).unwrap();
        assert_eq!((c.fixed_batch, c.kind), (Some(4), OutputKind::Logits));
    }

    #[test]
    fn names_what_differs() {
        let outputs = [port(OUTPUT_PROBS, &[-1, 2])];
        let err = check(&[port(INPUT, &[-1, 3, 32, 32])], &outputs, &meta()).unwrap_err();
        assert!(
            err.contains("[?, 3, 32, 32]") && err.contains("[?, 3, 64, 64]"),
            "{err}"
        );
        let err = check(&[port("input.1", &[-1, 3, 64, 64])], &outputs, &meta()).unwrap_err();
        assert!(err.contains("'input.1'"), "{err}");
        let inputs = [port(INPUT, &[-1, 3, 64, 64])];
        let err = check(&inputs, &[port("output", &[-1, 2])], &meta()).unwrap_err();
        assert!(err.contains("'output'"), "{err}");
        let err = check(&inputs, &[port(OUTPUT_PROBS, &[-1, 3])], &meta()).unwrap_err();
        assert!(err.contains("2 classes"), "{err}");
    }

    #[test]
    fn finds_the_declared_map_and_names_a_wrong_one() {
        let inputs = [port(INPUT, &[-1, 3, 64, 64])];
        let mut with_cam = meta();
        with_cam.cam_output = Some(OUTPUT_CAM.into());
        let good = [
            port(OUTPUT_PROBS, &[-1, 2]),
            port(OUTPUT_CAM, &[-1, 2, 2, 2]),
        ];
        let c = check(&inputs, &good, &with_cam).unwrap();
        assert_eq!(c.cam.as_deref(), Some(OUTPUT_CAM));
        // Undeclared: not used even if present (older metadata).
        assert_eq!(check(&inputs, &good, &meta()).unwrap().cam, None);
        let err = check(&inputs, &good[..1], &with_cam).unwrap_err();
        assert!(err.contains("no such output"), "{err}");
        let flat = [port(OUTPUT_PROBS, &[-1, 2]), port(OUTPUT_CAM, &[-1, 2])];
        let err = check(&inputs, &flat, &with_cam).unwrap_err();
        assert!(err.contains("[?, 2, ?, ?]"), "{err}");
    }
}
