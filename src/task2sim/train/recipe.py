"""The timm parts of a pre-training recipe, wired as timm's train script (0.4.12) wires them.

- model: `timm.create_model(name, num_classes, drop_path_rate, **model_kwargs)`, random init;
- optimizer: `create_optimizer_v2` (no weight decay on biases and norm layers);
- schedule: `CosineLRScheduler` with linear warmup from `warmup_lr`, the warmup inside the cosine
  length (timm's `warmup_prefix=False`), stepped per epoch (`step(epoch + 1)`) or per update;
- Mixup/CutMix with label smoothing in its soft targets and `SoftTargetCrossEntropy`; without
  mixing, `LabelSmoothingCrossEntropy` or plain cross-entropy.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from task2sim.errors import Task2SimError
from task2sim.params import TrainRecipe


@dataclass
class TrainParts:
    model: nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: Any  # timm.scheduler.CosineLRScheduler
    mixup: Any | None  # timm.data.Mixup
    loss_fn: nn.Module
    scaler: torch.amp.GradScaler
    autocast: bool


def create_model(recipe: TrainRecipe, num_classes: int) -> nn.Module:
    import timm

    if not timm.is_model(recipe.model):
        close = difflib.get_close_matches(recipe.model, timm.list_models(), n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        raise Task2SimError(
            f"'{recipe.model}' is not a timm model{hint}", "set `model` to a timm model name"
        )
    try:
        return timm.create_model(
            recipe.model,
            pretrained=recipe.pretrained,
            num_classes=num_classes,
            drop_path_rate=recipe.drop_path,
            **recipe.model_kwargs,
        )
    except TypeError as exc:
        raise Task2SimError(
            f"timm cannot build '{recipe.model}' with {recipe.model_kwargs} ({exc})",
            "fix `model_kwargs` (the model's constructor arguments)",
        ) from None
    except (OSError, RuntimeError) as exc:
        if not recipe.pretrained:
            raise
        raise Task2SimError(
            f"no pretrained weights for '{recipe.model}' ({exc})",
            "set `pretrained: false` (the paper trains from scratch) or allow timm's download",
        ) from None


def create_optimizer(model: nn.Module, recipe: TrainRecipe) -> torch.optim.Optimizer:
    from timm.optim import create_optimizer_v2

    try:
        return create_optimizer_v2(
            model, opt=recipe.opt, lr=recipe.lr, weight_decay=recipe.weight_decay
        )
    except (AssertionError, ValueError) as exc:
        raise Task2SimError(
            f"timm has no optimizer '{recipe.opt}' ({exc})", "set `opt`, e.g. adamw"
        ) from None


def create_scheduler(
    optimizer: torch.optim.Optimizer, recipe: TrainRecipe, updates_per_epoch: int
) -> Any:
    """Cosine with linear warmup; with lr_step 'update' its units are updates, not epochs."""
    from timm.scheduler import CosineLRScheduler

    per = updates_per_epoch if recipe.lr_step == "update" else 1
    return CosineLRScheduler(
        optimizer,
        t_initial=recipe.epochs * per,
        lr_min=recipe.min_lr,
        warmup_t=round(recipe.warmup_epochs * per),
        warmup_lr_init=recipe.warmup_lr,
        cycle_limit=1,
        t_in_epochs=recipe.lr_step == "epoch",
    )


def create_mixup(recipe: TrainRecipe, num_classes: int) -> Any | None:
    if not recipe.mixes:
        return None
    from timm.data import Mixup

    return Mixup(
        mixup_alpha=recipe.mixup_alpha,
        cutmix_alpha=recipe.cutmix_alpha,
        prob=recipe.mixup_prob,
        switch_prob=recipe.mixup_switch_prob,
        mode=recipe.mixup_mode,
        label_smoothing=recipe.label_smoothing,
        num_classes=num_classes,
    )


def create_loss(recipe: TrainRecipe) -> nn.Module:
    from timm.loss import LabelSmoothingCrossEntropy, SoftTargetCrossEntropy

    if recipe.mixes:
        return SoftTargetCrossEntropy()  # smoothing is already in Mixup's targets
    if recipe.label_smoothing > 0:
        return LabelSmoothingCrossEntropy(smoothing=recipe.label_smoothing)
    return nn.CrossEntropyLoss()


def build_parts(
    recipe: TrainRecipe, num_classes: int, updates_per_epoch: int, device: torch.device
) -> TrainParts:
    """Everything one training run needs, on `device`; the model is seeded by `recipe.seed`."""
    torch.random.default_generator.manual_seed(recipe.seed)
    if device.type == "cuda":
        torch.cuda.manual_seed(recipe.seed)
    model = create_model(recipe, num_classes).to(device)
    if recipe.channels_last:
        model = model.to(memory_format=torch.channels_last)
    optimizer = create_optimizer(model, recipe)
    autocast = recipe.amp and device.type == "cuda"
    return TrainParts(
        model=model,
        optimizer=optimizer,
        scheduler=create_scheduler(optimizer, recipe, updates_per_epoch),
        mixup=create_mixup(recipe, num_classes),
        loss_fn=create_loss(recipe).to(device),
        scaler=torch.amp.GradScaler(device.type, enabled=autocast),
        autocast=autocast,
    )
