"""The torchvision functions that tests/test_frontend_library_rules.py writes out (CI has no torchvision)
give torchvision's own results, values and shapes.  Needs the zoo environment:

    PYTHONPATH=$PWD /work/venv-zoo/bin/python benchmarks/check_torchvision_transcriptions.py
"""
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
import test_frontend_library_rules as T  # noqa: E402
from torchvision.models import swin_transformer as S  # noqa: E402
from torchvision.ops.stochastic_depth import stochastic_depth  # noqa: E402
torch.manual_seed(0)
x = torch.randn(2, 3, 5, 7)
for p, mode, training in [(0.0, "row", True), (0.3, "batch", False)]:
    assert torch.equal(T.stochastic_depth(x, p, mode, training), stochastic_depth(x, p, mode, training))
for m in (S.ShiftedWindowAttention(8, [3, 2], [1, 1], 2), S.ShiftedWindowAttentionV2(8, [2, 3], [1, 2], 4)):
    m.eval()
    v2 = isinstance(m, S.ShiftedWindowAttentionV2)
    index, window = m.relative_position_index, m.window_size
    table = m.cpb_mlp(m.relative_coords_table).view(-1, m.num_heads) if v2 else m.relative_position_bias_table
    rel = T._get_relative_position_bias(table, index, window)
    assert torch.equal(rel, S._get_relative_position_bias(table, index, window))
    if v2:
        rel = 16 * torch.sigmoid(rel)
    for shape in [(2, 5, 7, 8), (1, 6, 4, 8), (1, 1, 2, 8)]:
        x = torch.randn(*shape)
        mine = T.shifted_window_attention(x, m.qkv.weight, m.proj.weight, rel, window, m.num_heads, m.shift_size,
                                          qkv_bias=m.qkv.bias, proj_bias=m.proj.bias,
                                          logit_scale=m.logit_scale if v2 else None, training=False)
        ref = m(x)
        assert ref.shape == mine.shape and torch.allclose(ref, mine, atol=1e-5), (type(m).__name__, shape)
        assert torch.equal(T._patch_merging_pad(x), S._patch_merging_pad(x))
print("transcriptions agree with torchvision", torch.__version__)
