#!/usr/bin/env python3
"""PyTorch eager side of benches/train_step.rs: one SGD training step of BiT ResNet-v2.

The architecture is written from docs/recipe.md ("Model") after google-research/big_transfer
bit_pytorch/models.py: weight-standardized convs, GroupNorm(32), pre-activation bottlenecks,
zero head. A step is what `endoscan train` does: cross-entropy, backward, SGD (momentum 0.9,
no weight decay).

Protocol: argv = variant size batch threads. Prints one line describing the setup, then for
every line `N` read from stdin runs N steps and prints their wall time in seconds.
"""

import re
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

UNITS = {14: [1, 1, 1, 1], 26: [2, 2, 2, 2], 50: [3, 4, 6, 3], 101: [3, 4, 23, 3], 152: [3, 8, 36, 3]}


class StdConv2d(nn.Conv2d):
    def forward(self, x):
        v, m = torch.var_mean(self.weight, dim=[1, 2, 3], keepdim=True, unbiased=False)
        w = (self.weight - m) / torch.sqrt(v + 1e-10)
        return F.conv2d(x, w, None, self.stride, self.padding)


def conv(cin, cout, k, stride=1):
    return StdConv2d(cin, cout, k, stride=stride, padding=k // 2, bias=False)


class Unit(nn.Module):
    def __init__(self, cin, cmid, cout, stride):
        super().__init__()
        self.gn1, self.conv1 = nn.GroupNorm(32, cin), conv(cin, cmid, 1)
        self.gn2, self.conv2 = nn.GroupNorm(32, cmid), conv(cmid, cmid, 3, stride)
        self.gn3, self.conv3 = nn.GroupNorm(32, cmid), conv(cmid, cout, 1)
        self.relu = nn.ReLU(inplace=True)
        self.proj = conv(cin, cout, 1, stride) if stride != 1 or cin != cout else None

    def forward(self, x):
        pre = self.relu(self.gn1(x))
        shortcut = self.proj(pre) if self.proj is not None else x
        y = self.conv1(pre)
        y = self.conv2(self.relu(self.gn2(y)))
        y = self.conv3(self.relu(self.gn3(y)))
        return y + shortcut


class BiT(nn.Module):
    def __init__(self, depth, width, classes):
        super().__init__()
        root = int(64 * width)
        self.root = conv(3, root, 7, 2)
        units, cin = [], root
        for stage, count in enumerate(UNITS[depth]):
            cout = int(256 * width) * 2**stage
            for u in range(count):
                stride = 2 if stage > 0 and u == 0 else 1
                units.append(Unit(cin, cout // 4, cout, stride))
                cin = cout
        self.body = nn.Sequential(*units)
        self.gn = nn.GroupNorm(32, cin)
        self.head = nn.Conv2d(cin, classes, 1, bias=True)
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)

    def forward(self, x):
        x = self.root(x)
        x = F.max_pool2d(F.pad(x, (1, 1, 1, 1)), 3, 2)
        x = self.body(x)
        x = F.relu(self.gn(x))
        x = x.mean(dim=(2, 3), keepdim=True)
        return self.head(x).flatten(1)


def main():
    variant, size, batch, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    m = re.fullmatch(r"r(\d+)x([0-9.]+)", variant)
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = BiT(int(m.group(1)), float(m.group(2)), 2)
    opt = torch.optim.SGD(model.parameters(), lr=0.001, momentum=0.9, weight_decay=0.0)
    x = torch.rand(batch, 3, size, size) * 2 - 1
    y = torch.randint(0, 2, (batch,))

    def step():
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()

    params = sum(p.numel() for p in model.parameters())
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {params} parameters", flush=True)
    for line in sys.stdin:
        n = int(line)
        start = time.perf_counter()
        for _ in range(n):
            step()
        print(time.perf_counter() - start, flush=True)


if __name__ == "__main__":
    main()
