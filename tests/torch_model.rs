//! The tch BiT model (feature `train`) against the official layout, the exported ONNX graph
//! (run by ONNX Runtime in this same process, next to libtorch) and, when present, the BiT
//! PyTorch reference in `tests/reference/bit_reference.py`. CPU only.
//!
//! The train-step benchmark is `#[ignore]`d: `cargo test --features train --test
//! torch_model -- --ignored --nocapture train_step_benchmark`.
#![cfg(feature = "train")]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::Instant;

use endoscan::model::layout;
use endoscan::model::torch::{BitModel, TorchModelError};
use endoscan::model::weights::Weights;
use endoscan::model::{ModelMetadata, Normalization, Variant};
use tch::nn::{self, OptimizerConfig};
use tch::{Device, Kind, Tensor};

/// Largest accepted |tch − other| on a logit.
const LOGIT_TOLERANCE: f32 = 1e-4;

fn variant(name: &str) -> Variant {
    name.parse().unwrap()
}

/// A scratch directory for this test.
fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("torch_model")
        .join(name);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Deterministic pseudo-random images in [−1, 1] (the `bit` normalization's range).
fn images(batch: usize, size: usize, seed: u64) -> Vec<f32> {
    let mut state = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..batch * 3 * size * size)
        .map(|_| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((state >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect()
}

fn tch_logits(model: &BitModel, data: &[f32], batch: usize, size: usize) -> Vec<f32> {
    let xs = Tensor::from_slice(data).view([batch as i64, 3, size as i64, size as i64]);
    let logits = tch::no_grad(|| model.net().forward_t(&xs, false)).unwrap();
    assert_eq!(logits.size(), [batch as i64, model.net().classes() as i64]);
    Vec::<f32>::try_from(logits.flatten(0, -1)).unwrap()
}

fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

/// VarStore contents as checkpoint name → official-layout shape.
fn varstore_layout(model: &BitModel) -> BTreeMap<String, Vec<usize>> {
    model
        .var_store()
        .variables()
        .into_iter()
        .map(|(key, var)| {
            let s: Vec<usize> = var.size().iter().map(|&d| d as usize).collect();
            let shape = match s[..] {
                [o, i, h, w] => vec![h, w, i, o],
                _ => s,
            };
            (key.replace('.', "/"), shape)
        })
        .collect()
}

#[test]
fn varstore_keys_are_the_official_layout() {
    for name in ["r50x1", "r14x0.5"] {
        let v = variant(name);
        let model = BitModel::new(&v, 2, Device::Cpu).unwrap();
        let expected: BTreeMap<String, Vec<usize>> = layout::parameters(&v, 2)
            .into_iter()
            .map(|p| (p.name, p.shape))
            .collect();
        let found = varstore_layout(&model);
        assert_eq!(found.len(), expected.len(), "{name}: variable count");
        assert_eq!(found, expected, "{name}");
        // The head starts at zero, as BiT's new heads do.
        let [kernel, bias] = model.net().head_variables();
        assert_eq!(kernel.abs().sum(Kind::Float).double_value(&[]), 0.0);
        assert_eq!(bias.abs().sum(Kind::Float).double_value(&[]), 0.0);
    }
}

#[test]
fn weights_round_trip_exactly() {
    for name in ["r14x0.5", "r26x1"] {
        let v = variant(name);
        let weights = Weights::random(&v, 2, 7);
        let model = BitModel::from_weights(&weights, &v, Device::Cpu).unwrap();
        let back = model.to_weights().unwrap();
        assert_eq!(back.tensors.len(), weights.tensors.len(), "{name}");
        for (name, t) in &weights.tensors {
            let b = &back.tensors[name];
            assert_eq!(b.shape, t.shape, "{name}");
            let same = b
                .data
                .iter()
                .zip(&t.data)
                .all(|(x, y)| x.to_bits() == y.to_bits());
            assert!(same, "{name}: values differ after the round trip");
        }
    }
}

#[test]
fn loading_is_strict() {
    let v = variant("r14x0.5");
    let mut model = BitModel::new(&v, 2, Device::Cpu).unwrap();
    let weights = Weights::random(&v, 2, 1);

    let mut missing = weights.clone();
    let dropped = "resnet/block2/unit01/b/group_norm/beta";
    missing.tensors.remove(dropped);
    let err = model.load_weights(&missing).unwrap_err();
    assert!(
        matches!(err, TorchModelError::MissingTensors(ref n) if n == &[dropped]),
        "{err}"
    );

    let mut extra = weights.clone();
    extra.tensors.insert(
        "resnet/block5/unit01/a/group_norm/gamma".into(),
        weights.tensors[layout::HEAD_BIAS].clone(),
    );
    let err = model.load_weights(&extra).unwrap_err();
    assert!(
        matches!(err, TorchModelError::UnexpectedTensors(_)),
        "{err}"
    );

    // A 3-class head on a 2-class model, and a kernel given OIHW instead of HWIO.
    let err = model.load_weights(&Weights::random(&v, 3, 1)).unwrap_err();
    assert!(
        err.to_string().contains(layout::HEAD_BIAS)
            || err.to_string().contains(layout::HEAD_KERNEL),
        "{err}"
    );
    let mut transposed = weights.clone();
    let root = transposed.tensors.get_mut(layout::ROOT_KERNEL).unwrap();
    root.shape = vec![32, 3, 7, 7];
    let err = model.load_weights(&transposed).unwrap_err();
    assert!(
        matches!(err, TorchModelError::TensorShape { ref name, .. } if name == layout::ROOT_KERNEL),
        "{err}"
    );

    // A failed load leaves the model as it was (zero head), a good one fills it.
    assert_eq!(
        model.net().head_variables()[1]
            .abs()
            .sum(Kind::Float)
            .double_value(&[]),
        0.0
    );
    model.load_weights(&weights).unwrap();
    assert!(
        model.net().head_variables()[1]
            .abs()
            .sum(Kind::Float)
            .double_value(&[])
            > 0.0
    );
}

#[test]
fn bad_inputs_are_errors() {
    let v = variant("r14x0.5");
    let model = BitModel::new(&v, 2, Device::Cpu).unwrap();
    let net = model.net();
    for shape in [
        vec![1i64, 3, 32],
        vec![1, 1, 32, 32],
        vec![0, 3, 32, 32],
        vec![2, 3, 0, 32],
    ] {
        let xs = Tensor::zeros(shape.as_slice(), (Kind::Float, Device::Cpu));
        let err = net.forward_t(&xs, false).unwrap_err();
        assert!(
            matches!(err, TorchModelError::InputShape { .. }),
            "{shape:?}: {err}"
        );
    }
    let xs = Tensor::zeros([1, 3, 32, 32], (Kind::Double, Device::Cpu));
    assert!(matches!(
        net.forward_t(&xs, false),
        Err(TorchModelError::InputKind { .. })
    ));
    let features = Tensor::zeros([2, 7], (Kind::Float, Device::Cpu));
    assert!(matches!(
        net.head_t(&features, false),
        Err(TorchModelError::FeatureShape { .. })
    ));
    // The smallest image still runs (every stage keeps at least one pixel).
    let xs = Tensor::zeros([1, 3, 1, 1], (Kind::Float, Device::Cpu));
    assert_eq!(net.forward_t(&xs, false).unwrap().size(), [1, 2]);
}

#[test]
fn features_then_head_equal_forward_and_freezing_keeps_the_head_trainable() {
    let v = variant("r14x0.5");
    let model = BitModel::from_weights(&Weights::random(&v, 2, 3), &v, Device::Cpu).unwrap();
    let net = model.net();
    let xs = Tensor::from_slice(&images(2, 48, 5)).view([2, 3, 48, 48]);
    let logits = net.forward_t(&xs, true).unwrap();
    let features = net.features_t(&xs, true).unwrap();
    assert_eq!(features.size(), [2, v.feature_channels() as i64]);
    let via_head = net.head_t(&features, true).unwrap();
    assert_eq!(
        f64::try_from((&logits - &via_head).abs().max()).unwrap(),
        0.0
    );

    net.freeze_backbone();
    let trainable: usize = model
        .var_store()
        .variables()
        .values()
        .filter(|t| t.requires_grad())
        .count();
    assert_eq!(trainable, 2, "only the head's kernel and bias train");
    let loss = net
        .forward_t(&xs, true)
        .unwrap()
        .cross_entropy_for_logits(&Tensor::from_slice(&[0i64, 1]));
    loss.backward();
    let [kernel, bias] = net.head_variables();
    assert!(kernel.grad().defined() && bias.grad().defined());
    net.unfreeze_backbone();
    assert!(model
        .var_store()
        .variables()
        .values()
        .all(|t| t.requires_grad()));
}

/// The process's one ONNX Runtime environment (libonnxruntime from `$ORT_DYLIB_PATH`).
fn ort_environment() -> &'static ort::environment::Environment {
    static ENV: OnceLock<ort::environment::Environment> = OnceLock::new();
    ENV.get_or_init(|| ort::init().build().unwrap())
}

/// Exports `weights` to ONNX and runs it with ONNX Runtime.
fn onnx_logits(
    weights: &Weights,
    v: &Variant,
    data: &[f32],
    batch: usize,
    size: usize,
    dir: &Path,
) -> Vec<f32> {
    let metadata = ModelMetadata {
        variant: *v,
        input_size: size,
        normalization: Normalization::Bit,
        classes: vec!["non-cancer".into(), "cancer".into()],
        positive: 1,
        threshold: 0.5,
        weights_sha256: String::new(),
        cam_output: None,
    };
    let path = dir.join(format!("{v}.onnx"));
    endoscan::export::export_onnx(weights, &metadata, &path).unwrap();
    let mut session = ort::session::Session::builder(ort_environment())
        .unwrap()
        .commit_from_file(&path)
        .unwrap();
    let input = ort::value::TensorRef::from_array_view(([batch, 3, size, size], data)).unwrap();
    let outputs = session
        .run(ort::inputs![endoscan::model::metadata::INPUT => input])
        .unwrap();
    let (shape, logits) = outputs[endoscan::model::metadata::OUTPUT_LOGITS]
        .try_extract_tensor::<f32>()
        .unwrap();
    assert_eq!(&shape[..], &[batch as i64, 2]);
    logits.to_vec()
}

#[test]
fn tch_forward_equals_onnx_runtime() {
    let dir = scratch("onnx");
    for (name, size) in [("r14x0.5", 64), ("r50x1", 80)] {
        let v = variant(name);
        let weights = Weights::random(&v, 2, 11);
        let model = BitModel::from_weights(&weights, &v, Device::Cpu).unwrap();
        let data = images(2, size, 3);
        let tch = tch_logits(&model, &data, 2, size);
        let onnx = onnx_logits(&weights, &v, &data, 2, size, &dir);
        let diff = max_abs_diff(&tch, &onnx);
        eprintln!("{name} @ {size}: tch {tch:?}, onnx {onnx:?}, max |Δ| {diff:e}");
        assert!(diff <= LOGIT_TOLERANCE, "{name}: max |Δlogit| {diff:e}");
        assert!(
            tch.iter().any(|x| x.abs() > 1e-3),
            "{name}: logits are trivially small"
        );
    }
}

/// The BiT PyTorch reference (`tests/reference/bit_reference.py`, float64, independent of this
/// crate) run on the same weights, when that script exists.
#[test]
fn tch_forward_equals_bit_pytorch_reference() {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/reference/bit_reference.py");
    if !script.exists() {
        eprintln!("skipped: {} does not exist", script.display());
        return;
    }
    let dir = scratch("reference");
    for (name, size) in [("r14x0.5", 64), ("r50x1", 80)] {
        let v = variant(name);
        let weights = Weights::random(&v, 2, 13);
        let model = BitModel::from_weights(&weights, &v, Device::Cpu).unwrap();
        let data = images(2, size, 9);
        let tch = tch_logits(&model, &data, 2, size);

        let (weights_path, input, output) = (
            dir.join(format!("{name}.safetensors")),
            dir.join(format!("{name}.input.f32")),
            dir.join(format!("{name}.logits.f32")),
        );
        weights.save_safetensors(&weights_path).unwrap();
        std::fs::write(
            &input,
            data.iter()
                .flat_map(|x| x.to_le_bytes())
                .collect::<Vec<u8>>(),
        )
        .unwrap();
        let out = Command::new(python())
            .arg(&script)
            .arg("forward")
            .arg("--weights")
            .arg(&weights_path)
            .args(["--variant", name, "--size", &size.to_string()])
            .arg("--input")
            .arg(&input)
            .arg("--out")
            .arg(&output)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let reference: Vec<f32> = std::fs::read(&output)
            .unwrap()
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        let diff = max_abs_diff(&tch, &reference);
        eprintln!("{name} @ {size}: tch {tch:?}, reference {reference:?}, max |Δ| {diff:e}");
        assert!(diff <= LOGIT_TOLERANCE, "{name}: max |Δlogit| {diff:e}");
    }
}

/// Python interpreter with torch: `$ENDOSCAN_PYTHON`, else the project's `.venv`.
fn python() -> PathBuf {
    std::env::var_os("ENDOSCAN_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python"))
}

/// BiT ResNet-v2 in PyTorch eager, as bit_pytorch/models.py (StdConv2d with `var_mean`,
/// in-place ReLU): prints its thread count and version, then times one train step (the same as
/// [`train_step_benchmark`]'s) per line read from stdin.
const PYTORCH_BENCH: &str = r#"
import sys, time, torch, torch.nn as nn, torch.nn.functional as F
threads, batch, size = (int(a) for a in sys.argv[1:4])
torch.set_num_threads(threads)
torch.manual_seed(0)

class StdConv2d(nn.Conv2d):
    def forward(self, x):
        v, m = torch.var_mean(self.weight, dim=[1, 2, 3], keepdim=True, unbiased=False)
        w = (self.weight - m) / torch.sqrt(v + 1e-10)
        return F.conv2d(x, w, self.bias, self.stride, self.padding, self.dilation, self.groups)

class PreActBottleneck(nn.Module):
    def __init__(self, cin, cout, cmid, stride):
        super().__init__()
        self.gn1 = nn.GroupNorm(32, cin, eps=1e-5)
        self.conv1 = StdConv2d(cin, cmid, 1, bias=False)
        self.gn2 = nn.GroupNorm(32, cmid, eps=1e-5)
        self.conv2 = StdConv2d(cmid, cmid, 3, stride=stride, padding=1, bias=False)
        self.gn3 = nn.GroupNorm(32, cmid, eps=1e-5)
        self.conv3 = StdConv2d(cmid, cout, 1, bias=False)
        self.relu = nn.ReLU(inplace=True)
        if stride != 1 or cin != cout:
            self.downsample = StdConv2d(cin, cout, 1, stride=stride, bias=False)
    def forward(self, x):
        out = self.relu(self.gn1(x))
        residual = x
        if hasattr(self, "downsample"):
            residual = self.downsample(out)
        out = self.conv1(out)
        out = self.conv2(self.relu(self.gn2(out)))
        out = self.conv3(self.relu(self.gn3(out)))
        return out + residual

class ResNetV2(nn.Module):
    def __init__(self, units, wf, classes):
        super().__init__()
        self.root = nn.Sequential(StdConv2d(3, 64 * wf, 7, stride=2, padding=3, bias=False),
                                  nn.ConstantPad2d(1, 0), nn.MaxPool2d(3, stride=2, padding=0))
        body, cin = [], 64 * wf
        for stage, n in enumerate(units):
            cout = 256 * wf * 2 ** stage
            for u in range(n):
                body.append(PreActBottleneck(cin, cout, cout // 4, 2 if u == 0 and stage > 0 else 1))
                cin = cout
        self.body = nn.Sequential(*body)
        self.head = nn.Sequential(nn.GroupNorm(32, cin), nn.ReLU(inplace=True),
                                  nn.AdaptiveAvgPool2d(1), nn.Conv2d(cin, classes, 1, bias=True))
    def forward(self, x):
        return self.head(self.body(self.root(x)))[..., 0, 0]

model = ResNetV2([3, 4, 6, 3], 1, 2).train()
x = torch.rand(batch, 3, size, size) * 2 - 1
y = torch.tensor([i % 2 for i in range(batch)])
print(f"{torch.get_num_threads()} {torch.__version__}", flush=True)
# One timed step per line on stdin, so the caller can interleave them with its own.
for _ in sys.stdin:
    t = time.perf_counter()
    model.zero_grad(set_to_none=True)
    F.cross_entropy(model(x), y).backward()
    print(f"{time.perf_counter() - t:.6f}", flush=True)
"#;

/// r50x1, 128², batch 8, forward + backward (the training benchmark; goal: tch ≤ 1.05× PyTorch
/// eager). Threads: `$ENDOSCAN_BENCH_THREADS`, else all cores, the same on both sides.
#[test]
#[ignore = "benchmark: run with --ignored --nocapture"]
fn train_step_benchmark() {
    const BATCH: usize = 8;
    const SIZE: usize = 128;
    const ITERS: usize = 7;
    const WARMUP: usize = 2;
    let threads: i32 = std::env::var("ENDOSCAN_BENCH_THREADS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get() as i32));
    tch::set_num_threads(threads);
    tch::manual_seed(0);

    let v = variant("r50x1");
    let model = BitModel::new(&v, 2, Device::Cpu).unwrap();
    let net = model.net();
    let xs = Tensor::from_slice(&images(BATCH, SIZE, 1)).view([
        BATCH as i64,
        3,
        SIZE as i64,
        SIZE as i64,
    ]);
    let ys = Tensor::from_slice(&(0..BATCH as i64).map(|i| i % 2).collect::<Vec<_>>());
    // The optimizer's zero_grad sets gradients to none (libtorch's default), as PyTorch's
    // `zero_grad(set_to_none=True)`: that is what training does.
    let mut opt = nn::Sgd::default().build(model.var_store(), 0.0).unwrap();
    let mut tch_step = || {
        let start = Instant::now();
        opt.zero_grad();
        net.forward_t(&xs, true)
            .unwrap()
            .cross_entropy_for_logits(&ys)
            .backward();
        start.elapsed().as_secs_f64()
    };

    let mut python = Command::new(python())
        .args(["-c", PYTORCH_BENCH])
        .args([threads.to_string(), BATCH.to_string(), SIZE.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut to_python = python.stdin.take().unwrap();
    let mut from_python = BufReader::new(python.stdout.take().unwrap()).lines();
    let torch_info = from_python.next().unwrap().unwrap();
    // `move`: dropping the closure closes the child's stdin, which ends its loop.
    let mut torch_step = move || {
        writeln!(to_python).unwrap();
        from_python.next().unwrap().unwrap().parse::<f64>().unwrap()
    };

    // Steps alternate so that both sides see the same load from other processes.
    let (mut tch_times, mut torch_times) = (Vec::new(), Vec::new());
    for i in 0..WARMUP + ITERS {
        let (t, p) = (tch_step(), torch_step());
        if i >= WARMUP {
            tch_times.push(t);
            torch_times.push(p);
        }
    }
    drop(torch_step);
    python.wait().unwrap();
    let mut ratios: Vec<f64> = tch_times
        .iter()
        .zip(&torch_times)
        .map(|(t, p)| t / p)
        .collect();
    for list in [&mut tch_times, &mut torch_times, &mut ratios] {
        list.sort_by(f64::total_cmp);
    }
    let median = |list: &[f64]| list[list.len() / 2];
    eprintln!(
        "r50x1 {SIZE}² batch {BATCH} forward+backward, tch::set_num_threads({threads}), \
         torch.set_num_threads({threads}) (torch threads, version: {torch_info}): \
         tch min {:.1} ms median {:.1} ms; PyTorch eager min {:.1} ms median {:.1} ms; \
         tch/PyTorch: min/min {:.3}, median of paired ratios {:.3}",
        tch_times[0] * 1e3,
        median(&tch_times) * 1e3,
        torch_times[0] * 1e3,
        median(&torch_times) * 1e3,
        tch_times[0] / torch_times[0],
        median(&ratios)
    );
}

/// The map's spatial mean `[N, classes]` of a `[N, classes, h, w]` map.
fn map_means(cam: &Tensor) -> Vec<f32> {
    let means = cam.mean_dim([2i64, 3].as_slice(), false, Kind::Double);
    Vec::<f64>::try_from(means.flatten(0, -1))
        .unwrap()
        .into_iter()
        .map(|v| v as f32)
        .collect()
}

#[test]
fn the_activation_map_averages_to_the_logits_in_libtorch() {
    for (name, size, side) in [("r14x0.5", 64, 2), ("r14x0.5", 100, 4), ("r26x0.5", 96, 3)] {
        let v = variant(name);
        let weights = Weights::random(&v, 2, 13);
        let model = BitModel::from_weights(&weights, &v, Device::Cpu).unwrap();
        let data = images(2, size, 5);
        let xs = Tensor::from_slice(&data).view([2, 3, size as i64, size as i64]);
        let cam = tch::no_grad(|| model.net().cam_t(&xs, false)).unwrap();
        assert_eq!(cam.size(), vec![2, 2, side, side], "{name} @ {size}");
        let logits = tch_logits(&model, &data, 2, size);
        let diff = max_abs_diff(&map_means(&cam), &logits);
        eprintln!("{name} @ {size}: max |mean(cam) − logits| {diff:e}");
        assert!(diff <= 1e-5, "{name} @ {size}: {diff:e}");
        let spread = (cam.max() - cam.min()).double_value(&[]);
        assert!(spread > 1e-3, "{name} @ {size}: flat map");
    }
}
