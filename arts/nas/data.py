"""Datasets for search and retraining, held in memory as tensors (no downloads at run time).

``DATA`` strings (``--dataset``):

* ``digits`` (default): scikit-learn's embedded handwritten digits (1797 images, 8x8, 10 classes),
  upscaled to ``image_size`` x ``image_size`` (default 16) by nearest-neighbour repetition, one
  channel, standardised.  ``digits:32`` picks the size (a multiple of 8, or any size: bilinear).
* ``cifar10:DIR``: the standard CIFAR-10 python batches (``data_batch_1`` ... ``data_batch_5``,
  ``test_batch``; DIR may also be the folder holding ``cifar-10-batches-py``).  The batches are
  read with an unpickler that only admits the numpy array types, never arbitrary code.
* ``synthetic``: random class-dependent tensors (3 channels, 16x16 unless ``synthetic:SIZE``), for
  smoke tests; learnable, so accuracy rises above chance.

Splits: the test set is the dataset's own (CIFAR-10's ``test_batch``) or a fixed fraction; the
validation set (the controller's reward) is carved from the training data.  Both are drawn with
``split_seed`` (default 0), *independent of the run's seed*, so every run of an experiment is
scored on the same images.
"""

from __future__ import annotations

import io
import os
import pickle
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import torch

from arts.errors import InputError

CIFAR_FILES = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
CIFAR_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR_STD = (0.2470, 0.2435, 0.2616)


@dataclass
class Split:
    x: torch.Tensor  # float (N, C, H, W), or uint8 for CIFAR (normalised per batch)
    y: torch.Tensor  # long (N,)

    def __len__(self) -> int:
        return int(self.y.shape[0])


@dataclass
class Dataset:
    name: str
    train: Split
    val: Split
    test: Split
    channels: int
    height: int
    width: int
    num_classes: int
    mean: tuple[float, ...] | None = None  # for uint8 storage
    std: tuple[float, ...] | None = None
    augment: bool = False

    def describe(self) -> str:
        return (f"{self.name}: {len(self.train)} train / {len(self.val)} val / {len(self.test)} test images, "
                f"{self.channels}x{self.height}x{self.width}, {self.num_classes} classes")

    def to(self, device: Any) -> Dataset:
        for s in (self.train, self.val, self.test):
            s.x = s.x.to(device)
            s.y = s.y.to(device)
        return self

    def prepare(self, x: torch.Tensor, augment: bool = False, generator: torch.Generator | None = None) -> torch.Tensor:
        """A batch as float input: uint8 normalised, and (``augment`` and the dataset augments)
        a random crop (4-pixel zero padding) and horizontal flip drawn per image."""
        if x.dtype == torch.uint8:
            assert self.mean is not None and self.std is not None
            mean = torch.tensor(self.mean, device=x.device).view(1, -1, 1, 1)
            std = torch.tensor(self.std, device=x.device).view(1, -1, 1, 1)
            x = (x.float() / 255.0 - mean) / std
        if augment and self.augment:
            x = crop_flip(x, generator)
        return x

    def batches(self, split: str, batch_size: int, shuffle: bool = False, generator: torch.Generator | None = None,
                drop_last: bool = False, augment: bool | None = None) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """Mini-batches of ``split``; ``augment`` defaults to training batches only."""
        s: Split = getattr(self, split)
        aug = split == "train" if augment is None else augment
        n = len(s)
        if shuffle:
            idx = torch.randperm(n, generator=generator).to(s.y.device)
        else:
            idx = torch.arange(n, device=s.y.device)
        stop = n - n % batch_size if drop_last and n >= batch_size else n
        for i in range(0, stop, batch_size):
            j = idx[i:i + batch_size]
            if drop_last and len(j) < 2:
                break
            yield self.prepare(s.x[j], aug, generator), s.y[j]

    def sample_batch(self, split: str, batch_size: int, generator: torch.Generator,
                     augment: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
        """A batch of ``batch_size`` distinct images of ``split`` (all of it when smaller)."""
        s: Split = getattr(self, split)
        j = torch.randperm(len(s), generator=generator)[:min(batch_size, len(s))].to(s.y.device)
        return self.prepare(s.x[j], augment, generator), s.y[j]


def crop_flip(x: torch.Tensor, generator: torch.Generator | None, pad: int = 4) -> torch.Tensor:
    """Per image: a random ``H x W`` crop of the zero-padded image and a horizontal flip with
    probability 1/2 (torchvision's ``RandomCrop(padding=4)`` + ``RandomHorizontalFlip``, batched)."""
    n, _, h, w = x.shape
    padded = torch.nn.functional.pad(x, (pad, pad, pad, pad))
    dy = torch.randint(0, 2 * pad + 1, (n,), generator=generator).to(x.device)
    dx = torch.randint(0, 2 * pad + 1, (n,), generator=generator).to(x.device)
    flip = (torch.rand(n, generator=generator) < 0.5).to(x.device)
    rows = dy[:, None] + torch.arange(h, device=x.device)[None, :]  # (n, h)
    cols = torch.arange(w, device=x.device)[None, :].expand(n, w)
    cols = torch.where(flip[:, None], w - 1 - cols, cols) + dx[:, None]  # (n, w)
    b = torch.arange(n, device=x.device)[:, None, None]
    out = padded.permute(0, 2, 3, 1)[b, rows[:, :, None], cols[:, None, :]]  # (n, h, w, C)
    return out.permute(0, 3, 1, 2).contiguous()


def _split_indices(n: int, fractions: tuple[float, ...], seed: int) -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    perm = torch.randperm(n, generator=g)
    out, start = [], 0
    for f in fractions:
        k = round(f * n)
        out.append(perm[start:start + k])
        start += k
    out.append(perm[start:])
    return out


def _standardise(x: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:
    return (x - ref.mean()) / (ref.std() + 1e-8)


def load_digits_data(image_size: int = 16, split_seed: int = 0, val_fraction: float = 0.2,
                     test_fraction: float = 0.2) -> Dataset:
    if image_size < 1 or image_size > 256:
        raise InputError(f"digits image size must be 1..256, got {image_size}")
    images, target = _digits_arrays()
    x = images.to(torch.float32)[:, None] / 16.0  # (1797, 1, 8, 8)
    y = target.to(torch.long)
    if image_size != 8:
        if image_size % 8 == 0:
            x = torch.nn.functional.interpolate(x, scale_factor=image_size // 8, mode="nearest")
        else:
            x = torch.nn.functional.interpolate(x, size=(image_size, image_size), mode="bilinear",
                                                align_corners=False)
    test_i, val_i, train_i = _split_indices(len(y), (test_fraction, val_fraction), split_seed)
    ref = x[train_i]
    x = _standardise(x, ref)
    return Dataset(f"digits:{image_size}", Split(x[train_i], y[train_i]), Split(x[val_i], y[val_i]),
                   Split(x[test_i], y[test_i]), 1, image_size, image_size, 10)


#: A copy of the digits as a torch file (``{"images": uint8 (1797, 8, 8), "target": (1797,)}``), for
#: machines without scikit-learn (``benchmarks/gpu_prepare.sh`` writes one for the GPU check).
DIGITS_FILE_ENV = "ARTS_DIGITS_FILE"


def _digits_arrays() -> tuple[torch.Tensor, torch.Tensor]:
    path = os.environ.get(DIGITS_FILE_ENV)
    if path:
        try:
            d = torch.load(path, map_location="cpu", weights_only=True)
            return d["images"], d["target"]
        except Exception as e:  # noqa: BLE001 - a missing, truncated or foreign file
            raise InputError(f"cannot read the digits copy ({type(e).__name__}: {e})", f"{DIGITS_FILE_ENV}={path}") \
                from None
    try:
        from sklearn.datasets import load_digits
    except ImportError:  # pragma: no cover - declared dependency
        raise InputError("the digits dataset needs scikit-learn (pip install scikit-learn), or a copy named by "
                         f"{DIGITS_FILE_ENV}") from None
    d = load_digits()
    return torch.tensor(d.images.astype("uint8")), torch.tensor(d.target)


def save_digits_copy(path: str) -> None:
    """Write the digits as a torch file that :data:`DIGITS_FILE_ENV` can name (no scikit-learn needed)."""
    images, target = _digits_arrays()
    torch.save({"images": images.to(torch.uint8), "target": target.to(torch.long)}, path)


def load_synthetic(image_size: int = 16, split_seed: int = 0, n_train: int = 256, n_val: int = 64,
                   n_test: int = 64, channels: int = 3, num_classes: int = 10) -> Dataset:
    """Random images whose class shifts the mean of one channel-and-quadrant pattern."""
    if image_size < 1 or image_size > 256:
        raise InputError(f"synthetic image size must be 1..256, got {image_size}")
    g = torch.Generator().manual_seed(1000 + split_seed)
    n = n_train + n_val + n_test
    y = torch.randint(0, num_classes, (n,), generator=g)
    protos = torch.randn(num_classes, channels, image_size, image_size, generator=g)
    x = 0.8 * protos[y] + torch.randn(n, channels, image_size, image_size, generator=g)
    a, b = n_train, n_train + n_val
    return Dataset(f"synthetic:{image_size}", Split(x[:a], y[:a]), Split(x[a:b], y[a:b]), Split(x[b:], y[b:]),
                   channels, image_size, image_size, num_classes)


class _SafeUnpickler(pickle.Unpickler):
    """Admits what CIFAR-10 batches hold (dicts, lists, bytes, numpy arrays) and nothing else."""

    ALLOWED: frozenset[tuple[str, str]] = frozenset({
               ("numpy", "ndarray"), ("numpy", "dtype"), ("numpy.core.multiarray", "_reconstruct"),
               ("numpy._core.multiarray", "_reconstruct"), ("numpy.core.multiarray", "scalar"),
               ("numpy._core.multiarray", "scalar"), ("_codecs", "encode")})

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in self.ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name}")


def _read_cifar_batch(path: str) -> tuple[Any, Any]:
    import numpy as np

    try:
        with open(path, "rb") as f:
            d = _SafeUnpickler(io.BytesIO(f.read()), encoding="bytes").load()
    except (OSError, pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError) as e:
        raise InputError(f"not a CIFAR-10 python batch ({type(e).__name__}: {e})", path) from None
    if not isinstance(d, dict):
        raise InputError("not a CIFAR-10 python batch (expected a dict with data and labels)", path)
    data = d.get(b"data", d.get("data"))
    labels = d.get(b"labels", d.get("labels"))
    if data is None or labels is None:
        raise InputError("not a CIFAR-10 python batch (no 'data' or 'labels' entry)", path)
    data = np.asarray(data)
    labels = np.asarray(labels)
    if data.ndim != 2 or data.shape[1] != 3072 or data.dtype != np.uint8 or len(labels) != len(data):
        raise InputError(f"not a CIFAR-10 python batch (data {data.shape} {data.dtype}, {len(labels)} labels; "
                         "expected (N, 3072) uint8 and N labels)", path)
    return data, labels


def cifar_folder(folder: str) -> str:
    if not folder:
        raise InputError("cifar10 needs a folder: --dataset cifar10:DIR")
    if not os.path.isdir(folder):
        raise InputError("no such folder (expected the CIFAR-10 python batches data_batch_1..5, test_batch)",
                         folder)
    if not os.path.exists(os.path.join(folder, "data_batch_1")):
        inner = os.path.join(folder, "cifar-10-batches-py")
        if os.path.isdir(inner):
            folder = inner
    missing = [f for f in CIFAR_FILES if not os.path.isfile(os.path.join(folder, f))]
    if missing:
        raise InputError(f"missing CIFAR-10 file(s) {', '.join(missing)} (expected the python batches "
                         "data_batch_1..5 and test_batch, as in cifar-10-python.tar.gz)", folder)
    return folder


def load_cifar10(folder: str, split_seed: int = 0, val_size: int = 5000, max_train: int | None = None,
                 augment: bool = True) -> Dataset:
    import numpy as np

    folder = cifar_folder(folder)
    xs, ys = [], []
    for f in CIFAR_FILES[:5]:
        d, lab = _read_cifar_batch(os.path.join(folder, f))
        xs.append(d)
        ys.append(lab)
    xtr = torch.from_numpy(np.concatenate(xs).reshape(-1, 3, 32, 32).copy())
    ytr = torch.from_numpy(np.concatenate(ys).astype("int64"))
    d, lab = _read_cifar_batch(os.path.join(folder, "test_batch"))
    xte = torch.from_numpy(d.reshape(-1, 3, 32, 32).copy())
    yte = torch.from_numpy(lab.astype("int64"))
    if int(ytr.min()) < 0 or int(ytr.max()) > 9 or (len(yte) and (int(yte.min()) < 0 or int(yte.max()) > 9)):
        raise InputError("CIFAR-10 labels must be 0..9", folder)
    n = len(ytr)
    val_size = min(val_size, max(1, n // 10)) if n < 10 * val_size else val_size
    g = torch.Generator().manual_seed(split_seed)
    perm = torch.randperm(n, generator=g)
    val_i, train_i = perm[:val_size], perm[val_size:]
    if max_train is not None:
        train_i = train_i[:max_train]
    return Dataset(f"cifar10:{folder}", Split(xtr[train_i], ytr[train_i]), Split(xtr[val_i], ytr[val_i]),
                   Split(xte, yte), 3, 32, 32, 10, CIFAR_MEAN, CIFAR_STD, augment)


def load_dataset(spec: str, image_size: int | None = None, split_seed: int = 0,
                 max_train: int | None = None, augment: str = "auto") -> Dataset:
    """Parse a ``--dataset`` string and load it (see the module docstring).  ``augment``: ``auto``
    (CIFAR-10 yes, digits and synthetic no), ``on`` or ``off``."""
    if augment not in ("auto", "on", "off"):
        raise InputError(f"must be auto, on or off, got {augment!r}", "--augment")
    ds = _load_dataset(spec, image_size, split_seed, max_train)
    if augment != "auto":
        ds.augment = augment == "on"
    return ds


def _load_dataset(spec: str, image_size: int | None, split_seed: int, max_train: int | None) -> Dataset:
    if not isinstance(spec, str) or not spec.strip():
        raise InputError("give a dataset: digits, cifar10:DIR or synthetic")
    name, _, arg = spec.strip().partition(":")
    name = name.lower()

    def size(default: int) -> int:
        if arg:
            try:
                s = int(arg)
            except ValueError:
                raise InputError(f"{name}:SIZE needs an integer size, got {arg!r}", "--dataset") from None
            if image_size is not None and image_size != s:
                raise InputError(f"--image-size {image_size} contradicts {spec}", "--dataset")
            return s
        return image_size if image_size is not None else default

    if name == "digits":
        ds = load_digits_data(size(16), split_seed)
    elif name == "synthetic":
        ds = load_synthetic(size(16), split_seed)
    elif name == "cifar10":
        if image_size not in (None, 32):
            raise InputError("CIFAR-10 images are 32x32 (no --image-size)", "--dataset")
        return load_cifar10(arg, split_seed, max_train=max_train)
    else:
        raise InputError(f"unknown dataset {spec!r}; known: digits[:SIZE], cifar10:DIR, synthetic[:SIZE]",
                         "--dataset")
    if max_train is not None:
        ds.train = Split(ds.train.x[:max_train], ds.train.y[:max_train])
    return ds
