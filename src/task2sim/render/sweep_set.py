"""One config's sweep set as the `render@cNNN` stage makes it: the sweep-scale job, written to its
folder under the layout's sweep sets unless the user names another."""

from __future__ import annotations

import time
from pathlib import Path

from task2sim.layout import LAYOUT
from task2sim.params import Params
from task2sim.render import set_writer
from task2sim.render.job import RenderJob
from task2sim.sim.config import index_to_key, parse_config, stage_name


def render_sweep_set(
    params: Params,
    config: str,
    out: Path | None = None,
    progress: bool = True,
    force: bool = False,
) -> str:
    """Render config `config` (an index, cNNN or a paper key) with `render.workers` processes;
    returns the summary line (images, where, how fast)."""
    index = parse_config(config)
    job = RenderJob.from_params(params, index)
    out = Path(out) if out is not None else LAYOUT.sweep_sets / stage_name(index)
    start = time.perf_counter()
    set_writer.render_set(job, out, workers=params.render.workers, progress=progress, force=force)
    seconds = time.perf_counter() - start
    return (
        f"{stage_name(index)} ({index_to_key(index)}): {job.images} images at {job.size} px "
        f"-> {out} in {seconds:.1f} s ({job.images / seconds:.0f} img/s)"
    )
