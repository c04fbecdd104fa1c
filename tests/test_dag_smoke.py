"""The whole DAG at smoke scale, end to end, in a fresh DVC project.

Every stage of dvc.yaml and pipelines/*/dvc.yaml ends up run and recorded. The 512 per-config
stages (render@cNNN, sweep@cNNN) are produced the way a user fans them out, `task2sim sweep --all`
and a render loop in one process, then recorded with `dvc commit`: through `dvc repro` each would
pay a process start of its own (about half an hour at any scale). Everything downstream of them
runs through `dvc repro`, which must then leave nothing to do (`dvc status`).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from helpers import PAPER_DIR, new_dvc_project, project_params, tiny_train
from task2sim.params import parse_params
from task2sim.render.job import RenderJob
from task2sim.render.set_writer import render_set
from task2sim.sim.config import NUM_CONFIGS, stage_name

TINY_NET = tiny_train(batch_size=4, checkpoint_every=0)


def _smoke_params(pets: Path, toys: Path) -> dict:
    params = project_params()
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
        # replicates inline: a forked replicate imports timm anew, 128 times over (most of the
        # sweep's time); test_sweep checks forked runs equal inline ones
        workers=1,
    )
    evaluate = params["evaluate"]
    evaluate.update(image_size=16, max_train_images=24, max_test_images=24, threads=1)
    evaluate["linear"].update(epochs=2, milestones=[1], batch_size=8)
    evaluate["finetune"].update(epochs=1, milestones=[], batch_size=8, max_train_images=12)
    params["pretrain"].update(
        images=8, classes=2, objects_per_class=1, size=8, workers=1, train=TINY_NET
    )
    params["cka"] = {"max_images": 8}
    params["final"]["seeds"] = [0, 1]  # paired seeds, at two thirds of the default's cost
    return params


def _run(repo: Path, env: dict, *args: str) -> str:
    result = subprocess.run(args, cwd=repo, env=env, capture_output=True, text=True)
    assert result.returncode == 0, f"{args}:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result.stdout + result.stderr


def test_the_whole_dag_runs_and_then_has_nothing_left_to_do(
    tmp_path, make_imagefolder, monkeypatch
):
    pets = make_imagefolder({"cat": 5, "dog": 5}, root=tmp_path / "pets")
    toys = make_imagefolder({"car": 5, "ball": 5, "kite": 5}, root=tmp_path / "toys")
    params = _smoke_params(pets, toys)
    repo = tmp_path / "repo"
    cache = str(tmp_path / "cache")
    # src/, dvc.yaml, pipelines/ and params.yaml, committed to git (dvclive reads the commit)
    project = new_dvc_project(
        repo,
        params,
        pipelines=True,
        git=True,
        env={"TASK2SIM_ROOT": str(repo), "TASK2SIM_CACHE": cache},
        sort_keys=False,
    )
    env = project.env
    dvc = [sys.executable, "-m", "dvc"]
    _run(repo, env, *dvc, "repro", "prepare", "task2vec")

    # The fan-out: all 256 sets and sweep jobs in one process each, then recorded by DVC.
    smoke = parse_params(params)
    monkeypatch.setenv("TASK2SIM_CACHE", env["TASK2SIM_CACHE"])  # meshes of the smoke world
    for config in range(NUM_CONFIGS):
        job = RenderJob.from_params(smoke, config)  # as render@cNNN builds it
        render_set(job, repo / "data/sets/sweep" / stage_name(config), workers=1, progress=False)
    _run(repo, env, "task2sim", "sweep", "--all", "--jobs", "1")
    groups = sorted(str(p.relative_to(repo)) for p in (repo / "pipelines").glob("*/dvc.yaml"))
    _run(repo, env, *dvc, "commit", "--force", *groups)

    stages = ["render", "rewards", "scratch", "sweep_spread", "controller", "final_sets",
              "pretrain", "evaluate_reference", "evaluate", "cka", "figures", "sim_figures",
              "task_sheet", "plot_data"]  # fmt: skip
    if (PAPER_DIR / "reward_db.json").is_file():  # the released files: supp. Table 1 and LOTO too
        env["TASK2SIM_PAPER_DIR"] = str(PAPER_DIR)
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
    metrics = json.loads((repo / "results/final/means.json").read_text())
    assert json.loads((repo / "results/metrics.json").read_text()) == metrics["task2sim"]
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

    # nothing left to do: what `dvc repro` would run, `dvc status` lists (a no-op repro of the
    # same stages takes three times as long, all of it DVC's walk over the 537 stages)
    assert "Data and pipelines are up to date" in _run(repo, env, *dvc, "status", *stages)
    _plots(repo, env, dvc, tmp_path)
    _queued_experiments(repo, env, dvc, tmp_path)


def _plots(repo: Path, env: dict, dvc: list[str], tmp_path: Path) -> None:
    """`dvc plots show` draws the dvc.yaml plots: training curves, method intervals, figures."""
    curves = (repo / "results/plots/training.csv").read_text().splitlines()
    assert curves[0] == "backbone,config,seed,methods,step,loss,lr" and len(curves) > 2
    _run(repo, env, *dvc, "plots", "show", "-o", str(tmp_path / "dvc_plots"))
    page = (tmp_path / "dvc_plots" / "index.html").read_text()
    for title in ("Training loss of the final backbones", "Mean top-1 of every method"):
        assert title in page, title
    for figure in ("final_summary", "final_per_task", "rewards", "cka"):
        assert f"{figure}.png" in page, figure


def _queued_experiments(repo: Path, env: dict, dvc: list[str], tmp_path: Path) -> None:
    """Two queued experiments run, each in its own workspace, and leave the main one alone;
    `dvc exp show --only-changed` shows both in 200 columns, `report --from-exps` reads both."""
    _run(repo, env, "git", "add", "-A")
    _run(repo, env, "git", "commit", "-q", "-m", "smoke baseline")
    env = {key: value for key, value in env.items() if key != "TASK2SIM_ROOT"}
    before = (repo / "results/metrics.json").read_bytes()
    for images in (4, 12):
        _run(repo, env, *dvc, "exp", "run", "--queue", "-n", f"images-{images}",
             "-S", f"pretrain.images={images}", "plot_data")  # fmt: skip
    _run(repo, env, *dvc, "queue", "start", "-j", "2")  # each in its own workspace, at once
    deadline = time.monotonic() + 900
    while True:
        status = _run(repo, env, *dvc, "queue", "status")
        if not any(word in status for word in ("Queued", "Running")):
            break
        assert time.monotonic() < deadline, status
        time.sleep(3)
    assert status.count("Success") == 2, status
    assert _run(repo, env, "git", "status", "--porcelain").strip() == ""
    assert (repo / "results/metrics.json").read_bytes() == before

    wide = {**env, "COLUMNS": "200"}
    show = _run(repo, wide, *dvc, "exp", "show", "--no-pager", "--only-changed")
    header = next(line for line in show.splitlines() if "Experiment" in line).split()
    assert max(map(len, show.splitlines())) <= 200, show
    assert "pretrain.images" in header, show  # the changed param and the metrics in full
    assert any(column.endswith((".seen", ".unseen")) for column in header), show
    assert "images-4" in show and "images-12" in show, show
    # what does not fit is the changed stage dependencies' hashes; --drop hides them
    plain = _run(repo, wide, *dvc, "exp", "show", "--no-pager", "--only-changed",
                 "--drop", "^(data|results)/")  # fmt: skip
    assert "…" not in plain and "images-12" in plain, plain
    listed = subprocess.run([*dvc, "exp", "show", "--json"], cwd=repo, env=env,
                            capture_output=True, text=True, check=True)  # fmt: skip
    runs = {
        rev["name"]: rev["data"]["metrics"]["results/metrics.json"]["data"]
        for base in json.loads(listed.stdout)
        for exp in base.get("experiments") or []
        for rev in exp["revs"]
    }
    assert set(runs) == {"images-4", "images-12"}
    assert all(set(run) == {"knn", "linear", "finetune"} for run in runs.values())

    figures, tables = tmp_path / "scale_figures", tmp_path / "scale_tables"
    _run(repo, env, "task2sim", "report", "--from-exps", "--out", str(figures),
         "--tables", str(tables))  # fmt: skip
    assert (figures / "scale_images.png").stat().st_size > 1000
    curves = (tables / "scale.csv").read_text().splitlines()
    assert {line.split(",")[1] for line in curves[1:]} == {"4", "8", "12"}
    assert len({line.split(",")[5] for line in curves[1:]}) > 2  # every method, from means.json
