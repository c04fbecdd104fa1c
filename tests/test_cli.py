"""The `task2sim` command: registry listing, ad-hoc ImageFolder ingestion, clean error exits."""

from __future__ import annotations

import subprocess
import sys

import pytest

from task2sim import __version__
from task2sim.cli import build_parser, main, run
from task2sim.cli_help import subcommands
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


def test_every_command_and_option_is_documented():
    """`task2sim <cmd> --help` describes the command and every option (a user's first stop)."""
    commands = subcommands(build_parser())
    assert len(commands) >= 25
    for name, command in commands.items():
        assert command.description, f"{name} has no description"
        assert name in command.format_help()
        for action in command._actions:
            assert action.help, f"{name} {action.option_strings or action.dest} has no help"


def test_option_names_are_consistent_across_commands():
    """One spelling per idea: kebab-case, and never both `--x` and `--xs`."""
    names = {
        option
        for command in subcommands(build_parser()).values()
        for action in command._actions
        for option in action.option_strings
        if option.startswith("--")
    }
    assert all(name == name.lower() and "_" not in name for name in names), sorted(names)
    assert not {name for name in names if f"{name}s" in names}


def test_defaults_are_shown_and_version_is_printed(capsys):
    help_text = subcommands(build_parser())["evaluate-final"].format_help()
    assert "(default: params.yaml)" in " ".join(help_text.split())
    with pytest.raises(SystemExit) as exit_info:
        run(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"task2sim {__version__}"
