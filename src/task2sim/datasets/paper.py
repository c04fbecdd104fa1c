"""The paper's 20 downstream tasks (SUPP Table 2), named as in the released reward table.

Six are downloadable: their files and md5 sums are the ones torchvision's dataset classes publish
(`REMOTE_FILES`, read at call time so tests can point them elsewhere). Files land in
`raw_dir()/<task>/`, archives are unpacked atomically into `raw_dir()/<task>/extracted`, and one
small converter per dataset layout turns them into a `RawTask`. The other fourteen sit behind
registration walls or on hosts without published checksums: the user places them as an ImageFolder
at `raw_dir()/<task>/imagefolder`, and `load` ingests that.
"""

from __future__ import annotations

import bz2
import gzip
import json
import tarfile
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path, PurePosixPath
from typing import Literal
from urllib.parse import urlparse

import numpy as np
from PIL import Image
from scipy.io import loadmat
from tqdm import tqdm

from task2sim.atomic import atomic_dir
from task2sim.datasets.download import download
from task2sim.datasets.imagefolder import DEFAULT_SIZE, load_imagefolder
from task2sim.datasets.images import ResizeMode, fit_square, load_images
from task2sim.datasets.raw import RawTask
from task2sim.datasets.task_info import TaskInfo
from task2sim.errors import Task2SimError
from task2sim.outputs import OutputKind, meta_has
from task2sim.params import TaskEntry
from task2sim.paths import raw_dir

ARCHIVE_SUFFIXES = (".zip", ".tar", ".tar.gz", ".tgz")
EXTRACTED = "extracted"
IMAGEFOLDER = "imagefolder"
_MANIFEST = ".task2sim-archives.json"  # which archives (by checksum) `extracted/` was made from
UNPACKED = OutputKind("unpacked download", meta_has(meta_file=_MANIFEST))


@dataclass(frozen=True)
class RemoteFile:
    """One published file: where it is, what it is saved as, and its published checksum."""

    url: str
    filename: str
    checksum: str

    @property
    def is_archive(self) -> bool:
        return self.filename.endswith(ARCHIVE_SUFFIXES)


_FLOWERS = "https://www.robots.ox.ac.uk/~vgg/data/flowers/102/"
_USPS = "https://www.csie.ntu.edu.tw/~cjlin/libsvmtools/datasets/multiclass/"
_OMNIGLOT = "https://raw.githubusercontent.com/brendenlake/omniglot/master/python/"
# URLs, file names and md5 sums as published by torchvision 0.29's dataset classes.
REMOTE_FILES: dict[str, tuple[RemoteFile, ...]] = {
    "EuroSAT": (
        RemoteFile(
            "https://huggingface.co/datasets/torchgeo/eurosat/resolve/"
            "c877bcd43f099cd0196738f714544e355477f3fd/EuroSAT.zip",
            "EuroSAT.zip",
            "md5:c8fa014336c82ac7804f0398fcb19387",
        ),
    ),
    "SVHN": (
        RemoteFile(
            "http://ufldl.stanford.edu/housenumbers/train_32x32.mat",
            "train_32x32.mat",
            "md5:e26dedcc434d2e4c54c9b2d4a06d8373",
        ),
        RemoteFile(
            "http://ufldl.stanford.edu/housenumbers/test_32x32.mat",
            "test_32x32.mat",
            "md5:eb5a983be6a315427106f1b164d9cef3",
        ),
    ),
    "USPS": (
        RemoteFile(_USPS + "usps.bz2", "usps.bz2", "md5:ec16c51db3855ca6c91edd34d0e9b197"),
        RemoteFile(_USPS + "usps.t.bz2", "usps.t.bz2", "md5:8ea070ee2aca1ac39742fdd1ef5ed118"),
    ),
    "DTD": (
        RemoteFile(
            "https://www.robots.ox.ac.uk/~vgg/data/dtd/download/dtd-r1.0.1.tar.gz",
            "dtd-r1.0.1.tar.gz",
            "md5:fff73e5086ae6bdbea199a49dfb8a4c1",
        ),
    ),
    "Flowers102": (
        RemoteFile(
            _FLOWERS + "102flowers.tgz", "102flowers.tgz", "md5:52808999861908f626f3c1f4e79d11fa"
        ),
        RemoteFile(
            _FLOWERS + "imagelabels.mat", "imagelabels.mat", "md5:e0620be6f572b9609742df49c70aed4d"
        ),
        RemoteFile(_FLOWERS + "setid.mat", "setid.mat", "md5:a5357ecc9cb78c4bef273ce3793fc85c"),
    ),
    # Only the evaluation alphabets: the official code loads these alone (659 characters,
    # 13,180 images), whose 70/30 split is exactly the 9,226 / 3,954 of SUPP Table 2.
    "Omniglot": (
        RemoteFile(
            _OMNIGLOT + "images_evaluation.zip",
            "images_evaluation.zip",
            "md5:6b91aef0f799c5bb55b94e3f2daec811",
        ),
    ),
}


@dataclass(frozen=True)
class ManualSource:
    """A dataset the user fetches by hand: what it is and where it is published, and its layout."""

    dataset: str
    layout: str


# Layouts keep train/ + test/ where the paper used the dataset's own split (official code loaders).
MANUAL_SOURCES: dict[str, ManualSource] = {
    "CropDisease": ManualSource(
        "the PlantVillage crop-disease images (Mohanty et al. 2016) as packaged by the CD-FSL "
        "benchmark",
        "38 class folders, keeping its train/ and test/ split",
    ),
    "ChestX": ManualSource(
        "NIH ChestX-ray14 (NIH Clinical Center)",
        "images whose Data_Entry_2017.csv label is a single one of Atelectasis, Cardiomegaly, "
        "Effusion, Infiltration, Mass, Nodule, Pneumothorax, in 7 class folders",
    ),
    "Sketch": ManualSource(
        "ImageNet-Sketch (Wang et al. 2019, published on GitHub by HaohanWang)",
        "its 1000 class folders",
    ),
    "DeepWeeds": ManualSource(
        "DeepWeeds (Olsen et al. 2019, GitHub AlexOlsen/DeepWeeds)",
        "images sorted into 9 class folders by the Label column of labels.csv",
    ),
    "Resisc45": ManualSource(
        "NWPU-RESISC45 (Cheng et al. 2017, Northwestern Polytechnical University)",
        "its 45 class folders",
    ),
    "ISIC": ManualSource(
        "the ISIC 2018 Challenge task 3 training images (HAM10000)",
        "7 class folders, by the one-hot ground-truth CSV",
    ),
    "Kaokore": ManualSource(
        "KaoKore (ROIS-DS CODH, GitHub rois-codh/kaokore)",
        "train/ and test/ by the 'set' column of labels.csv, class = 4 * gender + status "
        "(8 class folders)",
    ),
    "CUB": ManualSource(
        "CUB-200-2011 (Caltech Vision Lab)",
        "train/ and test/ by train_test_split.txt, 200 class folders",
    ),
    "PacsC": ManualSource(
        "the cartoon domain of PACS (Li et al. 2017)",
        "its train split as train/, its val split as test/, 7 class folders",
    ),
    "PacsS": ManualSource(
        "the sketch domain of PACS (Li et al. 2017)",
        "its train split as train/, its val split as test/, 7 class folders",
    ),
    "AID": ManualSource(
        "the AID aerial scene dataset (Xia et al. 2017, Wuhan University)",
        "its 30 class folders",
    ),
    "FMD": ManualSource(
        "the Fluorescence Microscopy Denoising dataset (Zhang et al. 2019, GitHub "
        "yinhaoz/denoising-fluorescence)",
        "one folder per class (the paper has 10)",
    ),
    "CactusAerial": ManualSource(
        "Aerial Cactus Identification (Lopez-Jimenez et al. 2019, on Kaggle)",
        "training_set as train/, validation_set as test/, class folders cactus and no_cactus",
    ),
    "ChestXPneumonia": ManualSource(
        "Chest X-Ray Images (Pneumonia) (Kermany et al. 2018, Mendeley Data or Kaggle)",
        "its train/ and test/ folders with NORMAL and PNEUMONIA",
    ),
}

# SUPP Table 2 order; roles from the official controller config. SPEC writes PACS-C/-S, Flowers.
_PAPER_TABLE: tuple[tuple[str, str, Literal["seen", "unseen"], int, int, int, str], ...] = (
    # name, domain, role, classes, train, test, description
    ("CropDisease", "natural", "seen", 38, 43456, 10849, "PlantVillage crop leaf diseases"),
    ("Flowers102", "natural", "seen", 102, 1020, 6149, "Oxford 102 Flowers, official split"),
    ("DeepWeeds", "natural", "seen", 9, 12252, 5257, "weed species in Australian rangeland"),
    ("CUB", "natural", "unseen", 200, 5994, 5794, "Caltech-UCSD Birds-200-2011"),
    ("EuroSAT", "satellite", "seen", 10, 18900, 8100, "Sentinel-2 land use, RGB 64x64"),
    ("Resisc45", "satellite", "seen", 45, 22005, 9495, "NWPU-RESISC45 remote sensing scenes"),
    ("AID", "satellite", "unseen", 30, 6993, 3007, "aerial image scenes"),
    ("CactusAerial", "satellite", "unseen", 2, 17500, 4000, "columnar cactus in aerial photos"),
    # SUPP Table 2 says 1623 classes (all of Omniglot) but its sizes are those of the 659
    # evaluation characters, which the official code uses.
    ("Omniglot", "symbolic", "seen", 659, 9226, 3954, "handwritten characters, 20 alphabets"),
    ("SVHN", "symbolic", "seen", 10, 73257, 26032, "street view house numbers, 32x32"),
    ("USPS", "symbolic", "unseen", 10, 7291, 2007, "US postal handwritten digits, 16x16"),
    ("ISIC", "medical", "seen", 7, 7007, 3008, "ISIC 2018 dermoscopic skin lesions"),
    ("ChestX", "medical", "seen", 7, 18090, 7758, "NIH ChestX-ray14, single-label images"),
    ("ChestXPneumonia", "medical", "unseen", 2, 5216, 624, "paediatric chest X-rays, pneumonia"),
    ("Kaokore", "illustrative", "seen", 8, 6568, 821, "faces in pre-modern Japanese art"),
    ("Sketch", "illustrative", "seen", 1000, 35000, 15889, "ImageNet-Sketch drawings"),
    ("PacsC", "illustrative", "unseen", 7, 2107, 237, "PACS cartoon domain"),
    ("PacsS", "illustrative", "unseen", 7, 3531, 398, "PACS sketch domain"),
    ("DTD", "texture", "seen", 47, 3760, 1880, "Describable Textures, split 1"),
    ("FMD", "texture", "unseen", 10, 1400, 600, "fluorescence microscopy (denoising set)"),
)

# Flowers102 label names in label order, as torchvision lists them.
FLOWERS102_CLASSES = [
    "pink primrose", "hard-leaved pocket orchid", "canterbury bells", "sweet pea",
    "english marigold", "tiger lily", "moon orchid", "bird of paradise", "monkshood",
    "globe thistle", "snapdragon", "colt's foot", "king protea", "spear thistle", "yellow iris",
    "globe-flower", "purple coneflower", "peruvian lily", "balloon flower",
    "giant white arum lily", "fire lily", "pincushion flower", "fritillary", "red ginger",
    "grape hyacinth", "corn poppy", "prince of wales feathers", "stemless gentian", "artichoke",
    "sweet william", "carnation", "garden phlox", "love in the mist", "mexican aster",
    "alpine sea holly", "ruby-lipped cattleya", "cape flower", "great masterwort", "siam tulip",
    "lenten rose", "barbeton daisy", "daffodil", "sword lily", "poinsettia", "bolero deep blue",
    "wallflower", "marigold", "buttercup", "oxeye daisy", "common dandelion", "petunia",
    "wild pansy", "primula", "sunflower", "pelargonium", "bishop of llandaff", "gaura",
    "geranium", "orange dahlia", "pink-yellow dahlia?", "cautleya spicata", "japanese anemone",
    "black-eyed susan", "silverbush", "californian poppy", "osteospermum", "spring crocus",
    "bearded iris", "windflower", "tree poppy", "gazania", "azalea", "water lily", "rose",
    "thorn apple", "morning glory", "passion flower", "lotus", "toad lily", "anthurium",
    "frangipani", "clematis", "hibiscus", "columbine", "desert-rose", "tree mallow", "magnolia",
    "cyclamen", "watercress", "canna lily", "hippeastrum", "bee balm", "ball moss", "foxglove",
    "bougainvillea", "camellia", "mallow", "mexican petunia", "bromelia", "blanket flower",
    "trumpet creeper", "blackberry lily",
]  # fmt: skip
DIGIT_CLASSES = [str(d) for d in range(10)]


def task_dir(name: str) -> Path:
    return raw_dir() / name


# --- what is on disk (never the network) ----------------------------------------------------------
def _extracted_matches(root: Path, archives: list[RemoteFile]) -> bool:
    """True when `extracted/` was unpacked from exactly these archives (same checksums)."""
    manifest = root / EXTRACTED / _MANIFEST
    if not archives or not manifest.is_file():
        return False
    try:
        recorded = json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return recorded == {f.filename: f.checksum for f in archives}


def _files_needed(name: str) -> list[RemoteFile]:
    """The task's files a load reads; archives already unpacked need not be kept."""
    files = REMOTE_FILES[name]
    unpacked = _extracted_matches(task_dir(name), [f for f in files if f.is_archive])
    return [f for f in files if not (unpacked and f.is_archive)]


def missing(name: str) -> str | None:
    """Why `name` cannot be loaded from disk right now (None: it can); looks only at files."""
    if name in REMOTE_FILES:
        absent = [f for f in _files_needed(name) if not (task_dir(name) / f.filename).is_file()]
        if not absent:
            return None
        hosts = ", ".join(sorted({urlparse(f.url).hostname or f.url for f in absent}))
        return f"needs download (network): {len(absent)} file(s) from {hosts}"
    folder = task_dir(name) / IMAGEFOLDER
    if folder.is_dir():
        return None
    return f"manual download: {MANUAL_SOURCES[name].dataset}; put an ImageFolder at {folder}"


# --- archives -------------------------------------------------------------------------------------
def _check_member(name: str, archive: Path) -> None:
    path = PurePosixPath(name.replace("\\", "/"))
    if path.is_absolute() or ".." in path.parts or ":" in (path.parts[0] if path.parts else ""):
        raise Task2SimError(
            f"archive {archive} holds an unsafe member path '{name}' (absolute or with '..')",
            f"delete {archive}: it is not the published file; run again to download it afresh",
        )


def _unpack(archive: Path, into: Path) -> None:
    """Unpack one zip or tar, refusing members that would land outside `into`."""
    try:
        if archive.name.endswith(".zip"):
            with zipfile.ZipFile(archive) as zf:
                for info in zf.infolist():
                    _check_member(info.filename, archive)
                zf.extractall(into)
            return
        with tarfile.open(archive, "r:*") as tf:
            members = tf.getmembers()
            for member in members:
                _check_member(member.name, archive)
            wanted = [m for m in members if m.isfile() or m.isdir()]  # no links, devices
            tf.extractall(into, members=wanted, filter="data")
    except (zipfile.BadZipFile, tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise Task2SimError(
            f"cannot unpack {archive}: {exc}", f"delete {archive} and run again to download it"
        ) from exc
    except OSError as exc:
        raise Task2SimError(
            f"cannot unpack {archive} into {into.parent}: {exc}",
            "check free disk space and write permission there, then run again",
        ) from exc


def _unpack_all(root: Path, archives: list[RemoteFile]) -> None:
    """Unpack every archive of a task into `extracted/` at once: it appears whole or not at all."""
    if not archives or _extracted_matches(root, archives):
        return
    with atomic_dir(root / EXTRACTED, UNPACKED) as tmp:
        for remote in tqdm(archives, desc="unpacking", unit="archive", leave=False):
            _unpack(root / remote.filename, tmp)
        manifest = {f.filename: f.checksum for f in archives}
        (tmp / _MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")


# --- shared converter helpers ---------------------------------------------------------------------
@dataclass(frozen=True)
class Source:
    """What a converter reads (a task's raw folder) and how it must size the images."""

    root: Path
    size: int
    mode: ResizeMode

    @property
    def extracted(self) -> Path:
        return self.root / EXTRACTED

    def file(self, filename: str) -> Path:
        return self.root / filename


def _bad_layout(src: Source, problem: str) -> Task2SimError:
    return Task2SimError(
        f"{src.root.name}: {problem}",
        f"the download does not have the expected layout: delete {src.root} and run again",
    )


def _find_dir(src: Source, name: str) -> Path:
    """The folder called `name` at most two levels under `extracted/`."""
    for pattern in (name, f"*/{name}", f"*/*/{name}"):
        found = sorted(p for p in src.extracted.glob(pattern) if p.is_dir())
        if found:
            return found[0]
    raise _bad_layout(src, f"no folder '{name}' in {src.extracted}")


def _read_mat(src: Source, path: Path, keys: tuple[str, ...]) -> dict[str, np.ndarray]:
    try:
        mat = loadmat(path)  # no squeeze_me: a 1-image file must keep its 4 dimensions
    except (OSError, ValueError, NotImplementedError) as exc:
        raise Task2SimError(f"cannot read {path}: {exc}", f"delete {path} and run again") from exc
    absent = [k for k in keys if k not in mat]
    if absent:
        raise _bad_layout(src, f"{path.name} lacks {', '.join(absent)}")
    return {k: np.asarray(mat[k]) for k in keys}


def _fit_arrays(images: np.ndarray, src: Source, desc: str) -> np.ndarray:
    """N x H x W (grey) or N x H x W x 3 uint8 -> N x size x size x 3, as files would be."""
    if images.ndim == 3:
        images = np.repeat(images[..., None], 3, axis=3)
    if images.shape[1:3] == (src.size, src.size):
        return np.ascontiguousarray(images, dtype=np.uint8)
    out = np.empty((len(images), src.size, src.size, 3), dtype=np.uint8)
    for i, image in enumerate(tqdm(images, desc=desc, unit="img", leave=False)):
        out[i] = np.asarray(fit_square(Image.fromarray(image), src.size, src.mode))
    return out


def _from_lists(
    src: Source, classes: list[str], train: list[tuple[Path, int]], test: list[tuple[Path, int]]
) -> RawTask:
    """Decode an official split given as (file, label) lists, checking every file exists first."""
    absent = [str(p) for p, _ in train + test if not p.is_file()]
    if absent:
        raise _bad_layout(src, f"{len(absent)} listed image(s) missing, e.g. {absent[0]}")
    return RawTask(
        images=load_images([p for p, _ in train], src.size, src.mode, "train images"),
        labels=np.array([label for _, label in train], dtype=np.int64),
        test_images=load_images([p for p, _ in test], src.size, src.mode, "test images"),
        test_labels=np.array([label for _, label in test], dtype=np.int64),
        classes=classes,
        provenance={},
    )


# --- one converter per layout ---------------------------------------------------------------------
def convert_eurosat(src: Source) -> RawTask:
    """EuroSAT.zip: an ImageFolder under '2750/'; no official split."""
    return load_imagefolder(_find_dir(src, "2750"), src.size, src.mode)


def _svhn_split(src: Source, filename: str) -> tuple[np.ndarray, np.ndarray]:
    mat = _read_mat(src, src.file(filename), ("X", "y"))
    if mat["X"].ndim != 4 or mat["X"].shape[2] != 3:
        raise _bad_layout(src, f"{filename}: X has shape {mat['X'].shape}, expected 32x32x3xN")
    labels = mat["y"].astype(np.int64).reshape(-1)
    labels[labels == 10] = 0  # SVHN stores digit 0 as label 10
    images = np.transpose(mat["X"], (3, 0, 1, 2)).astype(np.uint8)
    return _fit_arrays(images, src, filename), labels


def convert_svhn(src: Source) -> RawTask:
    """train_32x32.mat / test_32x32.mat (X: 32 x 32 x 3 x N); official split."""
    train_images, train_labels = _svhn_split(src, "train_32x32.mat")
    test_images, test_labels = _svhn_split(src, "test_32x32.mat")
    return RawTask(
        images=train_images,
        labels=train_labels,
        test_images=test_images,
        test_labels=test_labels,
        classes=DIGIT_CLASSES,
        provenance={},
    )


def _parse_libsvm_line(line: str, n_features: int) -> tuple[int, np.ndarray]:
    label, *pairs = line.split()
    row = np.zeros(n_features)  # libsvm leaves out zero values
    for pair in pairs:
        index, value = pair.split(":")
        row[int(index) - 1] = float(value)
    return int(float(label)), row


def _read_usps(src: Source, filename: str) -> tuple[np.ndarray, np.ndarray]:
    """bz2 lines 'label idx:value ...', values in [-1, 1], labels 1..10 -> 16 x 16 grey, 0..9."""
    path = src.file(filename)
    try:
        with bz2.open(path, "rt", encoding="ascii") as handle:
            lines = [line for line in handle if line.strip()]
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise Task2SimError(f"cannot read {path}: {exc}", f"delete {path} and run again") from exc
    labels, rows = [], []
    for number, line in enumerate(lines, 1):
        try:
            label, row = _parse_libsvm_line(line, 16 * 16)
        except (ValueError, IndexError) as exc:
            problem = f"{filename} line {number} is not 'label idx:value ...'"
            raise _bad_layout(src, problem) from exc
        labels.append(label - 1)
        rows.append(row)
    grey = np.clip(np.rint((np.array(rows) + 1.0) * 127.5), 0, 255).astype(np.uint8)
    return grey.reshape(-1, 16, 16), np.array(labels, dtype=np.int64)


def convert_usps(src: Source) -> RawTask:
    """usps.bz2 / usps.t.bz2 (libsvm text, 16 x 16 grey); official split."""
    train_grey, train_labels = _read_usps(src, "usps.bz2")
    test_grey, test_labels = _read_usps(src, "usps.t.bz2")
    return RawTask(
        images=_fit_arrays(train_grey, src, "usps train"),
        labels=train_labels,
        test_images=_fit_arrays(test_grey, src, "usps test"),
        test_labels=test_labels,
        classes=DIGIT_CLASSES,
        provenance={},
    )


def convert_dtd(src: Source) -> RawTask:
    """dtd/images/<class>/ with dtd/labels/{train,val,test}1.txt; train = train1 + val1."""
    base = _find_dir(src, "dtd")
    images = base / "images"
    if not images.is_dir():
        raise _bad_layout(src, f"no images/ folder in {base}")
    classes = sorted(p.name for p in images.iterdir() if p.is_dir())

    def listed(*names: str) -> list[tuple[Path, int]]:
        pairs = []
        for name in names:
            listing = base / "labels" / name
            if not listing.is_file():
                raise _bad_layout(src, f"{listing} is missing")
            for line in listing.read_text(encoding="utf-8").split():
                category = line.split("/")[0]
                if category not in classes:
                    raise _bad_layout(src, f"{listing} names unknown class '{category}'")
                pairs.append((images / line, classes.index(category)))
        return pairs

    return _from_lists(src, classes, listed("train1.txt", "val1.txt"), listed("test1.txt"))


def convert_flowers102(src: Source) -> RawTask:
    """102flowers.tgz (jpg/image_XXXXX.jpg), imagelabels.mat, setid.mat; trnid / tstid split."""
    jpg = _find_dir(src, "jpg")
    labels = _read_mat(src, src.file("imagelabels.mat"), ("labels",))["labels"].reshape(-1)
    split = _read_mat(src, src.file("setid.mat"), ("trnid", "tstid"))

    def listed(ids: np.ndarray) -> list[tuple[Path, int]]:
        ids = ids.reshape(-1).astype(int)
        if ids.min() < 1 or ids.max() > len(labels):
            raise _bad_layout(src, "setid.mat names images beyond imagelabels.mat")
        return [(jpg / f"image_{i:05d}.jpg", int(labels[i - 1]) - 1) for i in ids]

    if labels.min() < 1 or labels.max() > len(FLOWERS102_CLASSES):
        raise _bad_layout(src, "imagelabels.mat labels are not within 1..102")
    return _from_lists(src, FLOWERS102_CLASSES, listed(split["trnid"]), listed(split["tstid"]))


def convert_omniglot(src: Source) -> RawTask:
    """images_*/<alphabet>/<character>/*.png; class = 'alphabet/character'; no official split."""
    sets = sorted(p for p in src.extracted.glob("images_*") if p.is_dir())
    characters = sorted(
        (f"{c.parent.name}/{c.name}", c) for s in sets for c in s.glob("*/*") if c.is_dir()
    )
    if not characters:
        raise _bad_layout(src, f"no images_*/<alphabet>/<character>/ folders in {src.extracted}")
    paths, labels = [], []
    for label, (_, folder) in enumerate(characters):
        files = sorted(folder.glob("*.png"))
        paths += files
        labels += [label] * len(files)
    return RawTask(
        images=load_images(paths, src.size, src.mode, "omniglot"),
        labels=np.array(labels, dtype=np.int64),
        classes=[name for name, _ in characters],
        provenance={},
    )


CONVERTERS: dict[str, Callable[[Source], RawTask]] = {
    "EuroSAT": convert_eurosat,
    "SVHN": convert_svhn,
    "USPS": convert_usps,
    "DTD": convert_dtd,
    "Flowers102": convert_flowers102,
    "Omniglot": convert_omniglot,
}


# --- loading --------------------------------------------------------------------------------------
def _source(name: str, entry: TaskEntry) -> Source:
    return Source(task_dir(name), entry.size or DEFAULT_SIZE, entry.resize or "crop")


def _load_download(name: str, entry: TaskEntry) -> RawTask:
    src = _source(name, entry)
    files = REMOTE_FILES[name]
    for remote in _files_needed(name):  # files already here are verified, not fetched again
        download(remote.url, src.file(remote.filename), remote.checksum)
    _unpack_all(src.root, [f for f in files if f.is_archive])
    raw = CONVERTERS[name](src)
    provenance = {
        **raw.provenance,
        "source": f"{name}: {', '.join(f.url for f in files)}",
        "files": {f.filename: {"url": f.url, "checksum": f.checksum} for f in files},
        "size": src.size,
        "resize": src.mode,
    }
    return replace(raw, provenance=provenance)


def _load_manual(name: str, entry: TaskEntry) -> RawTask:
    folder = task_dir(name) / IMAGEFOLDER
    if not folder.is_dir():
        how = MANUAL_SOURCES[name]
        raise Task2SimError(
            f"task {name} must be downloaded by hand: {how.dataset} ({how.layout})",
            f"arrange it as an ImageFolder at {folder} (<class>/<image>, or "
            "train/<class>/<image> and test/<class>/<image>), then run again",
        )
    src = _source(name, entry)
    raw = load_imagefolder(folder, src.size, src.mode, entry.skip_non_images)
    provenance = {**raw.provenance, "source": f"{name}: hand-placed ImageFolder {folder}"}
    return replace(raw, provenance={**provenance, "dataset": MANUAL_SOURCES[name].dataset})


def load(name: str, entry: TaskEntry) -> RawTask:
    """Fetch (if needed), unpack and convert paper task `name`, sized as `entry` asks."""
    if name in REMOTE_FILES:
        return _load_download(name, entry)
    if name in MANUAL_SOURCES:
        return _load_manual(name, entry)
    raise Task2SimError(f"'{name}' is not one of the paper's tasks", "see `task2sim tasks`")


PAPER_TASKS: tuple[TaskInfo, ...] = tuple(
    TaskInfo(
        name=name,
        domain=domain,
        availability="download" if name in REMOTE_FILES else "manual",
        description=description,
        load=partial(load, name),
        missing=partial(missing, name),
        classes=classes,
        train=train,
        test=test,
        paper_role=role,
    )
    for name, domain, role, classes, train, test, description in _PAPER_TABLE
)
