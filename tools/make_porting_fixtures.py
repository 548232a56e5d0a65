#!/usr/bin/env python3
"""Generate the PyTorch reference files for TorchDoctor's porting checks
(`torchdoctor print` / `torchdoctor compare`, tests under tests/TorchDoctor.Tests/Porting).

TorchDoctor is a C#/TorchSharp project and Python is NOT part of its build or test
toolchain. This script is run by hand, only when the reference files have to be
regenerated; its outputs are committed.

How to regenerate (Debian 12, as root, from the repository root):

    apt-get update
    apt-get install -y --no-install-recommends python3-torch python3-torchvision python3-brotli
    /usr/bin/python3 tools/make_porting_fixtures.py

(python3-torch 1.13, python3-torchvision 0.14, python3-brotli 1.0.9 from Debian 12. Use
/usr/bin/python3: the Debian packages install for the system interpreter. The safetensors
file is written by the small writer below, following the format's specification, because
Debian 12 has no python3-safetensors.)

Files written to tests/TorchDoctor.Tests/Fixtures/porting/:

  resnet18.txt, mobilenet_v2.txt, vgg11.txt
        print(model) of torchvision's architectures (what a user pastes into a file).
  layers.txt
        print(LayerZoo()): one module of each common layer type with non-default
        arguments, to check TorchDoctor's printer against PyTorch's own extra_repr text.
  resnet18_periodic.pt.br
        torch.save(resnet18.state_dict()) -- a real PyTorch checkpoint of torchvision's
        resnet18 (47 MB) -- compressed with Brotli (quality 11, 16 MB window) to ~45 KB.
        It compresses that well because the weights are NOT trained: every tensor is a
        deterministic periodic pattern (a fixed 1031-value N(0,1) sequence, repeated),
        scaled per layer like Kaiming initialisation (conv/linear), or mapped to sensible
        BatchNorm values (weight 1+0.1p, bias 0.1p, running_mean 0.1p, running_var 0.5+0.5p^2).
        The tests decompress it to a temporary file and read it like any user checkpoint.
  resnet18_ref.pt
        torch.save({"input": x, "output": y}): x = torch.randn(1, 3, 64, 64) (seed 0), y the
        eval-mode output of resnet18 with the weights above.
  portnet.txt, portnet.pt, portnet.safetensors
        PortNet (below, a tiny CNN): print text, state_dict (torch.save) and the same
        state_dict as safetensors (tensors ordered as the safetensors library orders them:
        by dtype, then by name).
  portnet_ref.pt
        {"input": x [1, 3, 12, 12], "output": y, "layers": {module path: output}} -- the
        per-layer reference: every module's output (first call), captured by forward hooks.
  portnet_ref_nhwc.pt
        The same input permuted to channels-last [1, 12, 12, 3]: a reference made with the
        wrong input layout (error-path tests).
  portnet_full_model.pt
        torch.save(model) -- a whole pickled module instead of a state_dict (error-path tests).

Weights of PortNet: torch.manual_seed(0) initialisation, then BatchNorm running statistics
from three training-mode passes over random batches, so that eval mode is not trivial.
"""

import io
import json
import math
import os
import struct
import sys
from collections import OrderedDict

if os.environ.get("PYTHONHASHSEED") != "0":
    os.execve(sys.executable, [sys.executable] + sys.argv,
              dict(os.environ, PYTHONHASHSEED="0"))

import brotli
import torch
import torch.nn as nn
import torchvision

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(REPO_ROOT, "tests", "TorchDoctor.Tests", "Fixtures", "porting")
PERIOD = 1031


class Block(nn.Module):
    """conv -> bn -> relu."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x):
        return self.relu(self.bn(self.conv(x)))


class PortNet(nn.Module):
    """A tiny CNN for [N, 3, 12, 12] images, 10 classes. Its C# port is TorchDoctor.Models.PortNet."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU(inplace=True))
        self.block1 = Block(8, 16, 2)
        self.block2 = Block(16, 16, 1)
        self.block3 = Block(16, 16, 1)
        self.pool = nn.AdaptiveAvgPool2d((1, 1))
        self.head = nn.Sequential(nn.Dropout(0.2), nn.Linear(16, 10))

    def forward(self, x):
        x = self.stem(x)
        x = self.block1(x)
        x = self.block2(x)
        x = self.block3(x)
        x = self.pool(x)
        x = torch.flatten(x, 1)
        return self.head(x)


class LayerZoo(nn.Module):
    """One module per common layer type. Its C# twin is built in tests/.../Porting/PrinterTests.cs."""

    def __init__(self):
        super().__init__()
        layers = OrderedDict([
            ("conv1d", nn.Conv1d(4, 8, 3)),
            ("conv2d", nn.Conv2d(3, 16, kernel_size=3, stride=2, padding=1, bias=False)),
            ("conv2d_same", nn.Conv2d(8, 8, 3, padding="same", groups=4, padding_mode="reflect")),
            ("conv2d_dilated", nn.Conv2d(8, 8, 3, padding=2, dilation=2)),
            ("conv3d", nn.Conv3d(2, 4, (1, 3, 3))),
            ("convt1d", nn.ConvTranspose1d(4, 2, 3)),
            ("convt2d", nn.ConvTranspose2d(16, 8, 3, stride=2, padding=1, output_padding=1)),
            ("linear", nn.Linear(10, 5)),
            ("linear_nobias", nn.Linear(10, 5, bias=False)),
            ("bilinear", nn.Bilinear(4, 5, 6)),
            ("bn1d", nn.BatchNorm1d(8, eps=1e-3, momentum=0.01)),
            ("bn2d", nn.BatchNorm2d(16, affine=False)),
            ("bn3d", nn.BatchNorm3d(4, track_running_stats=False)),
            ("in2d", nn.InstanceNorm2d(8)),
            ("ln", nn.LayerNorm(32)),
            ("ln2", nn.LayerNorm([4, 8], eps=1e-6)),
            ("gn", nn.GroupNorm(4, 16)),
            ("lrn", nn.LocalResponseNorm(5)),
            ("relu", nn.ReLU()),
            ("relu_inplace", nn.ReLU(inplace=True)),
            ("relu6", nn.ReLU6(inplace=True)),
            ("leaky", nn.LeakyReLU(0.2)),
            ("gelu", nn.GELU()),
            ("gelu_tanh", nn.GELU(approximate="tanh")),
            ("silu", nn.SiLU()),
            ("sigmoid", nn.Sigmoid()),
            ("tanh", nn.Tanh()),
            ("softmax", nn.Softmax(dim=1)),
            ("log_softmax", nn.LogSoftmax(dim=-1)),
            ("elu", nn.ELU(alpha=0.5)),
            ("selu", nn.SELU()),
            ("hardswish", nn.Hardswish()),
            ("hardsigmoid", nn.Hardsigmoid()),
            ("hardtanh", nn.Hardtanh(-2.0, 2.0)),
            ("mish", nn.Mish()),
            ("prelu", nn.PReLU()),
            ("threshold", nn.Threshold(0.1, 20.0)),
            ("dropout", nn.Dropout(0.1)),
            ("dropout2d", nn.Dropout2d()),
            ("alpha_dropout", nn.AlphaDropout(0.2)),
            ("maxpool1d", nn.MaxPool1d(2)),
            ("maxpool2d", nn.MaxPool2d(3, stride=2, padding=1, ceil_mode=True)),
            ("avgpool2d", nn.AvgPool2d(2)),
            ("adaptive_avg", nn.AdaptiveAvgPool2d((1, 1))),
            ("adaptive_max1d", nn.AdaptiveMaxPool1d(4)),
            ("flatten", nn.Flatten()),
            ("unflatten", nn.Unflatten(1, (2, 5))),
            ("embedding", nn.Embedding(100, 16)),
            ("lstm", nn.LSTM(16, 32, num_layers=2, batch_first=True, bidirectional=True)),
            ("gru", nn.GRU(8, 16, bias=False)),
            ("rnn", nn.RNN(4, 8)),
            ("mha", nn.MultiheadAttention(16, 4)),
            ("identity", nn.Identity()),
            ("pixel_shuffle", nn.PixelShuffle(2)),
            ("zeropad", nn.ZeroPad2d(1)),
            ("reflectpad", nn.ReflectionPad2d(2)),
            ("seq", nn.Sequential(nn.Linear(4, 4), nn.ReLU())),
            ("named_seq", nn.Sequential(OrderedDict([("fc", nn.Linear(4, 2)), ("act", nn.Tanh())]))),
        ])
        for name, module in layers.items():
            self.add_module(name, module)

    def forward(self, x):
        raise NotImplementedError("LayerZoo is only printed")


def write_text(name, text):
    with open(os.path.join(OUT, name), "w", encoding="utf-8") as f:
        f.write(text + "\n")


def periodic_state_dict(model):
    """Fills every float tensor of model.state_dict() with a scaled periodic N(0,1) pattern (see top)."""
    g = torch.Generator().manual_seed(0)
    base = torch.randn(PERIOD, generator=g, dtype=torch.float64)
    sd = model.state_dict()
    with torch.no_grad():
        for key, t in sd.items():
            if not t.is_floating_point():
                continue
            n = t.numel()
            p = base.repeat((n + PERIOD - 1) // PERIOD)[:n]
            leaf = key.rsplit(".", 1)[-1]
            if leaf == "weight" and t.dim() > 1:
                fan_in = t[0].numel()
                v = p * math.sqrt(2.0 / fan_in) if t.dim() == 4 else p / math.sqrt(fan_in)
            elif leaf == "weight":
                v = 1 + 0.1 * p
            elif leaf in ("bias", "running_mean"):
                v = 0.1 * p
            elif leaf == "running_var":
                v = 0.5 + 0.5 * p * p
            else:
                raise ValueError(key)
            t.copy_(v.reshape(t.shape).to(t.dtype))
    return sd


def save_bytes(obj):
    buf = io.BytesIO()
    torch.save(obj, buf)
    return buf.getvalue()


SAFETENSORS_DTYPES = {torch.float32: "F32", torch.float64: "F64", torch.int64: "I64", torch.float16: "F16"}
# The safetensors library orders tensors by dtype (descending, in its enum order) and then by name.
SAFETENSORS_ORDER = ["BOOL", "U8", "I8", "I16", "U16", "F16", "BF16", "I32", "U32", "F32", "F64", "I64", "U64"]


def write_safetensors(path, state_dict):
    items = sorted(state_dict.items(),
                   key=lambda kv: (-SAFETENSORS_ORDER.index(SAFETENSORS_DTYPES[kv[1].dtype]), kv[0]))
    header, blobs, offset = {"__metadata__": {"format": "pt"}}, [], 0
    for name, t in items:
        data = t.contiguous().numpy().tobytes()
        header[name] = {"dtype": SAFETENSORS_DTYPES[t.dtype], "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)


def per_layer_outputs(model, x):
    """Every module's output (first call), by path, in the order the calls finished."""
    outputs, handles = OrderedDict(), []
    for name, module in model.named_modules():
        if name == "":
            continue

        def hook(mod, inp, out, name=name):
            if name not in outputs and isinstance(out, torch.Tensor):
                outputs[name] = out.detach().clone()   # clone: in-place ReLUs overwrite their input later
        handles.append(module.register_forward_hook(hook))
    with torch.no_grad():
        y = model(x)
    for h in handles:
        h.remove()
    return y, outputs


def main():
    os.makedirs(OUT, exist_ok=True)
    written = []

    for name, ctor in (("resnet18", torchvision.models.resnet18),
                       ("mobilenet_v2", torchvision.models.mobilenet_v2),
                       ("vgg11", torchvision.models.vgg11)):
        write_text(f"{name}.txt", str(ctor()))
        written.append(f"{name}.txt")
    write_text("layers.txt", str(LayerZoo()))
    written.append("layers.txt")

    # resnet18: a real torch.save checkpoint with periodic (compressible) weights, and a reference pair.
    model = torchvision.models.resnet18().eval()
    sd = periodic_state_dict(model)
    model.load_state_dict(sd)
    raw = save_bytes(sd)
    with open(os.path.join(OUT, "resnet18_periodic.pt.br"), "wb") as f:
        f.write(brotli.compress(raw, quality=11, lgwin=24))
    torch.manual_seed(0)
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        y = model(x)
    torch.save({"input": x, "output": y}, os.path.join(OUT, "resnet18_ref.pt"))
    written += ["resnet18_periodic.pt.br", "resnet18_ref.pt"]
    print(f"resnet18 checkpoint: {len(raw)} bytes raw; output max |y| = {y.abs().max():.4f}")

    # PortNet: text, state_dict (.pt and .safetensors), per-layer reference, bad references.
    torch.manual_seed(0)
    net = PortNet()
    net.train()
    with torch.no_grad():
        for _ in range(3):
            net(torch.randn(8, 3, 12, 12))
    net.eval()
    write_text("portnet.txt", str(net))
    torch.save(net.state_dict(), os.path.join(OUT, "portnet.pt"))
    write_safetensors(os.path.join(OUT, "portnet.safetensors"), net.state_dict())
    x = torch.randn(1, 3, 12, 12)
    y, layers = per_layer_outputs(net, x)
    torch.save({"input": x, "output": y, "layers": dict(layers)}, os.path.join(OUT, "portnet_ref.pt"))
    torch.save({"input": x.permute(0, 2, 3, 1).contiguous(), "output": y}, os.path.join(OUT, "portnet_ref_nhwc.pt"))
    torch.save(net, os.path.join(OUT, "portnet_full_model.pt"))
    written += ["portnet.txt", "portnet.pt", "portnet.safetensors", "portnet_ref.pt",
                "portnet_ref_nhwc.pt", "portnet_full_model.pt"]
    print("portnet output:", [round(v, 6) for v in y.flatten().tolist()])

    total = 0
    for name in written:
        size = os.path.getsize(os.path.join(OUT, name))
        total += size
        print(f"wrote {os.path.relpath(os.path.join(OUT, name), REPO_ROOT)} ({size} bytes)")
    print(f"total {total} bytes")


if __name__ == "__main__":
    main()
