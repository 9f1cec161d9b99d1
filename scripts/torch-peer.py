"""The PyTorch peer of `endoscan bench gpu` (and endoscan-torch-check): timm's BiT
(resnetv2_*_bit) at the input size, batch sizes and precisions of OUT/bench.json, fed and read
back the same way (a host batch in, probabilities on the host out), eager and torch.compile.
Writes OUT/peer.json and OUT/peer.md with the ratio (peer p50 / endoscan p50: above 1 means
endoscan is faster), both rewritten after every row so a run cut short by a time limit keeps
what it measured. torch.compile runs for the fp16 rows on CUDA only (each batch size compiles
anew, about a minute).

With training rows in bench.json (`--train`), it also times timm's training step (SGD with
momentum, cross-entropy, fp16 autocast with a GradScaler) at the same batch sizes.

Usage: python scripts/torch-peer.py OUT [--device cuda|cpu] [--runs 50] [--no-compile]
"""
import argparse
import json
import os
import statistics
import time

import torch
import timm

NAMES = {"r50x1": "resnetv2_50x1_bit", "r101x3": "resnetv2_101x3_bit", "r50x3": "resnetv2_50x3_bit",
         "r101x1": "resnetv2_101x1_bit", "r152x2": "resnetv2_152x2_bit", "r152x4": "resnetv2_152x4_bit",
         "r101x2": "resnetv2_101x2_bit", "r50x2": "resnetv2_50x2_bit"}


def measure(call, runs):
    """p50/p99 in ms of `runs` calls after 5 warm-up calls (as endoscan's bench)."""
    for _ in range(5):
        call()
    ms = []
    for _ in range(runs):
        start = time.perf_counter()
        call()
        ms.append((time.perf_counter() - start) * 1e3)
    ms.sort()
    return {"p50_ms": statistics.median(ms), "p99_ms": ms[round((len(ms) - 1) * 0.99)]}


def timed(model, batch, size, runs, fp16, device, nhwc=False):
    host = torch.rand(batch, 3, size, size) * 2 - 1
    layout = torch.channels_last if nhwc else torch.contiguous_format
    def call():
        with torch.no_grad(), torch.autocast(device, dtype=torch.float16, enabled=fp16):
            xs = host.to(device).contiguous(memory_format=layout)
            return torch.softmax(model(xs).float(), -1).cpu()
    return measure(call, runs)


def timed_train(model, batch, size, runs, fp16, device):
    """One global fine-tuning step as endoscan's: host batch to the device, cross-entropy,
    backward, SGD with momentum 0.9 (fp16: autocast and a GradScaler)."""
    opt = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)
    scaler = torch.amp.GradScaler(device, enabled=fp16)
    host = torch.rand(batch, 3, size, size) * 2 - 1
    labels = torch.arange(batch) % 2
    def step():
        opt.zero_grad(set_to_none=True)
        with torch.autocast(device, dtype=torch.float16, enabled=fp16):
            loss = torch.nn.functional.cross_entropy(model(host.to(device)).float(), labels.to(device))
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()
        loss.item()
    return measure(step, runs)


def train_rows(args, ours, size, rows):
    for r in ours.get("training", []):
        if r["variant"] not in NAMES:
            continue
        model = timm.create_model(NAMES[r["variant"]], pretrained=False, num_classes=2).to(args.device).train()
        try:
            runs = ours.get("train_runs") or 5
            peer = timed_train(model, r["batch"], size, runs, r["precision"] == "fp16", args.device)
        except torch.OutOfMemoryError:
            peer = None
        del model
        if args.device == "cuda":
            torch.cuda.empty_cache()
        rows.append({"variant": r["variant"], "precision": r["precision"], "batch": r["batch"],
                     "mode": "train step", "peer": peer, "ours_p50_ms": r["p50_ms"],
                     "ratio": peer and peer["p50_ms"] / r["p50_ms"]})
        print(rows[-1], flush=True)
        write(args, size, ours["provider"], rows)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--device", default="cuda", choices=["cuda", "cpu"])
    ap.add_argument("--runs", type=int, default=50)
    ap.add_argument("--no-compile", action="store_true")
    args = ap.parse_args()
    ours = json.load(open(os.path.join(args.out, "bench.json")))
    size = ours["input_size"]
    torch.backends.cudnn.benchmark = True
    rows = []
    variants = list(dict.fromkeys(r["variant"] for r in ours["rows"]))
    for variant in variants:
        if variant not in NAMES:
            print(f"peer: timm has no BiT {variant}: skipped", flush=True)
            continue
        model = timm.create_model(NAMES[variant], pretrained=False, num_classes=2).to(args.device).eval()
        modes = [("eager", model)]
        if not args.no_compile and args.device == "cuda":
            modes.append(("compile", torch.compile(model)))
        for r in (r for r in ours["rows"] if r["variant"] == variant):
            nhwc = r.get("layout") == "nhwc"
            model.to(memory_format=torch.channels_last if nhwc else torch.contiguous_format)
            for t in r["timings"]:
                for mode, m in modes:
                    if mode == "compile" and r["precision"] != "fp16":
                        continue
                    fp16 = r["precision"] == "fp16"
                    peer = timed(m, t["batch"], size, args.runs, fp16, args.device, nhwc)
                    rows.append({"variant": variant, "precision": r["precision"], "layout": r.get("layout", "nchw"),
                                 "batch": t["batch"],
                                 "mode": mode, "peer": peer, "ours_p50_ms": t["p50_ms"],
                                 "ratio": peer["p50_ms"] / t["p50_ms"]})
                    print(rows[-1], flush=True)
                    write(args, size, ours["provider"], rows)
        del model, modes
    train_rows(args, ours, size, rows)
    write(args, size, ours["provider"], rows)


def write(args, size, provider, rows):
    json.dump(rows, open(os.path.join(args.out, "peer.json"), "w"), indent=1)
    with open(os.path.join(args.out, "peer.md"), "w") as f:
        f.write(f"# endoscan ({provider}) vs PyTorch/timm on {args.device}, {size}², torch {torch.__version__}\n\n")
        f.write("| variant | precision | layout | batch | timm mode | timm p50 ms | endoscan p50 ms | timm / endoscan |\n")
        f.write("|---|---|---|---|---|---|---|---|\n")
        for r in rows:
            lay = r.get("layout", "nchw")
            if r["peer"] is None:
                f.write(f"| {r['variant']} | {r['precision']} | {lay} | {r['batch']} | {r['mode']} | "
                        f"out of memory | {r['ours_p50_ms']:.3f} | - |\n")
                continue
            f.write(f"| {r['variant']} | {r['precision']} | {lay} | {r['batch']} | {r['mode']} | "
                    f"{r['peer']['p50_ms']:.3f} | {r['ours_p50_ms']:.3f} | {r['ratio']:.2f} |\n")


if __name__ == "__main__":
    main()
