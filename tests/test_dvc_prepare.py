"""`dvc repro prepare` builds each task once; a second run re-runs nothing."""

from __future__ import annotations

from helpers import project_params


def test_repro_prepare_is_incremental(dvc_project, make_imagefolder):
    params = project_params()
    params["tasks"] = {
        "digits": {"source": "digits"},
        "pets": {"source": "imagefolder", "path": str(make_imagefolder()), "size": 16},
    }
    params["controller"] = {"seen": ["digits"], "unseen": ["pets"]}
    project = dvc_project(params)
    repo = project.path

    first = project.dvc("repro", "prepare")
    assert "Running stage 'prepare@digits'" in first and "Running stage 'prepare@pets'" in first
    stamp = (repo / "data/tasks/pets/train_images.npy").stat().st_mtime_ns

    second = project.dvc("repro", "prepare")
    assert "Running stage" not in second
    assert (repo / "data/tasks/pets/train_images.npy").stat().st_mtime_ns == stamp

    params["prepare"]["split_seed"] = 1  # touches both stages' params
    params["tasks"]["pets"]["size"] = 8  # and one task's own entry
    project.write_params(params)
    third = project.dvc("repro", "prepare")
    assert "Running stage 'prepare@pets'" in third and "Running stage 'prepare@digits'" in third
