"""Bad parameters are the user's fault: InputError, with a message that names the parameter.
And OP strings round-trip through ``parse_op``/``str``."""

from __future__ import annotations

from typing import Any

import pytest

from arts.errors import InputError
from arts.ops import Op, as_op, parse_op

BAD: list[tuple[str, dict[str, Any], str]] = [
    # (op, params, text the message must contain)
    ("conv2d", {"kernel_size": -1}, "kernel_size"),
    ("conv2d", {"kernel_size": 0}, "kernel_size"),
    ("conv2d", {"kernel_size": "3"}, "kernel_size"),
    ("conv2d", {"kernel_size": 3.0}, "kernel_size"),
    ("conv2d", {"kernel_size": (3, 3, 3)}, "kernel_size"),
    ("conv2d", {"kernel_size": 3, "stride": 0}, "stride"),
    ("conv2d", {"kernel_size": 3, "padding": -1}, "padding"),
    ("conv2d", {"kernel_size": 3, "padding": "full"}, "padding"),
    ("conv2d", {"kernel_size": 3, "padding": "same", "stride": 2}, "padding"),
    ("conv2d", {"kernel_size": 3, "dilation": 0}, "dilation"),
    ("conv2d", {"kernel_size": 3, "groups": 2, "in_channels": 3}, "in_channels"),
    ("conv2d", {"kernel_size": 3, "bias": 1}, "bias"),
    ("conv2d", {"kernel_size": 3, "padding_mode": "mirror"}, "padding_mode"),
    ("conv2d", {"kernel_size": 3, "kernal_size": 3}, "kernal_size"),
    ("conv_transpose2d", {"kernel_size": 3, "stride": 2, "output_padding": 2}, "output_padding"),
    ("conv_transpose1d", {"kernel_size": 3, "stride": 1, "dilation": 2, "output_padding": 2}, "output_padding"),
    ("max_pool2d", {"kernel_size": 3, "padding": 2}, "padding"),
    ("avg_pool1d", {"kernel_size": 2, "padding": 2}, "padding"),
    ("max_pool2d", {"kernel_size": 2, "stride": 0}, "stride"),
    ("adaptive_avg_pool2d", {"output_size": 0}, "output_size"),
    ("adaptive_max_pool1d", {"output_size": None}, "output_size"),
    ("linear", {"in_features": 0}, "in_features"),
    ("linear", {"out_features": "8"}, "out_features"),
    ("reshape", {"shape": [-1, -1]}, "shape"),
    ("reshape", {"shape": [0, 4]}, "shape"),
    ("view", {"shape": "N,4"}, "shape"),
    ("unflatten", {"dim": 1, "unflattened_size": []}, "unflattened_size"),
    ("permute", {"dims": [0, "1"]}, "dims"),
    ("transpose", {"dim0": 0}, "dim1"),
    ("batch_norm2d", {"num_features": 0}, "num_features"),
    ("batch_norm2d", {"momentum": "fast"}, "momentum"),
    ("layer_norm", {}, "normalized_shape"),
    ("layer_norm", {"normalized_shape": [4, 0]}, "normalized_shape"),
    ("group_norm", {"num_groups": 3, "num_channels": 8}, "num_channels"),
    ("group_norm", {"num_channels": 8}, "num_groups"),
    ("dropout", {"p": 1.5}, "p"),
    ("dropout2d", {"p": -0.1}, "p"),
    ("hardtanh", {"min_val": 1.0, "max_val": 0.0}, "max_val"),
    ("gelu", {"approximate": "fast"}, "approximate"),
    ("softmax", {"dim": "last"}, "dim"),
    ("div", {"rounding_mode": "round"}, "rounding_mode"),
    ("cat", {"dim": 1.0}, "dim"),
    ("upsample", {}, "scale_factor"),
    ("upsample", {"size": 4, "scale_factor": 2}, "scale_factor"),
    ("upsample", {"scale_factor": 2, "mode": "lanczos"}, "mode"),
    ("upsample", {"scale_factor": 0}, "scale_factor"),
    ("upsample", {"scale_factor": 2, "align_corners": True}, "align_corners"),
    ("interpolate", {"size": 4, "recompute_scale_factor": True}, "recompute_scale_factor"),
    ("interpolate", {"scale_factor": 2, "antialias": True}, "antialias"),
    ("interpolate", {"scale_factor": 2, "mode": "lanczos"}, "antialias"),
    ("interpolate", {"size": [4, 0]}, "size"),
    ("pixel_shuffle", {"upscale_factor": 0}, "upscale_factor"),
    ("pixel_unshuffle", {}, "downscale_factor"),
    ("pad", {"pad": [1, 1, 1]}, "pad"),
    ("pad", {"pad": [1, 1], "mode": "reflect", "value": 1.0}, "value"),
    ("pad", {"pad": [1, 1], "mode": "wrap"}, "mode"),
    ("pad", {"pad": [1] * 8, "mode": "replicate"}, "pad"),
    ("sep_conv2d", {"kernel_size": 3, "padding": "same", "stride": 2}, "padding"),
    ("sep_conv2d", {"kernel_size": 0}, "kernel_size"),
    ("factorized_reduction", {"out_channels": 5}, "out_channels"),
    ("factorized_reduction", {"in_channels": 3}, "in_channels"),
]


@pytest.mark.parametrize("name,params,named", BAD, ids=[f"{n}-{'-'.join(p)}" for n, p, _ in BAD])
def test_bad_parameters_raise_input_error_naming_them(name: str, params: dict[str, Any], named: str) -> None:
    with pytest.raises(InputError) as info:
        Op.make(name, params)
    assert named in str(info.value), str(info.value)
    assert str(info.value).startswith(f"{name}: "), "the error is located at the op"


def test_unknown_op_is_an_input_error() -> None:
    with pytest.raises(InputError, match="unknown op 'conv9d'"):
        Op.make("conv9d", {})
    with pytest.raises(InputError, match="did you mean"):
        parse_op("conv(kernel_size=3)")


@pytest.mark.parametrize("text", [
    "conv2d(kernel_size=3, padding=1)",
    "conv2d(kernel_size=(3, 5), stride=2, padding=(1, 2), dilation=2)",
    "conv_transpose2d(kernel_size=3, padding=2, dilation=2)",
    "max_pool2d(kernel_size=3, stride=1, padding=1)",
    "avg_pool3d(kernel_size=2, ceil_mode=True)",
    "adaptive_avg_pool2d(output_size=(1, 1))",
    "linear(in_features=8, out_features=4)",
    "flatten(start_dim=0)",
    "unflatten(dim=1, unflattened_size=(2, 2))",
    "reshape(shape=(-1, 4))",
    "view(shape=(2, 2))",
    "permute(dims=(0, 2, 1))",
    "squeeze(dim=(1, 1))",
    "batch_norm2d(num_features=16)",
    "layer_norm(normalized_shape=(4, 4))",
    "group_norm(num_groups=2, num_channels=8)",
    "softmax(dim=1)",
    "leaky_relu(negative_slope=0.2)",
    "add(alpha=2)",
    "cat(dim=1)",
    "upsample(scale_factor=2, mode='bilinear', align_corners=False)",
    "interpolate(scale_factor=(2, 2))",
    "pixel_shuffle(upscale_factor=2)",
    "pad(pad=(1, 1), mode='reflect')",
    "pad(pad=(1, 1, 1, 1), value=0.5)",
    "sep_conv2d(kernel_size=5, padding=2)",
    "factorized_reduction(out_channels=32)",
])
def test_op_strings_round_trip(text: str) -> None:
    op = parse_op(text)
    again = parse_op(str(op))
    assert again == op, f"{text} -> {op} -> {again}"
    assert as_op(op.to_json()) == op


def test_parse_op_reads_the_documented_form() -> None:
    op = parse_op("conv2d(kernel_size=3, padding=1)")
    assert op.name == "conv2d"
    assert op.params["kernel_size"] == (3, 3) and op.params["padding"] == (1, 1)
    assert str(op) == "conv2d(kernel_size=3, padding=1)"
    assert parse_op("conv2d(None, 16, 3)").params["out_channels"] == 16  # positional: torch's order
    assert parse_op("relu") == Op.make("relu")


@pytest.mark.parametrize("text,named", [
    ("conv2d(kernel_size=3, kernel_size=3)", "kernel_size"),
    ("conv2d(kernel_size=x)", "x"),
    ("relu(inplace=True, 1)", "relu"),
])
def test_malformed_op_strings(text: str, named: str) -> None:
    with pytest.raises(InputError) as info:
        parse_op(text)
    assert named in str(info.value)
