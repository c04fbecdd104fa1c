"""Checkpoint folders (`model.pt` + `meta.json`) and the resumable training state.

A finished checkpoint folder holds the backbone's state dict and a meta file naming the timm
model, its arguments and classes, so `load_backbone` rebuilds it without the recipe at hand.
`train_state.pt` (model, optimizer, scheduler, scaler, epoch, history, RNG states) lives in the
hidden `.<name>.partial` folder while training runs. Every file is written atomically.
"""

from __future__ import annotations

import io
import json
import logging
import pickle
import zipfile
from pathlib import Path
from typing import Any

import torch
from torch import nn

from task2sim.atomic import atomic_write_bytes, atomic_write_json
from task2sim.errors import Task2SimError
from task2sim.outputs import OutputKind, meta_has

MODEL_FILE = "model.pt"
META_FILE = "meta.json"
STATE_FILE = "train_state.pt"
CHECKPOINT_FORMAT_VERSION = 1
CHECKPOINT = OutputKind("checkpoint", meta_has("model", "num_classes", "model_kwargs"))

log = logging.getLogger(__name__)
_LOAD_ERRORS = (OSError, RuntimeError, EOFError, pickle.UnpicklingError, zipfile.BadZipFile)


def save_torch(path: Path, obj: Any) -> None:
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    atomic_write_bytes(path, buffer.getvalue())


def write_checkpoint(folder: Path, model: nn.Module, meta: dict) -> None:
    """Write `model.pt` (CPU state dict) and `meta.json` into `folder`."""
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    save_torch(folder / MODEL_FILE, state)
    atomic_write_json(folder / META_FILE, {"format_version": CHECKPOINT_FORMAT_VERSION, **meta})


def read_meta(folder: Path | str) -> dict:
    """The meta of a checkpoint folder; a clear error if it is missing or damaged."""
    folder = Path(folder)
    path = folder / META_FILE
    fix = "pre-train it again (`dvc repro`, or `task2sim pretrain SET --out DIR`)"
    if not path.is_file():
        raise Task2SimError(f"{folder} is not a pre-trained checkpoint (no {META_FILE})", fix)
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise Task2SimError(f"{path} is damaged ({exc})", fix) from None
    needed = {"model", "num_classes", "model_kwargs"}
    if not isinstance(meta, dict) or not needed <= set(meta):
        raise Task2SimError(f"{path} lacks {sorted(needed)}", fix)
    if meta.get("format_version") != CHECKPOINT_FORMAT_VERSION:
        raise Task2SimError(
            f"{folder} has checkpoint format {meta.get('format_version')}, this code reads "
            f"{CHECKPOINT_FORMAT_VERSION}",
            fix,
        )
    return meta


def load_backbone(
    checkpoint_dir: Path | str, *, drop_path_rate: float | None = None, map_location: str = "cpu"
) -> nn.Module:
    """The pre-trained network (classifier included) in eval mode. Its drop-path rate is the
    recipe's unless given: fine-tuning keeps it on (SPEC §5)."""
    import timm

    folder = Path(checkpoint_dir)
    meta = read_meta(folder)
    fix = "pre-train it again (`dvc repro`, or `task2sim pretrain SET --out DIR`)"
    try:
        state = torch.load(folder / MODEL_FILE, map_location=map_location, weights_only=True)
    except FileNotFoundError:
        raise Task2SimError(f"{folder} has no {MODEL_FILE}", fix) from None
    except _LOAD_ERRORS as exc:
        raise Task2SimError(f"{folder / MODEL_FILE} is damaged ({exc})", fix) from None
    if drop_path_rate is None:
        drop_path_rate = float(meta.get("recipe", {}).get("drop_path", 0.0))
    model = timm.create_model(
        meta["model"],
        num_classes=meta["num_classes"],
        drop_path_rate=drop_path_rate,
        **meta["model_kwargs"],
    )
    try:
        model.load_state_dict(state)
    except (RuntimeError, TypeError, AttributeError) as exc:
        raise Task2SimError(
            f"{folder / MODEL_FILE} does not fit '{meta['model']}' ({exc})", fix
        ) from None
    return model.eval()


def save_train_state(path: Path, state: dict) -> None:
    save_torch(path, state)


def load_train_state(path: Path) -> dict | None:
    """The saved training state, or None (with a warning) when it cannot be read."""
    if not path.is_file():
        return None
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except _LOAD_ERRORS as exc:
        log.warning("ignoring the unreadable training state %s (%s): starting over", path, exc)
        return None
