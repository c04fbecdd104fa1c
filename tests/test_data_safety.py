"""Never lose a user's data: each fault a new user ran into, run at tiny sizes.

Every case checks the exit status (2 for bad input), that the user's files are untouched, that no
partial or temporary file is left in or beside an output, and that the one-line message names the
thing and the fix.
"""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from PIL import Image

from conftest import write_image
from task2sim import atomic, paths, scratch
from task2sim.cli import main
from task2sim.datasets.format import load_task
from task2sim.errors import Task2SimError
from task2sim.outputs import output_lock
from task2sim.scratch import SCRATCH_NAME, partial_dir

ROOT = Path(__file__).resolve().parents[1]
SMALL_SIM = {"classes": 3, "objects_per_class": 2, "skies": 2, "photos": False,
             "background_height": 32}  # fmt: skip


pytestmark = pytest.mark.usefixtures("private_cache")


@pytest.fixture(autouse=True)
def scratch_dir(tmp_path_factory, monkeypatch) -> Path:
    """This test's own scratch area for outputs outside a DVC project (subprocesses inherit it)."""
    folder = tmp_path_factory.mktemp("scratch")
    monkeypatch.setenv("TASK2SIM_SCRATCH", str(folder))
    return folder


@pytest.fixture
def params_file(tmp_path: Path) -> Path:
    """The project's params with a tiny render world, so a real render takes a second."""
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["sim"] = {**params["sim"], **SMALL_SIM}
    params["render"] = {**params["render"], "images": 8, "size": 16, "workers": 1, "shard_size": 4}
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(params))
    return path


def _error_line(capsys) -> str:
    """The command's stderr, which must be exactly one line."""
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, err
    return lines[0]


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def _user_folder(path: Path) -> dict[str, bytes]:
    (path / "notes").mkdir(parents=True)
    (path / "thesis.tex").write_text("years of work")
    (path / "notes" / "ideas.md").write_text("more work")
    return _snapshot(path)


def _no_temporaries(*folders: Path) -> None:
    """Nothing that looks like a temporary or partial file in or beside these folders."""
    for folder in folders:
        for path in [*folder.rglob("*"), *folder.parent.iterdir()]:
            name = path.name
            assert not name.endswith((".tmp", ".partial")), path
            assert ".tmp-" not in name and ".old-" not in name, path


def _scratch_leftovers(folder: Path) -> list[Path]:
    """What a scratch folder holds besides its (empty, reusable) lock files."""
    return [p for p in folder.iterdir() if p.name != "locks"]


def _render(params_file: Path, out: Path, *extra: str) -> int:
    return main(["render", "255", "--params", str(params_file), "--out", str(out), "--quiet",
                 *extra])  # fmt: skip


# --- 1. an existing --out folder is never replaced silently ---------------------------------------
def test_render_refuses_a_folder_that_is_not_an_image_set(params_file, tmp_path, capsys):
    out = tmp_path / "mine"
    before = _user_folder(out)
    assert _render(params_file, out) == 2
    line = _error_line(capsys)
    assert str(out) in line and "--force" in line and "not an earlier image set" in line
    assert _snapshot(out) == before
    _no_temporaries(out)


def test_render_replaces_its_own_earlier_set_and_force_replaces_anything(
    params_file, tmp_path, capsys
):
    out = tmp_path / "set"
    assert _render(params_file, out) == 0
    first = _snapshot(out)
    assert _render(params_file, out) == 0  # an earlier image set: replaced, same bytes
    assert _snapshot(out) == first
    mine = tmp_path / "mine"
    _user_folder(mine)
    assert _render(params_file, mine, "--force") == 0
    assert _snapshot(mine) == first
    _no_temporaries(out, mine)


def test_pretrain_refuses_a_folder_that_is_not_a_checkpoint(tmp_path, capsys):
    out = tmp_path / "ckpt"
    before = _user_folder(out)
    code = main(["pretrain", str(tmp_path / "any-set"), "--out", str(out), "--quiet"])
    assert code == 2
    line = _error_line(capsys)
    assert str(out) in line and "not an earlier checkpoint" in line and "--force" in line
    assert _snapshot(out) == before


def test_recommend_refuses_an_out_folder_before_embedding(
    make_imagefolder, tmp_path, capsys, monkeypatch
):
    from task2sim import recommendation as recommend

    monkeypatch.setattr(recommend, "embed_folder", _must_not_run)
    folder = make_imagefolder()
    out = tmp_path / "mine"
    before = _user_folder(out)
    code = main(["recommend", str(folder), "--render", "4", "--out", str(out),
                 "--policy", str(tmp_path / "none.pt")])  # fmt: skip
    assert code == 2
    assert str(out) in _error_line(capsys)
    assert _snapshot(out) == before


def test_prepare_refuses_a_task_folder_that_is_not_a_task(make_imagefolder, tmp_path, capsys):
    folder = make_imagefolder()
    out = tmp_path / "tasks"
    before = _user_folder(out / "pets")
    code = main(["prepare", "--imagefolder", str(folder), "--name", "pets", "--out", str(out)])
    assert code == 2
    assert "not an earlier prepared task" in _error_line(capsys)
    assert _snapshot(out / "pets") == before


def _must_not_run(*args, **kwargs):
    raise AssertionError("the slow step ran although the command should have failed first")


# --- 2. a task name is one plain path component -----------------------------------------------
@pytest.mark.parametrize("name", [".", "..", "../../elsewhere", "a/b", "", "-x"])
def test_prepare_refuses_names_that_are_not_one_path_component(
    make_imagefolder, tmp_path, capsys, name
):
    folder = make_imagefolder()
    out = tmp_path / "deep" / "tasks"
    before = _user_folder(out / "digits")
    code = main(["prepare", "--imagefolder", str(folder), f"--name={name}", "--out", str(out)])
    assert code == 2
    line = _error_line(capsys)
    assert "--name" in line and ("plain task name" in line or "needs --name" in line)
    assert _snapshot(out / "digits") == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["deep", "folder"]


def test_params_refuse_a_task_name_with_a_slash(tmp_path, capsys):
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["tasks"]["../x"] = {"source": "digits"}
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(params))
    assert main(["prepare", "--all", "--params", str(path), "--out", str(tmp_path / "t")]) == 2
    assert "not one plain path component" in _error_line(capsys)
    assert not (tmp_path / "t").exists()


# --- 3. split layouts ---------------------------------------------------------------------------
def _splits(root: Path, layout: dict[str, dict[str, int]]) -> Path:
    for s, (split, classes) in enumerate(layout.items()):
        for c, (name, count) in enumerate(classes.items()):
            for i in range(count):
                write_image(root / split / name / f"{i}.png", seed=1000 * s + 100 * c + i)
    return root


def _prepare(folder: Path, out: Path, capsys) -> tuple[int, str]:
    code = main(["prepare", "--imagefolder", str(folder), "--name", "t", "--size", "8",
                 "--out", str(out)])  # fmt: skip
    return code, capsys.readouterr().err


def test_train_val_test_layout_merges_val_into_train(tmp_path, capsys):
    folder = _splits(tmp_path / "f", {"train": {"cat": 4, "dog": 4}, "val": {"cat": 2, "dog": 2},
                                      "test": {"cat": 3, "dog": 3}})  # fmt: skip
    assert _prepare(folder, tmp_path / "out", capsys)[0] == 0
    task = load_task(tmp_path / "out" / "t")
    assert task.classes == ["cat", "dog"]
    assert (len(task.train_labels), len(task.test_labels)) == (12, 6)
    assert task.meta["split_layout"] == "train + val -> train; test -> test"


@pytest.mark.parametrize(
    ("train", "held_out"), [("Train", "Test"), ("TRAINING", "testing"), ("train", "Validation")]
)
def test_split_folders_are_recognised_in_any_case(tmp_path, capsys, train, held_out):
    folder = _splits(tmp_path / "f", {train: {"cat": 4, "dog": 4}, held_out: {"dog": 2, "cat": 3}})
    assert _prepare(folder, tmp_path / "out", capsys)[0] == 0
    task = load_task(tmp_path / "out" / "t")
    assert task.classes == ["cat", "dog"]
    assert sorted(task.test_labels.tolist()) == [0, 0, 0, 1, 1]
    assert task.meta["split"] == "official"


@pytest.mark.parametrize(
    "layout",
    [
        {"train": {"a": 2, "b": 2}, "extra": {"a": 2}},  # a split beside a non-split folder
        {"test": {"a": 2, "b": 2}, "val": {"a": 2, "b": 2}},  # no train folder
        {"train": {"a": 2, "b": 2}},  # train alone
        {"train": {"a": 2, "b": 2}, "val": {"a": 1}, "validation": {"b": 1}},  # two val folders
    ],
)
def test_split_like_folders_without_a_known_layout_are_refused(tmp_path, capsys, layout):
    folder = _splits(tmp_path / "f", layout)
    code, err = _prepare(folder, tmp_path / "out", capsys)
    assert code == 2 and "Traceback" not in err
    assert "layout" in err or "two val folders" in err
    assert not (tmp_path / "out").exists()


def test_a_class_named_train_holding_images_is_a_class(tmp_path, capsys):
    folder = tmp_path / "vehicles"
    for c, name in enumerate(["bus", "car", "train"]):
        for i in range(4):
            write_image(folder / name / f"{i}.png", seed=10 * c + i)
    assert _prepare(folder, tmp_path / "out", capsys)[0] == 0
    assert load_task(tmp_path / "out" / "t").classes == ["bus", "car", "train"]


def test_recommend_refuses_a_bad_layout_before_embedding(tmp_path, capsys, monkeypatch):
    from task2sim import recommendation as recommend

    monkeypatch.setattr(recommend, "embed_folder", _must_not_run)
    folder = _splits(tmp_path / "f", {"train": {"a": 2, "b": 2}, "extra": {"a": 2}})
    assert main(["recommend", str(folder), "--policy", str(tmp_path / "none.pt")]) == 2
    assert "layout" in _error_line(capsys)


# --- 4. a kill -9 inside an atomic write leaves nothing behind --------------------------------
def _killed_during(code: str, cwd: Path, env: dict | None = None) -> None:
    """Run `code` in a fresh interpreter that SIGKILLs itself inside a write."""
    env = {**os.environ, **(env or {})}
    process = subprocess.run(
        [sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True, text=True
    )
    assert process.returncode == -signal.SIGKILL, process.stderr


KILLED_IN_SAVE = """
import os, signal, numpy as np
real, calls = np.save, []
def save(file, arr, *args, **kwargs):
    calls.append(file)
    real(file, arr, *args, **kwargs)
    if len(calls) == {call}:  # written, not yet renamed into place
        os.kill(os.getpid(), signal.SIGKILL)
np.save = save
from task2sim.cli import main
main({argv!r})
"""


def _dvc_project(tmp_path: Path) -> Path:
    project = tmp_path / "project"
    (project / ".dvc").mkdir(parents=True)
    return project


def test_killed_prepare_leaves_nothing_in_data_tasks(make_imagefolder, tmp_path):
    folder = make_imagefolder()
    project = _dvc_project(tmp_path)
    tasks = project / "data" / "tasks"
    argv = ["prepare", "--imagefolder", str(folder), "--name", "pets", "--size", "8"]
    _killed_during(KILLED_IN_SAVE.format(call=2, argv=argv), project)
    assert not tasks.exists() or not list(tasks.iterdir())  # the DVC output holds nothing
    stale = list((project / scratch.DVC_SCRATCH).iterdir())
    assert stale  # the killed writer's temporary is in the scratch area ...
    env = {"TASK2SIM_WARM": "0"}
    subprocess.run([sys.executable, "-m", "task2sim", "prepare", "--imagefolder", str(folder),
                    "--name", "pets", "--size", "8"], cwd=project, check=True,
                   env={**os.environ, **env}, capture_output=True)  # fmt: skip
    assert sorted(p.name for p in tasks.iterdir()) == ["pets"]  # ... and gone after a rerun
    assert _scratch_leftovers(project / scratch.DVC_SCRATCH) == []
    _no_temporaries(tasks / "pets")


def test_killed_shard_write_never_reaches_the_finished_set(params_file, tmp_path, scratch_dir):
    out = tmp_path / "set"
    argv = ["render", "255", "--params", str(params_file), "--out", str(out), "--quiet"]
    _killed_during(KILLED_IN_SAVE.format(call=3, argv=argv), tmp_path)  # in shard 1's labels
    assert not out.exists()
    assert _render(params_file, out) == 0
    clean = tmp_path / "clean"
    assert _render(params_file, clean) == 0
    assert _snapshot(out) == _snapshot(clean)  # same files, same bytes: nothing stale moved in
    assert _scratch_leftovers(scratch_dir) == []


def test_killed_unpack_leaves_no_temporary_after_the_next_run(tmp_path, scratch_dir):
    """`_unpack_all` writes through `atomic_dir` like every folder output: killed inside it."""
    raw = tmp_path / "raw" / "Task"
    code = (
        "import os, signal\n"
        "from pathlib import Path\n"
        "from task2sim.atomic import atomic_dir\n"
        "from task2sim.datasets.paper import UNPACKED\n"
        f"with atomic_dir(Path({str(raw / 'extracted')!r}), UNPACKED) as tmp:\n"
        "    (tmp / 'member.jpg').write_bytes(b'x' * 1000)\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    _killed_during(code, tmp_path)
    assert not (raw / "extracted").exists()
    assert [p.suffix for p in _scratch_leftovers(scratch_dir)] == [".tmp"]
    with atomic.atomic_dir(raw / "extracted", _unpacked_kind()) as tmp:
        (tmp / ".task2sim-archives.json").write_text("{}")
    assert sorted(p.name for p in raw.iterdir()) == ["extracted"]
    assert _scratch_leftovers(scratch_dir) == []


def _unpacked_kind():
    from task2sim.datasets.paper import UNPACKED

    return UNPACKED


def test_leftovers_of_earlier_versions_are_cleaned(tmp_path, make_imagefolder, capsys):
    out = tmp_path / "tasks"
    dead = _dead_pid()
    (out / f".pets.tmp-{dead}").mkdir(parents=True)
    (out / f".pets.tmp-{dead}" / "train_images.npy").write_bytes(b"158 MB of it")
    (out / f".pets.old-{dead}").mkdir()
    (out / f".other.tmp-{os.getpid()}").mkdir()  # a live writer's: kept
    folder = make_imagefolder()
    assert main(["prepare", "--imagefolder", str(folder), "--name", "pets", "--out", str(out),
                 "--size", "8"]) == 0  # fmt: skip
    left = sorted(p.name for p in out.iterdir())
    assert left == [f".other.tmp-{os.getpid()}", "pets"]


def _dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


# --- 5. command-line values are validated like params.yaml ------------------------------------
@pytest.mark.parametrize(
    ("flag", "value", "rule"),
    [
        ("--images", "-5", "greater than or equal to 1"),
        ("--images", "0", "greater than or equal to 1"),
        ("--size", "0", "greater than or equal to 8"),
        ("--size", "-3", "greater than or equal to 8"),
        ("--size", "3", "greater than or equal to 8"),
        ("--size", "5000", "less than or equal to 1024"),
        ("--workers", "-1", "greater than or equal to 0"),
    ],
)
def test_render_values_are_validated(params_file, tmp_path, capsys, flag, value, rule, scratch_dir):
    out = tmp_path / "set"
    assert _render(params_file, out, f"{flag}={value}") == 2
    line = _error_line(capsys)
    assert f"{flag} {value}" in line and rule in line and "render." in line
    assert not out.exists() and not list(scratch_dir.iterdir())


@pytest.mark.parametrize("value", ["0", "-5", "5000"])
def test_prepare_size_is_validated(make_imagefolder, tmp_path, capsys, value):
    folder = make_imagefolder()
    code = main(["prepare", "--imagefolder", str(folder), "--name", "p", f"--size={value}",
                 "--out", str(tmp_path / "out")])  # fmt: skip
    assert code == 2
    assert f"--size {value}" in _error_line(capsys)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("value", ["0", "-5"])
def test_recommend_size_is_validated(make_imagefolder, tmp_path, capsys, monkeypatch, value):
    from task2sim import recommendation as recommend

    monkeypatch.setattr(recommend, "embed_folder", _must_not_run)
    folder = make_imagefolder()
    assert main(["recommend", str(folder), f"--size={value}"]) == 2
    assert f"--size {value}" in _error_line(capsys)


def test_sweep_jobs_is_validated(tmp_path, capsys):
    assert main(["sweep", "c000", "--jobs=0", "--out", str(tmp_path / "s")]) == 2
    assert "--jobs 0" in _error_line(capsys)


def test_workers_zero_means_one_per_core_not_the_params_value(params_file, tmp_path, monkeypatch):
    from task2sim.render import set_writer

    seen = []
    real = set_writer.render_set
    monkeypatch.setattr(
        set_writer, "render_set", lambda *a, **k: seen.append(k["workers"]) or real(*a, **k)
    )
    assert _render(params_file, tmp_path / "set", "--workers=0") == 0
    assert seen == [0]  # params.yaml says 1 here


# --- 6. one writer per output ----------------------------------------------------------------
def _default_sigint() -> None:
    """A runner started in the background (as CI may be) ignores SIGINT, and children inherit
    that; the command under test must see Ctrl-C as a terminal would send it."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _render_in_background(
    params_file: Path, out: Path, shards_done: int
) -> tuple[subprocess.Popen, Path, list[str]]:
    """A 6,000-image render in 150 shards (several seconds, so the test acts while it runs), in its
    own process, once `shards_done` shards exist."""
    params = yaml.safe_load(params_file.read_text())
    params["render"].update(images=6000, size=32, shard_size=40)
    params_file.write_text(yaml.safe_dump(params))
    command = [sys.executable, "-m", "task2sim", "render", "255", "--params", str(params_file),
               "--out", str(out), "--quiet"]  # fmt: skip
    env = {**os.environ, "TASK2SIM_WARM": "0"}
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
        preexec_fn=_default_sigint,
    )  # fmt: skip
    partial = partial_dir(out)
    deadline = time.monotonic() + 120
    while len(list(partial.glob("*.images.npy"))) < shards_done:
        assert process.poll() is None and time.monotonic() < deadline, process.communicate()
        time.sleep(0.02)
    return process, partial, command


def test_second_writer_of_an_output_is_refused_and_the_first_finishes(
    params_file, tmp_path, capsys
):
    out = tmp_path / "set"
    first, partial, _ = _render_in_background(params_file, out, shards_done=1)
    assert _render(params_file, out) == 2
    line = _error_line(capsys)
    assert f"{out} is being written by task2sim process {first.pid}" in line
    assert first.wait(timeout=300) == 0, first.communicate()
    assert len(list(out.glob("*.images.npy"))) == 150
    assert not partial.exists()


def test_lock_is_released_when_the_holder_ends(tmp_path):
    held = output_lock(tmp_path / "x")
    with held, pytest.raises(Task2SimError, match="being written"), output_lock(tmp_path / "x"):
        pass
    with output_lock(tmp_path / "x"):
        pass


# --- 7. messages that point the right way -------------------------------------------------------
def test_huge_image_is_not_called_corrupt(make_imagefolder, tmp_path, capsys):
    folder = make_imagefolder()
    Image.new("1", (14000, 14000)).save(folder / "cat" / "huge.png")  # 196 megapixels
    code = main(["prepare", "--imagefolder", str(folder), "--name", "p", "--out",
                 str(tmp_path / "out")])  # fmt: skip
    assert code == 2
    line = _error_line(capsys)
    assert "huge.png" in line and "too large" in line and "downscale" in line
    assert "corrupt or not an image" not in line
    assert not (tmp_path / "out").exists()


def test_stray_file_names_a_flag_that_exists(make_imagefolder, tmp_path, capsys):
    folder = make_imagefolder()
    (folder / "cat" / "readme.txt").write_text("hi")
    args = ["prepare", "--imagefolder", str(folder), "--name", "p", "--size", "8",
            "--out", str(tmp_path / "out")]  # fmt: skip
    assert main(args) == 2
    assert "--skip-non-images" in _error_line(capsys)
    assert main([*args, "--skip-non-images"]) == 0
    assert len(load_task(tmp_path / "out" / "p").classes) == 3


class _Stop(Exception):
    pass


def test_recommend_takes_skip_non_images(make_imagefolder, monkeypatch):
    from task2sim import recommendation as recommend

    folder = make_imagefolder()
    (folder / "cat" / "readme.txt").write_text("hi")
    entries = []

    def embed(folder, params, entry):
        entries.append(entry)
        raise _Stop

    monkeypatch.setattr(recommend, "load_policy", lambda path: _Policy())
    monkeypatch.setattr(recommend, "probe_dims", lambda probe: _Policy.in_dim)
    monkeypatch.setattr(recommend, "embed_folder", embed)
    with pytest.raises(_Stop):
        main(["recommend", str(folder), "--skip-non-images"])
    assert entries[0].skip_non_images is True


class _Policy:
    in_dim = 7


@pytest.fixture
def tmpfs(tmp_path):
    """A 1 MB filesystem of its own, to fill up for real."""
    mount = tmp_path / "small"
    mount.mkdir()
    made = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)],
                          capture_output=True, text=True)  # fmt: skip
    if made.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({made.stderr.strip()}); the ENOSPC case below "
                    "covers the message")  # fmt: skip
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_full_disk_names_the_output_and_the_space_it_needs(params_file, tmpfs, capsys):
    out = tmpfs / "set"
    code = _render(params_file, out, "--images=200", "--size=64")
    assert code == 2
    line = _error_line(capsys)
    assert f"no space left on the device for {out}" in line and "MB" in line
    assert "free some space" in line
    assert not out.exists()
    assert not list((tmpfs / SCRATCH_NAME).glob("*.tmp"))  # finished shards stay resumable


def test_out_of_space_in_a_folder_output_is_explained(
    make_imagefolder, tmp_path, capsys, monkeypatch, scratch_dir
):
    folder = make_imagefolder()

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("task2sim.datasets.format.np.save", full)
    code = main(["prepare", "--imagefolder", str(folder), "--name", "p", "--size", "8",
                 "--out", str(tmp_path / "out")])  # fmt: skip
    assert code == 2
    line = _error_line(capsys)
    assert f"no space left on the device for {tmp_path / 'out' / 'p'}" in line
    assert not (tmp_path / "out" / "p").exists()
    assert _scratch_leftovers(scratch_dir) == []


def test_ctrl_c_prints_one_line_and_keeps_the_resumable_state(params_file, tmp_path):
    out = tmp_path / "set"
    process, partial, command = _render_in_background(params_file, out, shards_done=2)
    env = {**os.environ, "TASK2SIM_WARM": "0"}
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 130, err
    assert "Traceback" not in err and "error" not in err.lower()
    assert [line for line in err.splitlines() if line.startswith("interrupted")] == [
        "interrupted: task2sim render stopped; finished work is kept, and the same command "
        "resumes where it can"
    ]
    assert not out.exists() and list(partial.glob("*.images.npy"))
    resumed = subprocess.run(command, capture_output=True, text=True, env=env, check=True)
    assert "resuming" in resumed.stderr


def test_dangling_symlink_is_reported(make_imagefolder, tmp_path, caplog):
    folder = make_imagefolder()
    (folder / "cat" / "gone.png").symlink_to(tmp_path / "nowhere.png")
    code = main(["prepare", "--imagefolder", str(folder), "--name", "p", "--size", "8",
                 "--out", str(tmp_path / "out")])  # fmt: skip
    assert code == 0
    warned = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert any("gone.png" in w and "does not exist" in w for w in warned), warned


def test_recommend_checks_the_probe_before_the_slow_embedding(
    make_imagefolder, tmp_path, capsys, monkeypatch
):
    import torch

    from task2sim import recommendation as recommend
    from task2sim.controller.policy import Policy

    monkeypatch.setattr(recommend, "embed_folder", _must_not_run)
    policy = tmp_path / "policy.pt"
    torch.save(Policy(5, hidden=4).state_dict(), policy)
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["task2vec"].update(probe="resnet10t", weights="random")
    params_path = tmp_path / "params.yaml"
    params_path.write_text(yaml.safe_dump(params))
    folder = make_imagefolder()
    code = main(["recommend", str(folder), "--policy", str(policy), "--params", str(params_path)])
    assert code == 2
    line = _error_line(capsys)
    assert "policy takes 5-d" in line and "resnet10t" in line


def test_probe_dims_match_a_real_embedding():
    from task2sim.recommendation import probe_dims
    from task2sim.task2vec.fisher import extract_embedding
    from task2sim.task2vec.probes import build_probe

    probe = build_probe("resnet10t", "random", 3)
    fisher = {name: p.detach() ** 2 for name, p in probe.model.named_parameters()}
    vector, _ = extract_embedding(probe, fisher)
    assert probe_dims("resnet10t") == len(vector)


# --- 8. the project is the checkout the command runs in ---------------------------------------
def test_paths_follow_the_working_directory(tmp_path, monkeypatch, capsys):
    for name in ("TASK2SIM_ROOT", "TASK2SIM_DEPS", "TASK2SIM_RAW", "TASK2SIM_CACHE"):
        monkeypatch.delenv(name, raising=False)
    second = _dvc_project(tmp_path)
    (second / "src").mkdir()
    monkeypatch.chdir(second / "src")
    assert paths.project_root() == second
    assert paths.deps_dir() == second / ".deps"
    assert paths.raw_dir() == second / "data" / "raw"
    assert paths.cache_dir() == second / "data" / "cache"
    assert main(["tasks"]) == 0
    out = capsys.readouterr().out
    assert str(second / ".deps") in out and str(ROOT / ".deps") not in out
    monkeypatch.setenv("TASK2SIM_CACHE", str(tmp_path / "elsewhere"))
    assert paths.cache_dir() == tmp_path / "elsewhere"


def test_an_experiment_workspace_shares_its_checkouts_data(tmp_path, monkeypatch):
    for name in ("TASK2SIM_ROOT", "TASK2SIM_DEPS", "TASK2SIM_RAW", "TASK2SIM_CACHE"):
        monkeypatch.delenv(name, raising=False)
    checkout = _dvc_project(tmp_path)
    workspace = checkout / ".dvc" / "tmp" / "exps" / "tmp1234"
    (workspace / ".dvc").mkdir(parents=True)
    monkeypatch.chdir(workspace)
    assert paths.project_root() == workspace
    assert paths.deps_dir() == checkout / ".deps"
    assert paths.cache_dir() == checkout / "data" / "cache"


def test_scratch_lives_outside_the_outputs_of_a_project(tmp_path, monkeypatch, scratch_dir):
    monkeypatch.delenv("TASK2SIM_ROOT", raising=False)
    project = _dvc_project(tmp_path)
    monkeypatch.chdir(project)
    target = project / "data" / "tasks" / "digits"
    assert scratch.temp_path(target).parent == project / scratch.DVC_SCRATCH
    assert partial_dir(target).parent == project / scratch.DVC_SCRATCH
    assert not (project / "data" / "tasks" / SCRATCH_NAME).exists()
    inside = partial_dir(target) / "model.pt"  # work inside a partial stays in the same scratch
    assert scratch.temp_path(inside).parent == project / scratch.DVC_SCRATCH
    outside = tmp_path / "elsewhere" / "set"
    assert scratch.temp_path(outside).parent == scratch_dir  # outside a project: same device
    assert scratch.temp_path(partial_dir(outside) / "x").parent == scratch_dir
