"""`task2sim render`: one config's image set, as the `render@cNNN` stages run it."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

SWEEP_DIR = Path("data/sets/sweep")


def _cmd_render(args: argparse.Namespace) -> None:
    from task2sim.params import load_params, override
    from task2sim.render.set_writer import RenderJob, render_set
    from task2sim.sim.config import index_to_key, parse_config, stage_name

    params = load_params(args.params)
    config = parse_config(args.config)
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
    job = RenderJob(
        config=config,
        sim=params.sim,
        images=render.images,
        size=render.size,
        shard_size=render.shard_size,
        backend=render.backend,
        tdw_port=render.tdw_port,
        tdw_world=render.tdw_world,
    )
    out = args.out or SWEEP_DIR / stage_name(config)
    start = time.perf_counter()
    render_set(job, out, workers=render.workers, progress=not args.quiet, force=args.force)
    seconds = time.perf_counter() - start
    print(
        f"{stage_name(config)} ({index_to_key(config)}): {job.images} images at {job.size} px "
        f"-> {out} in {seconds:.1f} s ({job.images / seconds:.0f} img/s)"
    )


def register(sub: argparse._SubParsersAction) -> None:
    render = sub.add_parser(
        "render", help="render one simulation config's image set (data/sets/sweep/cNNN)"
    )
    render.add_argument("config", help="config index 0..255, cNNN, or a paper key (1_1_..._1)")
    render.add_argument("--params", type=Path, default=Path("params.yaml"))
    render.add_argument("--out", type=Path, help="output folder (default data/sets/sweep/cNNN)")
    render.add_argument("--images", type=int, help="override render.images")
    render.add_argument("--size", type=int, help="override render.size (pixels)")
    render.add_argument("--workers", type=int, help="override render.workers (0 = per core)")
    render.add_argument("--backend", choices=["embedded", "tdw"], help="override render.backend")
    render.add_argument("--quiet", action="store_true", help="no progress bar")
    render.add_argument(
        "--force", action="store_true", help="replace --out even if it is not an earlier image set"
    )
    render.set_defaults(func=_cmd_render)
