"""One controller run end to end: vectors and rewards in; policy, predictions and scores out."""

from __future__ import annotations

import io
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from task2sim.atomic import atomic_write_bytes, atomic_write_json
from task2sim.controller.policy import Policy
from task2sim.controller.train import TrainLog, predict, train_policy
from task2sim.errors import Task2SimError
from task2sim.params import ControllerTraining, load_params
from task2sim.reward_table import RewardTable, load_reward_table, score_predictions
from task2sim.sim.config import PARAM_NAMES, index_to_key
from task2sim.task2vec.embed import load_vectors


def task_matrix(vectors: dict[str, np.ndarray], tasks: list[str]) -> torch.Tensor:
    """Stack the tasks' vectors and L2-normalise each, as the official controller input."""
    missing = [t for t in tasks if t not in vectors]
    if missing:
        raise Task2SimError(
            f"no Task2Vec vector for {', '.join(missing)}",
            "run `dvc repro task2vec` (or `task2sim task2vec TASK`) for those tasks",
        )
    dims = {vectors[t].shape for t in tasks}
    if len(dims) != 1 or len(next(iter(dims))) != 1:
        raise Task2SimError(f"Task2Vec vectors differ in shape: {sorted(dims)}")
    x = torch.from_numpy(np.stack([vectors[t] for t in tasks]).astype(np.float64))
    if not torch.isfinite(x).all() or (x.norm(dim=1) == 0).any():
        raise Task2SimError("a Task2Vec vector is zero or not finite", "recompute it")
    return torch.nn.functional.normalize(x, dim=1).float()


@dataclass
class ControllerRun:
    """A trained policy with its predictions and scores on seen and unseen tasks."""

    policy: Policy
    log: TrainLog
    seconds: float
    predictions: dict[str, dict]
    scores: dict[str, dict]


def run_controller(
    table: RewardTable,
    vectors: dict[str, np.ndarray],
    seen: list[str],
    unseen: list[str],
    cfg: ControllerTraining,
    seed: int,
    progress: bool = False,
) -> ControllerRun:
    """Train on `seen` (sorted by name, as the official loop), then predict every task once."""
    order = sorted(seen)
    start = time.perf_counter()
    policy, log = train_policy(
        task_matrix(vectors, order), torch.from_numpy(table.rows(order)), cfg, seed, progress
    )
    seconds = time.perf_counter() - start
    predictions: dict[str, dict] = {}
    scores: dict[str, dict] = {}
    for role, tasks in (("seen", list(seen)), ("unseen", list(unseen))):
        if not tasks:
            continue
        probs, configs = predict(policy, task_matrix(vectors, tasks))
        values = table.rows(tasks)
        scores[role] = score_predictions(values, configs.numpy())
        for i, task in enumerate(tasks):
            config, best = int(configs[i]), int(values[i].argmax())
            predictions[task] = {
                "role": role,
                "config": config,
                "key": index_to_key(config),
                "prob_on": dict(zip(PARAM_NAMES, probs[i, :, 1].tolist(), strict=True)),
                "reward": float(values[i, config]),
                "best_config": best,
                "best_key": index_to_key(best),
                "best_reward": float(values[i, best]),
            }
    return ControllerRun(policy, log, seconds, predictions, scores)


def write_run(run: ControllerRun, out_dir: Path) -> None:
    """policy.pt (state dict), predictions.json and metrics.json, each written atomically."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    torch.save(run.policy.state_dict(), buffer)
    atomic_write_bytes(out_dir / "policy.pt", buffer.getvalue())
    atomic_write_json(out_dir / "predictions.json", run.predictions)
    metrics = {
        **run.scores,
        "updates": run.log.updates,
        "configs_tried_per_seen_task": run.log.configs_tried,
    }
    atomic_write_json(out_dir / "metrics.json", metrics)


def controller_stage(
    params_path: Path,
    rewards: Path,
    vectors_dir: Path,
    out: Path,
    seed: int | None = None,
    loss: str | None = None,
) -> ControllerRun:
    """The `controller` stage: train on params' seen tasks, predict every task, write the run."""
    params = load_params(params_path)
    split = params.controller
    cfg = split.training if loss is None else split.training.model_copy(update={"loss": loss})
    table = load_reward_table(rewards)
    vectors = load_vectors(vectors_dir, [*split.seen, *split.unseen])
    seed = params.seed if seed is None else seed
    run = run_controller(table, vectors, split.seen, split.unseen, cfg, seed, progress=True)
    write_run(run, out)
    for role, score in run.scores.items():
        print(
            f"{role}: reward {score['reward']:.2f} % (oracle {score['oracle']:.2f} %), "
            f"head agreement {100 * score['head_agreement']:.0f} %"
        )
    print(f"{cfg.loss} loss, seed {seed}: trained in {run.seconds:.1f} s -> {out}")
    return run
