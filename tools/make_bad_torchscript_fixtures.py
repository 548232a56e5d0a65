"""Bad TorchScript fixtures for the bad-input tests, made from tiny_cnn.pt with the standard library only.

Each copy edits the serialized code of TinyNet.forward (libtorch recompiles it on load) and drops its debug
pickle, whose source ranges would no longer match:
  raises.pt   forward raises ValueError("the input is not normalised")
  dictret.pt  forward returns a dict {"out": tensor}
  mmfail.pt   forward multiplies [1, 4] by [7, 7] with torch.mm (a shape error inside the interpreter)
Run: python3 tools/make_bad_torchscript_fixtures.py (writes tests/TorchDoctor.Tests/Fixtures/bad/).
"""
import os
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
FIX = os.path.join(HERE, "..", "tests", "TorchDoctor.Tests", "Fixtures")
SRC = os.path.join(FIX, "tiny_cnn.pt")


def rewrite(name, edit):
    dst = os.path.join(FIX, "bad", name)
    with zipfile.ZipFile(SRC) as zi, zipfile.ZipFile(dst, "w") as zo:
        for info in zi.infolist():
            data = zi.read(info.filename)
            if info.filename.endswith("code/__torch__.py.debug_pkl"):
                continue
            if info.filename.endswith("code/__torch__.py"):
                data = edit(data.decode()).encode()
            zo.writestr(info, data)


def main():
    os.makedirs(os.path.join(FIX, "bad"), exist_ok=True)
    ret = "    return (fc).forward(x3, )"
    rewrite("raises.pt", lambda s: s.replace(ret, '    ops.prim.RaiseException("ValueError: the input is not normalised")\n' + ret))
    rewrite("dictret.pt", lambda s: s.replace("x: Tensor) -> Tensor:\n    conv = self.conv", "x: Tensor) -> Dict[str, Tensor]:\n    conv = self.conv")
            .replace(ret, '    return {"out": (fc).forward(x3, )}'))
    rewrite("mmfail.pt", lambda s: s.replace("    x3 = torch.flatten(x2, 1)", "    x3 = torch.mm(torch.flatten(x2, 1), torch.ones([7, 7]))"))


if __name__ == "__main__":
    main()
