"""`task2sim cka`: linear CKA between the methods' backbones on every task (supp. Fig. 1)."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

DEFAULT_OUT = Path("results/cka.json")
DEFAULT_FIGURE = Path("results/figures/cka.png")


def _cmd_cka(args: argparse.Namespace) -> None:
    from task2sim.atomic import atomic_write_json
    from task2sim.cka.figure import cka_figure
    from task2sim.cka.run import run_cka
    from task2sim.cka.sources import Layout, read_plan
    from task2sim.params import load_params

    params = load_params(args.params)
    layout = Layout(args.backbones, args.finetuned, args.reference_finetuned)
    start = time.perf_counter()
    content = run_cka(params, read_plan(args.plan), layout, args.tasks_dir, args.tasks)
    atomic_write_json(args.out, content)
    for role, entry in content["average"].items():
        final = entry["pretrained"]["stage4"]
        others = [f"{m} {final[0][i]:.2f}" for i, m in enumerate(content["methods"]) if i > 0]
        print(
            f"{role}: stage-4 CKA with {content['methods'][0]} after pre-training: "
            + ", ".join(others)
        )
    written = [str(args.out)]
    if not args.no_figure:
        written.append(str(cka_figure(content, args.figure)))
    print(
        f"{len(content['tasks'])} tasks x {len(content['methods'])} methods in "
        f"{time.perf_counter() - start:.1f} s -> {', '.join(written)}"
    )


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "cka", help="linear CKA of stage 1-4 features between methods (results/cka.json)"
    )
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    parser.add_argument("--plan", type=Path, default=Path("results/final/plan.json"))
    parser.add_argument("--backbones", type=Path, default=Path("data/final/backbones"))
    parser.add_argument("--finetuned", type=Path, default=Path("data/final/finetuned"))
    parser.add_argument(
        "--reference-finetuned", type=Path, default=Path("data/final/reference_finetuned")
    )
    parser.add_argument("--tasks-dir", type=Path, default=Path("data/tasks"))
    parser.add_argument("--tasks", nargs="*", help="a subset of the seen / unseen tasks")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--figure", type=Path, default=DEFAULT_FIGURE)
    parser.add_argument(
        "--no-figure", action="store_true", help="write cka.json only (`task2sim report` draws it)"
    )
    parser.set_defaults(func=_cmd_cka)
