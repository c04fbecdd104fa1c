"""`task2sim render`: one config's image set, as the `render@cNNN` stages run it."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import get_args

from task2sim.layout import LAYOUT
from task2sim.params import RenderParams, load_params, override

BACKEND_NAMES = get_args(RenderParams.model_fields["backend"].annotation)


def _cmd_render(args: argparse.Namespace) -> None:
    from task2sim.render.sweep_set import render_sweep_set

    params = load_params(args.params)
    render = override(
        params.render,
        "render",
        {
            "--images": ("images", args.images),
            "--size": ("size", args.size),
            "--workers": ("workers", args.workers),
            "--backend": ("backend", args.backend),
        },
    )
    params = params.model_copy(update={"render": render})
    print(render_sweep_set(params, args.config, args.out, not args.quiet, args.force))


def register(sub: argparse._SubParsersAction) -> None:
    render = sub.add_parser(
        "render", help=f"render one simulation config's image set ({LAYOUT.sweep_sets}/cNNN)"
    )
    render.add_argument("config", help="config index 0..255, cNNN, or a paper key (1_1_..._1)")
    render.add_argument("--params", type=Path, default=LAYOUT.params)
    render.add_argument(
        "--out", type=Path, help=f"output folder (default {LAYOUT.sweep_sets}/cNNN)"
    )
    render.add_argument("--images", type=int, help="override render.images")
    render.add_argument("--size", type=int, help="override render.size (pixels)")
    render.add_argument("--workers", type=int, help="override render.workers (0 = per core)")
    render.add_argument("--backend", choices=BACKEND_NAMES, help="override render.backend")
    render.add_argument("--quiet", action="store_true", help="no progress bar")
    render.add_argument(
        "--force", action="store_true", help="replace --out even if it is not an earlier image set"
    )
    render.set_defaults(func=_cmd_render)
