"""arts on a zoo of real models (timm, torchvision, Hugging Face, smp, MONAI, diffusers) against torch.

    /work/venv-zoo/bin/python benchmarks/bench_zoo.py [--only timm] [--limit N] [--models a,b] [--force]
                                                      [--cache DIR] [--table docs/zoo.md]

Needs the zoo environment (torch 2.14.1, torchvision 0.29.1, timm, segmentation-models-pytorch,
monai, transformers, diffusers; arts installed editable); see docs/zoo.md.  Every model is built
from its library's constructor with random weights (no download: ``HF_HUB_OFFLINE=1``), then:

* **arts**: ``check_module(model, "N,C,H,W")`` under a hard 30 s budget (SIGALRM); which capture
  path answered (``fx``: torch.fx traced it; ``fx+branches``: fx traced it through its branches on
  sizes, :mod:`arts.frontends.guards`; ``aten``: neither could, torch.export's ATen graph was
  checked inside its guards; ``none``: nothing captured it), the unsupported calls, the accepted domain.
* **baseline**: one ``torch.export`` (non-strict) with dynamic H and W (``Dim.AUTO``), timed.
* **truth**: the model on meta tensors at N=2 and square sizes 1..16, then 16 sizes up to 256 (cubes
  for 3-d models), plus seeded random non-square pairs; a point where arts and meta disagree is run
  again on CPU (when its sizes are small enough) before it counts.

Results are cached per model (one JSON file each under ``--cache``): a run can be stopped and
resumed, and run in parts (``--only timm``, ``--limit 10``); the summary and the table are
computed from the cache.  A model is run in a worker subprocess that is restarted if it dies or
hangs.  Asserts nothing; the figures are printed and the table written to ``--table``.

Counted, per model: *translated* (no unsupported node, whatever the path, and every node checked
before the deadline); *exact* (on every
grid point arts answers, and its answer is torch's); *exact in region* (exact at every point of
the captured region, unknown outside it); *unsound* (arts accepts a size torch rejects, confirmed
on CPU, or on meta where CPU is too slow); *false alarms* (arts rejects a size torch runs).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import time
import traceback
from collections import Counter
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

ROOT = Path(__file__).resolve().parents[1]
ARTS_BUDGET_S = 30
EXPORT_BUDGET_S = 60
TRUTH_BUDGET_S = 30
BASELINE_EVERY = 6  # one torch.export per this many models (it costs 5-30 s a model here)
CPU_CONFIRM_MAX = 96  # largest spatial size confirmed on CPU
WORKER_TIMEOUT_S = 420

# ---- the zoo: (id, family, library, builder, input shape) --------------------------------------

TIMM = [
    ("resnet18", "ResNet"), ("resnet50", "ResNet"), ("resnetv2_50", "ResNetV2"), ("resnext50_32x4d", "ResNeXt"),
    ("seresnet50", "SE-ResNet"), ("wide_resnet50_2", "WideResNet"), ("resnet18d", "ResNet-D"),
    ("resnetrs50", "ResNet-RS"), ("ecaresnet26t", "ECA-ResNet"), ("seresnext26d_32x4d", "SE-ResNeXt"),
    ("regnetx_002", "RegNet"), ("regnety_004", "RegNet"), ("regnetz_b16", "RegNetZ"), ("regnetv_040", "RegNetV"),
    ("efficientnet_b0", "EfficientNet"), ("tf_efficientnet_b0", "EfficientNet"),
    ("efficientnetv2_rw_t", "EfficientNetV2"), ("gc_efficientnetv2_rw_t", "EfficientNetV2"),
    ("mobilenetv3_small_100", "MobileNetV3"), ("mobilenetv3_large_100", "MobileNetV3"),
    ("mobilenetv4_conv_small", "MobileNetV4"), ("mobilenetv2_100", "MobileNetV2"), ("mnasnet_100", "MnasNet"),
    ("mixnet_s", "MixNet"), ("ghostnet_100", "GhostNet"), ("ghostnetv2_100", "GhostNet"),
    ("convnext_atto", "ConvNeXt"), ("convnextv2_atto", "ConvNeXtV2"), ("vit_tiny_patch16_224", "ViT"),
    ("vit_small_patch16_224", "ViT"), ("vit_base_patch16_clip_224", "ViT-CLIP"), ("flexivit_small", "FlexiViT"),
    ("deit_tiny_patch16_224", "DeiT"), ("deit3_small_patch16_224", "DeiT3"),
    ("swin_tiny_patch4_window7_224", "Swin"), ("swinv2_cr_tiny_ns_224", "SwinV2"), ("maxvit_nano_rw_256", "MaxViT"),
    ("coatnet_nano_rw_224", "CoAtNet"), ("levit_128s", "LeViT"), ("pvt_v2_b0", "PVTv2"),
    ("poolformer_s12", "PoolFormer"), ("poolformerv2_s12", "PoolFormer"), ("mixer_s16_224", "MLP-Mixer"),
    ("resmlp_12_224", "ResMLP"), ("gmlp_s16_224", "gMLP"), ("hrnet_w18_small", "HRNet"),
    ("xception41", "Xception"), ("legacy_xception", "Xception"), ("dm_nfnet_f0", "NFNet"),
    ("nf_resnet26", "NF-ResNet"), ("repvgg_a0", "RepVGG"), ("fastvit_t8", "FastViT"), ("mobilevit_xxs", "MobileViT"),
    ("mobilevitv2_050", "MobileViTV2"), ("cspresnet50", "CSPNet"), ("cspdarknet53", "CSPNet"),
    ("cspresnext50", "CSPNet"), ("darknet53", "DarkNet"), ("cs3darknet_s", "CSPNet"), ("dla34", "DLA"),
    ("dla46_c", "DLA"), ("dpn68", "DPN"), ("densenet121", "DenseNet"), ("inception_v3", "Inception"),
    ("inception_v4", "Inception"), ("vgg11", "VGG"), ("res2net50_26w_4s", "Res2Net"), ("resnest14d", "ResNeSt"),
    ("rexnet_100", "ReXNet"), ("selecsls42b", "SelecSLS"), ("hardcorenas_a", "HardCoReNAS"),
    ("fbnetc_100", "FBNet"), ("lcnet_050", "LCNet"), ("tinynet_a", "TinyNet"),
    ("efficientformer_l1", "EfficientFormer"),
    ("efficientformerv2_s0", "EfficientFormerV2"), ("edgenext_xx_small", "EdgeNeXt"), ("crossvit_tiny_240", "CrossViT"),
    ("cait_xxs24_224", "CaiT"), ("coat_tiny", "CoaT"), ("convit_tiny", "ConViT"), ("pit_ti_224", "PiT"),
    ("tnt_s_patch16_224", "TNT"), ("twins_pcpvt_small", "Twins"), ("twins_svt_small", "Twins"),
    ("visformer_tiny", "Visformer"), ("volo_d1_224", "VOLO"), ("xcit_nano_12_p16_224", "XCiT"),
    ("beit_base_patch16_224", "BEiT"), ("eva02_tiny_patch14_224", "EVA02"), ("gcvit_xxtiny", "GCViT"),
    ("davit_tiny", "DaViT"), ("focalnet_tiny_srf", "FocalNet"), ("nest_tiny", "NesT"), ("sequencer2d_s", "Sequencer"),
    ("hgnet_tiny", "HGNet"), ("hgnetv2_b0", "HGNetV2"), ("ese_vovnet19b_dw", "VoVNet"), ("skresnet18", "SKNet"),
    ("botnet26t_256", "BoTNet"), ("halonet26t", "HaloNet"), ("lambda_resnet26t", "LambdaNet"), ("gernet_s", "GENet"),
    ("repghostnet_050", "RepGhost"), ("efficientvit_b0", "EfficientViT"), ("efficientvit_m0", "EfficientViT-M"),
    ("mobileone_s0", "MobileOne"), ("tiny_vit_5m_224", "TinyViT"), ("rdnet_tiny", "RDNet"), ("starnet_s1", "StarNet"),
    ("nextvit_small", "NextViT"), ("hiera_tiny_224", "Hiera"), ("mambaout_femto", "MambaOut"),
    ("inception_next_tiny", "InceptionNeXt"), ("fasternet_t0", "FasterNet"), ("shvit_s1", "SHViT"),
    ("vitamin_small_224", "ViTamin"), ("bat_resnext26ts", "BAT-ResNeXt"), ("convmixer_768_32", "ConvMixer"),
    ("samvit_base_patch16", "SAM-ViT"),
]
TIMM_DYNAMIC = [("vit_tiny_patch16_224", "ViT (dynamic_img_size)"),
                ("deit_tiny_patch16_224", "DeiT (dynamic_img_size)")]

TORCHVISION = [
    ("alexnet", "AlexNet"), ("convnext_tiny", "ConvNeXt"), ("densenet121", "DenseNet"),
    ("efficientnet_b0", "EfficientNet"),
    ("efficientnet_v2_s", "EfficientNetV2"), ("googlenet", "GoogLeNet"), ("inception_v3", "Inception"),
    ("maxvit_t", "MaxViT"), ("mnasnet0_5", "MnasNet"), ("mobilenet_v2", "MobileNetV2"),
    ("mobilenet_v3_small", "MobileNetV3"), ("regnet_x_400mf", "RegNet"), ("regnet_y_400mf", "RegNet"),
    ("resnet18", "ResNet"), ("resnext50_32x4d", "ResNeXt"), ("shufflenet_v2_x0_5", "ShuffleNetV2"),
    ("squeezenet1_0", "SqueezeNet"), ("swin_t", "Swin"), ("swin_v2_t", "SwinV2"), ("vgg11", "VGG"),
    ("vit_b_16", "ViT"), ("wide_resnet50_2", "WideResNet"),
]
TV_SEG = [("fcn_resnet50", "FCN"), ("deeplabv3_mobilenet_v3_large", "DeepLabV3"),
          ("lraspp_mobilenet_v3_large", "LR-ASPP")]
HF = [("ResNetConfig", "ResNet"), ("ConvNextConfig", "ConvNeXt"), ("ConvNextV2Config", "ConvNeXtV2"),
      ("ViTConfig", "ViT"), ("DeiTConfig", "DeiT"), ("BeitConfig", "BEiT"), ("SwinConfig", "Swin"),
      ("Swinv2Config", "SwinV2"), ("SegformerConfig", "SegFormer"), ("MobileViTConfig", "MobileViT"),
      ("MobileNetV2Config", "MobileNetV2"), ("EfficientNetConfig", "EfficientNet"), ("RegNetConfig", "RegNet"),
      ("PoolFormerConfig", "PoolFormer"), ("Dinov2Config", "DINOv2"), ("LevitConfig", "LeViT"), ("CvtConfig", "CvT"),
      ("BitConfig", "BiT"), ("FocalNetConfig", "FocalNet"), ("PvtV2Config", "PVTv2"), ("HieraConfig", "Hiera"),
      ("Data2VecVisionConfig", "Data2Vec"), ("MobileNetV1Config", "MobileNetV1"), ("GLPNConfig", "GLPN")]
SMP = ["Unet", "UnetPlusPlus", "FPN", "DeepLabV3", "DeepLabV3Plus", "PSPNet", "Linknet", "PAN", "MAnet", "UPerNet"]
MONAI = [("UNet2d", "UNet"), ("UNet3d", "UNet"), ("BasicUNet2d", "BasicUNet"), ("BasicUNet3d", "BasicUNet"),
         ("SegResNet2d", "SegResNet"), ("SegResNet3d", "SegResNet"), ("UNETR3d", "UNETR"),
         ("AttentionUnet2d", "AttentionUnet"), ("DynUNet2d", "DynUNet"), ("VNet3d", "VNet"),
         ("HighResNet2d", "HighResNet"), ("DenseNet121_2d", "MONAI DenseNet"), ("SwinUNETR2d", "SwinUNETR")]
DIFFUSERS = [("UNet2DModel", "diffusers UNet2D"), ("AutoencoderKL", "diffusers VAE")]


# a quick, varied subset for CI: fx-traced and ATen-path models from every library
CI_SET = ["timm/resnet18", "timm/mobilenetv3_small_100", "timm/efficientnet_b0", "timm/convnext_atto",
          "timm/regnetx_002", "timm/repvgg_a0", "timm/dla34", "timm/vgg11", "timm/cspresnet50", "timm/ghostnet_100",
          "torchvision/resnet18", "torchvision/mobilenet_v2", "torchvision/squeezenet1_0",
          "torchvision/shufflenet_v2_x0_5", "torchvision/seg/lraspp_mobilenet_v3_large", "smp/Unet", "smp/FPN",
          "smp/Linknet", "monai/UNet2d", "monai/SegResNet2d", "hf/ResNet", "hf/MobileNetV2"]


def zoo() -> list[dict]:
    out = [{"id": f"timm/{n}", "family": f, "lib": "timm", "name": n, "shape": "N,3,H,W"} for n, f in TIMM]
    out += [{"id": f"timm/{n}@dyn", "family": f, "lib": "timm", "name": n, "shape": "N,3,H,W", "dynamic": True}
            for n, f in TIMM_DYNAMIC]
    out += [{"id": f"torchvision/{n}", "family": f, "lib": "torchvision", "name": n, "shape": "N,3,H,W"}
            for n, f in TORCHVISION]
    out += [{"id": f"torchvision/seg/{n}", "family": f, "lib": "torchvision", "name": n, "shape": "N,3,H,W",
             "seg": True} for n, f in TV_SEG]
    out += [{"id": f"hf/{n.removesuffix('Config')}", "family": f"HF {f}", "lib": "hf", "name": n, "shape": "N,3,H,W"}
            for n, f in HF]
    out += [{"id": f"smp/{n}", "family": f"smp {n}", "lib": "smp", "name": n, "shape": "N,3,H,W"} for n in SMP]
    out += [{"id": f"monai/{n}", "family": f, "lib": "monai", "name": n,
             "shape": "N,1,D,H,W" if n.endswith("3d") else "N,1,H,W"} for n, f in MONAI]
    out += [{"id": f"diffusers/{n}", "family": f, "lib": "diffusers", "name": n, "shape": "N,3,H,W"}
            for n, f in DIFFUSERS]
    # round-robin over the libraries, so that a partial run covers all of them
    by_lib: dict[str, list[dict]] = {}
    for e in out:
        by_lib.setdefault(e["lib"], []).append(e)
    mixed: list[dict] = []
    while any(by_lib.values()):
        for lib in list(by_lib):
            if by_lib[lib]:
                mixed.append(by_lib[lib].pop(0))
    for k, e in enumerate(mixed):
        e["baseline"] = k % BASELINE_EVERY == 0
    return mixed


# ---- building -----------------------------------------------------------------------------------

def build(entry: dict):
    from torch import nn

    lib, name = entry["lib"], entry["name"]
    if lib == "timm":
        import timm

        kw = {"dynamic_img_size": True} if entry.get("dynamic") else {}
        return timm.create_model(name, pretrained=False, **kw)
    if lib == "torchvision":
        import torchvision

        if entry.get("seg"):
            fn = getattr(torchvision.models.segmentation, name)
            return fn(weights=None, weights_backbone=None, aux_loss=False)
        return torchvision.models.get_model(name, weights=None)
    if lib == "hf":
        import transformers

        cfg = getattr(transformers, name)()
        return transformers.AutoModel.from_config(cfg)
    if lib == "smp":
        import segmentation_models_pytorch as smp

        return getattr(smp, name)(encoder_name="resnet18", encoder_weights=None, classes=2)
    if lib == "monai":
        from monai import networks as mn

        nets = mn.nets
        d = 3 if name.endswith("3d") else 2
        if name.startswith("UNet"):
            return nets.UNet(d, 1, 2, channels=(8, 16, 32, 64), strides=(2, 2, 2))
        if name.startswith("BasicUNet"):
            return nets.BasicUNet(d, 1, 2, features=(8, 8, 16, 32, 64, 8))
        if name.startswith("SegResNet"):
            return nets.SegResNet(d, init_filters=8, in_channels=1, out_channels=2)
        if name.startswith("UNETR"):
            return nets.UNETR(1, 2, img_size=(64, 64, 64), feature_size=8, hidden_size=96, mlp_dim=192, num_heads=4)
        if name.startswith("AttentionUnet"):
            return nets.AttentionUnet(d, 1, 2, channels=(8, 16, 32), strides=(2, 2))
        if name.startswith("DynUNet"):
            return nets.DynUNet(d, 1, 2, kernel_size=[3, 3, 3], strides=[1, 2, 2], upsample_kernel_size=[2, 2])
        if name.startswith("VNet"):
            return nets.VNet(d, 1, 2)
        if name.startswith("HighResNet"):
            return nets.HighResNet(d, 1, 2)
        if name.startswith("DenseNet121"):
            return nets.DenseNet121(d, 1, 2)
        if name.startswith("SwinUNETR"):
            return nets.SwinUNETR(in_channels=1, out_channels=2, spatial_dims=2, feature_size=12)
    if lib == "diffusers":
        import diffusers

        if name == "UNet2DModel":
            inner = diffusers.UNet2DModel(sample_size=32, in_channels=3, out_channels=3, layers_per_block=1,
                                          block_out_channels=(32, 64), norm_num_groups=8,
                                          down_block_types=("DownBlock2D", "AttnDownBlock2D"),
                                          up_block_types=("AttnUpBlock2D", "UpBlock2D"))

            class UNetAtStep(nn.Module):
                """The diffusers UNet at timestep 10 (arts checks tensor inputs; the step is a constant)."""

                def __init__(self) -> None:
                    super().__init__()
                    self.unet = inner

                def forward(self, x):
                    return self.unet(x, 10).sample

            return UNetAtStep()
        if name == "AutoencoderKL":
            inner = diffusers.AutoencoderKL(in_channels=3, out_channels=3, block_out_channels=(32, 64),
                                            down_block_types=("DownEncoderBlock2D",) * 2,
                                            up_block_types=("UpDecoderBlock2D",) * 2, norm_num_groups=8,
                                            latent_channels=4)

            class VAE(nn.Module):
                """The VAE's reconstruction from the mode of its posterior."""

                def __init__(self) -> None:
                    super().__init__()
                    self.vae = inner

                def forward(self, x):
                    return self.vae(x, sample_posterior=False).sample

            return VAE()
    raise ValueError(f"unknown zoo entry {entry['id']}")


# ---- one model ----------------------------------------------------------------------------------

class Budget(BaseException):
    """Out of time (a BaseException, so that no ``except Exception`` on the way swallows it)."""


def _alarm(seconds: float):
    def handler(signum, frame):  # noqa: ARG001
        raise Budget(f"over {seconds:.0f} s")
    signal.signal(signal.SIGALRM, handler)
    signal.setitimer(signal.ITIMER_REAL, seconds)


def _disarm() -> None:
    signal.setitimer(signal.ITIMER_REAL, 0)


SMALL_GRID = False  # --ci: a coarser grid (squares 1..12, 6 larger sizes, 3 random pairs)


def points(spatial: int, seed: int = 0) -> list[tuple[int, ...]]:
    rng = random.Random(seed)
    if SMALL_GRID:
        sq = list(range(1, 13)) + [16, 24, 32, 64, 128, 224]
        pts = [(s,) * spatial for s in sq]
        pts += [tuple(rng.randint(1, 128) for _ in range(spatial)) for _ in range(3)]
        return list(dict.fromkeys(pts))
    if spatial == 3:
        sq = list(range(1, 13)) + [16, 20, 24, 32, 48, 64, 96, 128]
        pts = [(s, s, s) for s in sq]
        pts += [tuple(rng.randint(1, 128) for _ in range(3)) for _ in range(4)]
    else:
        sq = list(range(1, 17)) + [20, 24, 28, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256]
        pts = [(s, s) for s in sq]
        pts += [(rng.randint(1, 256), rng.randint(1, 256)) for _ in range(6)]
        pts += [(rng.randint(1, 64), rng.randint(1, 64)) for _ in range(4)]
    return list(dict.fromkeys(pts))


def _runs(model, shape: tuple) -> bool:
    import torch

    from arts.frontends.confirm import kept_attributes

    try:  # each size on the fresh model: a forward may change its attributes (HF Swin's window)
        with torch.no_grad(), kept_attributes(model):
            model(torch.zeros(shape, device=next(model.parameters()).device))
        return True
    except Budget:
        raise
    except Exception:  # noqa: BLE001 - any error at this size: torch rejects it
        return False


def blocker_of(report, G) -> list[str]:
    out = []
    said = {d.node: d.message for d in report.diagnostics if d.code == "unsupported" and d.node}
    for n in report.unknown_nodes:
        op = G.nodes[n].get("op") if n in G else None
        params = getattr(op, "params", {}) or {}
        call = params.get("call") or n
        reason = str(params.get("reason", ""))
        if not reason and n in said:  # a node the checker could not decide (a layout, a condition)
            msg = said[n]
            inner = msg[msg.find("(") + 1:msg.rfind(")")] if "(" in msg else msg
            out.append(f"{str(call).rstrip('_0123456789')}: {inner.strip()[:70]}")
            continue
        out.append(_blocker_name(str(call), reason))
    return out


def _blocker_name(call: str, reason: str) -> str:
    if call == "forward":
        return "capture failed: " + reason.split(";")[-1].strip()[:80]
    if "no shape rule for" in reason or "no catalogue rule" in reason or "no shape rule" in reason:
        return call.split(" (")[0] if call.startswith("aten.") else reason.split(":")[0][:80]
    return f"{call.split(' (')[0]}: {reason.split(':')[-1].strip()[:60]}"


TRUTH_DIR: Path | None = None


def truth_file(i: str) -> Path | None:
    return TRUTH_DIR / (i.replace("/", "__") + ".truth.json") if TRUTH_DIR else None


def run_one(entry: dict) -> dict:
    import copy
    import warnings

    import torch

    warnings.simplefilter("ignore")
    torch.manual_seed(0)
    res: dict = {"id": entry["id"], "family": entry["family"], "lib": entry["lib"]}
    t = time.perf_counter()
    model = build(entry).eval()
    res["build_s"] = round(time.perf_counter() - t, 2)
    shape = entry["shape"]
    items = shape.split(",")
    chans = int(items[1])
    spatial = len(items) - 2
    # ---- arts
    from arts.frontends.torch_fx import analyse

    t = time.perf_counter()
    report = G = None
    try:
        _alarm(ARTS_BUDGET_S)
        report, G = analyse(model, shape)
        _disarm()
        res["arts"] = "done"
    except Budget as e:
        res["arts"] = f"timeout ({e})"
    except Exception as e:  # noqa: BLE001
        _disarm()
        res["arts"] = f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"[:200]
    finally:
        _disarm()
    res["arts_s"] = round(time.perf_counter() - t, 3)
    region = ()
    if report is not None:
        res["status"] = report.status
        res["domain"] = report.domain[:300]
        capture = next((d.message for d in report.diagnostics if d.code == "captured-region"), "")
        res["path"] = ("aten" if "ATen graph" in capture else "fx+branches" if "branch(es) on sizes" in capture
                       else "none" if any(n == "forward" for n in report.unknown_nodes) else "fx")
        region = tuple(getattr(report, "region", ()) or ())
        res["region"] = [str(c) for c in region]
        res["blockers"] = blocker_of(report, G)
        # a check stopped at its deadline has not seen the nodes after it: not counted as translated
        res["unchecked"] = len(getattr(report, "unchecked", ()) or ())
        res["translated"] = not report.unknown_nodes and not res["unchecked"]
        res["capture_note"] = next((d.message for d in report.diagnostics if d.code == "captured-region"), "")[:400]
    else:
        res["path"] = "error"
        res["translated"] = False
        res["blockers"] = [f"arts: {res['arts'][:80]}"]
    # ---- baseline: one torch.export with dynamic spatial sizes (cached with the truth)
    tfile = truth_file(entry["id"])
    truth_cache = json.loads(tfile.read_text()) if tfile and tfile.exists() else {}
    if "export" not in truth_cache and entry.get("baseline", True) and not SMALL_GRID:
        from torch.export import Dim, export

        ex = torch.randn(2, chans, *([64] * spatial)) if spatial == 3 else torch.randn(2, chans, 224, 224)
        t = time.perf_counter()
        try:
            _alarm(EXPORT_BUDGET_S)
            export(model, (ex,), dynamic_shapes=({d: Dim.AUTO for d in range(2, 2 + spatial)},), strict=False)
            truth_cache["export"] = "ok"
        except Budget as e:
            truth_cache["export"] = f"timeout ({e})"
        except Exception as e:  # noqa: BLE001
            truth_cache["export"] = f"{type(e).__name__}"[:80]
        finally:
            _disarm()
        truth_cache["export_s"] = round(time.perf_counter() - t, 3)
    res["export"], res["export_s"] = truth_cache.get("export", "not run"), truth_cache.get("export_s")
    # ---- truth on meta (cached), answers of arts, CPU confirmation of disagreements (cached)
    cpu = copy.deepcopy(model)
    meta = model.to("meta")
    names = [s.strip() for s in items]
    pts = points(spatial)
    metas: dict = truth_cache.setdefault("meta", {})
    cpus: dict = truth_cache.setdefault("cpu", {})
    if "meta_ok" not in truth_cache:
        probe = (2, chans) + (64,) * spatial
        truth_cache["meta_ok"] = _runs(meta, probe) or not _runs(cpu, probe)
    if not truth_cache["meta_ok"]:
        # meta kernels missing for some op: CPU is the truth, at the sizes it is quick at
        res["truth_note"] = "meta cannot run this model; CPU truth at sizes <= 96 only"
        meta = cpu
        pts = [p for p in pts if max(p) <= CPU_CONFIRM_MAX]
    grid = []
    start = time.perf_counter()
    try:
        _alarm(TRUTH_BUDGET_S)
        for p in pts:
            size = (2, chans) + p
            key = ",".join(map(str, p))
            if key not in metas:
                metas[key] = _runs(meta, size)
            truth = metas[key]
            answer: object = "unknown"
            if report is not None:
                kw = {names[0]: 2, **{names[2 + i]: v for i, v in enumerate(p)}}
                try:
                    answer = bool(report.accepts(**kw))
                except (ValueError, Exception):  # noqa: BLE001 - unknown there
                    answer = "unknown"
            confirmed = False
            if answer != "unknown" and answer != truth and max(p) <= CPU_CONFIRM_MAX:
                if key not in cpus:
                    cpus[key] = _runs(cpu, size)
                truth, confirmed = cpus[key], True
            grid.append((list(p), truth, answer, confirmed))
    except Budget:
        res["truth_note"] = f"truth stopped after {len(grid)} of {len(pts)} points ({TRUTH_BUDGET_S} s)"
    finally:
        _disarm()
    if tfile:
        tfile.write_text(json.dumps(truth_cache))
    res["truth_s"] = round(time.perf_counter() - start, 1)
    res["points"] = len(grid)
    res["torch_accepts"] = sum(1 for g in grid if g[1])
    answered = [g for g in grid if g[2] != "unknown"]
    res["answered"] = len(answered)
    res["unsound"] = [g[0] for g in answered if g[2] is True and g[1] is False]
    res["false_alarm"] = [g[0] for g in answered if g[2] is False and g[1] is True]
    res["unsound_confirmed"] = sum(1 for g in answered if g[2] is True and g[1] is False and g[3])
    res["exact"] = bool(grid) and len(answered) == len(grid) and not res["unsound"] and not res["false_alarm"]
    res["exact_in_region"] = bool(answered) and not res["unsound"] and not res["false_alarm"] and bool(
        region) and res["translated"]
    return res


# ---- the driver ---------------------------------------------------------------------------------

def worker(ids: list[str], cache: Path) -> None:
    by_id = {e["id"]: e for e in zoo()}
    for i in ids:
        out = _cached(cache, i)
        try:
            res = run_one(by_id[i])
        except Exception as e:  # noqa: BLE001 - the model could not be built or run at all
            res = {"id": i, "family": by_id[i]["family"], "lib": by_id[i]["lib"], "path": "build",
                   "arts": f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"[:200],
                   "skipped": True, "trace": traceback.format_exc()[-600:]}
        out.write_text(json.dumps(res, indent=1))
        print(f"  {i}: {res.get('path')} {res.get('status', res.get('arts'))} "
              f"arts {res.get('arts_s', '-')} s, export {res.get('export_s', '-')} s", flush=True)


def _cached(cache: Path, i: str) -> Path:
    return cache / (i.replace("/", "__") + ".json")


def drive(ids: list[str], cache: Path) -> None:
    """Run the models not cached yet in a worker; a worker that dies, or makes no progress for
    WORKER_TIMEOUT_S, is ended and the model it was on is recorded as a crash."""
    todo = [i for i in ids if not _cached(cache, i).exists()]
    by_id = {e["id"]: e for e in zoo()}
    while todo:
        cmd = [sys.executable, __file__, "--worker", ",".join(todo), "--cache", str(cache)]
        proc = subprocess.Popen(cmd + (["--ci"] if SMALL_GRID else []))
        done = 0
        last = time.monotonic()
        while proc.poll() is None:
            time.sleep(2)
            now_done = sum(1 for i in todo if _cached(cache, i).exists())
            if now_done != done:
                done, last = now_done, time.monotonic()
            elif time.monotonic() - last > WORKER_TIMEOUT_S:
                proc.kill()
                proc.wait()
        left = [i for i in todo if not _cached(cache, i).exists()]
        if left:
            e = by_id[left[0]]
            _cached(cache, left[0]).write_text(json.dumps(
                {"id": left[0], "family": e["family"], "lib": e["lib"], "path": "crash", "translated": False,
                 "arts": "worker died or hung", "blockers": ["worker died or hung"]}))
            left = left[1:]
        todo = left


def summary(ids: list[str], cache: Path, table: Path | None, command: str) -> int:
    """Print the figures (and write the table); returns the number of models with an unsound answer."""
    rows = []
    for i in ids:
        f = cache / (i.replace("/", "__") + ".json")
        if f.exists():
            rows.append(json.loads(f.read_text()))
    built = [r for r in rows if not r.get("skipped")]
    fams = {r["family"] for r in built}
    n = len(built)
    if not n:
        print("no results yet")
        return 0

    def pct(k: int) -> str:
        return f"{k}/{n} ({100 * k / n:.0f}%)"

    translated = sum(1 for r in built if r.get("translated"))
    exact = sum(1 for r in built if r.get("exact"))
    exact_region = sum(1 for r in built if r.get("exact_in_region"))
    unsound = [r["id"] for r in built if r.get("unsound")]
    unsound_cpu = sum(r.get("unsound_confirmed", 0) for r in built)
    alarms = [r["id"] for r in built if r.get("false_alarm")]
    paths = Counter(r.get("path") for r in built)
    ratios = [r["export_s"] / r["arts_s"] for r in built if r.get("export") == "ok" and r.get("arts") == "done"
              and r.get("arts_s") and r.get("export_s")]
    arts_t = [r["arts_s"] for r in built if r.get("arts") == "done"]
    exp_t = [r["export_s"] for r in built if r.get("export") == "ok"]
    slow = max(built, key=lambda r: r.get("arts_s", 0))
    blockers = Counter()
    for r in built:
        for b in dict.fromkeys(r.get("blockers", [])):
            blockers[b] += 1
    lines = [
        f"models: {len(rows)} of the {len(ids)} selected have run; {n} built ({len(rows) - n} could not be built), "
        f"from {len(fams)} families",
        "capture path: " + ", ".join(f"{k} {v}" for k, v in sorted(paths.items(), key=lambda kv: -kv[1])),
        f"translated with no unknown node: {pct(translated)}",
        f"accepted set exactly torch's on the whole grid: {pct(exact)}",
        f"exact inside the captured region (unknown outside it): {pct(exact_region)}",
        f"unsound answers: {len(unsound)} model(s) {unsound[:8]} ({unsound_cpu} point(s) confirmed on CPU)",
        f"false alarms (arts rejects a size torch runs): {len(alarms)} model(s) {alarms[:8]}",
        (f"median time: arts {statistics.median(arts_t):.2f} s, torch.export (dynamic H, W) "
         f"{statistics.median(exp_t):.2f} s (on {len(exp_t)} models); median export/arts ratio "
         f"{statistics.median(ratios):.1f}x"
         if arts_t and exp_t and ratios else "median time: n/a"),
        f"slowest model (arts): {slow['id']} {slow.get('arts_s', 0):.1f} s ({slow.get('arts', '')[:40]})",
        "top blockers (models blocked):",
    ]
    lines += [f"  {k:4d}  {b}" for b, k in blockers.most_common(25)]
    print("\n".join(lines))
    if table is None:
        return len(unsound)
    md = ["# The model zoo", "",
          "Generated by `benchmarks/bench_zoo.py` (do not edit by hand). The command that produced it:", "",
          f"    {command}", "",
          "Columns: *path* `fx` (torch.fx traced it), `fx+branches` (fx traced it through its branches on sizes: "
          "decided inside the branches taken, or exact where the other way raises; traced again at sizes outside "
          "them until the traces cover every size, at most 9), `aten` (neither; torch.export's ATen graph was "
          "checked inside its guards, exported again outside them the same way, unknown where no export "
          "covers), `none` (nothing captured it); "
          "*translated*: no unsupported node, and every node checked within the deadline; "
          "*exact*: arts' answer is torch's at every grid point (N=2, squares 1..16 then 16 sizes to 256, random "
          "pairs; cubes for 3-d); *region*: exact at every point inside the captured region; *unsound* / *alarms*: "
          "grid points where arts accepts a size torch rejects / rejects a size torch runs "
          "(disagreements re-run on CPU up to size 96). Times are wall-clock on a shared 2-core machine.", "",
          "## Environment", "",
          "The zoo needs torch 2.14.1 with torchvision 0.29.1 (the suite's torch 2.13.0 cannot load torchvision 0.29):",
          "", "    python -m venv /work/venv-zoo",
          "    /work/venv-zoo/bin/pip install torch==2.14.1 torchvision==0.29.1",
          "    /work/venv-zoo/bin/pip install timm segmentation-models-pytorch monai transformers diffusers einops \\",
          "        sympy networkx pyyaml hypothesis pytest",
          "    /work/venv-zoo/bin/pip install -e . --no-deps",
          "    HF_HUB_OFFLINE=1 /work/venv-zoo/bin/python benchmarks/bench_zoo.py --cache /work/zoo-cache "
          "--table docs/zoo.md", "",
          "The per-model results behind this page (with the torch truth of each, `*.truth.json`) are committed "
          "in `results/zoo/`; `--summary --cache results/zoo` recomputes the figures from them. "
          "Runs are resumable (one cached JSON file per model) and can be split: `--only timm`, `--limit 10`, "
          "`--models timm/resnet18,smp/FPN`; `--force` re-runs arts only, reusing the cached truth. "
          "`--ci` runs the 22 models of `CI_SET` on a coarse grid and exits 1 on an unsound answer "
          "(give it its own `--cache`).", "",
          "## Summary", "", "```", *lines, "```", "",
          "## Per model", "",
          "| model | family | path | status | translated | exact | region | unsound | alarms | arts s | export s "
          "| first blocker |",
          "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        first = (r.get("blockers") or [""])[0].replace("|", "\\|")[:70]
        md.append(f"| {r['id']} | {r['family']} | {r.get('path', '')} | {r.get('status', r.get('arts', ''))[:30]} | "
                  f"{'yes' if r.get('translated') else 'no'} | {'yes' if r.get('exact') else 'no'} | "
                  f"{'yes' if r.get('exact_in_region') else '-'} | {len(r.get('unsound', []) or [])} | "
                  f"{len(r.get('false_alarm', []) or [])} | {r.get('arts_s', '')} | {r.get('export_s', '')} | "
                  f"{first} |")
    table.write_text("\n".join(md) + "\n")
    print(f"table written to {table}")
    return len(unsound)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", help="one library: timm, torchvision, hf, smp, monai, diffusers")
    ap.add_argument("--models", help="comma-separated model ids")
    ap.add_argument("--limit", type=int, help="at most this many models (after --only)")
    ap.add_argument("--force", action="store_true", help="run arts again even if cached (the truth stays cached)")
    ap.add_argument("--force-truth", action="store_true", help="also compute the truth and the baseline again")
    ap.add_argument("--cache", default="/tmp/arts-zoo-cache")
    ap.add_argument("--table", default=None, help="write the per-model table here (docs/zoo.md)")
    ap.add_argument("--summary", action="store_true", help="only print the summary from the cache")
    ap.add_argument("--ci", action="store_true",
                    help=f"the {len(CI_SET)} models of CI_SET; exit 1 on an unsound answer")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    cache = Path(args.cache)
    cache.mkdir(parents=True, exist_ok=True)
    global TRUTH_DIR, SMALL_GRID
    TRUTH_DIR = cache
    SMALL_GRID = bool(args.ci)
    if args.worker:
        worker(args.worker.split(","), cache)
        return 0
    entries = zoo()
    if args.only:
        entries = [e for e in entries if e["lib"] == args.only]
    if args.models or args.ci:
        want = set(args.models.split(",") if args.models else CI_SET)
        entries = [e for e in entries if e["id"] in want]
    if args.limit:
        entries = entries[:args.limit]
    ids = [e["id"] for e in entries]
    if args.force:
        for i in ids:
            _cached(cache, i).unlink(missing_ok=True)
            if args.force_truth:
                (cache / (i.replace("/", "__") + ".truth.json")).unlink(missing_ok=True)
    if not args.summary:
        drive(ids, cache)
    shown = [a for a in (argv or sys.argv[1:]) if a not in ("--force", "--force-truth", "--summary")]
    command = "python benchmarks/bench_zoo.py " + " ".join(shown)
    unsound = summary(ids, cache, Path(args.table) if args.table else None, command.strip())
    return 1 if args.ci and unsound else 0


if __name__ == "__main__":
    sys.exit(main())
