"""`task2vec@<task>`: embed one prepared task and write `<task>.npy` + `<task>.json`.

Images get the paper's test transform scaled to `image_size`: resize to image_size·256/224, centre
crop, probe normalisation; grey images are repeated to three channels. The same seed, thread count
and inputs give a bit-identical vector (samplers use their own torch.Generator).
"""

from __future__ import annotations

import io
import math
import time
from pathlib import Path

import numpy as np
import timm
import torch
import torch.nn.functional as F

from task2sim.atomic import atomic_write_bytes, atomic_write_json
from task2sim.datasets.format import TaskData, load_task
from task2sim.errors import Task2SimError
from task2sim.params import Task2VecParams
from task2sim.task2vec.fisher import Embedding, FisherSettings, embed
from task2sim.task2vec.probes import Probe, build_probe


def select_pool(
    labels: np.ndarray, fraction: float, max_images: int | None, seed: int
) -> np.ndarray:
    """Training images to embed: `fraction` of each class (supp. Table 1), then at most
    `max_images` in all, stratified; every class keeps one image at least.

    Returned in a seeded random order, the order features are cached in. The reference caches in
    dataset order; for class-sorted data (any ImageFolder) train-mode BatchNorm then sees
    single-class batches and normalises the class signal away (the fitted head stays near chance).
    """
    rng = np.random.default_rng(seed)
    classes = np.unique(labels)
    per_class = {c: rng.permutation(np.flatnonzero(labels == c)) for c in classes}
    keep = {c: max(1, math.ceil(fraction * len(idx))) for c, idx in per_class.items()}
    total = sum(keep.values())
    if max_images is not None and total > max_images:
        keep = {c: max(1, math.floor(k * max_images / total)) for c, k in keep.items()}
    return rng.permutation(np.concatenate([per_class[c][: keep[c]] for c in classes]))


def preprocess(images: np.ndarray, size: int, probe: Probe) -> torch.Tensor:
    """uint8 N x H x W x C → normalised float N x 3 x size x size (the test transform)."""
    x = torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).float() / 255.0
    if x.shape[1] == 1:
        x = x.expand(-1, 3, -1, -1)
    resized = round(size * 256 / 224)
    x = F.interpolate(x, size=(resized, resized), mode="bilinear", antialias=True)
    top = (resized - size) // 2
    x = x[:, :, top : top + size, top : top + size]
    mean = torch.tensor(probe.mean).view(1, 3, 1, 1)
    std = torch.tensor(probe.std).view(1, 3, 1, 1)
    return (x - mean) / std


def embed_task(task: TaskData, params: Task2VecParams, seed: int) -> tuple[Embedding, dict]:
    """The Task2Vec embedding of `task`'s training split, and what made it (for meta.json)."""
    if params.fisher_samples < params.batch_size:
        raise Task2SimError(
            f"task2vec.fisher_samples ({params.fisher_samples}) is below one batch "
            f"({params.batch_size})",
            "raise task2vec.fisher_samples or lower task2vec.batch_size",
        )
    torch.set_num_threads(params.threads)
    pool = select_pool(task.train_labels, params.fraction, params.max_images, seed)
    images = np.asarray(task.train_images[pool])
    labels = torch.from_numpy(np.asarray(task.train_labels[pool]))
    torch.manual_seed(seed)  # the new head's init
    probe = build_probe(params.probe, params.weights, len(task.classes))
    settings = FisherSettings(
        fit_samples=params.fit_samples,
        fit_epochs=params.fit_epochs,
        fit_lr=params.fit_lr,
        fit_weight_decay=params.fit_weight_decay,
        fisher_samples=params.fisher_samples,
        batch_size=params.batch_size,
    )
    generator = torch.Generator().manual_seed(seed)
    embedding = embed(
        probe,
        lambda idx: preprocess(images[idx.numpy()], params.image_size, probe),
        labels,
        settings,
        generator,
    )
    meta = {
        "task": task.name,
        "params": params.model_dump(),
        "seed": seed,
        "weights_source": probe.source,
        "dims": len(embedding.vector),
        "layers": [list(layer) for layer in embedding.layers],
        "pool_images": len(pool),
        "train_images": len(task.train_labels),
        "classes": len(task.classes),
        "classifier_fit_accuracy": round(embedding.fit_accuracy, 6),
        "versions": {"torch": torch.__version__, "timm": timm.__version__},
    }
    return embedding, meta


def write_embedding(embedding: Embedding, meta: dict, out_dir: Path, name: str) -> Path:
    """`<name>.npy` (float32 vector) and `<name>.json`, each written atomically."""
    out_dir = Path(out_dir)
    buffer = io.BytesIO()
    np.save(buffer, embedding.vector)
    atomic_write_bytes(out_dir / f"{name}.npy", buffer.getvalue())
    atomic_write_json(out_dir / f"{name}.json", meta)
    return out_dir / f"{name}.npy"


def embed_tasks(
    names: list[str], tasks_dir: Path, params: Task2VecParams, seed: int, out_dir: Path
) -> None:
    """`task2sim task2vec`: embed and write each prepared task, one summary line per task."""
    for name in names:
        start = time.perf_counter()
        task = load_task(Path(tasks_dir) / name)
        embedding, meta = embed_task(task, params, seed)
        path = write_embedding(embedding, meta, out_dir, name)
        print(
            f"{name}: {meta['dims']}-d Task2Vec ({params.probe}, {meta['pool_images']} images, "
            f"head fit {100 * meta['classifier_fit_accuracy']:.0f} %) -> {path} "
            f"({time.perf_counter() - start:.1f} s)"
        )


def load_vectors(out_dir: Path, names: list[str]) -> dict[str, np.ndarray]:
    """Task2Vec vectors written by `write_embedding`, refusing missing ones with the fix."""
    vectors = {}
    for name in names:
        path = Path(out_dir) / f"{name}.npy"
        if not path.is_file():
            raise Task2SimError(
                f"no Task2Vec vector for task '{name}' at {path}",
                f"run `dvc repro task2vec@{name}` (or `task2sim task2vec {name}`)",
            )
        vectors[name] = np.load(path, allow_pickle=False).astype(np.float64)
    return vectors
