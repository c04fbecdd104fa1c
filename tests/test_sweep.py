"""The reward sweep: one job end to end (replicates with their own seeds), the design, the
reward table built from runs, its schema, resuming, and Ray."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from helpers import PAPER_DIR, ROOT, brightness_task, tiny_train
from task2sim.datasets.format import save_task
from task2sim.errors import Task2SimError
from task2sim.params import SimParams, load_params
from task2sim.render.job import RenderJob
from task2sim.render.set_writer import render_set
from task2sim.sim.config import PARAM_NAMES, index_to_flags, index_to_key, stage_name
from task2sim.stats.factorial import fit_two_way
from task2sim.sweep.design import design_configs
from task2sim.sweep.executors import LocalExecutor, RayExecutor
from task2sim.sweep.job import SweepJob, run_sweep_job
from task2sim.sweep.rewards import RUN_COLUMNS, gather_runs, reward_table

SIM = SimParams(classes=3, objects_per_class=2, skies=2, photos=False, background_height=32)
TINY_TRAIN = tiny_train(
    image_size=32,
    batch_size=16,
    holdout_images=4,
    mixup_prob=0.0,
    randaugment=None,
    drop_path=0.0,
    label_smoothing=0.0,
)
pytestmark = pytest.mark.usefixtures("private_cache")


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """A params file, two tiny tasks and two tiny rendered sweep sets."""
    root = tmp_path_factory.mktemp("project")
    os.environ["TASK2SIM_CACHE"] = str(root / "cache")
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["tasks"] = {"a": {"source": "digits"}, "b": {"source": "digits"}}
    params["controller"] = {**params["controller"], "seen": ["a"], "unseen": ["b"]}
    params["sim"] = SIM.model_dump()
    params["render"] = {**params["render"], "images": 24, "size": 16}
    params["sweep"] = {**params.get("sweep", {}), "train": TINY_TRAIN}
    params["sweep"].update(max_train_images=40, max_test_images=40)
    params["evaluate"] = {**params.get("evaluate", {}), "image_size": 16}
    (root / "params.yaml").write_text(yaml.safe_dump(params))
    rng = np.random.default_rng(0)
    for name in ("a", "b"):
        save_task(brightness_task("t", rng, 60), root / "tasks" / name)
    for config in (0, 255):
        job = RenderJob(config=config, sim=SIM, images=24, size=16, shard_size=24)
        render_set(job, root / "sets" / stage_name(config), workers=1, progress=False)
    return root


def _job(project: Path, config: int) -> SweepJob:
    params = load_params(project / "params.yaml")
    return SweepJob.for_config(
        config, params, project / "sets", project / "tasks", project / "sweep"
    )


def _job(project: Path, config: int, **sweep) -> SweepJob:
    params = load_params(project / "params.yaml")
    job = SweepJob.for_config(
        config, params, project / "sets", project / "tasks", project / "sweep"
    )
    return replace(job, sweep=job.sweep.model_copy(update=sweep)) if sweep else job


def test_one_job_trains_every_replicate_with_its_own_seed(project):
    job = _job(project, 255)  # in the quarter design; two replicates in two forked workers
    runs = run_sweep_job(job)
    assert [run["replicate"] for run in runs] == [0, 1]
    assert runs[0]["seed"] != runs[1]["seed"]
    for run in runs:
        assert set(run["top1"]) == {"a", "b"} and all(0 <= v <= 100 for v in run["top1"].values())
        assert 0 <= run["heldout_top1"] <= 100 and run["train_loss"] > 0
    result = json.loads((job.out_dir / "rewards.json").read_text())
    assert result["key"] == index_to_key(255) and result["runs"] == runs
    assert sorted(p.name for p in job.out_dir.iterdir()) == ["rewards.json"]
    inline = replace(job, out_dir=project / "again" / "c255")
    inline = replace(inline, sweep=job.sweep.model_copy(update={"workers": 1}))
    assert run_sweep_job(inline) == runs  # deterministic, forked or not


def test_a_changed_seed_changes_a_run(project, tmp_path):
    job = replace(_job(project, 255, replicates=1, design="full"), out_dir=tmp_path / "a")
    train = job.sweep.train.model_copy(update={"seed": 7})
    reseeded = job.sweep.model_copy(update={"train": train})
    other = replace(job, out_dir=tmp_path / "b", sweep=reseeded)
    first, second = run_sweep_job(job)[0], run_sweep_job(other)[0]
    assert first["seed"] != second["seed"]
    assert first["top1"] != second["top1"] or first["train_loss"] != second["train_loss"]


def test_a_config_outside_the_design_runs_nothing(project, tmp_path):
    job = replace(_job(project, 0), out_dir=tmp_path / "c000")  # c000 is not in the quarter
    assert run_sweep_job(job) == []
    result = json.loads((job.out_dir / "rewards.json").read_text())
    assert result["in_design"] is False and result["runs"] == []


def test_missing_set_is_refused(project, tmp_path):
    job = replace(_job(project, 3), out_dir=tmp_path / "c003")  # in the design, not rendered
    with pytest.raises(Task2SimError):
        run_sweep_job(job)
    assert not job.out_dir.exists()


def test_cli_skips_finished_configs(project):
    command = [sys.executable, "-m", "task2sim", "sweep", "c000", "c255"]
    command += ["--params", str(project / "params.yaml"), "--sets", str(project / "sets")]
    command += ["--tasks-dir", str(project / "tasks"), "--out", str(project / "cli")]
    env = {**os.environ, "TASK2SIM_CACHE": str(project / "cache")}
    first = subprocess.run(command, capture_output=True, text=True, env=env, check=True)
    assert "2 sweep job(s)" in first.stdout
    (project / "cli" / "c255" / "rewards.json").unlink()  # as if killed before c255 finished
    second = subprocess.run(command, capture_output=True, text=True, env=env, check=True)
    assert "1 of 2 configs already have results" in second.stdout
    assert "1 sweep job(s)" in second.stdout


def _effects_reward(config: int) -> float:
    """A known truth: two main effects and one two-way interaction."""
    flags = index_to_flags(config)
    return (
        50 + 3 * flags["backgr"] - 2 * flags["pose_rot"] + 1.5 * flags["blur"] * flags["materials"]
    )


def _write_results(
    sweep_dir: Path, tasks: list[str], design: str = "quarter", replicates: int = 2,
    noise: float = 0.5, seed: int = 0,
) -> None:  # fmt: skip
    rng = np.random.default_rng(seed)
    members = set(design_configs(design))
    for config in range(256):
        folder = sweep_dir / stage_name(config)
        folder.mkdir(parents=True)
        runs = [
            {
                "replicate": r,
                "seed": 1000 * config + r,
                "top1": {
                    t: _effects_reward(config) + i + rng.normal(0, noise)
                    for i, t in enumerate(tasks)
                },
                "train_loss": 1.0,
                "heldout_top1": 80.0,
            }
            for r in range(replicates)
        ]
        result = {"config": config, "design": design, "runs": runs if config in members else []}
        (folder / "rewards.json").write_text(json.dumps(result))


def test_the_fitted_table_recovers_known_effects_from_noisy_runs(tmp_path):
    _write_results(tmp_path, ["x", "y"], noise=1.0)
    runs = gather_runs(tmp_path, ["x", "y"], "quarter")
    assert len(runs) == 2 * 64 * 2 and runs.groupby("task").size().tolist() == [128, 128]
    fit = fit_two_way(runs[runs.task == "x"]["config"], runs[runs.task == "x"]["top1"])
    effects = dict(zip(PARAM_NAMES, fit.main_effects, strict=True))
    assert effects["backgr"] == pytest.approx(3, abs=4 * fit.main_effect_errors[0])
    assert effects["pose_rot"] == pytest.approx(-2, abs=4 * fit.main_effect_errors[0])
    assert fit.residual_std == pytest.approx(1.0, rel=0.3)
    table = reward_table(runs, ["x", "y"], "two_way")
    truth = np.array([_effects_reward(c) for c in range(256)])
    predicted = np.array(list(table["x"].values()))
    assert np.corrcoef(predicted, truth)[0, 1] > 0.9  # prediction noise ~ 0.54, signal ~ 1.9
    assert np.abs(predicted - truth).max() < 2.5


def test_reward_table_has_the_papers_schema(tmp_path):
    _write_results(tmp_path, ["x", "y"])
    table = reward_table(gather_runs(tmp_path, ["x", "y"], "quarter"), ["x", "y"], "two_way")
    assert list(table) == ["x", "y"]
    assert list(table["x"]) == [index_to_key(i) for i in range(256)]
    assert all(isinstance(v, float) for v in table["y"].values())
    paper = PAPER_DIR / "reward_db.json"
    if paper.is_file():  # same key order as the paper's released table
        assert list(table["x"]) == list(next(iter(json.loads(paper.read_text()).values())))


def test_cell_means_need_every_config(tmp_path):
    _write_results(tmp_path / "full", ["x"], design="full", replicates=2, noise=0.0)
    runs = gather_runs(tmp_path / "full", ["x"], "full")
    table = reward_table(runs, ["x"], "cell_mean")
    assert table["x"][index_to_key(255)] == pytest.approx(_effects_reward(255))
    _write_results(tmp_path / "quarter", ["x"])
    with pytest.raises(Task2SimError, match="configs have no run"):
        reward_table(gather_runs(tmp_path / "quarter", ["x"], "quarter"), ["x"], "cell_mean")


def test_rewards_command_writes_the_table_in_config_order_and_every_run(tmp_path):
    """The file itself keeps index order (like reward_db.json), not JSON's sorted keys."""
    from task2sim.cli import main

    _write_results(tmp_path / "sweep", ["y", "x"])
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["tasks"] = {"y": {"source": "digits"}, "x": {"source": "digits"}}
    params["controller"] = {"seen": ["y"], "unseen": ["x"]}
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    out, runs_csv = tmp_path / "rewards.json", tmp_path / "runs.csv"
    args = ["rewards", "--params", str(tmp_path / "params.yaml"), "--sweep-dir"]
    args += [str(tmp_path / "sweep"), "--out", str(out), "--runs", str(runs_csv)]
    assert main(args) == 0
    written = json.loads(out.read_text())
    assert list(written) == ["y", "x"]
    assert list(written["x"]) == [index_to_key(i) for i in range(256)]
    runs = pd.read_csv(runs_csv)
    assert list(runs.columns) == RUN_COLUMNS and len(runs) == 2 * 128
    assert runs["seed"].nunique() == 128  # every run its own seed


def test_reward_table_with_holes_or_another_design_is_refused(tmp_path):
    _write_results(tmp_path, ["x"])
    for config in range(250, 256):
        (tmp_path / stage_name(config) / "rewards.json").unlink()
    with pytest.raises(Task2SimError, match="6 of 256 sweep results are missing"):
        gather_runs(tmp_path, ["x"], "quarter")
    with pytest.raises(Task2SimError, match="another design"):
        _write_results(tmp_path / "h", ["x"], design="half", replicates=1)
        gather_runs(tmp_path / "h", ["x"], "quarter")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_ray_executor_on_a_real_local_head_matches_local(project, tmp_path):
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}
    port = _free_port()
    ray_bin = Path(sys.executable).with_name("ray")
    start = [str(ray_bin), "start", "--head", f"--port={port}", "--num-cpus=2"]
    start += ["--include-dashboard=false", "--disable-usage-stats"]
    subprocess.run(start, env=env, check=True, capture_output=True, timeout=120)
    try:
        jobs = [
            replace(_job(project, c, workers=1), out_dir=tmp_path / "ray" / stage_name(c))
            for c in (0, 255)
        ]
        executor = RayExecutor(f"127.0.0.1:{port}")
        remote = {job.config: runs for job, runs in executor.map_unordered(run_sweep_job, jobs)}
        import ray

        ray.shutdown()
    finally:
        subprocess.run([str(ray_bin), "stop", "--force"], env=env, capture_output=True, timeout=120)
    local_jobs = [replace(j, out_dir=tmp_path / "local" / stage_name(j.config)) for j in jobs]
    local = {j.config: t for j, t in LocalExecutor(1).map_unordered(run_sweep_job, local_jobs)}
    assert remote == local
    assert all((tmp_path / "ray" / stage_name(c) / "rewards.json").is_file() for c in (0, 255))
