"""Ingest a user's ImageFolder: `root/<class>/<image>`, or `root/<split>/<class>/<image>`.

Split folders are recognised case-insensitively (train/training, test/testing, val/valid/validation)
when they hold class folders, and must form a known layout: train + test, train + val + test (val
joins train: the pipeline carves its own validation split out of train), or train + val (val is
the test split, as in downloads whose test labels are withheld). Everything is checked before a
single image is decoded, so a bad folder fails fast and names the file or folder to fix. Grey,
palette and RGBA images are converted to RGB rather than refused.
"""

from __future__ import annotations

import logging
import unicodedata
from pathlib import Path

import numpy as np

from task2sim.datasets.images import ResizeMode, is_image_file, load_images
from task2sim.datasets.raw import RawTask, sha256_tree
from task2sim.errors import Task2SimError
from task2sim.params import TaskEntry, cli_validated

log = logging.getLogger(__name__)
DEFAULT_SIZE = 64


def _visible(path: Path) -> bool:
    return not path.name.startswith(".") and path.name not in ("Thumbs.db", "desktop.ini")


def _class_dirs(root: Path, min_classes: int) -> list[Path]:
    entries = sorted(p for p in root.iterdir() if _visible(p))
    _warn_dangling(entries)
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


SKIP_FIX = (
    "move them out of the folder, or pass --skip-non-images (task2sim prepare --imagefolder, "
    "task2sim recommend), or set skip_non_images: true for the task in params.yaml"
)


def _warn_dangling(entries: list[Path]) -> None:
    """A link whose target is gone is neither file nor folder: say so instead of dropping it."""
    for link in entries:
        if link.is_symlink() and not link.exists():
            log.warning(
                "skipping %s: a symbolic link to %s, which does not exist", link, link.readlink()
            )


def _class_files(folder: Path, skip_non_images: bool) -> list[Path]:
    entries = sorted(p for p in folder.rglob("*") if _visible(p))
    _warn_dangling(entries)
    files = [p for p in entries if p.is_file()]
    images = [p for p in files if is_image_file(p)]
    others = [p for p in files if not is_image_file(p)]
    if others and not skip_non_images:
        shown = ", ".join(str(p) for p in others[:5]) + (" ..." if len(others) > 5 else "")
        raise Task2SimError(
            f"{len(others)} non-image file(s) in class folder {folder}: {shown}", SKIP_FIX
        )
    if others:
        log.warning("skipping %d non-image file(s) in %s", len(others), folder)
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


SPLIT_NAMES = {
    "train": "train", "training": "train",
    "test": "test", "testing": "test",
    "val": "val", "valid": "val", "validation": "val",
}  # fmt: skip
LAYOUT_FIX = (
    "lay it out as ROOT/<class>/<image>, or as ROOT/train/<class>/<image> with ROOT/test/ "
    "and/or ROOT/val/ beside it (no other top-level folders)"
)


def entry_from_cli(folder: Path, size: int | None, skip_non_images: bool) -> TaskEntry:
    """The task entry of an ImageFolder named on the command line, validated like params.yaml
    (`--size` out of range fails naming the flag)."""
    data = {"source": "imagefolder", "path": str(folder), "size": size,
            "skip_non_images": skip_non_images}  # fmt: skip
    return cli_validated(TaskEntry, data, {"size": "--size", "path": "imagefolder"}, "tasks.<name>")


def _looks_like_split(folder: Path) -> bool:
    """A split folder has a split's name and holds class folders (a class `train` holds images)."""
    if folder.name.casefold() not in SPLIT_NAMES:
        return False
    return any(p.is_dir() and _visible(p) for p in folder.iterdir())


def split_folders(root: Path) -> dict[str, Path] | None:
    """{'train': ..., 'test'/'val': ...} when the top-level folders are splits, None when they are
    classes; refuses split-like folders that form no known layout."""
    dirs = sorted(p for p in Path(root).iterdir() if p.is_dir() and _visible(p))
    split_like = [d for d in dirs if _looks_like_split(d)]
    if not split_like:
        return None
    splits: dict[str, Path] = {}
    for folder in split_like:
        role = SPLIT_NAMES[folder.name.casefold()]
        if role in splits:
            raise Task2SimError(
                f"{root} has two {role} folders: '{splits[role].name}' and '{folder.name}'",
                "merge them into one",
            )
        splits[role] = folder
    others = [d.name for d in dirs if d not in split_like]
    if others or "train" not in splits or len(splits) < 2:
        found = ", ".join(d.name for d in dirs)
        raise Task2SimError(
            f"the top-level folders of {root} ({found}) look like dataset splits but form no "
            "known layout",
            LAYOUT_FIX,
        )
    return splits


def has_split_layout(root: Path) -> bool:
    return split_folders(root) is not None


def _scan_split(
    root: Path, folder: Path, classes: list[str], skip_non_images: bool
) -> tuple[list[Path], list[int]]:
    """Files and labels of a held-out split, its classes mapped onto the training classes."""
    names, paths, labels = _scan(folder, skip_non_images, min_classes=1)
    unknown = sorted(set(names) - set(classes))
    if unknown:
        raise Task2SimError(
            f"{folder} has classes with no training folder: {unknown}",
            f"add them under {root / 'train'} or remove them from {folder.name}",
        )
    return paths, [classes.index(names[label]) for label in labels]


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
    splits = split_folders(root)
    if splits is not None:
        classes, train_paths, train_labels = _scan(splits["train"], skip_non_images)
        held = {
            role: _scan_split(root, folder, classes, skip_non_images)
            for role, folder in splits.items()
            if role != "train"
        }
        if "val" in held and "test" in held:  # val joins train; test stays the test split
            train_paths += held["val"][0]
            train_labels += held["val"][1]
            test_paths, test_labels = held["test"]
            provenance["split_layout"] = "train + val -> train; test -> test"
        elif "val" in held:
            test_paths, test_labels = held["val"]
            provenance["split_layout"] = "train -> train; val -> test (no test folder)"
        else:
            test_paths, test_labels = held["test"]
        if "split_layout" in provenance:
            log.info("%s: %s", root, provenance["split_layout"])
        provenance["inputs_sha256"] = {"all images": sha256_tree(train_paths + test_paths, root)}
        return RawTask(
            images=load_images(train_paths, size, mode, "train images"),
            labels=np.array(train_labels, dtype=np.int64),
            test_images=load_images(test_paths, size, mode, "test images"),
            test_labels=np.array(test_labels, dtype=np.int64),
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
