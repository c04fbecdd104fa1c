"""The `task2sim` command: registry listing, ad-hoc ImageFolder ingestion, clean error exits."""

from __future__ import annotations

import subprocess
import sys

from task2sim.cli import main
from task2sim.datasets.format import load_task


def test_tasks_lists_offline_and_paper_tasks(capsys):
    assert main(["tasks"]) == 0
    out = capsys.readouterr().out
    for name in ("digits", "mnist5k", "fashion_mnist", "animals", "clipart", "emoji"):
        assert f"{name} " in out
    for name in ("EuroSAT", "ChestX", "CUB", "Omniglot"):
        assert name in out
    assert "offline" in out and "manual" in out and "download" in out
    assert "ready" in out


def test_prepare_imagefolder_from_the_command_line(make_imagefolder, tmp_path, capsys):
    root = make_imagefolder()
    code = main(["prepare", "--imagefolder", str(root), "--name", "pets", "--size", "16",
                 "--out", str(tmp_path / "tasks")])  # fmt: skip
    assert code == 0
    assert "pets: 3 classes, 12 train / 6 test" in capsys.readouterr().out
    assert load_task(tmp_path / "tasks" / "pets").image_shape == (16, 16, 3)


def test_user_errors_exit_2_without_traceback(tmp_path):
    params = tmp_path / "params.yaml"
    params.write_text("tasks: {a: {source: digitz}}\ncontroller: {seen: [a], unseen: []}\n")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "task2sim",
            "prepare",
            "a",
            "--params",
            str(params),
            "--out",
            str(tmp_path / "out"),
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    assert "unknown task source 'digitz' (did you mean 'digits'?)" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()


def test_unknown_task_name_in_params(tmp_path, capsys):
    assert main(["prepare", "nope", "--out", str(tmp_path)]) == 2
    assert "has no task named nope" in capsys.readouterr().err
