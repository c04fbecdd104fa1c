"""Ingest a user's ImageFolder (`root/<class>/<image>` or `root/{train,test}/<class>/<image>`).

Everything is checked before a single image is decoded, so a bad folder fails fast and names the
file or folder to fix. Grey, palette and RGBA images are converted to RGB rather than refused.
"""

from __future__ import annotations

import logging
import unicodedata
from pathlib import Path

import numpy as np

from task2sim.datasets.images import ResizeMode, is_image_file, load_images
from task2sim.datasets.raw import RawTask, sha256_tree
from task2sim.errors import Task2SimError

log = logging.getLogger(__name__)
SPLIT_DIRS = ("train", "test")
DEFAULT_SIZE = 64


def _visible(path: Path) -> bool:
    return not path.name.startswith(".") and path.name not in ("Thumbs.db", "desktop.ini")


def _class_dirs(root: Path, min_classes: int) -> list[Path]:
    entries = sorted(p for p in root.iterdir() if _visible(p))
    for stray in (p for p in entries if p.is_file()):
        log.warning("ignoring %s: files beside the class folders belong to no class", stray)
    dirs = [p for p in entries if p.is_dir()]
    seen: dict[str, Path] = {}
    for folder in dirs:
        key = unicodedata.normalize("NFC", folder.name).casefold().strip()
        if key in seen:
            raise Task2SimError(
                f"duplicate class names in {root}: '{seen[key].name}' and '{folder.name}' "
                "differ only in case, spacing or Unicode form",
                "merge the two folders or rename one",
            )
        seen[key] = folder
    if len(dirs) < min_classes:
        raise Task2SimError(
            f"{root} has {len(dirs)} class folder(s); a classification task needs at least 2",
            "lay images out as ROOT/<class>/<image> with one folder per class",
        )
    return dirs


def _class_files(folder: Path, skip_non_images: bool) -> list[Path]:
    files = sorted(p for p in folder.rglob("*") if p.is_file() and _visible(p))
    images = [p for p in files if is_image_file(p)]
    others = [p for p in files if not is_image_file(p)]
    if others and not skip_non_images:
        shown = ", ".join(str(p) for p in others[:5]) + (" ..." if len(others) > 5 else "")
        raise Task2SimError(
            f"{len(others)} non-image file(s) in class folder {folder}: {shown}",
            "move them out of the folder, or set skip_non_images: true for this task",
        )
    if not images:
        raise Task2SimError(
            f"class folder {folder} holds no images", "add images to it or delete the folder"
        )
    return images


def _scan(
    root: Path, skip_non_images: bool, min_classes: int = 2
) -> tuple[list[str], list[Path], list[int]]:
    dirs = _class_dirs(root, min_classes)
    classes = [d.name for d in dirs]
    paths: list[Path] = []
    labels: list[int] = []
    for label, folder in enumerate(dirs):
        files = _class_files(folder, skip_non_images)
        paths += files
        labels += [label] * len(files)
    return classes, paths, labels


def has_split_layout(root: Path) -> bool:
    names = {p.name for p in Path(root).iterdir() if p.is_dir() and _visible(p)}
    return names == set(SPLIT_DIRS)


def load_imagefolder(
    root: Path,
    size: int | None = None,
    mode: ResizeMode | None = None,
    skip_non_images: bool = False,
) -> RawTask:
    """Read an ImageFolder as RGB arrays of size x size; keeps an official train/test split."""
    root = Path(root).expanduser()
    size = size or DEFAULT_SIZE
    mode = mode or "crop"
    if not root.is_dir():
        raise Task2SimError(f"ImageFolder root {root} is not a directory", "check the path")
    provenance = {"source": f"ImageFolder {root}", "size": size, "resize": mode}
    if has_split_layout(root):
        classes, train_paths, train_labels = _scan(root / "train", skip_non_images)
        test_classes, test_paths, test_labels = _scan(root / "test", skip_non_images, min_classes=1)
        unknown = sorted(set(test_classes) - set(classes))
        if unknown:
            raise Task2SimError(
                f"{root / 'test'} has classes with no training folder: {unknown}",
                f"add them under {root / 'train'} or remove them from test",
            )
        remap = np.array([classes.index(c) for c in test_classes])
        provenance["inputs_sha256"] = {"all images": sha256_tree(train_paths + test_paths, root)}
        return RawTask(
            images=load_images(train_paths, size, mode, "train images"),
            labels=np.array(train_labels, dtype=np.int64),
            test_images=load_images(test_paths, size, mode, "test images"),
            test_labels=remap[np.array(test_labels, dtype=np.int64)],
            classes=classes,
            provenance=provenance,
        )
    classes, paths, labels = _scan(root, skip_non_images)
    provenance["inputs_sha256"] = {"all images": sha256_tree(paths, root)}
    return RawTask(
        images=load_images(paths, size, mode, "images"),
        labels=np.array(labels, dtype=np.int64),
        classes=classes,
        provenance=provenance,
    )
