"""`task2sim recommend <imagefolder>`: Task2Sim's config for a user's own task, and on request
its pre-training set (`--render N --out DIR`); the work is `task2sim.recommendation`'s."""

from __future__ import annotations

import argparse
from pathlib import Path

from task2sim.errors import Task2SimError
from task2sim.layout import LAYOUT
from task2sim.params import load_params


def _cmd_recommend(args: argparse.Namespace) -> None:
    from task2sim.recommendation import recommend

    params = load_params(args.params)
    if args.render is not None and args.out is None:
        raise Task2SimError("--render N needs --out DIR for the image set")
    recommend(
        args.imagefolder,
        params,
        args.policy,
        size=args.size,
        skip_non_images=args.skip_non_images,
        json_path=args.json,
        render=args.render,
        out=args.out,
        force=args.force,
    )


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("a positive number of images")
    return value


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "recommend", help="predict the simulation config for your ImageFolder (and render it)"
    )
    parser.add_argument("imagefolder", type=Path, help="ROOT/<class>/<image> or ROOT/{train,test}/")
    parser.add_argument("--params", type=Path, default=LAYOUT.params)
    parser.add_argument("--policy", type=Path, default=LAYOUT.policy)
    parser.add_argument("--size", type=int, help="image size to ingest at (default 64)")
    parser.add_argument(
        "--skip-non-images",
        action="store_true",
        help="skip files that are not images instead of failing on them",
    )
    parser.add_argument("--json", type=Path, help="also write the prediction here")
    parser.add_argument("--render", type=_positive, metavar="N", help="render N images of it")
    parser.add_argument("--out", type=Path, help="folder for the rendered set (with --render)")
    parser.add_argument(
        "--force", action="store_true", help="replace --out even if it is not an earlier image set"
    )
    parser.set_defaults(func=_cmd_recommend)
