"""The `cka` command's work: CKA of every planned backbone, results/cka.json and its figure."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

from task2sim.atomic import atomic_write_json
from task2sim.cka.run import run_cka
from task2sim.cka.sources import Layout
from task2sim.final.plan import read_plan
from task2sim.params import load_params
from task2sim.report.cka_figure import cka_figure


def write_cka(
    params_path: Path,
    plan_path: Path,
    layout: Layout,
    tasks_dir: Path,
    tasks: Sequence[str] | None,
    out: Path,
    figure: Path | None,
) -> list[str]:
    """Write cka.json (and the figure unless `figure` is None); what to tell the user: each
    role's stage-4 CKA with the first method, then what was written and how long it took."""
    params = load_params(params_path)
    start = time.perf_counter()
    content = run_cka(params, read_plan(plan_path), layout, tasks_dir, tasks)
    atomic_write_json(out, content)
    lines = []
    for role, entry in content["average"].items():
        final = entry["pretrained"]["stage4"]
        others = [f"{m} {final[0][i]:.2f}" for i, m in enumerate(content["methods"]) if i > 0]
        lines.append(
            f"{role}: stage-4 CKA with {content['methods'][0]} after pre-training: "
            + ", ".join(others)
        )
    written = [str(out)]
    if figure is not None:
        written.append(str(cka_figure(content, figure)))
    lines.append(
        f"{len(content['tasks'])} tasks x {len(content['methods'])} methods in "
        f"{time.perf_counter() - start:.1f} s -> {', '.join(written)}"
    )
    return lines
