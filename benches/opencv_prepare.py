#!/usr/bin/env python3
"""OpenCV side of benches/preprocess.rs: the same crop → resize → NCHW f32 on one thread.

Protocol: argv = frames_dir size x y side scale offset repeats. frames_dir holds frame-*.rgb
files (packed RGB) and a size.txt "width height". For each interpolation (INTER_AREA,
INTER_LINEAR) prints one line "name median_ms": the median over `repeats` rounds of the mean
time per frame of crop + cv2.resize + transpose to NCHW + `x * scale + offset` in f32.
"""

import glob
import statistics
import sys
import time

import cv2
import numpy as np


def main():
    folder, size, x, y, side, scale, offset, repeats = sys.argv[1:9]
    size, x, y, side, repeats = int(size), int(x), int(y), int(side), int(repeats)
    scale, offset = np.float32(scale), np.float32(offset)
    width, height = map(int, open(f"{folder}/size.txt").read().split())
    frames = [
        np.fromfile(path, np.uint8).reshape(height, width, 3)
        for path in sorted(glob.glob(f"{folder}/frame-*.rgb"))
    ]
    cv2.setNumThreads(1)
    for name, flag in (("opencv_area", cv2.INTER_AREA), ("opencv_bilinear", cv2.INTER_LINEAR)):
        def one(frame):
            crop = frame[y:y + side, x:x + side]
            small = cv2.resize(crop, (size, size), interpolation=flag)
            out = np.transpose(small, (2, 0, 1)).astype(np.float32)
            out *= scale
            out += offset
            return out

        for frame in frames:  # warm-up
            one(frame)
        rounds = []
        for _ in range(repeats):
            start = time.perf_counter()
            for frame in frames:
                one(frame)
            rounds.append((time.perf_counter() - start) / len(frames) * 1e3)
        print(f"{name} {statistics.median(rounds):.4f}", flush=True)


if __name__ == "__main__":
    main()
