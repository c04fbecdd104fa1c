"""Shared figure settings: one colour per method and the one PNG writer (deterministic bytes).

Method names come from `task2sim.labels`.
"""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")

DPI = 110

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


def method_colour(method: str, index: int = 0) -> str:
    return METHOD_COLOURS.get(method, f"C{index % 10}")


def save_png(fig, dpi: int = DPI) -> bytes:
    """PNG bytes without a timestamp or software tag, so the same data give the same file;
    closes `fig`. `dpi` is each figure's own (changing it changes the committed bytes)."""
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, metadata={"Software": None})
    plt.close(fig)
    return buffer.getvalue()
