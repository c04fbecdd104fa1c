"""Every method's display names, in one table: the final comparison's rows, the leave-one-task-out
rows and the reference networks, for every figure and table that names them.

Outputs need names of different lengths (a legend is short, a table can say how the method chose
its config), so each method has named variants rather than one name; adding a method here names
it everywhere. A leaf module: anything may import it without an import circle.
"""

from __future__ import annotations

from dataclasses import dataclass

REFERENCE_PREFIX = "reference_"


@dataclass(frozen=True)
class MethodLabel:
    """A method's names: `short` in figure legends and heat-map axes, `table` in the final
    comparison's tables and figures, `loto` in leave-one-task-out (how it picks without the
    held-out task), `baseline` in supp. Table 1's reward-table baselines."""

    short: str
    table: str
    loto: str
    baseline: str


# The paper's rows, in its order: the final tables list these first, in this order.
METHODS: dict[str, MethodLabel] = {
    "task2sim": MethodLabel(
        "Task2Sim", "Task2Sim", "Task2Sim (controller trained without the task)", "Task2Sim"
    ),
    "domain_randomization": MethodLabel(
        "Domain Rand.",
        "Domain Randomization (c255)",
        "Domain Randomization (c255)",
        "Domain Randomization",
    ),
    "random": MethodLabel(
        "Random",
        "Random",
        "Random (the task's mean over the 256 configs)",
        "Random (mean over the 256 sets)",
    ),
    "all_off": MethodLabel("All off", "all off (c000)", "all off (c000)", "All off"),
    "best_fixed": MethodLabel(
        "Best fixed",
        "best fixed (best seen mean)",
        "best fixed (best mean over the other tasks)",
        "Best single fixed set on seen tasks",
    ),
    "additive": MethodLabel(
        "Additive",
        "additive non-adaptive (two-way optimum)",
        "additive non-adaptive (main + two-way optimum of the other tasks)",
        "Additive non-adaptive (optimum of a main + two-way fit of the seen mean)",
    ),
    "nearest_task": MethodLabel(
        "Nearest task",
        "nearest task (Task2Vec)",
        "nearest task (best config of the nearest other task by Task2Vec)",
        "Nearest task (best set of the nearest other seen task by Task2Vec)",
    ),
    "oracle": MethodLabel(
        "Oracle (bound)",
        "oracle (each task's best; upper bound)",
        "oracle: the task's best config (upper bound)",
        "Per-task oracle (best set of each task)",
    ),
}


@dataclass(frozen=True)
class ReferenceLabel:
    """A reference network's names: `short` in figure legends, `description` (what the network
    is) in its checkpoint's meta and the final tables."""

    short: str
    description: str


REFERENCES: dict[str, ReferenceLabel] = {
    "efficientnet_lite0": ReferenceLabel(
        "ImageNet (EffNet-Lite0)", "EfficientNet-Lite0 (ImageNet-1k, real images)"
    ),
    "resnet50": ReferenceLabel("ImageNet (ResNet-50)", "ResNet-50 (ImageNet-1k, real images)"),
    "scratch": ReferenceLabel(
        "Scratch (random init)",
        "scratch: random initialisation, the final backbones' architecture",
    ),
}

PROTOCOL_LABELS = {"knn": "5-NN", "linear": "linear probe", "finetune": "fine-tune"}


def short_label(row: str) -> str:
    """A row's legend name; an unknown reference is an ImageNet network, anything else itself."""
    if row in METHODS:
        return METHODS[row].short
    if row.startswith(REFERENCE_PREFIX):
        name = row.removeprefix(REFERENCE_PREFIX)
        return REFERENCES[name].short if name in REFERENCES else f"ImageNet ({name})"
    return row


def table_label(row: str) -> str:
    """A row's name in the final tables; reference rows say they are references (scratch says
    what it is instead)."""
    if row.startswith(REFERENCE_PREFIX):
        name = row.removeprefix(REFERENCE_PREFIX)
        description = REFERENCES[name].description if name in REFERENCES else name
        return description if name == "scratch" else f"reference: {description}"
    return METHODS[row].table if row in METHODS else row
