"""Bad model files and bad requests: each one a clear InputError (or an honest unknown), never a traceback."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap

import pytest

pytest.importorskip("torch")

from arts.errors import InputError
from arts.frontends.loader import MAX_BYTES, check_file

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

GOOD = """
import torch.nn as nn

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)

    def forward(self, x):
        return self.conv(x)
"""


def write(tmp_path, text: str, name: str = "model.py") -> str:
    p = tmp_path / name
    p.write_text(textwrap.dedent(text))
    return str(p)


def input_error(path: str, name: str | None = None, **kw) -> InputError:
    with pytest.raises(InputError) as ei:
        check_file(path, name, **kw)
    return ei.value


def test_good_file_checks(tmp_path) -> None:
    [r] = check_file(write(tmp_path, GOOD))
    assert r.status == "ok"
    assert r.target.endswith("model.py:Net")


def test_syntax_error_names_file_and_line(tmp_path) -> None:
    p = write(tmp_path, "import torch\n\nclass Net(nn.Module:\n    pass\n")
    e = input_error(p)
    assert e.where == f"{p}:3"
    assert "syntax error" in e.message


def test_import_error(tmp_path) -> None:
    p = write(tmp_path, "import torch\nimport no_such_package_xyz\n")
    e = input_error(p)
    assert e.where == f"{p}:2"
    assert "cannot import 'no_such_package_xyz'" in e.message


def test_runtime_error_at_import(tmp_path) -> None:
    p = write(tmp_path, GOOD + "\nSCALE = 1 / 0\n")
    e = input_error(p)
    assert e.where == f"{p}:{GOOD.count(chr(10)) + 2}"
    assert "ZeroDivisionError" in e.message


def test_sys_exit_at_import(tmp_path) -> None:
    p = write(tmp_path, "import sys\nsys.exit(3)\n")
    assert "sys.exit(3)" in input_error(p).message


def test_missing_name_lists_what_exists(tmp_path) -> None:
    p = write(tmp_path, GOOD + "\ndef helper():\n    return 1\n")
    e = input_error(p, "Nett")
    assert e.where == p and e.message.startswith("no 'Nett' in this file; it defines: ")
    assert "Net (nn.Module class)" in e.message and "helper (function)" in e.message


def test_class_needing_arguments(tmp_path) -> None:
    p = write(tmp_path, """
        import torch.nn as nn
        class Block(nn.Module):
            def __init__(self, channels, stride):
                super().__init__()
                self.conv = nn.Conv2d(channels, channels, 3, stride, 1)
            def forward(self, x):
                return self.conv(x)
    """)
    e = input_error(p, "Block")
    assert "needs constructor argument(s) channels, stride" in e.message
    e = input_error(p)  # without a name: nothing buildable, and the skipped class is named
    assert "defines no nn.Module that can be built without arguments" in e.message
    assert "Block (needs channels, stride)" in e.message


def test_classes_needing_arguments_are_skipped_silently(tmp_path) -> None:
    p = write(tmp_path, GOOD + textwrap.dedent("""
        class Block(nn.Module):
            def __init__(self, channels):
                super().__init__()
            def forward(self, x):
                return x
    """))
    assert [r.target.rsplit(":", 1)[1] for r in check_file(p)] == ["Net"]


def test_constructor_raises(tmp_path) -> None:
    p = write(tmp_path, """
        import torch.nn as nn
        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                raise RuntimeError("no weights file")
    """)
    e = input_error(p)
    assert "building Net() raised RuntimeError: no weights file" in e.message
    assert e.where == f"{p}:6"


def test_forward_raises(tmp_path) -> None:
    p = write(tmp_path, """
        import torch.nn as nn
        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.conv = nn.Conv2d(3, 8, 3)
            def forward(self, x):
                x = self.conv(x)
                raise NotImplementedError("forward is not written yet")
    """)
    e = input_error(p)
    assert "forward of" in e.message and "raised NotImplementedError: forward is not written yet" in e.message
    assert e.where == f"{p}:9"


def test_non_module_object(tmp_path) -> None:
    p = write(tmp_path, GOOD + "\nCONFIG = {'depth': 18}\n")
    e = input_error(p, "CONFIG")
    assert "CONFIG is a dict, not an nn.Module subclass" in e.message


def test_function_returning_non_module(tmp_path) -> None:
    p = write(tmp_path, GOOD + "\ndef make():\n    return 42\n")
    e = input_error(p, "make")
    assert "make() returned a int, not an nn.Module" in e.message


def test_functions_and_instances_are_targets(tmp_path) -> None:
    p = write(tmp_path, GOOD + "\ndef make() -> nn.Module:\n    return Net()\n\nmodel = Net()\n\n"
                               "def main():\n    raise SystemExit('main must not run')\n")
    names = [r.target.rsplit(":", 1)[1] for r in check_file(p)]
    assert names == ["Net", "make", "model"]


def test_imported_classes_are_not_targets(tmp_path) -> None:
    write(tmp_path, GOOD, "blocks.py")
    p = write(tmp_path, "from blocks import Net\nimport torch.nn as nn\n\nclass Mine(Net):\n    pass\n")
    assert [r.target.rsplit(":", 1)[1] for r in check_file(p)] == ["Mine"]


def test_empty_file(tmp_path) -> None:
    for text in ("", "\n\n", '"""Only a docstring."""\n'):
        e = input_error(write(tmp_path, text))
        assert "the file is empty" in e.message


def test_huge_file(tmp_path) -> None:
    p = tmp_path / "big.py"
    p.write_text("# " + "x" * (MAX_BYTES + 10) + "\n")
    e = input_error(str(p))
    assert "too large" in e.message and "5 MB" in e.message


def test_directory_and_missing_file(tmp_path) -> None:
    assert "is a directory" in input_error(str(tmp_path)).message
    assert "no such file" in input_error(str(tmp_path / "nope.py")).message
    notpy = tmp_path / "model.txt"
    notpy.write_text("x")
    assert "not a Python file" in input_error(str(notpy)).message


def test_main_block_does_not_run_and_stdout_stays_clean(tmp_path, capsys) -> None:
    p = write(tmp_path, GOOD + "\nprint('hello from the model')\n\nif __name__ == '__main__':\n"
                               "    raise SystemExit('must not run')\n")
    [r] = check_file(p)
    assert r.status == "ok"
    out = capsys.readouterr()
    assert "hello from the model" not in out.out and "hello from the model" in out.err


def test_wrong_number_of_inputs(tmp_path) -> None:
    p = write(tmp_path, GOOD)
    e = input_error(p, inputs=["N,3,H,W", "N,3,H,W"])
    assert "forward takes 1 input(s) (x); got 2 input shape(s)" in e.message


def test_input_shape_cannot_be_guessed(tmp_path) -> None:
    p = write(tmp_path, """
        import torch.nn as nn
        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc = nn.Linear(10, 2)
            def forward(self, x):
                return self.fc(x.view(x.size(0), -1))
    """)
    e = input_error(p)
    assert "cannot tell the shape of input 'x'" in e.message
    [r] = check_file(p, inputs=["N,10"])
    assert r.status == "ok"


def test_data_dependent_control_flow_is_unknown(tmp_path) -> None:
    p = write(tmp_path, """
        import torch.nn as nn
        import torch.nn.functional as F
        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.conv = nn.Conv2d(3, 8, 3)
            def forward(self, x):
                if x.size(2) < 8:
                    x = F.interpolate(x, size=(8, 8))
                return self.conv(x)
    """)
    [r] = check_file(p)
    # plain fx cannot follow the branch; traced through it with both ways merged (an interpolate
    # to 8x8 where H < 8, to its own size elsewhere: arts.frontends.ifconvert), arts decides both
    [d] = [d for d in r.diagnostics if d.code == "captured-region"]
    assert "control flow" in d.message
    assert "through 0 branch(es) on sizes (1 more traced both ways and merged)" in d.message
    assert r.region == ()
    assert r.accepts(N=2, H=8, W=3) and not r.accepts(N=2, H=8, W=2)
    assert r.accepts(N=1, H=8, W=8) and r.accepts(N=2, H=4, W=2) and r.accepts(N=2, H=4, W=8)


def test_data_dependent_control_flow_with_one_trace_is_unknown_outside(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr("arts.frontends.regions.MAX_CAPTURES", 1)
    p = write(tmp_path, """
        import torch.nn as nn
        import torch.nn.functional as F
        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.conv = nn.Conv2d(3, 8, 3)
            def forward(self, x):
                if x.size(2) < 8:
                    x = F.interpolate(x, scale_factor=2.0)
                return self.conv(x)
    """)
    [r] = check_file(p)
    # one trace: arts decides inside the branch it saw (H >= 8, line 9), where W = 2 really
    # fails, and cannot tell outside it (an interpolate by a scale is not merged with the other way)
    assert r.status == "error"
    [d] = [d for d in r.diagnostics if d.code == "captured-region"]
    assert "control flow" in d.message and "H ≥ 8" in d.message and any(n.endswith(":9") for n in d.notes)
    assert r.accepts(N=2, H=8, W=3) and not r.accepts(N=2, H=8, W=2)
    with pytest.raises(ValueError):
        r.accepts(N=2, H=4, W=8)


def test_unknown_call_is_unknown_but_the_rest_is_checked(tmp_path) -> None:
    p = write(tmp_path, """
        import torch
        import torch.nn as nn
        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.conv = nn.Conv2d(3, 8, 3, padding=1)
                self.down = nn.Conv2d(3, 8, 3, stride=2, padding=1)
                self.up = nn.ConvTranspose2d(8, 8, 2, stride=2)
                self.rnn = nn.RNNCell(8, 8)
            def forward(self, x):
                a = self.conv(x)
                b = self.up(self.down(x))
                c = torch.cat([a, b], 1)
                return self.rnn(a.mean((2, 3))), c
    """)
    [r] = check_file(p)
    assert r.status == "error"  # the cat mismatch is still found
    codes = [d.code for d in r.diagnostics]
    assert "shape-mismatch" in codes and "unsupported" in codes
    [u] = [d for d in r.diagnostics if d.code == "unsupported"]
    assert "no shape rule for nn.RNNCell" in u.message and u.line == 15
    [m] = [d for d in r.diagnostics if d.code == "shape-mismatch"]
    assert m.line == 14 and m.counterexample == {"N": 1, "H": 1, "W": 1}


def test_unknown_call_alone_gives_unknown(tmp_path) -> None:
    p = write(tmp_path, """
        import torch
        import torch.nn as nn
        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.conv = nn.Conv2d(3, 8, 3, padding=1)
            def forward(self, x):
                return torch.fft.rfft2(self.conv(x))
    """)
    [r] = check_file(p)
    assert r.status == "unknown"
    [u] = [d for d in r.diagnostics if d.code == "unsupported"]
    assert u.message == "unsupported: no shape rule for torch.fft.rfft2"


def test_name_in_path_argument(tmp_path) -> None:
    p = write(tmp_path, GOOD + "\nclass Other(Net):\n    pass\n")
    [r] = check_file(f"{p}:Other")
    assert r.target.endswith(":Other")


@pytest.mark.parametrize("make,fragment", [
    (lambda d: write(d, "class Net(:\n"), "syntax error"),
    (lambda d: str(d), "is a directory"),
    (lambda d: write(d, ""), "the file is empty"),
    (lambda d: write(d, GOOD) + ":Missing", "no 'Missing' in this file"),
])
def test_cli_bad_inputs_exit_2(tmp_path, make, fragment) -> None:
    arg = make(tmp_path)
    proc = subprocess.run([sys.executable, "-m", "arts", "check", arg], capture_output=True, text=True, cwd=ROOT,
                          check=False,
                          env={**os.environ, "PYTHONPATH": ROOT})
    assert proc.returncode == 2, proc.stderr
    assert fragment in proc.stderr
    assert "Traceback" not in proc.stderr


_ = shutil
