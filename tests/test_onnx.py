"""The ONNX front end: accepted sizes compared with onnxruntime runs, and bad files."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
np = pytest.importorskip("numpy")

from hypothesis import HealthCheck, given, settings, strategies as st  # noqa: E402
from onnx import TensorProto as T, helper as h, numpy_helper as nh  # noqa: E402

import arts  # noqa: E402
from arts.frontends.onnx import check_onnx, onnx_graph  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
ort.set_default_logger_severity(4)


def _model(nodes, inits=None, x_shape=("N", 3, "H", "W"), opset=17, inputs=None):
    ins = inputs or [h.make_tensor_value_info("x", T.FLOAT, list(x_shape))]
    y = h.make_tensor_value_info("y", T.FLOAT, None)
    g = h.make_graph(nodes, "g", ins, [y], initializer=[nh.from_array(v, k) for k, v in (inits or {}).items()])
    m = h.make_model(g, opset_imports=[h.make_opsetid("", opset)])
    m.ir_version = 8
    return m


def _save(m, tmp_path, name="m.onnx") -> str:
    p = str(tmp_path / name)
    onnx.save(m, p)
    return p


def _runs(run, feeds) -> list | None:
    """The outputs, or None when the run fails or some tensor along the way is empty (arts, like
    torch, refuses size 0; onnxruntime computes empty tensors, so every intermediate is an output)."""
    try:
        outs = run(feeds)
    except Exception:  # noqa: BLE001 - onnxruntime and the reference raise their own types
        return None
    outs = [np.asarray(o) for o in outs]
    return outs if all(o.ndim == 0 or 0 not in o.shape for o in outs) else None


def _oracle(path: str) -> str:
    """A copy of the model at ``path`` with every float node output made a graph output."""
    m = onnx.load(path)
    have = {o.name for o in m.graph.output}
    inferred = onnx.shape_inference.infer_shapes(m)
    types = {vi.name: vi.type.tensor_type.elem_type for vi in inferred.graph.value_info}
    for n in m.graph.node:
        for o in n.output:
            if o and o not in have and types.get(o, T.FLOAT) == T.FLOAT and n.op_type not in ("Shape", "Constant"):
                m.graph.output.append(h.make_tensor_value_info(o, T.FLOAT, None))
    out = path[:-5] + ".oracle.onnx"
    onnx.save(m, out)
    return out


def _compare(path, sizes, shape_of, names=("H",), fixed=None):
    """arts's verdict at each size against real runs; returns the accepted sizes.

    Accepted by arts => onnxruntime runs, no tensor is empty, and the output has the shape arts
    inferred.  Refused by arts => onnxruntime or the ONNX reference implementation (which follows
    the spec where onnxruntime does not: a pool window larger than its input gives size 0 in the
    spec, 1 in onnxruntime) fails or produces an empty tensor.
    """
    from onnx.reference import ReferenceEvaluator

    rep = check_onnx(path)
    oracle = _oracle(path)
    opts = ort.SessionOptions()
    opts.log_severity_level = 4
    sess = ort.InferenceSession(oracle, opts, providers=["CPUExecutionProvider"])
    ref = ReferenceEvaluator(oracle)
    last = onnx_graph(path).graph["outputs"][0]
    accepted = []
    for v in sizes:
        point = {**(fixed or {}), **dict(zip(names, v if isinstance(v, tuple) else (v,)))}
        feeds = {k: np.zeros(s(point), np.float32) for k, s in shape_of.items()}
        got = _runs(lambda f: sess.run(None, f), feeds)
        if rep.accepts(**point):
            assert got is not None, (point, rep.domain)
            assert tuple(got[0].shape) == rep.shape_at(last, **point), (point, got[0].shape)
            accepted.append(v)
        else:
            assert got is None or _runs(lambda f: ref.run(None, f), feeds) is None, (point, rep.domain)
    return rep, accepted


W3 = np.zeros((4, 3, 3, 3), np.float32)
X4 = {"x": lambda p: (p["N"], 3, p["H"], p["W"])}


def test_conv_pool_relu_domain_matches_onnxruntime(tmp_path):
    m = _model([h.make_node("Conv", ["x", "w"], ["c"], name="conv1", strides=[2, 2], pads=[1, 1, 1, 1]),
                h.make_node("MaxPool", ["c"], ["p"], name="pool1", kernel_shape=[2, 2], strides=[2, 2]),
                h.make_node("Relu", ["p"], ["y"], name="relu")], {"w": W3})
    rep, acc = _compare(_save(m, tmp_path), range(1, 20), X4, fixed={"N": 1, "W": 8})
    assert rep.domain == "H ≥ 3 and W ≥ 3" and acc[0] == 3


conv_params = st.fixed_dictionaries({
    "k": st.integers(1, 4), "s": st.integers(1, 3), "d": st.integers(1, 2),
    "pb": st.integers(0, 2), "pe": st.integers(0, 2),
    "auto_pad": st.sampled_from(["NOTSET", "NOTSET", "VALID", "SAME_UPPER", "SAME_LOWER"]),
})


@settings(max_examples=25, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(p=conv_params)
def test_conv_attributes_against_onnxruntime(tmp_path, p):
    attrs = {"kernel_shape": [p["k"], 1], "strides": [p["s"], 1], "dilations": [p["d"], 1]}
    if p["auto_pad"] == "NOTSET":
        attrs["pads"] = [p["pb"], 0, p["pe"], 0]
    else:
        attrs["auto_pad"] = p["auto_pad"]
    w = np.zeros((2, 3, p["k"], 1), np.float32)
    m = _model([h.make_node("Conv", ["x", "w"], ["y"], name="c", **attrs)], {"w": w})
    path = _save(m, tmp_path)
    if p["auto_pad"].startswith("SAME") and p["d"] > 1:  # not modelled (onnxruntime refuses it): unknown
        assert check_onnx(path).status == "unknown"
        return
    _compare(path, range(1, 14), X4, fixed={"N": 1, "W": 2})


pool_params = st.fixed_dictionaries({
    "op": st.sampled_from(["MaxPool", "AveragePool"]), "k": st.integers(1, 4), "s": st.integers(1, 3),
    "p": st.integers(0, 2), "pe": st.integers(0, 2), "ceil": st.integers(0, 1), "d": st.integers(1, 2),
    "auto_pad": st.sampled_from(["NOTSET", "NOTSET", "NOTSET", "VALID", "SAME_UPPER"]),
})


@settings(max_examples=30, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(p=pool_params)
def test_pool_attributes_against_onnxruntime(tmp_path, p):
    attrs = {"kernel_shape": [p["k"], 1], "strides": [p["s"], 1], "ceil_mode": p["ceil"]}
    if p["op"] == "MaxPool":
        attrs["dilations"] = [p["d"], 1]
    if p["auto_pad"] == "NOTSET":
        pe = p["pe"] if not p["ceil"] else p["p"]
        attrs["pads"] = [p["p"], 0, pe, 0]
    else:
        attrs["auto_pad"] = p["auto_pad"]
    m = _model([h.make_node(p["op"], ["x"], ["y"], name="pool", **attrs)], opset=19)
    path = _save(m, tmp_path)
    rep = check_onnx(path)
    if rep.status == "unknown":  # outside what torch's pool models (pads over half the window): never ok
        assert any(d.code == "unsupported" for d in rep.diagnostics)
        return
    _compare(path, range(1, 14), X4, fixed={"N": 1, "W": 2})


def test_unet_like_skip_with_resize_and_concat(tmp_path):
    w = np.zeros((3, 3, 3, 3), np.float32)
    m = _model([
        h.make_node("Conv", ["x", "w"], ["c"], name="enc", pads=[1, 1, 1, 1]),
        h.make_node("MaxPool", ["c"], ["p"], name="down", kernel_shape=[2, 2], strides=[2, 2]),
        h.make_node("MaxPool", ["p"], ["p2"], name="down2", kernel_shape=[2, 2], strides=[2, 2]),
        h.make_node("Resize", ["p2", "", "scales"], ["u2"], name="up2", mode="nearest"),
        h.make_node("Concat", ["p", "u2"], ["k"], name="skip", axis=1),
        h.make_node("Resize", ["k", "", "scales"], ["u"], name="up", mode="nearest"),
        h.make_node("Concat", ["c", "u"], ["y"], name="skip0", axis=1),
    ], {"w": w, "scales": np.array([1, 1, 2, 2], np.float32)})
    path = _save(m, tmp_path)
    rep, acc = _compare(path, [(hh, 8) for hh in range(1, 30)], X4, names=("H", "W"), fixed={"N": 1})
    assert rep.domain == "H ≥ 4 and H ≡ 0 (mod 4) and W ≥ 4 and W ≡ 0 (mod 4)"
    err = [d for d in rep.diagnostics if d.code == "shape-mismatch"][0]
    assert err.node == "skip" and "Concat 'skip'" in (err.source or "")
    assert "skip" in rep.format() and "Concat" in rep.format()


def test_conv_transpose_pad_slice_transpose(tmp_path):
    wt = np.zeros((3, 2, 3, 3), np.float32)
    m = _model([
        h.make_node("ConvTranspose", ["x", "wt"], ["t"], name="up", strides=[2, 2], pads=[1, 1, 1, 1],
                    output_padding=[1, 1]),
        h.make_node("Pad", ["t", "pads"], ["q"], name="pad", mode="reflect"),
        h.make_node("Slice", ["q", "starts", "ends", "axes"], ["s"], name="crop"),
        h.make_node("Transpose", ["s"], ["y"], name="t", perm=[0, 1, 3, 2]),
    ], {"wt": wt, "pads": np.array([0, 0, 2, 2, 0, 0, 2, 2], np.int64),
        "starts": np.array([3], np.int64), "ends": np.array([-3], np.int64), "axes": np.array([2], np.int64)})
    _compare(_save(m, tmp_path), range(1, 12), X4, fixed={"N": 1, "W": 3})


def test_flatten_gemm_fixes_the_size(tmp_path):
    m = _model([
        h.make_node("Conv", ["x", "w"], ["c"], name="conv"),
        h.make_node("GlobalAveragePool", ["c"], ["g"], name="gap"),
        h.make_node("Flatten", ["c"], ["f"], name="flat"),
        h.make_node("Gemm", ["f", "B", "C"], ["y"], name="fc", transB=1),
    ], {"w": W3, "B": np.zeros((5, 4 * 6 * 6), np.float32), "C": np.zeros((5,), np.float32)})
    rep, acc = _compare(_save(m, tmp_path), [(a, b) for a in range(6, 10) for b in range(6, 10)], X4,
                        names=("H", "W"), fixed={"N": 2})
    assert acc == [(8, 8)]


def test_shape_arithmetic_reshape(tmp_path):
    """Shape -> Gather -> Concat -> Reshape, as exporters write a dynamic flatten of the spatial dims."""
    m = _model([
        h.make_node("Shape", ["x"], ["s"], name="shape"),
        h.make_node("Gather", ["s", "i0"], ["n"], name="g0", axis=0),
        h.make_node("Gather", ["s", "i1"], ["c"], name="g1", axis=0),
        h.make_node("Unsqueeze", ["n", "ax"], ["n1"], name="u0"),
        h.make_node("Unsqueeze", ["c", "ax"], ["c1"], name="u1"),
        h.make_node("Concat", ["n1", "c1", "m1"], ["target"], name="cat", axis=0),
        h.make_node("Reshape", ["x", "target"], ["r"], name="reshape"),
        h.make_node("ReduceMean", ["r", "rax"], ["y"], name="mean", keepdims=0),
    ], {"i0": np.array(0, np.int64), "i1": np.array(1, np.int64), "ax": np.array([0], np.int64),
        "m1": np.array([-1], np.int64), "rax": np.array([2], np.int64)}, opset=18)
    path = _save(m, tmp_path)
    rep = check_onnx(path)
    assert rep.ok and rep.domain == "all sizes"
    assert [str(e) for e in rep.shapes["mean"]] == ["N", "3"]


def test_norms_broadcasting_and_activations(tmp_path):
    m = _model([
        h.make_node("BatchNormalization", ["x", "sc", "b", "mu", "var"], ["bn"], name="bn"),
        h.make_node("InstanceNormalization", ["bn", "sc", "b"], ["inn"], name="in"),
        h.make_node("LeakyRelu", ["inn"], ["lr"], name="lrelu", alpha=0.1),
        h.make_node("LayerNormalization", ["lr", "ln_s"], ["ln"], name="ln", axis=-1),
        h.make_node("Add", ["ln", "bias"], ["y"], name="add"),
    ], {"sc": np.ones(3, np.float32), "b": np.zeros(3, np.float32), "mu": np.zeros(3, np.float32),
        "var": np.ones(3, np.float32), "ln_s": np.ones(6, np.float32), "bias": np.zeros((1, 1, 5, 1), np.float32)})
    path = _save(m, tmp_path)
    rep, acc = _compare(path, [(hh, ww) for hh in (1, 4, 5) for ww in (5, 6, 7)], X4, names=("H", "W"),
                        fixed={"N": 1})
    assert set(acc) == {(1, 6), (5, 6)}


def test_affine_dim_params_are_sizes(tmp_path):
    """torch.onnx.export (dynamo) writes derived dims as dim_params such as "16*H16"."""
    m = _model([h.make_node("MaxPool", ["x"], ["y"], name="pool", kernel_shape=[2, 2], strides=[2, 2])],
               x_shape=("N", 3, "16*H16", "2*W + 1"))
    rep = check_onnx(_save(m, tmp_path))
    assert rep.ok and rep.domain == "all sizes"
    assert [str(e) for e in rep.shapes["pool"]] == ["N", "3", "8*H16", "W"]


def test_unknown_op_is_unknown_never_ok(tmp_path):
    m = _model([h.make_node("Relu", ["x"], ["r"], name="r"),
                h.make_node("NonMaxSuppression", ["r"], ["y"], name="nms")])
    rep = check_onnx(_save(m, tmp_path))
    assert rep.status == "unknown" and not rep.ok
    d = [d for d in rep.diagnostics if d.code == "unsupported"][0]
    assert "NonMaxSuppression" in d.message and "'nms'" in d.message


def test_newer_opset_is_unknown(tmp_path):
    m = _model([h.make_node("Relu", ["x"], ["y"], name="r")], opset=17)
    m.opset_import[0].version = 99
    rep = check_onnx(_save(m, tmp_path))
    assert rep.status == "unknown" and "opset 99" in rep.format()


def test_bad_files_are_one_line_exit_2(tmp_path):
    good = _save(_model([h.make_node("Relu", ["x"], ["y"], name="r")]), tmp_path, "good.onnx")
    data = Path(good).read_bytes()
    trunc = tmp_path / "trunc.onnx"
    trunc.write_bytes(data[: len(data) // 2])
    text = tmp_path / "text.onnx"
    text.write_text("this is not a model\n")
    dangling = _save(_model([h.make_node("Relu", ["nothing"], ["y"], name="r")]), tmp_path, "dangling.onnx")
    cyc = _model([h.make_node("Add", ["x", "b"], ["a"], name="a1"), h.make_node("Relu", ["a"], ["b"], name="r1"),
                  h.make_node("Identity", ["a"], ["y"], name="out")])
    cycle = _save(cyc, tmp_path, "cycle.onnx")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for path, words in [(str(trunc), "not an ONNX model"), (str(text), "not an ONNX model"),
                        (dangling, "reads 'nothing'"), (cycle, "cycle")]:
        out = subprocess.run([sys.executable, "-m", "arts", "check", path], capture_output=True, text=True, env=env)
        assert out.returncode == 2, (path, out.stdout, out.stderr)
        lines = [ln for ln in out.stderr.splitlines() if ln.strip()]
        assert len(lines) == 1 and words in lines[0] and "Traceback" not in out.stderr, out.stderr
        with pytest.raises(arts.InputError, match=words):
            check_onnx(path)


def test_cli_checks_onnx(tmp_path):
    m = _model([h.make_node("Conv", ["x", "w"], ["y"], name="conv1", pads=[1, 1, 1, 1])], {"w": W3})
    path = _save(m, tmp_path)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-m", "arts", "check", path, "--json"], capture_output=True, text=True,
                         env=env)
    assert out.returncode == 0, out.stderr
    assert '"domain": "all sizes"' in out.stdout and '"conv1"' in out.stdout
    bad = _model([h.make_node("Conv", ["x", "w"], ["y"], name="conv1")], {"w": np.zeros((4, 5, 3, 3), np.float32)})
    out = subprocess.run([sys.executable, "-m", "arts", "check", _save(bad, tmp_path, "bad.onnx")],
                         capture_output=True, text=True, env=env)
    assert out.returncode == 1 and "Conv 'conv1'" in out.stdout and "channel" in out.stdout, out.stdout


@pytest.mark.parametrize("pad, domain", [
    (False, "H ≥ 16 and H ≡ 0 (mod 16) and W ≥ 16 and W ≡ 0 (mod 16)"),
    (True, "H ≥ 16 and W ≥ 16"),  # F.pad by size arithmetic: Shape, Gather, Sub, Div, ConstantOfShape, Pad
])
def test_exported_from_torch_example(tmp_path, pad, domain):
    torch = pytest.importorskip("torch")
    import warnings

    sys.path.insert(0, str(ROOT / "examples"))
    from test_export import SmallUNet

    m = SmallUNet(pad=pad).eval()
    path = str(tmp_path / "unet.onnx")
    with warnings.catch_warnings():  # the TorchScript exporter is deprecated, and says so
        warnings.simplefilter("ignore")
        torch.onnx.export(m, (torch.randn(1, 3, 32, 32),), path, input_names=["x"], output_names=["y"],
                          dynamic_axes={"x": {0: "N", 2: "H", 3: "W"}}, dynamo=False)
    rep = check_onnx(path)
    assert rep.domain == domain, rep.format()
    assert rep.domain == arts.check_module(m, "N,3,H,W").domain
    _compare(path, [(hh, 32) for hh in (15, 16, 17, 24, 31, 32, 40, 48)], X4, names=("H", "W"), fixed={"N": 1})
