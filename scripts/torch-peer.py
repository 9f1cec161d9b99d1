"""The PyTorch peer of endoscan-torch-check: timm's BiT (resnetv2_*_bit) at the same input size,
batch sizes and precisions, fed and read back the same way (a host batch in, probabilities on
the host out), eager and torch.compile. Reads OUT/torch.json, writes OUT/peer.json and
OUT/peer.md with the ratio (peer p50 / endoscan p50: above 1 means endoscan is faster), both
rewritten after every row so a run cut short by a time limit keeps what it measured.
torch.compile runs for the fp16 rows only (each batch size compiles anew, about a minute).

Usage: python scripts/torch-peer.py OUT [--input-size 384] [--runs 50] [--no-compile]
"""
import argparse
import json
import os
import statistics
import time

import torch
import timm

NAMES = {"r50x1": "resnetv2_50x1_bit", "r101x3": "resnetv2_101x3_bit", "r50x3": "resnetv2_50x3_bit",
         "r101x1": "resnetv2_101x1_bit", "r152x2": "resnetv2_152x2_bit", "r152x4": "resnetv2_152x4_bit"}


def timed(model, batch, size, runs, fp16):
    host = torch.rand(batch, 3, size, size) * 2 - 1
    def call():
        with torch.no_grad(), torch.autocast("cuda", dtype=torch.float16, enabled=fp16):
            return torch.softmax(model(host.cuda()).float(), -1).cpu()
    for _ in range(5):
        call()
    ms = []
    for _ in range(runs):
        start = time.perf_counter()
        call()
        ms.append((time.perf_counter() - start) * 1e3)
    ms.sort()
    return {"p50_ms": statistics.median(ms), "p99_ms": ms[round((len(ms) - 1) * 0.99)]}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--input-size", type=int, default=384)
    ap.add_argument("--runs", type=int, default=50)
    ap.add_argument("--no-compile", action="store_true")
    args = ap.parse_args()
    ours = json.load(open(os.path.join(args.out, "torch.json")))
    torch.backends.cudnn.benchmark = True
    rows = []
    for variant in sorted({r["variant"] for r in ours}, key=[r["variant"] for r in ours].index):
        model = timm.create_model(NAMES[variant], pretrained=False, num_classes=2).cuda().eval()
        modes = [("eager", model)]
        if not args.no_compile:
            modes.append(("compile", torch.compile(model)))
        for r in (r for r in ours if r["variant"] == variant):
            for t in r["timings"]:
                for mode, m in modes:
                    if mode == "compile" and r["precision"] != "fp16":
                        continue
                    peer = timed(m, t["batch"], args.input_size, args.runs, r["precision"] == "fp16")
                    rows.append({"variant": variant, "precision": r["precision"], "batch": t["batch"],
                                 "mode": mode, "peer": peer, "ours_p50_ms": t["p50_ms"],
                                 "ratio": peer["p50_ms"] / t["p50_ms"]})
                    print(rows[-1], flush=True)
                    write(args, rows)
    print(open(os.path.join(args.out, "peer.md")).read())


def write(args, rows):
    json.dump(rows, open(os.path.join(args.out, "peer.json"), "w"), indent=1)
    with open(os.path.join(args.out, "peer.md"), "w") as f:
        f.write(f"# endoscan (libtorch) vs PyTorch/timm, {args.input_size}², torch {torch.__version__}\n\n")
        f.write("| variant | precision | batch | timm mode | timm p50 ms | endoscan p50 ms | timm / endoscan |\n")
        f.write("|---|---|---|---|---|---|---|\n")
        for r in rows:
            f.write(f"| {r['variant']} | {r['precision']} | {r['batch']} | {r['mode']} | "
                    f"{r['peer']['p50_ms']:.3f} | {r['ours_p50_ms']:.3f} | {r['ratio']:.2f} |\n")


if __name__ == "__main__":
    main()
