#!/usr/bin/env python3
"""Independent reference for endoscan's BiT ResNet-v2, written straight from the recipe
(docs/recipe.md "Model") and google-research/big_transfer bit_pytorch/models.py.

It shares no code with the Rust crate: parameter names and shapes, weight standardization,
GroupNorm and the pre-activation units are all spelled out here, in float64 torch.

Subcommands
  forward   --weights F --variant V --input X.f32 --size S --out Y.f32
            logits of the raw little-endian f32 NCHW input (batch inferred) → raw f32.
  make-npz  --variant V --classes K --seed N --out F [--compressed] [--mutate KIND]
            random weights in the official layout (HWIO), written with numpy's own
            np.savez / np.savez_compressed; also F.json with per-tensor float64 sums.
            KIND: none, drop, extra, reshape, float16, float64, float64-overflow, object,
            fortran, int.
  torch-save --out F
            a PyTorch (pickle) checkpoint, which endoscan must refuse without unpickling.
"""

import argparse
import json
import re
import sys

import numpy as np

DEPTH_UNITS = {14: [1, 1, 1, 1], 26: [2, 2, 2, 2], 50: [3, 4, 6, 3],
               101: [3, 4, 23, 3], 152: [3, 8, 36, 3]}
GROUPS = 32
GN_EPS = 1e-5
WS_EPS = 1e-10


def parse_variant(name):
    m = re.fullmatch(r"r(\d+)x([0-9.]+)", name)
    if not m or int(m.group(1)) not in DEPTH_UNITS:
        sys.exit(f"bad variant {name}")
    return int(m.group(1)), float(m.group(2))


def units(depth, width):
    """(prefix, cin, cmid, cout, stride) of every bottleneck unit, in order."""
    out = []
    cin = int(64 * width)
    for stage, count in enumerate(DEPTH_UNITS[depth]):
        cout = int(256 * width) * 2 ** stage
        for u in range(count):
            stride = 2 if (stage > 0 and u == 0) else 1
            out.append((f"resnet/block{stage + 1}/unit{u + 1:02d}/", cin, cout // 4, cout, stride))
            cin = cout
    return out


def has_projection(cin, cout, stride):
    return stride != 1 or cin != cout


def parameters(depth, width, classes):
    """Official BiT checkpoint names and HWIO shapes."""
    p = [("resnet/root_block/standardized_conv2d/kernel", (7, 7, 3, int(64 * width)))]
    for prefix, cin, cmid, cout, stride in units(depth, width):
        p += [(prefix + "a/group_norm/gamma", (cin,)), (prefix + "a/group_norm/beta", (cin,))]
        if has_projection(cin, cout, stride):
            p.append((prefix + "a/proj/standardized_conv2d/kernel", (1, 1, cin, cout)))
        p.append((prefix + "a/standardized_conv2d/kernel", (1, 1, cin, cmid)))
        p += [(prefix + "b/group_norm/gamma", (cmid,)), (prefix + "b/group_norm/beta", (cmid,))]
        p.append((prefix + "b/standardized_conv2d/kernel", (3, 3, cmid, cmid)))
        p += [(prefix + "c/group_norm/gamma", (cmid,)), (prefix + "c/group_norm/beta", (cmid,))]
        p.append((prefix + "c/standardized_conv2d/kernel", (1, 1, cmid, cout)))
    features = int(2048 * width)
    p += [("resnet/group_norm/gamma", (features,)), ("resnet/group_norm/beta", (features,))]
    p += [("resnet/head/conv2d/kernel", (1, 1, features, classes)),
          ("resnet/head/conv2d/bias", (classes,))]
    return p


def load_weights(path):
    """npz (numpy, no pickles) or safetensors (parsed by hand: the package is not needed)."""
    with open(path, "rb") as f:
        raw = f.read()
    if raw[:2] == b"PK":
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k].astype(np.float64) for k in z.files}
    n = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8:8 + n])
    base = 8 + n
    dtypes = {"F32": "<f4", "F64": "<f8", "F16": "<f2"}
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        start, end = info["data_offsets"]
        arr = np.frombuffer(raw[base + start:base + end], dtype=dtypes[info["dtype"]])
        out[name] = arr.reshape(info["shape"]).astype(np.float64)
    return out


def forward(weights, depth, width, x):
    import torch
    import torch.nn.functional as F

    classes = weights["resnet/head/conv2d/bias"].shape[0]
    expected = dict(parameters(depth, width, classes))
    got = {k: tuple(v.shape) for k, v in weights.items()}
    if got != expected:
        sys.exit(f"weights do not match r{depth}x{width}: "
                 f"{sorted(set(got.items()) ^ set(expected.items()))[:5]}")
    w = {k: torch.from_numpy(v) for k, v in weights.items()}

    def std_conv(x, name, stride, padding):
        kernel = w[name].permute(3, 2, 0, 1)  # HWIO → OIHW, as bit_pytorch's tf2th
        var, mean = torch.var_mean(kernel, dim=[1, 2, 3], keepdim=True, unbiased=False)
        kernel = (kernel - mean) / torch.sqrt(var + WS_EPS)
        return F.conv2d(x, kernel, stride=stride, padding=padding)

    def gn_relu(x, scope):
        y = F.group_norm(x, GROUPS, w[scope + "group_norm/gamma"], w[scope + "group_norm/beta"], GN_EPS)
        return F.relu(y)

    x = torch.from_numpy(x).double()
    x = std_conv(x, "resnet/root_block/standardized_conv2d/kernel", 2, 3)
    x = F.pad(x, (1, 1, 1, 1), value=0.0)
    x = F.max_pool2d(x, kernel_size=3, stride=2, padding=0)
    for prefix, cin, cmid, cout, stride in units(depth, width):
        out = gn_relu(x, prefix + "a/")
        residual = x
        if has_projection(cin, cout, stride):
            residual = std_conv(out, prefix + "a/proj/standardized_conv2d/kernel", stride, 0)
        out = std_conv(out, prefix + "a/standardized_conv2d/kernel", 1, 0)
        out = std_conv(gn_relu(out, prefix + "b/"), prefix + "b/standardized_conv2d/kernel", stride, 1)
        out = std_conv(gn_relu(out, prefix + "c/"), prefix + "c/standardized_conv2d/kernel", 1, 0)
        x = out + residual
    x = gn_relu(x, "resnet/")
    x = x.mean(dim=(2, 3), keepdim=True)
    head = w["resnet/head/conv2d/kernel"].permute(3, 2, 0, 1)
    x = F.conv2d(x, head, w["resnet/head/conv2d/bias"])
    return x.flatten(1).numpy()


def cmd_forward(a):
    depth, width = parse_variant(a.variant)
    x = np.fromfile(a.input, dtype="<f4")
    x = x.reshape(-1, 3, a.size, a.size)
    logits = forward(load_weights(a.weights), depth, width, x)
    logits.astype("<f4").tofile(a.out)
    print(json.dumps({"batch": x.shape[0], "logits": logits.tolist()}))


def random_weights(depth, width, classes, seed):
    rng = np.random.default_rng(seed)
    out = {}
    for name, shape in parameters(depth, width, classes):
        if name.endswith("kernel"):
            fan_in = int(np.prod(shape[:3]))
            v = rng.normal(0.0, np.sqrt(2.0 / fan_in), shape)
        elif name.endswith("gamma"):
            v = 1.0 + 0.1 * rng.normal(size=shape)
        else:
            v = 0.1 * rng.normal(size=shape)
        out[name] = v.astype(np.float32)
    return out


def cmd_make_npz(a):
    depth, width = parse_variant(a.variant)
    w = random_weights(depth, width, a.classes, a.seed)
    gamma = "resnet/block1/unit01/a/group_norm/gamma"
    kernel = "resnet/block1/unit01/b/standardized_conv2d/kernel"
    m = a.mutate
    if m == "drop":
        del w["resnet/block2/unit01/c/group_norm/beta"]
    elif m == "extra":
        w["resnet/block9/unit01/a/group_norm/gamma"] = np.ones(8, np.float32)
    elif m == "reshape":
        w[kernel] = w[kernel][:, :, :, :8].copy()
    elif m == "float16":
        w[gamma] = w[gamma].astype(np.float16)
    elif m == "float64":
        w[gamma] = w[gamma].astype(np.float64) + 1e-9
    elif m == "float64-overflow":
        w[gamma] = w[gamma].astype(np.float64)
        w[gamma][5] = 1e300
    elif m == "object":
        w[gamma] = np.array([{"evil": "pickle"}] * w[gamma].shape[0], dtype=object)
    elif m == "fortran":
        w[kernel] = np.asfortranarray(w[kernel])
    elif m == "int":
        w[gamma] = np.ones(w[gamma].shape, np.int64)
    elif m != "none":
        sys.exit(f"unknown mutation {m}")
    save = np.savez_compressed if a.compressed else np.savez
    save(a.out, **w)
    if m != "object":
        sums = {k: float(np.asarray(v, np.float64).sum()) for k, v in w.items()}
        with open(a.out + ".json", "w") as f:
            json.dump(sums, f)


def cmd_torch_save(a):
    import torch

    torch.save({"resnet/group_norm/gamma": torch.ones(4)}, a.out)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    f = sub.add_parser("forward")
    f.add_argument("--weights", required=True)
    f.add_argument("--variant", required=True)
    f.add_argument("--input", required=True)
    f.add_argument("--size", type=int, required=True)
    f.add_argument("--out", required=True)
    f.set_defaults(run=cmd_forward)
    m = sub.add_parser("make-npz")
    m.add_argument("--variant", required=True)
    m.add_argument("--classes", type=int, default=2)
    m.add_argument("--seed", type=int, default=0)
    m.add_argument("--out", required=True)
    m.add_argument("--compressed", action="store_true")
    m.add_argument("--mutate", default="none")
    m.set_defaults(run=cmd_make_npz)
    t = sub.add_parser("torch-save")
    t.add_argument("--out", required=True)
    t.set_defaults(run=cmd_torch_save)
    a = ap.parse_args()
    a.run(a)


if __name__ == "__main__":
    main()
