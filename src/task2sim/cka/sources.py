"""Which backbone each method contributes for a task, before and after fine-tuning.

plan.json names each method's config per task; CKA reads the first seed's backbones: config N's
lives in `backbones/cNNN_sS/`, its fine-tuned copy for a task in `finetuned/cNNN_sS/<task>/`.
A reference joins when `reference_finetuned/<ref>/` exists: its fine-tuned copies come from
there, its pre-trained form is rebuilt (ImageNet weights, or the scratch row's seeded init).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from torch import nn

from task2sim.errors import Task2SimError
from task2sim.final.plan import backbone_name
from task2sim.params import Params
from task2sim.train.checkpoint import load_backbone

PHASES = ("pretrained", "finetuned")
REFERENCE_PREFIX = "reference_"
# Which stage writes what, for the fix in error messages.
MAKERS = {
    "plan": "final_sets (`dvc repro final_sets`)",
    "pretrained": "pretrain (`dvc repro pretrain`)",
    "finetuned": "evaluate, which fine-tunes every backbone (`dvc repro evaluate`)",
}


@dataclass(frozen=True)
class Source:
    """One backbone: `key` identifies identical ones (two methods picking the same config)."""

    key: str
    load: Callable[[], nn.Module]


def read_plan(path: Path) -> dict:
    if not Path(path).is_file():
        raise Task2SimError(f"{path} not found", f"it is written by {MAKERS['plan']}")
    try:
        plan = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise Task2SimError(f"{path} is damaged ({exc})", f"rebuild it: {MAKERS['plan']}") from None
    if not isinstance(plan, dict) or not isinstance(plan.get("methods"), dict):
        raise Task2SimError(f"{path} has no 'methods' mapping", f"rebuild it: {MAKERS['plan']}")
    return plan


def _checkpoint(folder: Path, phase: str) -> Source:
    if not (folder / "meta.json").is_file():
        raise Task2SimError(
            f"backbone folder {folder} is missing (or holds no meta.json)",
            f"{phase} backbones are made by the stage {MAKERS[phase]}",
        )
    return Source(str(folder), lambda: load_backbone(folder))


def _scratch_seed(folder_name: str) -> int | None:
    """The seed of a scratch row's folder (`scratch_s3` -> 3), None for other references."""
    head, _, seed = folder_name.rpartition("_s")
    return int(seed) if head == "scratch" and seed.isdigit() else None


def _reference_pretrained(name: str, params: Params) -> Source:
    """The reference network with its ImageNet weights (the classifier is irrelevant here)."""
    from task2sim.task2vec.probes import LITE0, build_probe

    if name == LITE0:
        return Source(f"imagenet:{name}", lambda: build_probe(LITE0, "imagenet", 1000).model)
    seed = _scratch_seed(name)
    if seed is not None:  # the random-init row: its "pre-trained" network is the random one
        from task2sim.final.reference import scratch_network

        recipe = params.pretrain.train.model_copy(update={"seed": seed})
        return Source(name, scratch_network(recipe, params.pretrain.classes))
    if name == "resnet50" and params.reference.resnet50_weights:
        weights = params.reference.resnet50_weights
        return Source(f"imagenet:{name}", lambda: build_probe(name, weights, 1000).model)
    raise Task2SimError(
        f"no ImageNet weights known for the reference '{name}'",
        "set reference.resnet50_weights, or remove the folder of that reference",
    )


@dataclass(frozen=True)
class Layout:
    """Where the stage outputs CKA reads live."""

    backbones: Path = Path("data/final/backbones")
    finetuned: Path = Path("data/final/finetuned")
    reference_finetuned: Path = Path("data/final/reference_finetuned")


def _reference_folders(layout: Layout) -> dict[str, str]:
    """{row: folder} of the references present on disk (the scratch row: its kept seed)."""
    if not layout.reference_finetuned.is_dir():
        return {}
    folders = sorted(
        p.name
        for p in layout.reference_finetuned.iterdir()
        if p.is_dir() and not p.name.startswith(".")
    )
    return {("scratch" if _scratch_seed(f) is not None else f): f for f in folders}


def method_names(plan: dict, params: Params, layout: Layout) -> list[str]:
    """The planned methods in params order, then each reference present on disk."""
    planned = [m for m in params.final.methods if m in plan["methods"]]
    if not planned:
        raise Task2SimError("plan.json lists none of final.methods", f"rebuild: {MAKERS['plan']}")
    return planned + [REFERENCE_PREFIX + r for r in _reference_folders(layout)]


def task_sources(
    plan: dict, methods: list[str], task: str, params: Params, layout: Layout
) -> dict[str, dict[str, Source]]:
    """phase -> method -> backbone source, for one task; every folder checked up front."""
    out: dict[str, dict[str, Source]] = {phase: {} for phase in PHASES}
    folders = _reference_folders(layout)
    seed = int(plan.get("seeds", [0])[0])  # CKA reads the first seed's backbones
    for method in methods:
        if method.startswith(REFERENCE_PREFIX):
            row = method.removeprefix(REFERENCE_PREFIX)
            ref = folders.get(row, row)
            out["pretrained"][method] = _reference_pretrained(ref, params)
            out["finetuned"][method] = _checkpoint(
                layout.reference_finetuned / ref / task, "finetuned"
            )
            continue
        config = plan["methods"][method].get(task)
        if config is None:
            raise Task2SimError(
                f"plan.json has no config for task '{task}' under method '{method}'",
                f"rebuild it: {MAKERS['plan']}",
            )
        name = backbone_name(int(config), seed)
        out["pretrained"][method] = _checkpoint(layout.backbones / name, "pretrained")
        out["finetuned"][method] = _checkpoint(layout.finetuned / name / task, "finetuned")
    return out
