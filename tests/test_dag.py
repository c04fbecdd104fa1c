"""`task2sim dag`: the project's DAG with each fan-out as one node, readable in 200 columns."""

from __future__ import annotations

from pathlib import Path

from task2sim.cli import main
from task2sim.pipeline.dag import pipeline_edges, pipeline_nodes, reduced

ROOT = Path(__file__).resolve().parents[1]


def _edges(edges) -> set[tuple[str, str]]:
    return {(a.name, b.name) for a, b in edges}


def test_fan_outs_are_one_node_each_and_edges_follow_the_paths():
    nodes = {n.name: n for n in pipeline_nodes(ROOT)}
    assert nodes["render@cNNN"].count == nodes["sweep@cNNN"].count == 256
    assert nodes["prepare@TASK"].count == nodes["task2vec@TASK"].count >= 3
    edges = pipeline_edges(list(nodes.values()))
    names = _edges(edges)
    for edge in [("render@cNNN", "sweep@cNNN"), ("sweep@cNNN", "rewards"),
                 ("controller", "final_sets"), ("pretrain", "evaluate"),
                 ("evaluate", "plot_data"), ("prepare@TASK", "evaluate")]:  # fmt: skip
        assert edge in names, edge
    assert not any(b == "prepare@TASK" for _, b in names)  # nothing feeds the data stage
    short = _edges(reduced(edges))
    assert ("prepare@TASK", "evaluate") not in short  # implied by prepare -> ... -> evaluate
    assert ("pretrain", "evaluate") in short and short <= names


def test_dag_command_fits_200_columns(capsys):
    assert main(["dag", "--root", str(ROOT)]) == 0
    text = capsys.readouterr().out
    assert "sweep@cNNN (256)" in text and "figures" in text
    assert max(map(len, text.splitlines())) <= 200
    assert main(["dag", "--root", str(ROOT), "--format", "mermaid"]) == 0
    assert capsys.readouterr().out.startswith("flowchart TD")


def test_readme_shows_the_current_dag(capsys):
    """The README's flowchart is `task2sim dag --format mermaid` of the committed pipeline."""
    assert main(["dag", "--root", str(ROOT), "--format", "mermaid"]) == 0
    chart = capsys.readouterr().out
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert f"```mermaid\n{chart}```" in readme, "refresh it: task2sim dag --format mermaid"


def test_one_metrics_file_and_the_plots_dvc_draws():
    """`dvc exp show` lists results/metrics.json alone; `dvc plots show` has the key figures."""
    import yaml

    pipeline = yaml.safe_load((ROOT / "dvc.yaml").read_text(encoding="utf-8"))
    metrics = [
        next(iter(entry)) if isinstance(entry, dict) else entry
        for stage in pipeline["stages"].values()
        for entry in stage.get("do", stage).get("metrics", [])
    ]
    assert metrics == ["results/metrics.json"]
    plots = [next(iter(p)) if isinstance(p, dict) else p for p in pipeline["plots"]]
    for figure in ("final_summary", "final_per_task", "rewards", "cka"):
        assert f"results/figures/{figure}.png" in plots, figure
    templates = {p[next(iter(p))].get("template") for p in pipeline["plots"] if isinstance(p, dict)}
    for template in templates:
        assert (ROOT / ".dvc" / "plots" / f"{template}.json").is_file(), template
