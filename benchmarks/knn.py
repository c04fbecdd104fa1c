"""5-NN speed and accuracy: our chunked torch vote against scikit-learn on the same features.

Features (fixed, computed once, shared by both sides):
- `pixels` (default): fashion_mnist's 60,000 train / 10,000 test images, flattened pixels (784)
  through one seeded Gaussian random projection to 512 dimensions, float32. A fixed linear
  "backbone": cheap to compute on a CPU, and real data, so accuracy means something.
- `gaussian`: 10 Gaussian class clusters of the same size (60,000 / 10,000 x 512).

Reference: `sklearn.neighbors.KNeighborsClassifier(n_neighbors=5, metric="cosine",
algorithm="brute", weights=lambda d: exp((1 - d) / 0.07))`: brute-force cosine distance d, each
neighbour weighted exp(sim / 0.07) with sim = 1 - d, i.e. exactly our vote. Timed: fit + predict
(ours: L2 normalisation + chunked matmul + top-k + vote). Both sides get the same thread count
(torch threads, and BLAS / OpenMP pools via threadpoolctl), run alternately, best of `--rounds`.

    scripts/run.sh python benchmarks/knn.py [--threads 1] [--json results/benchmarks/knn.json]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.neighbors import KNeighborsClassifier
from threadpoolctl import threadpool_limits

from task2sim.datasets.format import load_task
from task2sim.evaluate.knn import knn_predict

K, TEMPERATURE, DIM = 5, 0.07, 512


def pixel_features(tasks_dir: Path, seed: int) -> tuple[np.ndarray, ...]:
    task = load_task(tasks_dir / "fashion_mnist")
    rng = np.random.default_rng(seed)
    flat = task.train_images.shape[1] * task.train_images.shape[2] * task.train_images.shape[3]
    projection = (rng.normal(size=(flat, DIM)) / np.sqrt(DIM)).astype(np.float32)

    def project(images: np.ndarray) -> np.ndarray:
        return (np.asarray(images).reshape(len(images), -1).astype(np.float32) / 255) @ projection

    return (
        project(task.train_images),
        np.asarray(task.train_labels),
        project(task.test_images),
        np.asarray(task.test_labels),
    )


def gaussian_features(seed: int) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(10, DIM)).astype(np.float32)

    def draw(n: int) -> tuple[np.ndarray, np.ndarray]:
        labels = rng.integers(0, 10, n)
        noise = rng.normal(scale=3.0, size=(n, DIM)).astype(np.float32)
        return centres[labels] + noise, labels

    train, train_labels = draw(60_000)
    test, test_labels = draw(10_000)
    return train, train_labels, test, test_labels


def vote_weight(distance: np.ndarray) -> np.ndarray:
    return np.exp((1.0 - distance) / TEMPERATURE)


def run_ours(train, labels, test) -> np.ndarray:
    return knn_predict(train, labels, test, k=K, temperature=TEMPERATURE, num_classes=10)


def run_sklearn(train, labels, test) -> np.ndarray:
    classifier = KNeighborsClassifier(
        n_neighbors=K, metric="cosine", algorithm="brute", weights=vote_weight
    )
    return classifier.fit(train, labels).predict(test)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--source", choices=["pixels", "gaussian"], default="pixels")
    parser.add_argument("--tasks-dir", type=Path, default=Path("data/tasks"))
    parser.add_argument("--threads", type=int, default=1, help="for both sides")
    parser.add_argument("--rounds", type=int, default=2, help="best of this many, alternating")
    parser.add_argument("--test-images", type=int, help="use only the first N test images")
    parser.add_argument("--json", type=Path, help="also write the numbers here")
    args = parser.parse_args()

    features = (
        pixel_features(args.tasks_dir, 0) if args.source == "pixels" else gaussian_features(0)
    )
    train, train_labels, test, test_labels = features
    if args.test_images:
        test, test_labels = test[: args.test_images], test_labels[: args.test_images]
    torch.set_num_threads(args.threads)
    seconds = {"ours": [], "sklearn": []}
    predictions = {}
    with threadpool_limits(limits=args.threads):
        for _ in range(args.rounds):
            for name, run in (("ours", run_ours), ("sklearn", run_sklearn)):
                start = time.perf_counter()
                predictions[name] = run(train, train_labels, test)
                seconds[name].append(time.perf_counter() - start)
    best = {name: min(times) for name, times in seconds.items()}
    accuracy = {name: 100.0 * float((p == test_labels).mean()) for name, p in predictions.items()}
    agree = 100.0 * float((predictions["ours"] == predictions["sklearn"]).mean())
    report = {
        "source": args.source,
        "train": len(train),
        "test": len(test),
        "dim": train.shape[1],
        "threads": args.threads,
        "rounds": args.rounds,
        "accuracy": accuracy,
        "seconds": best,
        "speedup": best["sklearn"] / best["ours"],
        "prediction_agreement": agree,
    }
    print(
        f"5-NN (k={K}, exp(sim/{TEMPERATURE}) vote), {args.source} features "
        f"{len(train)} train / {len(test)} test x {train.shape[1]}, {args.threads} thread(s), "
        f"best of {args.rounds}"
    )
    print(f"{'':10}{'top-1 %':>10}{'seconds':>10}")
    for name in ("ours", "sklearn"):
        print(f"{name:10}{accuracy[name]:10.2f}{best[name]:10.2f}")
    print(f"speed-up (sklearn s / ours s): {report['speedup']:.2f}x")
    print(f"predictions agree: {agree:.2f} %")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
