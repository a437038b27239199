"""Datasets: the embedded digits, CIFAR-10 python batches (written by the test), synthetic."""

from __future__ import annotations

import os
import pickle

import pytest

torch = pytest.importorskip("torch")
np = pytest.importorskip("numpy")

from arts.errors import InputError
from arts.nas.data import CIFAR_FILES, load_dataset


def test_digits_shapes_and_splits() -> None:
    ds = load_dataset("digits")
    assert (ds.channels, ds.height, ds.width, ds.num_classes) == (1, 16, 16, 10)
    assert ds.train.x.shape[1:] == (1, 16, 16) and ds.train.x.dtype == torch.float32
    assert len(ds.train) + len(ds.val) + len(ds.test) == 1797
    assert (len(ds.val), len(ds.test)) == (359, 359)
    assert abs(float(ds.train.x.mean())) < 1e-3 and abs(float(ds.train.x.std()) - 1) < 1e-3
    assert set(ds.train.y.tolist()) == set(range(10))
    # nearest-neighbour upscaling: every 2x2 block is constant
    x = ds.train.x[0, 0]
    assert torch.equal(x[0::2, 0::2], x[1::2, 1::2])


def test_digits_split_is_fixed_by_the_split_seed() -> None:
    a, b = load_dataset("digits"), load_dataset("digits")
    assert torch.equal(a.test.x, b.test.x) and torch.equal(a.val.y, b.val.y)
    c = load_dataset("digits", split_seed=1)
    assert not torch.equal(a.test.y, c.test.y)


def test_digits_sizes() -> None:
    assert load_dataset("digits:32").train.x.shape[1:] == (1, 32, 32)
    assert load_dataset("digits", image_size=12).train.x.shape[1:] == (1, 12, 12)
    assert load_dataset("digits:8").train.x.shape[1:] == (1, 8, 8)


def test_synthetic() -> None:
    ds = load_dataset("synthetic:8")
    assert ds.train.x.shape == (256, 3, 8, 8) and len(ds.val) == 64 and len(ds.test) == 64
    xb, yb = next(ds.batches("train", 32, shuffle=True, generator=torch.Generator().manual_seed(0)))
    assert xb.shape == (32, 3, 8, 8) and yb.shape == (32,)


def _write_cifar(folder: str, n: int = 20, skip: tuple[str, ...] = ()) -> None:
    rng = np.random.default_rng(0)
    os.makedirs(folder, exist_ok=True)
    for i, name in enumerate(CIFAR_FILES):
        if name in skip:
            continue
        d = {b"batch_label": f"batch {i}".encode(), b"labels": [int(v) for v in rng.integers(0, 10, n)],
             b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
             b"filenames": [f"img{j}.png".encode() for j in range(n)]}
        with open(os.path.join(folder, name), "wb") as f:
            pickle.dump(d, f, protocol=2)


def test_cifar10_python_batches(tmp_path) -> None:
    folder = str(tmp_path / "cifar-10-batches-py")
    _write_cifar(folder)
    for spec in (f"cifar10:{folder}", f"cifar10:{tmp_path}"):  # the batches' folder or its parent
        ds = load_dataset(spec)
        assert (ds.channels, ds.height, ds.width) == (3, 32, 32)
        assert len(ds.train) + len(ds.val) == 100 and len(ds.test) == 20
        assert ds.train.x.dtype == torch.uint8  # stored compactly, normalised per batch
        xb, _ = next(ds.batches("val", 4))
        assert xb.dtype == torch.float32 and xb.shape == (4, 3, 32, 32)
    # row-major CHW layout as documented for CIFAR-10
    with open(os.path.join(folder, "test_batch"), "rb") as f:
        raw = pickle.load(f, encoding="bytes")
    assert torch.equal(ds.test.x[3, 1, 2], torch.from_numpy(raw[b"data"][3, 1024 + 64:1024 + 96]))


def test_cifar10_missing_files_named(tmp_path) -> None:
    _write_cifar(str(tmp_path), skip=("data_batch_3", "test_batch"))
    with pytest.raises(InputError) as e:
        load_dataset(f"cifar10:{tmp_path}")
    msg = str(e.value)
    assert msg.startswith(f"{tmp_path}: missing CIFAR-10 file(s) data_batch_3, test_batch")


def test_cifar10_bad_folder(tmp_path) -> None:
    with pytest.raises(InputError, match="no such folder"):
        load_dataset(f"cifar10:{tmp_path / 'nope'}")
    with pytest.raises(InputError, match="cifar10 needs a folder"):
        load_dataset("cifar10")


def test_cifar10_refuses_other_pickles(tmp_path) -> None:
    _write_cifar(str(tmp_path))
    with open(tmp_path / "data_batch_2", "wb") as f:
        pickle.dump({b"data": os.system, b"labels": []}, f)  # a global that must never be loaded
    with pytest.raises(InputError, match="refusing to load"):
        load_dataset(f"cifar10:{tmp_path}")
    (tmp_path / "data_batch_2").write_bytes(b"not a pickle")
    with pytest.raises(InputError, match="not a CIFAR-10 python batch"):
        load_dataset(f"cifar10:{tmp_path}")


def test_unknown_dataset() -> None:
    with pytest.raises(InputError, match="unknown dataset 'mnist'; known: digits"):
        load_dataset("mnist")
    with pytest.raises(InputError, match="needs an integer size"):
        load_dataset("digits:big")


def test_digits_copy_for_machines_without_scikit_learn(tmp_path, monkeypatch) -> None:
    from arts.nas import data

    ref = data.load_digits_data(16)
    path = str(tmp_path / "digits.pt")
    data.save_digits_copy(path)
    monkeypatch.setenv(data.DIGITS_FILE_ENV, path)
    copy = data.load_digits_data(16)
    assert torch.equal(copy.train.x, ref.train.x) and torch.equal(copy.test.y, ref.test.y)
    monkeypatch.setenv(data.DIGITS_FILE_ENV, str(tmp_path / "missing.pt"))
    with pytest.raises(InputError, match="cannot read the digits copy"):
        data.load_digits_data(16)
