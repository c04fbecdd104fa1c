"""Task2Sim's config for a user's own task (`task2sim recommend`).

The folder is ingested as `task2sim prepare --imagefolder` would (same reader, same 70/30
per-class split, kept in memory), embedded with Task2Vec under params.task2vec (the training
split, as the task2vec stage), and the trained controller predicts one config in one forward
pass. On request the config's pre-training set is then rendered in the pretrain world.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np

from task2sim.errors import Task2SimError
from task2sim.params import Params, TaskEntry


def load_policy(path: Path):
    """The controller policy from its state dict; the input width comes from the weights."""
    import torch

    from task2sim.controller.policy import Policy

    fix = "train it with `dvc repro controller` (or `task2sim controller`), or pass --policy"
    if not Path(path).is_file():
        raise Task2SimError(f"no controller policy at {path}", fix)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
        hidden, in_dim = state["fc1.weight"].shape
        policy = Policy(in_dim, hidden)
        policy.load_state_dict(state)
    except Exception as exc:  # any unreadable or foreign file
        raise Task2SimError(f"{path} is not a controller policy ({exc})", fix) from None
    return policy.eval()


def embed_folder(
    folder: Path, params: Params, entry: TaskEntry | None = None
) -> tuple[np.ndarray, dict]:
    """Task2Vec vector of the folder's training split, and the embedding meta."""
    from task2sim.datasets.prepare import load_raw
    from task2sim.datasets.raw import to_task
    from task2sim.task2vec.embed import embed_task

    entry = entry or TaskEntry(source="imagefolder", path=str(folder))
    raw = load_raw(entry)
    task = to_task(Path(folder).name or "task", raw, params.prepare.test_fraction,
                   params.prepare.split_seed)  # fmt: skip
    task.validate()
    embedding, meta = embed_task(task, params.task2vec, params.seed)
    return embedding.vector, meta


def check_probe_width(policy, probe: str, dims: int) -> None:
    """Refuse a probe whose vectors the policy cannot read (checked before embedding)."""
    if dims != policy.in_dim:
        raise Task2SimError(
            f"the policy takes {policy.in_dim}-d Task2Vec vectors, but task2vec.probe "
            f"'{probe}' gives {dims}-d ones",
            "set task2vec (probe, weights) to the values the controller was trained with, or "
            "pass --policy for a controller trained with this probe",
        )


def probe_dims(probe: str) -> int:
    """How long `probe`'s Task2Vec vectors are: a randomly initialised copy has the same shape."""
    from task2sim.task2vec.fisher import embedding_dims
    from task2sim.task2vec.probes import build_probe

    return embedding_dims(build_probe(probe, "random", num_classes=2))


def predict_config(policy, vector: np.ndarray, probe: str) -> dict:
    """The argmax config and each head's P(on); refuses a vector of another width."""
    import torch

    from task2sim.controller.run import task_matrix
    from task2sim.controller.train import predict
    from task2sim.sim.config import PARAM_NAMES, index_to_key, stage_name

    check_probe_width(policy, probe, vector.shape[0])
    with torch.no_grad():
        probs, configs = predict(policy, task_matrix({"task": vector}, ["task"]))
    config = int(configs[0])
    return {
        "config": config,
        "name": stage_name(config),
        "key": index_to_key(config),
        "prob_on": dict(zip(PARAM_NAMES, probs[0, :, 1].tolist(), strict=True)),
    }


def format_prediction(result: dict) -> str:
    lines = [f"predicted config: {result['name']} (paper key {result['key']})", ""]
    lines.append(f"{'parameter':<20} {'P(on)':>6}  chosen")
    for name, p in result["prob_on"].items():
        lines.append(f"{name:<20} {p:6.3f}  {'on' if p > 0.5 else 'off'}")
    return "\n".join(lines)


def render_for(config: int, params: Params, images: int, out: Path, force: bool = False) -> dict:
    """The config's pre-training set in the pretrain world (classes / objects / size)."""
    from task2sim.render.job import RenderJob
    from task2sim.render.set_writer import render_set

    job = replace(RenderJob.from_params(params, config, "final"), images=images)
    return render_set(job, Path(out), workers=params.pretrain.workers, progress=True, force=force)


def recommend(
    folder: Path,
    params: Params,
    policy_path: Path,
    size: int | None = None,
    skip_non_images: bool = False,
    json_path: Path | None = None,
    render: int | None = None,
    out: Path | None = None,
    force: bool = False,
) -> dict:
    """Predict `folder`'s config (read at `size` px) and print it; write it to `json_path` and
    render `render` images of it into `out` when asked. Everything that can be refused is refused
    before the (slow) embedding."""
    from task2sim.atomic import atomic_write_json
    from task2sim.datasets.image_set import IMAGE_SET
    from task2sim.datasets.imagefolder import entry_from_cli, split_folders
    from task2sim.outputs import check_replaceable

    entry = entry_from_cli(folder, size, skip_non_images)
    if not folder.is_dir():
        raise Task2SimError(f"{folder} is not a folder", "pass an ImageFolder root")
    split_folders(folder)
    if render is not None:
        if out is None:
            raise Task2SimError("rendering needs a folder for the image set")
        check_replaceable(out, IMAGE_SET, force)
    policy = load_policy(policy_path)
    check_probe_width(policy, params.task2vec.probe, probe_dims(params.task2vec.probe))
    vector, meta = embed_folder(folder, params, entry)
    result = predict_config(policy, vector, params.task2vec.probe)
    print(format_prediction(result))
    if json_path is not None:
        atomic_write_json(
            json_path,
            {**result, "imagefolder": str(folder), "task2vec": {
                "probe": params.task2vec.probe, "dims": meta["dims"],
                "pool_images": meta["pool_images"], "classes": meta["classes"]}},
        )  # fmt: skip
        print(f"wrote {json_path}")
    if render is not None:
        render_for(result["config"], params, render, out, force)
        print(f"rendered {render} images of {result['name']} -> {out}")
    return result
