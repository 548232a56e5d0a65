#!/usr/bin/env python3
"""Generate the TorchScript test fixtures used by TorchDoctor.Tests.

TorchDoctor is a C#/TorchSharp project and Python is NOT part of its build or
test toolchain. This script is only run by hand, when the fixtures have to be
regenerated; its outputs are committed to the repository.

How to regenerate (Debian 12, as root, from the repository root):

    apt-get update
    apt-get install -y python3-torch          # Debian's PyTorch (1.13.x)
    /usr/bin/python3 tools/make_torchscript_fixtures.py

(Use the system interpreter /usr/bin/python3: the Debian package installs
torch for it, not for a pyenv/venv `python3` that may come first on PATH.)

Files written to tests/TorchDoctor.Tests/Fixtures/:

  tiny_cnn.pt          TorchScript archive (torch.jit.script) of TinyNet below,
                       weights initialised with torch.manual_seed(0).
  tiny_cnn.json        Reference data for the tests: torch version used, total
                       parameter count, each named parameter's name and shape,
                       the reference input and the model output for it.
  not_torchscript.pt   A deliberately invalid ".pt" file (a few fixed
                       pseudo-random bytes plus text) for error-path tests.

TinyNet takes input [N, 1, 8, 8] and returns [N, 3]:
    conv (Conv2d(1, 4, 3, padding=1)) -> relu (ReLU) ->
    pool (AdaptiveAvgPool2d(1)) -> flatten(1) -> fc (Linear(4, 3))

The reference input is torch.arange(64, dtype=torch.float32).reshape(1,1,8,8)/64.
tiny_cnn.pt is byte-for-byte reproducible (the script pins PYTHONHASHSEED=0
and the zip entries carry a fixed timestamp). The output printed here and stored in tiny_cnn.json is float32 converted
exactly to double, so tests can compare with a tolerance of ~1e-6.
"""

import json
import os
import random
import sys

# TorchScript serialises the Final constants of nn modules in Python set order,
# which depends on string hash randomisation. Re-run with a fixed hash seed so
# that tiny_cnn.pt is byte-for-byte reproducible.
if os.environ.get("PYTHONHASHSEED") != "0":
    os.execve(sys.executable, [sys.executable] + sys.argv,
              dict(os.environ, PYTHONHASHSEED="0"))

import torch
import torch.nn as nn

SEED = 0
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(REPO_ROOT, "tests", "TorchDoctor.Tests", "Fixtures")


class TinyNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3, padding=1)
        self.relu = nn.ReLU()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(4, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv(x)
        x = self.relu(x)
        x = self.pool(x)
        x = torch.flatten(x, 1)
        return self.fc(x)


def reference_input() -> torch.Tensor:
    return torch.arange(64, dtype=torch.float32).reshape(1, 1, 8, 8) / 64


def main() -> None:
    os.makedirs(FIXTURES, exist_ok=True)

    torch.manual_seed(SEED)
    model = TinyNet().eval()
    scripted = torch.jit.script(model)

    pt_path = os.path.join(FIXTURES, "tiny_cnn.pt")
    scripted.save(pt_path)

    # Compute the reference output from the saved file, as a consumer would.
    loaded = torch.jit.load(pt_path)
    x = reference_input()
    with torch.no_grad():
        out = loaded(x)
        eager = model(x)
    assert torch.equal(out, eager), "scripted and eager outputs differ"

    params = [
        {"name": name, "shape": list(p.shape), "numel": p.numel()}
        for name, p in model.named_parameters()
    ]
    reference = {
        "generator": "tools/make_torchscript_fixtures.py",
        "torch_version": torch.__version__,
        "seed": SEED,
        "input": "torch.arange(64, dtype=torch.float32).reshape(1,1,8,8)/64",
        "input_shape": list(x.shape),
        "total_parameters": sum(p["numel"] for p in params),
        "parameters": params,
        "children": [name for name, _ in model.named_children()],
        "output_shape": list(out.shape),
        "output": [float(v) for v in out.flatten().tolist()],
    }
    text = json.dumps(reference, indent=2) + "\n"
    with open(os.path.join(FIXTURES, "tiny_cnn.json"), "w", encoding="utf-8") as f:
        f.write(text)
    print(text, end="")

    # Deliberately invalid file: fixed "random" bytes (seeded, so the file is
    # reproducible) followed by plain text. Not a zip archive, not a pickle.
    rng = random.Random(SEED)
    junk = bytes(rng.randrange(256) for _ in range(32))
    junk += b"\nThis is not a TorchScript archive. TorchDoctor test fixture.\n"
    with open(os.path.join(FIXTURES, "not_torchscript.pt"), "wb") as f:
        f.write(junk)

    for name in ("tiny_cnn.pt", "tiny_cnn.json", "not_torchscript.pt"):
        path = os.path.join(FIXTURES, name)
        print(f"wrote {os.path.relpath(path, REPO_ROOT)} ({os.path.getsize(path)} bytes)")


if __name__ == "__main__":
    main()
