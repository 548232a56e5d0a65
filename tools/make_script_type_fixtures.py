#!/usr/bin/env python3
"""Generate the TorchScript fixture for the summary's class-name and unknown-total tests.

TorchDoctor is a C#/TorchSharp project and Python is NOT part of its build or test
toolchain. This script is only run by hand, when the fixture has to be regenerated;
its output is committed to the repository.

How to regenerate (Debian 12, as root, from the repository root):

    apt-get update
    apt-get install -y python3-torch          # Debian's PyTorch (1.13.x)
    /usr/bin/python3 tools/make_script_type_fixtures.py

File written to tests/TorchDoctor.Tests/Fixtures/:

  nested_script.pt   torch.jit.script(NestedNet()) saved with torch.jit.save, seed 0.
                     Input [N, 1, 8, 8], output [N, 2]. Its tree (paths and Python
                     classes) is what the tests expect the summary rows to show:
                       ""               NestedNet
                       stem             Sequential      (children "0", "1", "2":
                       stem.0 Conv2d, stem.1 BatchNorm2d, stem.2 ReLU)
                       blocks           ModuleList      (children "0", "1": Block)
                       blocks.0.conv    Conv2d          (3x3, a mangled class:
                       blocks.1.conv    Conv2d           Conv2d configs differ)
                       head             Linear(4, 2)
                     The two Conv2d configurations make TorchScript mangle one class
                     name (__torch__...___torch_mangle_N.Conv2d), and the Sequential's
                     numbered children are declared as __annotations__["0"] = ...:
                     both forms must resolve to the original class names.
"""

import os
import sys

if os.environ.get("PYTHONHASHSEED") != "0":
    os.execve(sys.executable, [sys.executable] + sys.argv,
              dict(os.environ, PYTHONHASHSEED="0"))

import torch
import torch.nn as nn

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(REPO_ROOT, "tests", "TorchDoctor.Tests", "Fixtures")


class Block(nn.Module):
    def __init__(self, kernel):
        super().__init__()
        self.conv = nn.Conv2d(4, 4, kernel, padding=kernel // 2)
        self.act = nn.ReLU()

    def forward(self, x):
        return self.act(self.conv(x)) + x


class NestedNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU())
        self.blocks = nn.ModuleList([Block(3), Block(1)])
        self.head = nn.Linear(4, 2)

    def forward(self, x):
        x = self.stem(x)
        for b in self.blocks:
            x = b(x)
        return self.head(x.mean(dim=(2, 3)))


def main():
    torch.manual_seed(0)
    model = NestedNet().eval()
    scripted = torch.jit.script(model)
    out = os.path.join(FIXTURES, "nested_script.pt")
    scripted.save(out)
    print("wrote", out, "torch", torch.__version__)
    print(scripted(torch.zeros(1, 1, 8, 8)))


if __name__ == "__main__":
    main()
