"""Where every stage reads and writes, relative to the project root: the one list of the
project's data and results paths.

Every CLI default, stage and report takes its paths from `LAYOUT`; dvc.yaml names the same paths
(a test checks each path it lists is one of these). Paths are relative because DVC runs every
stage from the project root, and a user may point any command elsewhere with its options.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path


@dataclass(frozen=True)
class Layout:
    """The project's folders and files; `LAYOUT` is the default, `under(root)` re-roots it."""

    params: Path = Path("params.yaml")
    readme: Path = Path("README.md")
    pipelines: Path = Path("pipelines")

    # data/: large, DVC-cached
    tasks: Path = Path("data/tasks")
    task2vec: Path = Path("data/task2vec")
    task2vec_fractions: Path = Path("data/task2vec_fractions")
    sweep_sets: Path = Path("data/sets/sweep")
    sweep_runs: Path = Path("data/sweep")
    final_sets: Path = Path("data/final/sets")
    backbones: Path = Path("data/final/backbones")
    finetuned: Path = Path("data/final/finetuned")
    reference_finetuned: Path = Path("data/final/reference_finetuned")

    # results/: small, committed with git
    figures: Path = Path("results/figures")
    tables: Path = Path("results/tables")
    plots: Path = Path("results/plots")
    metrics: Path = Path("results/metrics.json")
    sweep_index: Path = Path("results/sets/sweep_index.json")
    paper: Path = Path("results/paper")
    rewards: Path = Path("results/rewards.json")
    reward_runs: Path = Path("results/reward_runs.csv")
    scratch: Path = Path("results/scratch.json")
    sweep_spread: Path = Path("results/sweep_spread.md")  # and its .json
    controller: Path = Path("results/controller")
    predictions: Path = Path("results/controller/predictions.json")
    policy: Path = Path("results/controller/policy.pt")
    loto: Path = Path("results/loto.json")
    loto_table: Path = Path("results/tables/loto.md")
    loto_verdicts: Path = Path("results/loto_verdicts.md")
    fraction_table: Path = Path("results/tables/table1.md")
    fraction_table_json: Path = Path("results/table1.json")
    plan: Path = Path("results/final/plan.json")
    logs: Path = Path("results/final/logs")
    reference: Path = Path("results/final/reference.json")
    evaluation: Path = Path("results/final/evaluation.json")
    means: Path = Path("results/final/means.json")
    stats: Path = Path("results/final/stats.json")
    verdicts: Path = Path("results/final/verdicts.md")
    final_figure: Path = Path("results/figures/final_per_task.png")
    final_summary_figure: Path = Path("results/figures/final_summary.png")
    cka: Path = Path("results/cka.json")
    cka_figure: Path = Path("results/figures/cka.png")
    task2vec_halves: Path = Path("results/task2vec_halves.md")
    evaluations: Path = Path("results/evaluate")
    grids: Path = Path("results/grid")

    def under(self, root: Path) -> Layout:
        """The same layout with every path below `root` (another checkout, a test project)."""
        return Layout(**{f.name: Path(root) / getattr(self, f.name) for f in fields(self)})

    def paths(self) -> dict[str, Path]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


LAYOUT = Layout()
