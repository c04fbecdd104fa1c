"""Distances between Task2Vec embeddings (aws-cv-task2vec `task_similarity.py`)."""

from __future__ import annotations

import numpy as np


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    """1 - cos(a, b): what the controller sees, since its input is the L2-normalised vector."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(1.0 - a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def normalized_cosine(a: np.ndarray, b: np.ndarray) -> float:
    """The Task2Vec paper's distance: cosine between a / (a + b) and b / (a + b), per entry.

    Every filter counts alike, whereas the plain cosine of raw Fisher values is ruled by the few
    stem channels that hold most of the vector's energy (in the paper's released vectors too).
    """
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    total = a + b + 1e-8
    return cosine(a / total, b / total)
