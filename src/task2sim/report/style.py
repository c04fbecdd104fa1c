"""Shared figure settings: readable method names, one colour per method, deterministic PNGs."""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")

METHOD_LABELS = {
    "task2sim": "Task2Sim",
    "domain_randomization": "Domain Rand.",
    "random": "Random",
    "all_off": "All off",
    "best_fixed": "Best fixed",
    "additive": "Additive",
    "nearest_task": "Nearest task",
    "oracle": "Oracle (bound)",
    "reference_efficientnet_lite0": "ImageNet (EffNet-Lite0)",
    "reference_resnet50": "ImageNet (ResNet-50)",
    "reference_scratch": "Scratch (random init)",
}
METHOD_COLOURS = {
    "task2sim": "tab:red",
    "domain_randomization": "tab:blue",
    "random": "tab:green",
    "all_off": "tab:gray",
    "best_fixed": "tab:purple",
    "additive": "tab:pink",
    "nearest_task": "tab:cyan",
    "oracle": "gold",
    "reference_efficientnet_lite0": "black",
    "reference_resnet50": "tab:brown",
    "reference_scratch": "tab:olive",
}


def method_label(method: str) -> str:
    if method in METHOD_LABELS:
        return METHOD_LABELS[method]
    if method.startswith("reference_"):
        return f"ImageNet ({method.removeprefix('reference_')})"
    return method


def method_colour(method: str, index: int = 0) -> str:
    return METHOD_COLOURS.get(method, f"C{index % 10}")


def save_png(fig) -> bytes:
    """PNG bytes without a timestamp or software tag, so the same data give the same file."""
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, metadata={"Software": None})
    plt.close(fig)
    return buffer.getvalue()
