"""More offline tasks: images that ship inside PyPI, Debian and npm packages the core suite does
not use (photographs, textures, game art, icons, flags, a second emoji style).

Each loader follows `offline.py`: it records the package version and the sha256 of what it read,
lists files in sorted order (so the same package gives byte-identical tasks), takes labels from
the source's own folders or metadata, and marks several renderings of one item with `groups` so
the split never puts a near-duplicate of a test image in training. Where a source is large, a
per-class cap keeps evenly spaced files of the sorted list; the cap is in the provenance.

This module imports nothing from `offline.py` (which imports it); provenance helpers are `raw`'s.
SVG sources are rasterised with resvg (PyPI `resvg-py`, a self-contained wheel).
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import io
import json
import os
import re
import warnings
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from task2sim.datasets.images import ResizeMode, fit_square, load_images, to_rgb
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

BOOTSTRAP_FIX = "run scripts/bootstrap.sh (it installs every offline data source)"
DEFAULT_SIZE = 64

TUXPAINT_DIR = Path(os.environ.get("TASK2SIM_TUXPAINT", "/usr/share/tuxpaint/stamps"))
WESNOTH_UNITS_DIR = Path(
    os.environ.get("TASK2SIM_WESNOTH_UNITS", "/usr/share/games/wesnoth/1.16/data/core/images/units")
)
OPENARENA_PK3 = Path(
    os.environ.get(
        "TASK2SIM_OPENARENA_TEXTURES", "/usr/share/games/openarena/baseoa/pak4-textures.pk3"
    )
)
EMOJI_TWITTER_NPM = "emoji-datasource-twitter@16.0.0"
REMIXICON_NPM = "remixicon@4.9.1"
FLAG_ICONS_NPM = "flag-icons@7.5.0"
RESVG_DIST = "resvg-py"
ELPV_DIST = "elpv-dataset"

# Top-level stamp folders with at least 30 PNG stamps (the SVG stamps are a second, cartoon
# rendering of some of them and are left out, so the task stays photo-like).
TUXPAINT_CLASSES = ["animals", "food", "household", "plants", "seasonal", "town", "vehicles"]
# Unit folders of one people each ("monsters" is a mixed bag; ogres, peasants too few).
WESNOTH_CLASSES = [
    "drakes", "dwarves", "elves-wood", "goblins", "human-loyalists", "merfolk",
    "nagas", "orcs", "saurians", "trolls", "undead-skeletal", "woses",
]  # fmt: skip
WESNOTH_CAP = 100  # images per class; the folders hold 71 to 896 animation frames
# Surface types named by the texture folders' suffix (base_wall, gothic_wall, evil1_walls: wall).
OPENARENA_CLASSES = ["block", "floor", "light", "trim", "wall"]
OPENARENA_DERIVED = re.compile(r"(\.blend|_glow|_specular)\.", re.IGNORECASE)  # masks, not pictures
# Remix Icon category folders whose icons depict things (not editor or logo glyphs).
REMIX_CLASSES = [
    "Arrows", "Buildings", "Communication", "Device", "Finance",
    "Health & Medical", "Map", "Media", "User & Faces", "Weather",
]  # fmt: skip
REMIX_CAP = 60  # icons per class (each in a line and a fill style, so up to 120 images)
FLAG_CONTINENTS = ["Africa", "Asia", "Europe", "North America", "Oceania", "South America"]
# ELPV annotates each cell with a defect probability from four expert votes: 0, 1/3, 2/3, 1.
ELPV_CLASSES = ["defect p=0", "defect p=1/3", "defect p=2/3", "defect p=1"]


# --- helpers --------------------------------------------------------------------------------------
def _require(problem: str | None) -> None:
    if problem:
        raise Task2SimError(problem, BOOTSTRAP_FIX)


def _npm_root(spec: str) -> Path:
    """Where scripts/bootstrap.sh unpacks an (unscoped) npm package `name@version`."""
    name, version = spec.rsplit("@", 1)
    return deps_dir() / "npm" / f"{name}-{version}" / "package"


def _npm_missing(spec: str, marker: str) -> str | None:
    root = _npm_root(spec)
    if not (root / marker).exists():
        return f"npm package {spec} not found under {root.parent.parent}"
    return None


def _resvg_missing() -> str | None:
    if python_version(RESVG_DIST) is None:
        return f"Python package '{RESVG_DIST}' (SVG rasteriser) is not installed"
    return None


def _evenly_spaced(items: Sequence[Any], cap: int) -> list[Any]:
    """At most `cap` items spread evenly over a sorted list (deterministic, no RNG)."""
    if len(items) <= cap:
        return list(items)
    return [items[i * len(items) // cap] for i in range(cap)]


def _to_array(image: Image.Image, size: int, mode: ResizeMode) -> np.ndarray:
    return np.asarray(fit_square(to_rgb(image), size, mode), dtype=np.uint8)


def _decode_bytes(data: bytes, name: str, size: int, mode: ResizeMode) -> np.ndarray:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(io.BytesIO(data)) as image:
                image.load()
                return _to_array(image, size, mode)
    except Exception as exc:  # PIL raises many types for bad files
        raise Task2SimError(
            f"cannot read image {name}: {exc}", "reinstall the package that owns it"
        ) from exc


def merge_identical(raw: RawTask) -> RawTask:
    """Treat pixel-identical images (as decoded, at the task's size) as one item: they join one
    group, so the split never puts a copy of a test image in training; where copies carry
    different labels (France's flag is also French Guiana's and Reunion's), the whole group is
    dropped, its label being ambiguous. Provenance counts both."""
    n = len(raw.labels)
    parent = list(range(n))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def union(a: int, b: int) -> None:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)

    digests = [hashlib.sha256(image.tobytes()).digest() for image in raw.images]
    first: dict[object, int] = {}
    for i, digest in enumerate(digests):
        union(i, first.setdefault(digest, i))
    if raw.groups is not None:
        for i, group in enumerate(raw.groups.tolist()):
            union(i, first.setdefault(("group", group), i))
    roots = [find(i) for i in range(n)]
    labels_of: dict[int, set[int]] = {}
    for root, label in zip(roots, raw.labels.tolist(), strict=True):
        labels_of.setdefault(root, set()).add(label)
    keep = np.array([len(labels_of[root]) == 1 for root in roots], dtype=bool)
    provenance = {
        **raw.provenance,
        "identical_images": {
            "copies": n - len(set(digests)),
            "dropped_ambiguous": int(n - keep.sum()),
        },
    }
    if raw.groups is None and len(labels_of) == n:  # no copies: nothing to group
        return RawTask(raw.images, raw.labels, raw.classes, provenance)
    names = raw.groups if raw.groups is not None else np.arange(n).astype(str)
    return RawTask(
        images=raw.images[keep],
        labels=raw.labels[keep],
        classes=raw.classes,
        provenance=provenance,
        groups=names[np.array(roots)][keep],
    )


def rasterise_svg(path: Path, size: int, mode: ResizeMode = "pad") -> np.ndarray:
    """Render an SVG to size x size x 3 on white: `pad` fits its long side to `size`, `crop` fills
    the square with its short side (rendered at that size, not resampled)."""
    import resvg_py

    text = path.read_text(encoding="utf-8")

    def render(**side: int) -> Image.Image:
        png = resvg_py.svg_to_bytes(svg_string=text, skip_system_fonts=True, **side)
        with Image.open(io.BytesIO(bytes(png))) as image:
            image.load()
            return image

    try:
        image = render(width=size)
        if (mode == "pad" and image.height > size) or (mode == "crop" and image.height < size):
            image = render(height=size)
        return _to_array(image, size, mode)
    except Exception as exc:
        raise Task2SimError(
            f"cannot rasterise {path}: {exc}", "reinstall the package that owns it"
        ) from exc


def rasterise_svgs(paths: list[Path], size: int, mode: ResizeMode) -> np.ndarray:
    images = np.empty((len(paths), size, size, 3), dtype=np.uint8)
    for i, path in enumerate(paths):
        images[i] = rasterise_svg(path, size, mode)
    return images


# --- emoji_twitter (npm emoji-datasource-twitter) -------------------------------------------------
EMOJI_DROPPED_CATEGORIES = {"Component"}  # skin-tone swatches, not pictures


def emoji_images(root: Path, style: str) -> tuple[list[dict], list[str], list[Path]]:
    """An emoji-datasource package's emoji that have a `style` image, by code point, without
    the Component category: (records, sorted category names, 64 px image paths)."""
    records = json.loads((root / "emoji.json").read_text(encoding="utf-8"))
    kept = sorted(
        (
            r
            for r in records
            if r.get(f"has_img_{style}") and r["category"] not in EMOJI_DROPPED_CATEGORIES
        ),
        key=lambda r: r["unified"],
    )
    classes = sorted({r["category"] for r in kept})
    return kept, classes, [root / "img" / style / "64" / r["image"] for r in kept]


def emoji_twitter_missing() -> str | None:
    return _npm_missing(EMOJI_TWITTER_NPM, "emoji.json")


def load_emoji_twitter(entry: TaskEntry) -> RawTask:
    """The `emoji` task's emoji in Twitter's Twemoji style (CC BY 4.0), one class per category;
    a second rendering of the same items, so compare it with `emoji`, never pool the two."""
    _require(emoji_twitter_missing())
    root = _npm_root(EMOJI_TWITTER_NPM)
    kept, classes, paths = emoji_images(root, "twitter")
    size = entry.size or DEFAULT_SIZE
    return merge_identical(
        RawTask(
            images=load_images(paths, size, entry.resize or "pad", "emoji_twitter"),
            labels=np.array([classes.index(r["category"]) for r in kept], dtype=np.int64),
            classes=classes,
            groups=np.array([r["unified"] for r in kept]),
            provenance={
                "source": f"npm {EMOJI_TWITTER_NPM} (img/twitter/64)",
                "package": EMOJI_TWITTER_NPM,
                "license": "images CC BY 4.0 (Twemoji, Twitter Inc. and contributors); code MIT",
                "inputs_sha256": {
                    "emoji.json": sha256_file(root / "emoji.json"),
                    "all images": sha256_tree(paths, root),
                },
                "size": size,
            },
        )
    )


# --- elpv (PyPI elpv-dataset) ---------------------------------------------------------------------
def _elpv_dir() -> Path | None:
    try:
        dist = importlib.metadata.distribution(ELPV_DIST)
    except importlib.metadata.PackageNotFoundError:
        return None
    return Path(str(dist.locate_file("elpv_dataset/data")))


def elpv_missing() -> str | None:
    folder = _elpv_dir()
    if folder is None:
        return f"Python package '{ELPV_DIST}' is not installed"
    if not (folder / "labels.csv").is_file():
        return f"labels.csv missing from {folder}"
    return None


def load_elpv(entry: TaskEntry) -> RawTask:
    """2,624 electroluminescence photographs of solar cells (300 x 300, grey), classed by the
    annotated defect probability: an inspection task standing in for the grey medical ones."""
    _require(elpv_missing())
    folder = _elpv_dir()
    assert folder is not None
    rows = sorted(
        line.split() for line in (folder / "labels.csv").read_text().splitlines() if line.strip()
    )
    paths = [folder / row[0] for row in rows]
    labels = np.array([round(float(row[1]) * 3) for row in rows], dtype=np.int64)
    if not set(labels.tolist()) <= {0, 1, 2, 3}:
        raise Task2SimError(f"{folder / 'labels.csv'} has unexpected defect probabilities")
    size = entry.size or DEFAULT_SIZE
    images = np.empty((len(paths), size, size, 1), dtype=np.uint8)
    for i, path in enumerate(paths):
        with Image.open(path) as image:
            grey = image.convert("L")
            if grey.size != (size, size):
                grey = grey.resize((size, size), Image.Resampling.BICUBIC)
            images[i, ..., 0] = np.asarray(grey)
    return merge_identical(
        RawTask(
            images=images,
            labels=labels,
            classes=list(ELPV_CLASSES),
            provenance={
                "source": "PyPI elpv-dataset (bundled images and labels.csv)",
                "package": f"elpv-dataset=={python_version(ELPV_DIST)}",
                "license": "CC BY-NC-SA 4.0 (images; non-commercial), Apache-2.0 (code)",
                "inputs_sha256": {
                    "labels.csv": sha256_file(folder / "labels.csv"),
                    "all images": sha256_tree(paths, folder),
                },
                "size": size,
            },
        )
    )


# --- tuxpaint (Debian tuxpaint-stamps-default) ----------------------------------------------------
def tuxpaint_missing() -> str | None:
    absent = [c for c in TUXPAINT_CLASSES if not (TUXPAINT_DIR / c).is_dir()]
    if absent:
        return (
            f"{', '.join(absent)} not found in {TUXPAINT_DIR} "
            "(Debian package tuxpaint-stamps-default)"
        )
    return None


def load_tuxpaint(entry: TaskEntry) -> RawTask:
    """Tux Paint's PNG stamps (mostly cut-out photographs) by top-level folder, on white;
    a stamp and its `_mirror` copy are one group."""
    _require(tuxpaint_missing())
    files = sorted(
        (path, label)
        for label, category in enumerate(TUXPAINT_CLASSES)
        for path in (TUXPAINT_DIR / category).rglob("*.png")
    )
    paths = [path for path, _ in files]
    size = entry.size or DEFAULT_SIZE
    return merge_identical(
        RawTask(
            images=load_images(paths, size, entry.resize or "pad", "tuxpaint"),
            labels=np.array([label for _, label in files], dtype=np.int64),
            classes=list(TUXPAINT_CLASSES),
            groups=np.array(
                [str(p.relative_to(TUXPAINT_DIR)).replace("_mirror", "") for p in paths]
            ),
            provenance={
                "source": f"Debian tuxpaint-stamps-default ({TUXPAINT_DIR}, PNG stamps)",
                "package": f"tuxpaint-stamps-default=={debian_version('tuxpaint-stamps-default')}",
                "license": "GPL-2",
                "inputs_sha256": {"all images": sha256_tree(paths, TUXPAINT_DIR)},
                "size": size,
            },
        )
    )


# --- wesnoth_units (Debian wesnoth-1.16-data) -----------------------------------------------------
def wesnoth_units_missing() -> str | None:
    absent = [c for c in WESNOTH_CLASSES if not (WESNOTH_UNITS_DIR / c).is_dir()]
    if absent:
        return (
            f"{', '.join(absent)} not found in {WESNOTH_UNITS_DIR} "
            "(Debian package wesnoth-1.16-data)"
        )
    return None


def wesnoth_unit_of(path: Path, names: set[str]) -> str:
    """The unit an animation frame belongs to: the longest digit-free file name in its folder
    (`names`) that prefixes it (`whelp-attack-2` -> `whelp`, `troll-hero-defend-1` ->
    `troll-hero`), else the name up to its first hyphen."""
    parts = path.stem.split("-")
    for n in range(len(parts), 0, -1):
        if "-".join(parts[:n]) in names:
            return f"{path.parent.name}/{'-'.join(parts[:n])}"
    return f"{path.parent.name}/{parts[0]}"


def _wesnoth_groups(paths: list[Path]) -> np.ndarray:
    names: dict[Path, set[str]] = {}
    for folder in sorted({p.parent for p in paths}):
        names[folder] = {p.stem for p in folder.glob("*.png") if not re.search(r"\d", p.stem)}
    return np.array(
        [f"{p.parent.parent.name}/{wesnoth_unit_of(p, names[p.parent])}" for p in paths]
    )


def load_wesnoth_units(entry: TaskEntry) -> RawTask:
    """Battle for Wesnoth unit sprites (72 x 72 pixel art), one class per people; animation frames
    of one unit are one group; at most WESNOTH_CAP evenly spaced frames per class."""
    _require(wesnoth_units_missing())
    files: list[tuple[Path, int]] = []
    for label, race in enumerate(WESNOTH_CLASSES):
        found = sorted((WESNOTH_UNITS_DIR / race).rglob("*.png"))
        files += [(path, label) for path in _evenly_spaced(found, WESNOTH_CAP)]
    paths = [path for path, _ in files]
    size = entry.size or DEFAULT_SIZE
    return merge_identical(
        RawTask(
            images=load_images(paths, size, entry.resize or "pad", "wesnoth_units"),
            labels=np.array([label for _, label in files], dtype=np.int64),
            classes=list(WESNOTH_CLASSES),
            groups=_wesnoth_groups(paths),
            provenance={
                "source": f"Debian wesnoth-1.16-data ({WESNOTH_UNITS_DIR})",
                "package": f"wesnoth-1.16-data=={debian_version('wesnoth-1.16-data')}",
                "license": "GPL-2+",
                "per_class_cap": WESNOTH_CAP,
                "inputs_sha256": {"all images": sha256_tree(paths, WESNOTH_UNITS_DIR)},
                "size": size,
            },
        )
    )


# --- game_textures (Debian openarena-081-textures) ------------------------------------------------
def game_textures_missing() -> str | None:
    if not OPENARENA_PK3.is_file():
        return f"{OPENARENA_PK3} not found (Debian package openarena-081-textures)"
    return None


def openarena_surface(member: str) -> str | None:
    """`textures/evil1_walls/x.jpg` or `textures/base_wall2/x.jpg` -> `wall`; None for other
    folders and for derived maps (glow, blend, specular)."""
    parts = member.split("/")
    if len(parts) != 3 or parts[0] != "textures" or OPENARENA_DERIVED.search(parts[2]):
        return None
    if not parts[2].lower().endswith((".jpg", ".tga")):
        return None
    match = re.search(r"_([a-z]+?)s?\d*$", parts[1])
    return match.group(1) if match and match.group(1) in OPENARENA_CLASSES else None


def load_game_textures(entry: TaskEntry) -> RawTask:
    """OpenArena's wall, floor, trim, light and block textures (64 to 512 px, colour), read from
    the game's pk3 (a zip); glow and blend masks are left out; a texture family (the file name up
    to its first digit or underscore, in one folder) is one group."""
    _require(game_textures_missing())
    size = entry.size or DEFAULT_SIZE
    mode = entry.resize or "crop"  # textures tile, so a centre crop shows the material
    with zipfile.ZipFile(OPENARENA_PK3) as archive:
        members = sorted(
            (name, surface)
            for name in archive.namelist()
            if (surface := openarena_surface(name)) is not None
        )
        images = np.empty((len(members), size, size, 3), dtype=np.uint8)
        for i, (name, _) in enumerate(members):
            images[i] = _decode_bytes(archive.read(name), f"{OPENARENA_PK3}:{name}", size, mode)
    groups = [
        name.rsplit("/", 1)[0] + "/" + re.split(r"[\d_.]", name.rsplit("/", 1)[1], maxsplit=1)[0]
        for name, _ in members
    ]
    return merge_identical(
        RawTask(
            images=images,
            labels=np.array([OPENARENA_CLASSES.index(s) for _, s in members], dtype=np.int64),
            classes=list(OPENARENA_CLASSES),
            groups=np.array(groups),
            provenance={
                "source": f"Debian openarena-081-textures ({OPENARENA_PK3})",
                "package": f"openarena-081-textures=={debian_version('openarena-081-textures')}",
                "license": "GPL-2+",
                "inputs_sha256": {OPENARENA_PK3.name: sha256_file(OPENARENA_PK3)},
                "size": size,
            },
        )
    )


# --- remix_icons (npm remixicon, rasterised with resvg) -------------------------------------------
def remix_icons_missing() -> str | None:
    return _npm_missing(REMIXICON_NPM, "icons") or _resvg_missing()


def load_remix_icons(entry: TaskEntry) -> RawTask:
    """Remix Icon glyphs by category folder, each icon in its line and fill style (one group);
    at most REMIX_CAP evenly spaced icons per class."""
    _require(remix_icons_missing())
    root = _npm_root(REMIXICON_NPM) / "icons"
    paths: list[Path] = []
    labels: list[int] = []
    for label, category in enumerate(REMIX_CLASSES):
        files = sorted((root / category).glob("*.svg"))
        icons = sorted({re.sub(r"-(line|fill)$", "", p.stem) for p in files})
        chosen = set(_evenly_spaced(icons, REMIX_CAP))
        kept = [p for p in files if re.sub(r"-(line|fill)$", "", p.stem) in chosen]
        paths += kept
        labels += [label] * len(kept)
    size = entry.size or DEFAULT_SIZE
    return merge_identical(
        RawTask(
            images=rasterise_svgs(paths, size, entry.resize or "pad"),
            labels=np.array(labels, dtype=np.int64),
            classes=list(REMIX_CLASSES),
            groups=np.array(
                [f"{p.parent.name}/{re.sub(r'-(line|fill)$', '', p.stem)}" for p in paths]
            ),
            provenance={
                "source": f"npm {REMIXICON_NPM} (icons/<category>/*.svg, rasterised by resvg)",
                "package": REMIXICON_NPM,
                "rasteriser": f"resvg-py=={python_version(RESVG_DIST)}",
                "license": "Apache-2.0",
                "per_class_cap": f"{REMIX_CAP} icons",
                "inputs_sha256": {"all images": sha256_tree(paths, root)},
                "size": size,
            },
        )
    )


# --- flags (npm flag-icons, rasterised with resvg) ------------------------------------------------
def flags_missing() -> str | None:
    return _npm_missing(FLAG_ICONS_NPM, "country.json") or _resvg_missing()


def load_flags(entry: TaskEntry) -> RawTask:
    """Country flags by continent (flag-icons' country.json), each in its 4:3 and 1:1 cut (one
    group); entries without a continent (sub-national, organisations) and Antarctica are left
    out, and so are flags shared across continents (France's, Britain's, the Netherlands')."""
    _require(flags_missing())
    root = _npm_root(FLAG_ICONS_NPM)
    records = json.loads((root / "country.json").read_text(encoding="utf-8"))
    countries = sorted(
        (c for c in records if c.get("continent") in FLAG_CONTINENTS), key=lambda c: c["code"]
    )
    items = [(root / c[key], c) for c in countries for key in ("flag_4x3", "flag_1x1")]
    paths = [path for path, _ in items]
    size = entry.size or DEFAULT_SIZE
    return merge_identical(
        RawTask(
            images=rasterise_svgs(paths, size, entry.resize or "pad"),
            labels=np.array([FLAG_CONTINENTS.index(c["continent"]) for _, c in items], np.int64),
            classes=list(FLAG_CONTINENTS),
            groups=np.array([c["code"] for _, c in items]),
            provenance={
                "source": f"npm {FLAG_ICONS_NPM} (flags/4x3 and flags/1x1, rasterised by resvg)",
                "package": FLAG_ICONS_NPM,
                "rasteriser": f"resvg-py=={python_version(RESVG_DIST)}",
                "license": "MIT",
                "inputs_sha256": {
                    "country.json": sha256_file(root / "country.json"),
                    "all images": sha256_tree(paths, root),
                },
                "size": size,
            },
        )
    )
