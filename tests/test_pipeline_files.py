"""The per-config stage files (pipelines/*/dvc.yaml) and the `render` index that closes them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from task2sim.datasets.image_set import SET_FORMAT_VERSION, shard_paths
from task2sim.errors import Task2SimError
from task2sim.report.sweep_sets import write_set_index
from task2sim.sim.config import NUM_CONFIGS, index_to_key, stage_name
from task2sim.sweep.pipeline_files import (
    CONFIGS_PER_FILE,
    PIPELINES_DIR,
    stale_pipeline_files,
    write_pipeline_files,
)

ROOT = Path(__file__).resolve().parents[1]


def test_committed_files_are_the_generated_ones():
    assert stale_pipeline_files(ROOT) == [], "run `task2sim pipelines` and commit the result"


def test_every_config_has_one_render_and_one_sweep_stage():
    seen: dict[str, list[str]] = {"render": [], "sweep": []}
    for path in sorted((ROOT / PIPELINES_DIR).glob("*/dvc.yaml")):
        stages = yaml.safe_load(path.read_text())["stages"]
        assert set(stages) == {"render", "sweep"}
        assert len(stages["render"]["foreach"]) <= CONFIGS_PER_FILE
        for name in seen:
            assert stages[name]["do"]["wdir"] == "../.."
            seen[name] += stages[name]["foreach"]
    expected = [stage_name(c) for c in range(NUM_CONFIGS)]
    assert seen["render"] == expected and seen["sweep"] == expected
    top = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    assert "foreach" not in top["render"], "per-config stages belong in pipelines/"


def test_stale_and_stray_files_are_found(tmp_path):
    assert len(write_pipeline_files(tmp_path)) == NUM_CONFIGS // CONFIGS_PER_FILE
    first = tmp_path / PIPELINES_DIR / "c000-c007" / "dvc.yaml"
    first.write_text(first.read_text().replace("--quiet", ""))
    stray = tmp_path / PIPELINES_DIR / "old" / "dvc.yaml"
    stray.parent.mkdir()
    stray.write_text("stages: {}\n")
    assert stale_pipeline_files(tmp_path) == [
        Path("pipelines/c000-c007/dvc.yaml"),
        Path("pipelines/old/dvc.yaml"),
    ]
    assert write_pipeline_files(tmp_path) == [Path("pipelines/c000-c007/dvc.yaml")]


def test_dvc_names_the_stages_readably(tmp_path):
    """DVC resolves the group files from the project root: `<file>:render@cNNN`."""
    env = {**os.environ, "DVC_NO_ANALYTICS": "1"}
    repo = tmp_path / "repo"
    write_pipeline_files(repo)
    (repo / "params.yaml").write_text((ROOT / "params.yaml").read_text())
    run = [sys.executable, "-m", "dvc"]
    subprocess.run([*run, "init", "--no-scm", "-q"], cwd=repo, env=env, check=True)
    listed = subprocess.run(
        [*run, "stage", "list", "--all"], cwd=repo, env=env, capture_output=True, text=True
    )
    assert listed.returncode == 0, listed.stderr
    assert "pipelines/c248-c255/dvc.yaml:render@c255" in listed.stdout
    assert "pipelines/c000-c007/dvc.yaml:sweep@c000" in listed.stdout


def _fake_set(root: Path, config: int, size: int = 4) -> None:
    root.mkdir(parents=True)
    images = np.full((2, size, size, 3), config, np.uint8)
    images_path, labels_path = shard_paths(root, 0)
    np.save(images_path, images)
    np.save(labels_path, np.zeros(2, np.int64))
    meta = {
        "format_version": SET_FORMAT_VERSION,
        "config": config,
        "key": index_to_key(config),
        "size": size,
        "classes": ["a"],
        "shards": [2],
    }
    (root / "meta.json").write_text(json.dumps(meta))


def test_render_index_checks_and_draws_every_set(tmp_path):
    sets = tmp_path / "sets"
    for config in range(NUM_CONFIGS):
        _fake_set(sets / stage_name(config), config)
    index, figure = tmp_path / "index.json", tmp_path / "grid.png"
    write_set_index(sets, index, figure)
    content = json.loads(index.read_text())
    assert content["sets"]["c255"]["key"] == "1_1_1_1_1_3_0_1_1"
    assert content["sets"]["c007"]["images"] == 2
    first = figure.read_bytes()
    assert first.startswith(b"\x89PNG")
    write_set_index(sets, index, figure)
    assert figure.read_bytes() == first, "same sets, same bytes"

    (sets / "c100" / "meta.json").unlink()
    with pytest.raises(Task2SimError, match="c100"):
        write_set_index(sets, index, figure)
    (sets / "c100").rename(tmp_path / "gone")
    with pytest.raises(Task2SimError, match=r"1 of 256 sweep sets are missing.*c100"):
        write_set_index(sets, index, figure)
