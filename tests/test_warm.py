"""The warm server for render@ / sweep@ commands: same bytes as a cold run, statuses, signals."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import yaml

from helpers import ROOT, brightness_task, tiny_train
from task2sim.datasets.format import save_task
from task2sim.scratch import partial_dir
from task2sim.warm import protocol
from task2sim.warm.client import enabled

SIM = {"classes": 3, "objects_per_class": 2, "skies": 2, "photos": False, "background_height": 32}
# threads=2: torch's thread pool must start cleanly in a forked child
TRAIN = tiny_train(image_size=32, batch_size=16, threads=2)


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    """A params file for tiny sets and a tiny sweep, and two small tasks."""
    root = tmp_path_factory.mktemp("warm")
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["tasks"] = {"a": {"source": "digits"}, "b": {"source": "digits"}}
    params["controller"] = {**params["controller"], "seen": ["a"], "unseen": ["b"]}
    params["sim"] = {**params["sim"], **SIM}
    params["render"] = {**params["render"], "images": 48, "size": 16, "shard_size": 48}
    params["sweep"] = {**params["sweep"], "train": TRAIN}
    params["sweep"].update(max_train_images=40, max_test_images=40)
    params["evaluate"] = {**params["evaluate"], "image_size": 16}
    (root / "params.yaml").write_text(yaml.safe_dump(params))
    rng = np.random.default_rng(0)
    for name in ("a", "b"):
        save_task(brightness_task(name, rng, 60, ("d", "l")), root / "tasks" / name)
    return root


@contextlib.contextmanager
def _private_tmpdir() -> Iterator[Path]:
    """A private temp folder for servers (short: socket paths are limited)."""
    home = Path(tempfile.mkdtemp(prefix="t2s", dir="/tmp"))
    try:
        yield home
    finally:
        for sock in home.rglob("*.sock"):  # tells any server still idling to go away
            sock.unlink()
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="module")
def socket_home() -> Iterator[Path]:
    """One folder, so one server, for the tests of this module that share it."""
    with _private_tmpdir() as home:
        yield home


def _env(project: Path, socket_home: Path, warm: bool, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "TASK2SIM_CACHE": str(project / "cache"),
        "TASK2SIM_WARM": "1" if warm else "0",
        "TASK2SIM_WARM_IDLE": "30",
        "TMPDIR": str(socket_home),
        **extra,
    }


def _task2sim(project: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "task2sim", *args, "--params", str(project / "params.yaml")]
    return subprocess.run(command, cwd=project, env=env, capture_output=True, text=True)


def _files(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def test_warm_render_and_sweep_match_cold_runs_to_the_byte(project, socket_home):
    runs = {}
    for mode in ("cold", "warm", "warm-again"):
        env = _env(project, socket_home, warm=mode != "cold")
        sets, sweep = project / f"sets-{mode}", project / f"sweep-{mode}"
        render = _task2sim(project, env, "render", "c255", "--quiet", "--out", str(sets / "c255"))
        assert render.returncode == 0, render.stderr
        assert "c255 (1_1_1_1_1_3_0_1_1): 48 images at 16 px" in render.stdout
        args = ("sweep", "c255", "--sets", str(sets), "--tasks-dir", str(project / "tasks"))
        result = _task2sim(project, env, *args, "--out", str(sweep))
        assert result.returncode == 0, result.stderr
        assert "1 sweep job(s)" in result.stdout
        runs[mode] = (_files(sets), _files(sweep))
    assert runs["warm"] == runs["cold"] and runs["warm-again"] == runs["cold"]
    assert len(list(socket_home.rglob("*.sock"))) == 1  # one server answered all warm calls
    assert "started" in (next(socket_home.rglob("*.log")).read_text())


def test_warm_errors_keep_the_exit_status_and_message(project, socket_home):
    outcomes = {}
    for warm in (False, True):
        env = _env(project, socket_home, warm)
        bad_config = _task2sim(project, env, "render", "c256", "--quiet")
        assert bad_config.returncode == 2
        assert "error:" in bad_config.stderr and "Traceback" not in bad_config.stderr
        usage = _task2sim(project, env, "render", "c001", "--bogus")
        assert usage.returncode == 2 and "unrecognized arguments: --bogus" in usage.stderr
        outcomes[warm] = (bad_config.stderr, usage.stderr)
    assert outcomes[True] == outcomes[False]


def test_a_terminated_caller_stops_its_warm_command_without_output(
    project, socket_home, monkeypatch
):
    env = _env(project, socket_home, warm=True)
    out = project / "killed" / "c255"
    assert _task2sim(project, env, "render", "c000", "--quiet", "--out", str(out)).returncode == 0
    shutil.rmtree(out)  # the server is up; now a long render, terminated mid-way
    command = [sys.executable, "-m", "task2sim", "render", "c255", "--images", "100000"]
    command += ["--workers", "1"]
    command += ["--quiet", "--out", str(out), "--params", str(project / "params.yaml")]
    caller = subprocess.Popen(command, cwd=project, env=env, stderr=subprocess.PIPE, text=True)
    monkeypatch.chdir(project)  # the scratch area is the project's, as for the caller
    partial = partial_dir(out)
    deadline = time.monotonic() + 60
    while not partial.exists() and time.monotonic() < deadline:
        time.sleep(0.1)  # until the child has started writing its partial folder
    caller.send_signal(signal.SIGTERM)
    assert caller.wait(timeout=60) == 128 + signal.SIGTERM
    assert not out.exists()


def test_idle_server_exits_and_removes_its_socket(project):
    with _private_tmpdir() as home:
        env = _env(project, home, warm=True, TASK2SIM_WARM_IDLE="1")
        out = project / "idle" / "c000"
        result = _task2sim(project, env, "render", "c000", "--quiet", "--out", str(out))
        assert result.returncode == 0 and list(home.rglob("*.log"))
        deadline = time.monotonic() + 30
        while list(home.rglob("*.sock")) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not list(home.rglob("*.sock"))


def test_server_key_follows_import_time_environment(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    one = protocol.server_key()
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    assert protocol.server_key() != one
    monkeypatch.setenv("SOME_UNRELATED_VARIABLE", "x")  # passed to the child, not in the key
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    assert protocol.server_key() == one


def test_only_stage_commands_go_warm(monkeypatch):
    monkeypatch.setenv("TASK2SIM_WARM", "1")
    assert enabled(["render", "c001"]) and enabled(["-v", "sweep", "c001"])
    assert not enabled(["render", "--help"]) and not enabled(["prepare", "digits"])
    monkeypatch.setenv("TASK2SIM_WARM", "0")
    assert not enabled(["render", "c001"])
