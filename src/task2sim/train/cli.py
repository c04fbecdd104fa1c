"""`task2sim pretrain`: pre-train one backbone on one image set (1 process, or N under torchrun)."""

from __future__ import annotations

import argparse
from pathlib import Path


def _recipe(args: argparse.Namespace):  # -> TrainRecipe, imported lazily
    from pydantic import ValidationError

    from task2sim.errors import Task2SimError
    from task2sim.params import TrainRecipe, load_params

    if args.recipe_json is not None:
        try:
            return TrainRecipe.model_validate_json(args.recipe_json.read_text(encoding="utf-8"))
        except OSError as exc:
            raise Task2SimError(f"cannot read {args.recipe_json} ({exc})") from None
        except ValidationError as exc:
            raise Task2SimError(
                f"{args.recipe_json} is not a valid recipe:\n{exc}", "fix the JSON's keys"
            ) from None
    params = load_params(args.params)
    recipe = getattr(getattr(params, args.section, None), "train", None)
    if recipe is None:
        raise Task2SimError(
            f"{args.params} has no `{args.section}.train` section",
            "add it (see README.md), or pass --recipe-json FILE",
        )
    return recipe


def _cmd_pretrain(args: argparse.Namespace) -> None:
    from task2sim.train.loop import pretrain

    recipe = _recipe(args)
    summary = pretrain(
        args.set_dir,
        recipe,
        args.out,
        log_dir=args.log_dir,
        resume=not args.restart,
        progress=not args.quiet,
        force=args.force,
    )
    if summary["rank"] == 0:
        ranks = f" on {summary['world_size']} processes" if summary["world_size"] > 1 else ""
        print(
            f"pretrained {recipe.model} on {args.set_dir}{ranks}: {recipe.epochs} epochs, "
            f"final loss {summary['final_loss']:.4f}, {summary['img_per_s']:.0f} img/s, "
            f"{summary['seconds']:.1f} s -> {args.out}"
        )


def register(sub: argparse._SubParsersAction) -> None:
    cmd = sub.add_parser(
        "pretrain",
        help="pre-train a backbone on an image set (torchrun for several processes)",
        description="Pre-train a timm backbone on a rendered image set with the recipe of "
        "params.yaml's <section>.train; resumes an interrupted run. Several processes: "
        "torchrun --nproc_per_node=N -m task2sim pretrain ...",
    )
    cmd.add_argument("set_dir", type=Path, help="image set folder (meta.json + shards)")
    cmd.add_argument("--out", type=Path, required=True, help="checkpoint folder to write")
    cmd.add_argument("--params", type=Path, default=Path("params.yaml"))
    cmd.add_argument(
        "--section", choices=["sweep", "pretrain"], default="sweep", help="whose train recipe"
    )
    cmd.add_argument("--recipe-json", type=Path, help="a TrainRecipe as JSON (instead of params)")
    cmd.add_argument("--log-dir", type=Path, help="dvclive folder (loss, lr, img/s per epoch)")
    cmd.add_argument("--restart", action="store_true", help="ignore an interrupted run's state")
    cmd.add_argument("--quiet", action="store_true", help="no progress bar")
    cmd.add_argument(
        "--force", action="store_true", help="replace --out even if it is not an earlier checkpoint"
    )
    cmd.set_defaults(func=_cmd_pretrain)
