"""`task2sim evaluate` and `grid-search` on one backbone: a checkpoint or a random-init timm model,
scored on prepared tasks, the results written as JSON."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from task2sim.errors import Task2SimError
from task2sim.layout import LAYOUT

if TYPE_CHECKING:
    from task2sim.params import Params


@dataclass(frozen=True)
class BackboneRequest:
    """Which backbone to score, on which tasks, with which params file."""

    params: Path
    tasks_dir: Path
    checkpoint: str | None = None
    timm_model: str | None = None
    tasks: list[str] | None = None
    quiet: bool = False


def _backbone_name(args: BackboneRequest) -> str:
    return f"timm-{args.timm_model}" if args.timm_model else Path(args.checkpoint).name


def _load_model(args: BackboneRequest, seed: int):
    """The backbone: a checkpoint folder (pre-training's format), or a random-init timm model."""
    if args.timm_model and args.checkpoint:
        raise Task2SimError("give a CHECKPOINT_DIR or --timm-model, not both")
    if args.timm_model:
        import timm
        import torch

        torch.manual_seed(seed)
        try:
            return timm.create_model(args.timm_model, pretrained=False, num_classes=0).eval()
        except RuntimeError as exc:  # timm: "Unknown model (...)"
            raise Task2SimError(str(exc), "see `timm.list_models()` for the names") from None
    if not args.checkpoint:
        raise Task2SimError(
            "no backbone given", "pass a CHECKPOINT_DIR (from pre-training) or --timm-model NAME"
        )
    checkpoint = Path(args.checkpoint)
    if not checkpoint.is_dir():
        raise Task2SimError(
            f"checkpoint folder {checkpoint} not found", "pre-train one first (`dvc repro`)"
        )
    try:
        from task2sim.train.checkpoint import load_backbone
    except ModuleNotFoundError as exc:
        if not (exc.name or "").startswith("task2sim.train"):
            raise
        raise Task2SimError(
            "reading checkpoints needs task2sim.train.checkpoint, which this install lacks",
            "evaluate a random-init timm model with --timm-model NAME instead",
        ) from None
    return load_backbone(checkpoint)


def _load_tasks(args: BackboneRequest, params: Params, command: str) -> dict:
    """The tasks asked for (all of params.yaml's when none is named), read from disk."""
    from task2sim.datasets.format import load_task
    from task2sim.datasets.selection import selected_tasks

    names = selected_tasks(params, args.tasks or [], not args.tasks, args.params, command)
    return {name: load_task(args.tasks_dir / name) for name in names}


def evaluate_one(args: BackboneRequest, protocols: list[str], out: Path | None) -> dict:
    """Score the backbone on the tasks by `protocols`; writes `out` and its .meta.json."""
    import timm
    import torch

    from task2sim.atomic import atomic_write_json
    from task2sim.evaluate.protocols import check_protocols, evaluate_backbone, task_splits
    from task2sim.params import load_params

    params = load_params(args.params)
    settings = params.evaluate
    protocols = check_protocols(protocols)
    tasks = _load_tasks(args, params, "evaluate")
    model = _load_model(args, settings.seed)
    out = out or LAYOUT.evaluations / f"{_backbone_name(args)}.json"
    start = time.perf_counter()
    timings: dict[str, dict[str, float]] = {}
    results = evaluate_backbone(model, tasks, protocols, settings, not args.quiet, timings)
    rounded = {t: {p: round(v, 4) for p, v in row.items()} for t, row in results.items()}
    sizes = {}
    for name, task in tasks.items():
        train, test = task_splits(task, settings)
        sizes[name] = {"train": len(train), "test": len(test), "classes": len(task.classes)}
    meta = {
        "backbone": f"timm {args.timm_model}, random init" if args.timm_model else args.checkpoint,
        "protocols": protocols,
        "params": settings.model_dump(),
        "tasks": sizes,
        "versions": {"torch": torch.__version__, "timm": timm.__version__},
    }
    atomic_write_json(out, rounded)
    atomic_write_json(out.with_name(f"{out.stem}.meta.json"), meta)
    for name, row in rounded.items():
        steps = ", ".join(f"{p} {v:.2f} % ({timings[name][p]:.1f} s)" for p, v in row.items())
        print(f"{name}: {steps}")
    print(f"-> {out} ({time.perf_counter() - start:.1f} s)")
    return rounded


def grid_one(
    args: BackboneRequest, protocols: list[str], out: Path | None, write_params: bool
) -> dict:
    """The hyper-parameter grid per task; writes `out`, and the winners to params if asked."""
    from task2sim.atomic import atomic_write_json
    from task2sim.evaluate.grid import grid_search, write_hparams
    from task2sim.params import load_params

    params = load_params(args.params)
    settings = params.evaluate
    tasks = _load_tasks(args, params, "grid-search")
    model = _load_model(args, settings.seed)
    out = out or LAYOUT.grids / f"{_backbone_name(args)}.json"
    start = time.perf_counter()
    found = {}
    for name, task in tasks.items():
        found[name] = grid_search(model, task, protocols, settings, not args.quiet)
        for protocol, result in found[name].items():
            for row in [*result["table"], result["best"]]:
                row["top1"] = round(row["top1"], 4)
            best = {k: v for k, v in result["best"].items() if k != "top1"}
            pairs = ", ".join(f"{k}: {v}" for k, v in best.items())
            print(
                f"{name} {protocol}: best of {len(result['table'])} at "
                f"{result['best']['top1']:.2f} % val -> evaluate.{protocol}.hparams.{name}: "
                f"{{{pairs}}}",
                flush=True,
            )
    atomic_write_json(
        out,
        {
            "backbone": args.checkpoint or f"timm {args.timm_model}, random init",
            "grid": settings.grid.model_dump(),
            "tasks": found,
        },
    )
    if write_params:
        write_hparams(args.params, found)
        print(f"wrote the winners to evaluate.<protocol>.hparams in {args.params}")
    print(f"-> {out} ({time.perf_counter() - start:.1f} s)")
    return found
