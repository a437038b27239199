"""Where meta tensors accept what CPU torch rejects: every catalogue op family that takes channels.

    python benchmarks/meta_vs_cpu.py

Builds each op with a few parameter sets, runs it on every shape of rank 1-5 with sizes 1-4 on
real CPU tensors and on meta tensors (eval and train mode), and prints, per op, how many inputs
the two disagree on, with an example.  This is why every oracle in the tests and the soundness
campaign confirms a disagreement on CPU before counting it (docs/checker.md, "Soundness").
"""

from __future__ import annotations

import copy
import itertools
import os
import sys
import warnings

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

PARAMS: dict[str, list[dict]] = {
    "conv1d": [dict(in_channels=2, out_channels=2, kernel_size=2), dict(in_channels=2, out_channels=4, kernel_size=1,
                                                                         groups=2)],
    "conv2d": [dict(in_channels=2, out_channels=2, kernel_size=2), dict(in_channels=2, out_channels=4, kernel_size=1,
                                                                         groups=2)],
    "conv3d": [dict(in_channels=2, out_channels=2, kernel_size=1)],
    "conv_transpose1d": [dict(in_channels=2, out_channels=2, kernel_size=2),
                         dict(in_channels=2, out_channels=4, kernel_size=1, groups=2)],
    "conv_transpose2d": [dict(in_channels=2, out_channels=2, kernel_size=2),
                         dict(in_channels=2, out_channels=4, kernel_size=1, groups=2)],
    "conv_transpose3d": [dict(in_channels=2, out_channels=2, kernel_size=1)],
    "batch_norm1d": [dict(num_features=2)], "batch_norm2d": [dict(num_features=2)],
    "batch_norm3d": [dict(num_features=2)], "instance_norm1d": [dict(num_features=2, affine=True)],
    "instance_norm2d": [dict(num_features=2, affine=True)], "group_norm": [dict(num_groups=2, num_channels=4)],
    "layer_norm": [dict(normalized_shape=[2])], "linear": [dict(in_features=2, out_features=3)],
    "pixel_shuffle": [dict(upscale_factor=2)], "max_pool2d": [dict(kernel_size=2)],
    "avg_pool1d": [dict(kernel_size=2)], "adaptive_avg_pool2d": [dict(output_size=2)],
    "upsample": [dict(scale_factor=2, mode="bilinear")], "interpolate": [dict(size=3, mode="bicubic")],
    "pad": [dict(pad=[1, 1], mode="reflect"), dict(pad=[2, 2], mode="circular")], "dropout2d": [dict(p=0.5)],
    "sep_conv2d": [dict(in_channels=2, out_channels=2, kernel_size=3)],
    "factorized_reduction": [dict(in_channels=2, out_channels=2)],
}


def main() -> int:
    import torch

    from arts.ops import Op

    torch.set_num_threads(1)
    warnings.simplefilter("ignore")
    total = 0
    for name, plist in PARAMS.items():
        bad: list = []
        runs = 0
        for p in plist:
            op = Op.make(name, p)
            for rank in range(1, 6):
                for shape in itertools.product([1, 2, 3, 4], repeat=rank):
                    for train in (False, True):
                        try:
                            m = op.spec.build(op.params, [shape]).train(train)
                        except IndexError:  # a builder that reads a dimension the shape lacks
                            continue
                        res = []
                        for dev in ("cpu", "meta"):
                            try:
                                with torch.no_grad():
                                    res.append(tuple(copy.deepcopy(m).to(dev)(torch.zeros(shape, device=dev)).shape))
                            except (RuntimeError, ValueError, IndexError):
                                res.append(None)
                        runs += 1
                        if res[0] != res[1]:
                            bad.append((p, shape, train, res))
        total += len(bad)
        example = ""
        if bad:
            p, shape, train, (cpu, meta) = bad[0]
            example = f"  e.g. {Op.make(name, p)} on {shape}: cpu {'rejects' if cpu is None else cpu}, meta {meta}"
        print(f"{name:>22}: {len(bad):5d} of {runs:5d} inputs disagree{example}")
    print(f"{'total':>22}: {total}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
