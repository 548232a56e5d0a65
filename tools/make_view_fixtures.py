#!/usr/bin/env python3
"""Generate the strided-view fixtures for TorchDoctor's state_dict readers (issue 10, problem 8).

TorchDoctor is a C#/TorchSharp project and Python is NOT part of its build or test
toolchain. This script is run by hand, only when the fixtures have to be regenerated;
its outputs are committed.

How to regenerate (Debian 12, as root, from the repository root):

    apt-get update
    apt-get install -y --no-install-recommends python3-torch
    /usr/bin/python3 tools/make_view_fixtures.py

torch.save writes a tensor as (storage, storage_offset, size, stride): a slice or a
transpose is saved as a view into its base tensor's whole storage, not as a copy.
Readers that assume offset 0 and contiguous strides fail or read the wrong numbers.

Files written to tests/TorchDoctor.Tests/Fixtures/porting/ (needs portnet.pt and
portnet_ref.pt from tools/make_porting_fixtures.py):

  portnet_views.pt
        PortNet's state_dict with the same values as portnet.pt, but saved as views:
          head.1.weight  [10, 16]  a non-contiguous column slice big[:, ::2] of a [10, 32] tensor
          head.1.bias    [10]      row 1 of a [3, 10] tensor (storage offset 10)
          stem.0.weight  [8,3,3,3] a permuted view of a channels-last copy (strides not row-major)
          block2.conv.weight, block3.conv.weight
                                   two slices of ONE shared storage, at offsets 0 and n+5
        A reader must return values equal to portnet.pt's.
  portnet_ref_views.pt
        portnet_ref.pt's input and output, saved as views: the input [1, 3, 12, 12] is
        the permuted view of a channels-last [1, 12, 12, 3] tensor, the output [1, 10]
        is row 2 of a [4, 10] tensor. (No "layers": per-layer tests use portnet_ref.pt.)
  strided_view.pt
        The small case of the issue: {"w": big[:, ::2], "b": big[1]} with
        big = torch.arange(24, dtype=torch.float32).reshape(4, 6); expected values
        w = [[0, 2, 4], [6, 8, 10], [12, 14, 16], [18, 20, 22]], b = [6, 7, 8, 9, 10, 11].
"""

import collections
import os

import torch

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PORTING = os.path.join(REPO_ROOT, "tests", "TorchDoctor.Tests", "Fixtures", "porting")


def column_slice(t):
    big = torch.zeros(t.shape[0], t.shape[1] * 2)
    big[:, ::2] = t
    v = big[:, ::2]
    assert not v.is_contiguous() and torch.equal(v, t)
    return v


def offset_row(t, rows=3, row=1):
    big = torch.full((rows,) + tuple(t.shape), -7.0)
    big[row] = t
    v = big[row]
    assert v.storage_offset() > 0 and torch.equal(v, t)
    return v


def permuted(t):
    cl = t.permute(0, 2, 3, 1).contiguous()      # channels-last storage
    v = cl.permute(0, 3, 1, 2)                   # back to [N, C, H, W] as a view
    assert not v.is_contiguous() and torch.equal(v, t)
    return v


def shared_pair(a, b):
    flat = torch.full((a.numel() + 5 + b.numel(),), -3.0)
    flat[:a.numel()] = a.reshape(-1)
    flat[a.numel() + 5:] = b.reshape(-1)
    va = flat[:a.numel()].view(a.shape)
    vb = flat[a.numel() + 5:].view(b.shape)
    assert torch.equal(va, a) and torch.equal(vb, b) and vb.storage_offset() == a.numel() + 5
    return va, vb


def main():
    sd = torch.load(os.path.join(PORTING, "portnet.pt"))
    views = collections.OrderedDict(sd)
    views["head.1.weight"] = column_slice(sd["head.1.weight"])
    views["head.1.bias"] = offset_row(sd["head.1.bias"])
    views["stem.0.weight"] = permuted(sd["stem.0.weight"])
    views["block2.conv.weight"], views["block3.conv.weight"] = shared_pair(sd["block2.conv.weight"], sd["block3.conv.weight"])
    for k in sd:
        assert torch.equal(views[k], sd[k]), k
    torch.save(views, os.path.join(PORTING, "portnet_views.pt"))

    ref = torch.load(os.path.join(PORTING, "portnet_ref.pt"))
    x, y = ref["input"], ref["output"]
    torch.save({"input": permuted(x), "output": row_view(y)},
               os.path.join(PORTING, "portnet_ref_views.pt"))

    big = torch.arange(24, dtype=torch.float32).reshape(4, 6)
    torch.save({"w": big[:, ::2], "b": big[1]}, os.path.join(PORTING, "strided_view.pt"))
    print("wrote portnet_views.pt, portnet_ref_views.pt, strided_view.pt with torch", torch.__version__)


def row_view(y):
    """y [1, 10] as rows 2:3 of a [4, 10] tensor (storage offset 20)."""
    big = torch.full((4, y.shape[1]), -5.0)
    big[2] = y[0]
    v = big[2:3]
    assert v.storage_offset() == 2 * y.shape[1] and torch.equal(v, y)
    return v


if __name__ == "__main__":
    main()
