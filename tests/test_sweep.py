"""The reward sweep: one job end to end, the reward table's schema, resuming, and Ray."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import yaml

from task2sim.datasets.format import TaskData, save_task
from task2sim.errors import Task2SimError
from task2sim.params import SimParams, load_params
from task2sim.render.set_writer import RenderJob, render_set
from task2sim.sim.config import index_to_key, stage_name
from task2sim.sweep.executors import LocalExecutor, RayExecutor
from task2sim.sweep.job import SweepJob, run_sweep_job
from task2sim.sweep.rewards import gather_rewards

ROOT = Path(__file__).resolve().parents[1]
SIM = SimParams(classes=3, objects_per_class=2, skies=2, photos=False, background_height=32)
TINY_TRAIN = {
    "model": "resnet10t",
    "model_kwargs": {"channels": [8, 16, 32, 64], "stem_width": 8},
    "image_size": 32,
    "epochs": 1,
    "batch_size": 16,
    "warmup_epochs": 0,
    "threads": 1,
    "num_workers": 0,
}


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("TASK2SIM_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))


def _task(rng: np.random.Generator, n: int) -> TaskData:
    """Two classes that differ in brightness: any backbone separates them a little."""
    labels = np.arange(n) % 2
    images = (rng.integers(0, 80, (n, 16, 16, 3)) + 120 * labels[:, None, None, None]).astype(
        np.uint8
    )
    half = n // 2
    return TaskData(
        name="t",
        train_images=images[:half],
        train_labels=labels[:half].astype(np.int64),
        test_images=images[half:],
        test_labels=labels[half:].astype(np.int64),
        classes=["dark", "light"],
    )


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
        save_task(_task(rng, 60), root / "tasks" / name)
    for config in (0, 255):
        job = RenderJob(config=config, sim=SIM, images=24, size=16, shard_size=24)
        render_set(job, root / "sets" / stage_name(config), workers=1, progress=False)
    return root


def _job(project: Path, config: int) -> SweepJob:
    params = load_params(project / "params.yaml")
    return SweepJob.for_config(
        config, params, project / "sets", project / "tasks", project / "sweep"
    )


def test_one_job_trains_scores_and_writes_atomically(project):
    job = _job(project, 255)
    top1 = run_sweep_job(job)
    assert set(top1) == {"a", "b"} and all(0 <= v <= 100 for v in top1.values())
    result = json.loads((job.out_dir / "rewards.json").read_text())
    assert result["key"] == index_to_key(255) and result["top1"] == top1
    assert (job.out_dir / "backbone" / "model.pt").is_file()
    assert run_sweep_job(replace(job, out_dir=project / "again" / "c255")) == top1  # deterministic


def test_missing_set_is_refused(project, tmp_path):
    job = replace(_job(project, 7), out_dir=tmp_path / "c007")
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
    (project / "cli" / "c000" / "rewards.json").unlink()  # as if killed before c000 finished
    (project / "cli" / "c000" / "backbone" / "model.pt").unlink()
    second = subprocess.run(command, capture_output=True, text=True, env=env, check=True)
    assert "1 of 2 configs already have results" in second.stdout
    assert "1 sweep job(s)" in second.stdout


def _write_results(sweep_dir: Path, configs: range, tasks: list[str]) -> None:
    for config in configs:
        folder = sweep_dir / stage_name(config)
        folder.mkdir(parents=True)
        top1 = {t: float(config) / 3 + i for i, t in enumerate(tasks)}
        (folder / "rewards.json").write_text(json.dumps({"config": config, "top1": top1}))


def test_reward_table_has_the_papers_schema(tmp_path):
    _write_results(tmp_path, range(256), ["x", "y"])
    table = gather_rewards(tmp_path, ["x", "y"])
    assert list(table) == ["x", "y"]
    assert list(table["x"]) == [index_to_key(i) for i in range(256)]
    paper = ROOT.parent / "shared" / "paper" / "reward_db.json"
    if paper.is_file():  # same key order as the paper's released table
        assert list(table["x"]) == list(next(iter(json.loads(paper.read_text()).values())))
    assert table["y"][index_to_key(255)] == pytest.approx(255 / 3 + 1)


def test_rewards_command_writes_the_table_in_config_order(tmp_path, monkeypatch):
    """The file itself keeps index order (like reward_db.json), not JSON's sorted keys."""
    from task2sim.cli import main

    _write_results(tmp_path / "sweep", range(256), ["y", "x"])
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["tasks"] = {"y": {"source": "digits"}, "x": {"source": "digits"}}
    params["controller"] = {"seen": ["y"], "unseen": ["x"]}
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    out = tmp_path / "rewards.json"
    args = ["rewards", "--params", str(tmp_path / "params.yaml"), "--sweep-dir"]
    assert main([*args, str(tmp_path / "sweep"), "--out", str(out)]) == 0
    written = json.loads(out.read_text())
    assert list(written) == ["y", "x"]
    assert list(written["x"]) == [index_to_key(i) for i in range(256)]


def test_reward_table_with_holes_is_refused(tmp_path):
    _write_results(tmp_path, range(250), ["x"])
    with pytest.raises(Task2SimError, match="6 of 256 sweep results are missing"):
        gather_rewards(tmp_path, ["x"])


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
            replace(_job(project, c), out_dir=tmp_path / "ray" / stage_name(c)) for c in (0, 255)
        ]
        executor = RayExecutor(f"127.0.0.1:{port}")
        remote = {job.config: top1 for job, top1 in executor.map_unordered(run_sweep_job, jobs)}
        import ray

        ray.shutdown()
    finally:
        subprocess.run([str(ray_bin), "stop", "--force"], env=env, capture_output=True, timeout=120)
    local_jobs = [replace(j, out_dir=tmp_path / "local" / stage_name(j.config)) for j in jobs]
    local = {j.config: t for j, t in LocalExecutor(1).map_unordered(run_sweep_job, local_jobs)}
    assert remote == local
    assert all((tmp_path / "ray" / stage_name(c) / "rewards.json").is_file() for c in (0, 255))


def test_main_effects_read_each_parameter_off_the_factorial_design():
    from task2sim.sim.config import PARAM_NAMES, index_to_flags
    from task2sim.sweep.effects import effect_standard_error, main_effects

    def reward(config: int) -> float:
        flags = index_to_flags(config)
        return 50 + 3 * flags["backgr"] - 1 * flags["pose_rot"] + 0.5 * (config % 7 == 0)

    table = {"t": {index_to_key(c): reward(c) for c in reversed(range(256))}}  # any key order
    effects = main_effects(table)
    assert effects.loc["t", "backgr"] == pytest.approx(3, abs=0.05)
    assert effects.loc["t", "pose_rot"] == pytest.approx(-1, abs=0.05)
    others = [p for p in PARAM_NAMES if p not in ("backgr", "pose_rot")]
    assert np.abs(effects.loc["t", others].to_numpy(float)).max() < 0.05
    assert effect_standard_error(2.0) == pytest.approx(2.0 * (2 / 128) ** 0.5)


def test_split_variance_separates_signal_seed_offset_and_config_noise():
    from task2sim.sweep.noise import split_variance

    rng = np.random.default_rng(0)
    signal = rng.normal(0, 2.0, 20000)  # config effects, std 2 (a long table: small error)
    table = 60 + signal + rng.normal(0, 1.0, signal.size)  # all at one seed: offset is common
    offsets = rng.normal(0, 3.0, 200)  # a large per-seed shift shared by every config
    runs = {
        c: {s: 60 + signal[c] + offsets[s] + rng.normal(0, 1.0) for s in range(200)}
        for c in range(40)
    }
    split = split_variance(table, runs)
    assert split.noise_dof == 39 * 199
    assert split.noise_std == pytest.approx(1.0, abs=0.05)
    assert split.seed_offset_std == pytest.approx(3.0, rel=0.2)
    assert split.signal_std == pytest.approx(2.0, abs=0.1)
    assert split.across_configs_std == pytest.approx(np.std(table, ddof=1))
    # noise var 1, signal var 4: one seed per set already gives ratio sqrt(5) >= 2
    assert split.seeds_needed == 1


def test_split_variance_counts_the_seeds_a_noisy_table_needs():
    from task2sim.sweep.noise import split_variance

    rng = np.random.default_rng(1)
    signal = rng.normal(0, 1.5, 20000)
    table = signal + rng.normal(0, 2.0, signal.size)
    runs = {c: {s: signal[c] + rng.normal(0, 2.0) for s in range(100)} for c in range(50)}
    split = split_variance(table, runs)
    # m >= 3 * noise var / signal var = 3 * 4 / 2.25 = 5.3
    assert 5 <= split.seeds_needed <= 7
    one = split_variance(table, {3: runs[3]})  # one config: offset and noise lumped together
    assert one.seed_offset_std is None and one.noise_dof == 99
    flat = split_variance([5.0, 5.0, 5.0], {0: {0: 4.0, 1: 6.0}})  # no spread beyond the noise
    assert flat.signal_std == 0
    assert flat.seeds_needed == float("inf")
    with pytest.raises(ValueError, match="same seeds, at least two"):
        split_variance(table, {3: {0: 1.0, 1: 2.0}, 4: {0: 1.0, 2: 2.0}})
    with pytest.raises(ValueError, match="same seeds, at least two"):
        split_variance(table, {3: {0: 1.0}})
