"""Whole image sets: packed shards, byte-identical across runs and worker counts, resumable."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

from task2sim.datasets.image_set import load_image_set
from task2sim.errors import Task2SimError
from task2sim.params import SimParams
from task2sim.render.job import RenderJob
from task2sim.render.set_writer import render_set
from task2sim.scratch import partial_dir
from task2sim.sim.config import index_to_key

SIM = SimParams(classes=3, objects_per_class=2, skies=2, photos=False, background_height=32)


pytestmark = pytest.mark.usefixtures("private_cache")


def _job(**overrides) -> RenderJob:
    fields = {"config": 255, "sim": SIM, "images": 24, "size": 32, "shard_size": 6}
    return RenderJob(**{**fields, **overrides})


def _bytes(root: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(root.iterdir())}


def test_set_layout_and_meta(tmp_path):
    meta = render_set(_job(), tmp_path / "c255", workers=1, progress=False)
    image_set = load_image_set(tmp_path / "c255")
    images, labels = image_set.arrays()
    assert images.shape == (24, 32, 32, 3) and images.dtype == np.uint8
    assert labels.tolist() == [i % 3 for i in range(24)]  # balanced round-robin over classes
    assert meta["key"] == index_to_key(255) == "1_1_1_1_1_3_0_1_1"
    assert all(meta["parameters"].values())
    assert meta["shards"] == [6, 6, 6, 6]
    assert len(image_set.class_names) == 3
    assert not (partial_dir(tmp_path / "c255")).exists()


def test_identical_bytes_across_runs_and_worker_counts(tmp_path):
    render_set(_job(), tmp_path / "one", workers=1, progress=False)
    render_set(_job(), tmp_path / "again", workers=1, progress=False)
    render_set(_job(), tmp_path / "two", workers=2, progress=False)
    one = _bytes(tmp_path / "one")
    assert one == _bytes(tmp_path / "again")
    assert one == _bytes(tmp_path / "two")


def test_another_seed_gives_other_images(tmp_path):
    render_set(_job(), tmp_path / "a", workers=1, progress=False)
    reseeded = _job(sim=SIM.model_copy(update={"seed": 1}))
    render_set(reseeded, tmp_path / "b", workers=1, progress=False)
    images_a = load_image_set(tmp_path / "a").arrays()[0]
    images_b = load_image_set(tmp_path / "b").arrays()[0]
    assert not np.array_equal(images_a, images_b)


def test_damaged_shard_is_named(tmp_path):
    render_set(_job(), tmp_path / "s", workers=1, progress=False)
    (tmp_path / "s" / "shard_00002.images.npy").write_bytes(b"\x93NUMPY garbage")
    with pytest.raises(Task2SimError, match="shard 2"):
        load_image_set(tmp_path / "s").arrays()


def test_partial_from_other_params_is_discarded(tmp_path):
    out = tmp_path / "s"
    partial = partial_dir(tmp_path / "s")
    partial.mkdir()
    (partial / "job.json").write_text('{"fingerprint": "from another run"}')
    (partial / "shard_00000.images.npy").write_bytes(b"stale")
    render_set(_job(), out, workers=1, progress=False)
    reference = tmp_path / "ref"
    render_set(_job(), reference, workers=1, progress=False)
    assert _bytes(out) == _bytes(reference)


def test_killed_render_resumes_without_redoing_finished_shards(tmp_path):
    params = yaml.safe_load((Path(__file__).parents[1] / "params.yaml").read_text())
    params["sim"] = {**params["sim"], **SIM.model_dump()}
    params["render"] = {"images": 600, "size": 64, "workers": 1, "shard_size": 50}
    params_file = tmp_path / "params.yaml"
    params_file.write_text(yaml.safe_dump(params))
    out = tmp_path / "killed"
    partial = partial_dir(tmp_path / "killed")
    command = [sys.executable, "-m", "task2sim", "render", "255", "--params", str(params_file)]
    command += ["--out", str(out), "--quiet"]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(list(partial.glob("*.images.npy"))) < 2:
        assert process.poll() is None, process.stdout.read().decode()
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait()
    finished = {p.name: p.stat().st_mtime_ns for p in partial.glob("*.images.npy")}
    assert 2 <= len(finished) < 12, "the kill must land mid-set"
    assert not out.exists()

    resumed = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    assert "resuming" in resumed.stderr
    for name, mtime in finished.items():
        assert (out / name).stat().st_mtime_ns == mtime, f"{name} was rendered twice"

    job = _job(sim=SIM, images=600, size=64, shard_size=50)
    render_set(job, tmp_path / "uninterrupted", workers=1, progress=False)
    assert _bytes(out) == _bytes(tmp_path / "uninterrupted")


def test_torch_can_be_imported_after_a_renderer_exists(tmp_path):
    """torch's triton and Mesa's llvmpipe each bring an LLVM; the renderer orders them safely."""
    code = (
        "from task2sim.params import SimParams\n"
        "from task2sim.render.world import build_world\n"
        "from task2sim.render.embedded import EmbeddedRenderer\n"
        "w = build_world(SimParams(classes=2, objects_per_class=1, skies=1, photos=False,"
        " background_height=16))\n"
        "r = EmbeddedRenderer([c.objects for c in w.classes], w.backgrounds, w.materials, 16)\n"
        "import torchvision, timm\n"
        "print('imported')\n"
    )
    env = {**os.environ, "TASK2SIM_CACHE": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert done.returncode == 0 and "imported" in done.stdout, done.stderr[-2000:]


def test_jobs_from_params_keep_their_fingerprints():
    """The final sets are stored keyed by the job's fingerprint: building a job from params must
    give the very job (and fingerprint) that spelling its fields out gives."""
    from task2sim.params import load_params

    params = load_params(Path(__file__).resolve().parents[1] / "params.yaml")
    pre = params.pretrain.model_copy(update={"classes": 5, "objects_per_class": 3, "images": 60})
    params = params.model_copy(update={"pretrain": pre})
    render = params.render
    sweep = RenderJob(7, params.sim, render.images, render.size, render.shard_size)
    assert RenderJob.from_params(params, 7).fingerprint() == sweep.fingerprint()
    counts = {"classes": pre.classes, "objects_per_class": pre.objects_per_class}
    final = RenderJob(7, params.sim.model_copy(update=counts), pre.images, pre.size, pre.shard_size)
    assert RenderJob.from_params(params, 7, "final").fingerprint() == final.fingerprint()


def test_backend_table_matches_the_params_choices():
    from typing import get_args

    from task2sim.params import RenderParams
    from task2sim.render.backend import BACKENDS

    assert set(BACKENDS) == set(get_args(RenderParams.model_fields["backend"].annotation))


def test_unknown_backend_is_refused_before_writing(tmp_path):
    with pytest.raises(Task2SimError, match="unknown render backend 'blender'") as error:
        render_set(_job(backend="blender"), tmp_path / "set", workers=1, progress=False)
    assert "embedded, tdw" in error.value.one_line() and not (tmp_path / "set").exists()
