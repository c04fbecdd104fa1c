"""Which backbone each method contributes for a task, before and after fine-tuning.

plan.json names each method's config per task; CKA reads the first seed's backbones: config N's
lives in `backbones/cNNN_sS/`, its fine-tuned copy for a task in `finetuned/cNNN_sS/<task>/`.
A reference joins when `reference_finetuned/<ref>/` exists: its fine-tuned copies come from
there, its pre-trained form is rebuilt by the builder that made it (`final.reference`: ImageNet
weights, or the scratch row's seeded init).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from torch import nn

from task2sim.errors import Task2SimError
from task2sim.final.plan import Plan, backbone_name
from task2sim.labels import REFERENCE_PREFIX
from task2sim.layout import LAYOUT
from task2sim.params import Params
from task2sim.train.checkpoint import load_backbone

PHASES = ("pretrained", "finetuned")
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
    """The reference network as `evaluate_reference` built it before fine-tuning, without its
    input re-normalisation: CKA feeds every network the same images, as its fine-tuned copy
    (a plain checkpoint) gets them."""
    from task2sim.final.reference import references, unwrap

    seed = _scratch_seed(name)
    settings = params.reference
    rows = references(
        settings, params.pretrain.train, params.pretrain.classes, [] if seed is None else [seed]
    )
    ref = next((r for r in rows if r.name == name), None)
    if ref is None:
        raise Task2SimError(
            f"params.yaml's reference section makes no reference '{name}'",
            "enable it there (for resnet50: set reference.resnet50_weights), "
            "or remove the folder of that reference",
        )
    return Source(name if seed is not None else f"imagenet:{name}", lambda: unwrap(ref.build()))


@dataclass(frozen=True)
class Layout:
    """Where the stage outputs CKA reads live."""

    backbones: Path = LAYOUT.backbones
    finetuned: Path = LAYOUT.finetuned
    reference_finetuned: Path = LAYOUT.reference_finetuned


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


def method_names(plan: Plan, params: Params, layout: Layout) -> list[str]:
    """The planned methods in params order, then each reference present on disk."""
    planned = [m for m in params.final.methods if m in plan.methods]
    if not planned:
        raise Task2SimError("plan.json lists none of final.methods", f"rebuild: {MAKERS['plan']}")
    return planned + [REFERENCE_PREFIX + r for r in _reference_folders(layout)]


def task_sources(
    plan: Plan, methods: list[str], task: str, params: Params, layout: Layout
) -> dict[str, dict[str, Source]]:
    """phase -> method -> backbone source, for one task; every folder checked up front."""
    out: dict[str, dict[str, Source]] = {phase: {} for phase in PHASES}
    folders = _reference_folders(layout)
    seed = plan.seeds[0]  # CKA reads the first seed's backbones
    for method in methods:
        if method.startswith(REFERENCE_PREFIX):
            row = method.removeprefix(REFERENCE_PREFIX)
            ref = folders.get(row, row)
            out["pretrained"][method] = _reference_pretrained(ref, params)
            out["finetuned"][method] = _checkpoint(
                layout.reference_finetuned / ref / task, "finetuned"
            )
            continue
        config = plan.methods[method].get(task)
        if config is None:
            raise Task2SimError(
                f"plan.json has no config for task '{task}' under method '{method}'",
                f"rebuild it: {MAKERS['plan']}",
            )
        name = backbone_name(config, seed)
        out["pretrained"][method] = _checkpoint(layout.backbones / name, "pretrained")
        out["finetuned"][method] = _checkpoint(layout.finetuned / name / task, "finetuned")
    return out
