"""The whole DAG at smoke scale, end to end, in a fresh DVC project.

Every stage of dvc.yaml and pipelines/*/dvc.yaml ends up run and recorded. The 512 per-config
stages (render@cNNN, sweep@cNNN) are produced the way a user fans them out, `task2sim sweep --all`
and a render loop in one process, then recorded with `dvc commit`: through `dvc repro` each would
pay a process start of its own (about half an hour at any scale). Everything downstream of them
runs through `dvc repro`, which must then leave nothing to do.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from task2sim.params import SimParams
from task2sim.render.set_writer import RenderJob, render_set
from task2sim.sim.config import NUM_CONFIGS, stage_name

ROOT = Path(__file__).resolve().parents[1]
TINY_NET = {
    "model": "resnet10t",
    "model_kwargs": {"channels": [8, 16, 32, 64], "stem_width": 8},
    "image_size": 16,
    "epochs": 1,
    "batch_size": 4,
    "warmup_epochs": 0,
    "threads": 1,
    "num_workers": 0,
    "checkpoint_every": 0,
}


def _smoke_params(pets: Path, toys: Path) -> dict:
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["tasks"] = {
        "digits": {"source": "digits"},
        "pets": {"source": "imagefolder", "path": str(pets), "size": 16},
        "toys": {"source": "imagefolder", "path": str(toys), "size": 16},
    }
    params["controller"]["seen"] = ["digits", "pets"]
    params["controller"]["unseen"] = ["toys"]
    params["controller"]["training"].update(epochs=20, batch_size=2, warmup_epochs=2)
    params["paper_controller"] = {"seeds": [0], "losses": ["per_task"], "workers": 1}
    params["task2vec"].update(
        probe="resnet10t",
        weights="random",
        image_size=16,
        fisher_samples=32,
        fit_samples=32,
        fit_epochs=1,
        batch_size=8,
        max_images=60,
        threads=1,
    )
    params["sim"].update(
        classes=2, objects_per_class=1, skies=1, photos=False, background_height=16, materials=4
    )
    params["render"].update(images=4, size=8, shard_size=4, workers=1)
    params["sweep"].update(
        train=TINY_NET,
        max_train_images=24,
        max_test_images=24,
        scratch_seeds=2,
    )
    evaluate = params["evaluate"]
    evaluate.update(image_size=16, max_train_images=24, max_test_images=24, threads=1)
    evaluate["linear"].update(epochs=2, milestones=[1], batch_size=8)
    evaluate["finetune"].update(epochs=1, milestones=[], batch_size=8, max_train_images=12)
    params["pretrain"].update(
        images=8, classes=2, objects_per_class=1, size=8, workers=1, train=TINY_NET
    )
    params["cka"] = {"max_images": 8}
    return params


def _run(repo: Path, env: dict, *args: str) -> str:
    result = subprocess.run(args, cwd=repo, env=env, capture_output=True, text=True)
    assert result.returncode == 0, f"{args}:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result.stdout + result.stderr


def test_the_whole_dag_runs_and_then_has_nothing_left_to_do(
    tmp_path, make_imagefolder, monkeypatch
):
    repo = tmp_path / "repo"
    shutil.copytree(ROOT / "src", repo / "src", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "pipelines", repo / "pipelines")
    shutil.copy(ROOT / "dvc.yaml", repo)
    pets = make_imagefolder({"cat": 5, "dog": 5}, root=tmp_path / "pets")
    toys = make_imagefolder({"car": 5, "ball": 5, "kite": 5}, root=tmp_path / "toys")
    params = _smoke_params(pets, toys)
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    bin_dir = Path(sys.executable).parent
    env = {
        **os.environ,
        "DVC_NO_ANALYTICS": "1",
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "TASK2SIM_ROOT": str(repo),
        "TASK2SIM_CACHE": str(tmp_path / "cache"),
    }
    dvc = [sys.executable, "-m", "dvc"]
    _run(repo, env, *dvc, "init", "--no-scm", "-q")
    _run(repo, env, *dvc, "config", "core.analytics", "false")
    _run(repo, env, *dvc, "repro", "prepare", "task2vec")

    # The fan-out: all 256 sets and sweep jobs in one process each, then recorded by DVC.
    sim = SimParams(**params["sim"])
    monkeypatch.setenv("TASK2SIM_CACHE", env["TASK2SIM_CACHE"])  # meshes of the smoke world
    for config in range(NUM_CONFIGS):
        job = RenderJob(config=config, sim=sim, images=4, size=8, shard_size=4)
        render_set(job, repo / "data/sets/sweep" / stage_name(config), workers=1, progress=False)
    _run(repo, env, "task2sim", "sweep", "--all", "--jobs", "1")
    groups = sorted(str(p.relative_to(repo)) for p in (repo / "pipelines").glob("*/dvc.yaml"))
    _run(repo, env, *dvc, "commit", "--force", *groups)

    stages = ["render", "rewards", "scratch", "sweep_spread", "controller", "final_sets",
              "pretrain", "evaluate_reference", "evaluate", "cka", "figures", "sim_figures",
              "task_sheet"]  # fmt: skip
    paper = Path(os.environ.get("TASK2SIM_PAPER_DIR", ROOT.parent / "shared" / "paper"))
    if (paper / "reward_db.json").is_file():  # the released files: supp. Table 1 and LOTO too
        env["TASK2SIM_PAPER_DIR"] = str(paper)
        stages += ["paper_controller", "loto"]
    first = _run(repo, env, *dvc, "repro", *stages)
    assert "Running stage 'pipelines/" not in first, "the recorded per-config stages re-ran"
    for stage in stages:
        assert f"Running stage '{stage}'" in first, stage

    rewards = json.loads((repo / "results/rewards.json").read_text())
    spread = json.loads((repo / "results/sweep_spread.json").read_text())
    assert spread["design"]["runs"] == 64 * 2  # the quarter design, two seeds a config
    assert set(spread["tasks"]) == {"digits", "pets", "toys"}
    assert all("r" in row["split_half"] for row in spread["tasks"].values())
    runs = (repo / "results/reward_runs.csv").read_text().splitlines()
    assert len(runs) == 1 + 3 * 64 * 2
    assert set(rewards) == {"digits", "pets", "toys"}
    assert len(rewards["digits"]) == NUM_CONFIGS
    metrics = json.loads((repo / "results/metrics.json").read_text())
    for method in params["final"]["methods"]:
        for protocol in ("knn", "linear", "finetune"):
            assert set(metrics[method][protocol]) == {"seen", "unseen"}, (method, protocol)
    assert any(key.startswith("reference_") for key in metrics)
    stats = json.loads((repo / "results/final/stats.json").read_text())
    assert set(stats["rows"]) == set(metrics) and "sanity_gate" in stats
    assert stats["seeds"] == params["final"]["seeds"]
    evaluation = json.loads((repo / "results/final/evaluation.json").read_text())
    assert {r["seed"] for r in evaluation} == set(params["final"]["seeds"])
    assert (repo / "results/final/verdicts.md").read_text().count("| Task2Sim vs |") == 1
    if "loto" in stages:
        loto = json.loads((repo / "results/loto.json").read_text())
        assert len(loto) == 2 and all(len(pool["tasks"]) in (3, 20) for pool in loto.values())
    figures = ("sweep_sets", "rewards", "cka", "final_per_task", "final_summary")
    for figure in (*figures, "sim_parameters", "tasks"):
        assert (repo / "results/figures" / f"{figure}.png").stat().st_size > 1000, figure

    second = _run(repo, env, *dvc, "repro", *stages)
    assert "Running stage" not in second
    assert "up to date" in _run(repo, env, *dvc, "status", *stages)
