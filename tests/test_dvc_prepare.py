"""`dvc repro prepare` builds each task once; a second run re-runs nothing."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def _dvc(repo: Path, *args: str) -> str:
    env = {
        **os.environ,
        "DVC_NO_ANALYTICS": "1",
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
    }
    result = subprocess.run(
        [sys.executable, "-m", "dvc", *args], cwd=repo, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_repro_prepare_is_incremental(tmp_path, make_imagefolder):
    repo = tmp_path / "repo"
    shutil.copytree(ROOT / "src", repo / "src", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "dvc.yaml", repo)
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["tasks"] = {
        "digits": {"source": "digits"},
        "pets": {"source": "imagefolder", "path": str(make_imagefolder()), "size": 16},
    }
    params["controller"] = {"seen": ["digits"], "unseen": ["pets"]}
    (repo / "params.yaml").write_text(yaml.safe_dump(params))
    _dvc(repo, "init", "--no-scm", "-q")
    _dvc(repo, "config", "core.analytics", "false")

    first = _dvc(repo, "repro", "prepare")
    assert "Running stage 'prepare@digits'" in first and "Running stage 'prepare@pets'" in first
    stamp = (repo / "data/tasks/pets/train_images.npy").stat().st_mtime_ns

    second = _dvc(repo, "repro", "prepare")
    assert "Running stage" not in second
    assert (repo / "data/tasks/pets/train_images.npy").stat().st_mtime_ns == stamp

    params["prepare"]["split_seed"] = 1  # touches both stages' params
    params["tasks"]["pets"]["size"] = 8  # and one task's own entry
    (repo / "params.yaml").write_text(yaml.safe_dump(params))
    third = _dvc(repo, "repro", "prepare")
    assert "Running stage 'prepare@pets'" in third and "Running stage 'prepare@digits'" in third
