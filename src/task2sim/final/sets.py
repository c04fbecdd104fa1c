"""`final_sets`: one pre-training set per unique config of the plan (`data/final/sets/cNNN/`).

The final sets draw from a larger world than the sweep sets (`pretrain.classes` x
`pretrain.objects_per_class`) and hold `pretrain.images` images at `pretrain.size` px; everything
else (backgrounds, materials, seed) is the `sim` section's, as for the sweep.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from task2sim.atomic import atomic_dir
from task2sim.datasets.image_set import IMAGE_SET
from task2sim.final.plan import Plan
from task2sim.final.store import build_once, code_digest, fingerprint, link_tree, prune, work_dir
from task2sim.outputs import folder_of
from task2sim.params import Params
from task2sim.render.job import RenderJob
from task2sim.render.set_writer import render_set
from task2sim.sim.config import stage_name

log = logging.getLogger(__name__)
# What a set's bytes depend on besides its job: re-render when this code changes
# (tests/test_code_deps.py checks it covers the code the rendering runs).
RENDER_CODE = ("render", "sim", "assets", "datasets/image_set", "datasets/images")


def render_final_sets(params: Params, plan: Plan, out: Path, progress: bool = True) -> list[str]:
    """Render (or reuse) every set of `plan` into `out`; returns the sets rendered anew."""
    out = Path(out)
    work = work_dir(out)
    code = code_digest(*RENDER_CODE)
    rendered = []
    with atomic_dir(out, folder_of(IMAGE_SET)) as tmp:
        for config in plan.configs:
            job = RenderJob.from_params(params, config, "final")
            name = stage_name(config)
            start = time.perf_counter()
            reused = build_once(
                work / name,
                fingerprint({"job": job.fingerprint(), "code": code}),
                lambda entry, job=job: render_set(
                    job, entry, workers=params.pretrain.workers, progress=progress
                ),
            )
            link_tree(work / name, tmp / name)
            if reused:
                log.info("%s: already rendered, reused", name)
            else:
                rendered.append(name)
                log.info("%s: %d images in %.1f s", name, job.images, time.perf_counter() - start)
    prune(work, [stage_name(c) for c in plan.configs])
    return rendered
