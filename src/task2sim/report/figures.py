"""The figures of the results (`task2sim report`): rewards.png and cka.png, each drawn when its
input exists, so the report runs at any point of the pipeline; cheap: no network, no model runs.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from task2sim.errors import Task2SimError
from task2sim.final.plan import read_plan
from task2sim.report.cka_figure import cka_figure
from task2sim.report.rewards_figure import rewards_figure
from task2sim.reward_table import load_reward_table


def _read_json(path: Path):
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise Task2SimError(f"cannot read {path} ({exc})", "rebuild it with `dvc repro`") from None


def draw_figures(
    rewards: Path, plan: Path, scratch: Path, runs: Path, cka: Path, out_dir: Path
) -> Iterator[str]:
    """Draw what the inputs present allow into `out_dir`, saying after each figure whether it
    was written or skipped (and why)."""
    if rewards.is_file():
        picks = read_plan(plan) if plan.is_file() else None
        band = _read_json(scratch) if scratch.is_file() else None
        measured = pd.read_csv(runs) if runs.is_file() else None
        table = load_reward_table(rewards)
        path = rewards_figure(table, picks, out_dir / "rewards.png", band, measured)
        yield f"wrote {path}" + ("" if picks is not None else f" (no {plan}: methods not marked)")
    else:
        yield f"skipped rewards.png: no {rewards} (`dvc repro rewards`)"
    if cka.is_file():
        yield f"wrote {cka_figure(_read_json(cka), out_dir / 'cka.png')}"
    else:
        yield f"skipped cka.png: no {cka} (`dvc repro cka`)"
