"""Pre-training: timm parts wired from the recipe, tensor augmentation vs timm's PIL ops, learning,
determinism, kill + resume, dvclive logs, checkpoints, errors, and DDP under torchrun."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

# Import timm (and with it triton) before any test renders with EGL in this process: importing
# triton after an EGL context exists crashes the interpreter.
import timm  # noqa: F401
import torch
from PIL import Image

from helpers import tiny_train
from task2sim.atomic import atomic_save_npy, atomic_write_json
from task2sim.datasets.image_set import SET_FORMAT_VERSION
from task2sim.errors import Task2SimError
from task2sim.params import SimParams, TrainRecipe
from task2sim.render.job import RenderJob
from task2sim.render.set_writer import render_set
from task2sim.scratch import partial_dir
from task2sim.train import loop
from task2sim.train.augment import TensorTrainTransform, apply_op
from task2sim.train.checkpoint import MODEL_FILE, load_backbone, read_meta
from task2sim.train.data import TrainBatches, patch_timm_posterize
from task2sim.train.loop import pretrain
from task2sim.train.recipe import build_parts

SIM = SimParams(classes=3, objects_per_class=2, skies=2, photos=False, background_height=32)


pytestmark = pytest.mark.usefixtures("private_cache", "one_thread")


def _recipe(**overrides) -> TrainRecipe:
    fields = tiny_train(image_size=32, epochs=3, batch_size=32, warmup_epochs=1)
    return TrainRecipe(**{**fields, **overrides})


@pytest.fixture(scope="module")
def rendered_set(tmp_path_factory) -> Path:
    """96 rendered images of 3 classes at 32 px."""
    out = tmp_path_factory.mktemp("sets") / "c255"
    job = RenderJob(config=255, sim=SIM, images=96, size=32, shard_size=48)
    render_set(job, out, workers=1, progress=False)
    return out


@pytest.fixture(scope="module")
def easy_set(tmp_path_factory) -> Path:
    """Noise with a coloured square whose colour is the class: learnable in a few epochs."""
    root = tmp_path_factory.mktemp("sets") / "easy"
    rng = np.random.default_rng(0)
    colours = np.array([[230, 30, 30], [30, 230, 30], [30, 30, 230]], dtype=np.uint8)
    labels = np.arange(192) % 3
    images = rng.integers(60, 160, (192, 32, 32, 3), dtype=np.uint8)
    for i, label in enumerate(labels):
        y, x = rng.integers(0, 12, 2)
        images[i, y : y + 20, x : x + 20] = colours[label]
    atomic_save_npy(root / "shard_00000.images.npy", images)
    atomic_save_npy(root / "shard_00000.labels.npy", labels.astype(np.int64))
    meta = {"format_version": SET_FORMAT_VERSION, "classes": ["red", "green", "blue"]}
    atomic_write_json(root / "meta.json", {**meta, "shards": [192], "size": 32, "key": "easy"})
    return root


class Killed(Exception):
    """Stands in for a SIGKILL."""


def _weights(folder: Path) -> dict[str, torch.Tensor]:
    return torch.load(folder / MODEL_FILE, weights_only=True)


def _meta_bytes(folder: Path) -> bytes:
    return (folder / "meta.json").read_bytes()


def _same(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


# ---- the recipe's timm parts ----


def test_recipe_wires_timm_parts_with_mixup():
    from timm.loss import SoftTargetCrossEntropy

    recipe = _recipe(epochs=10, warmup_epochs=2, lr=2e-3, warmup_lr=1e-5, min_lr=1e-4)
    parts = build_parts(recipe, 3, updates_per_epoch=4, device=torch.device("cpu"))
    mixup = parts.mixup
    assert (mixup.mixup_alpha, mixup.cutmix_alpha, mixup.mix_prob) == (0.8, 1.0, 1.0)
    assert (mixup.switch_prob, mixup.label_smoothing, mixup.mode) == (0.5, 0.1, "batch")
    assert mixup.num_classes == 3
    assert isinstance(parts.loss_fn, SoftTargetCrossEntropy)
    assert type(parts.optimizer).__name__ == "AdamW"
    decays = sorted(g["weight_decay"] for g in parts.optimizer.param_groups)
    assert decays == [0.0, 0.05]  # biases and norm layers are not decayed
    sched = parts.scheduler
    assert (sched.t_initial, sched.warmup_t, sched.warmup_lr_init) == (10, 2, 1e-5)
    assert sched.lr_min == 1e-4 and sched.t_in_epochs
    assert parts.optimizer.param_groups[0]["lr"] == pytest.approx(1e-5)  # warmup starts here
    assert sched._get_lr(1)[0] == pytest.approx(1e-5 + (2e-3 - 1e-5) / 2)
    assert sched._get_lr(10)[0] == pytest.approx(1e-4)
    drops = [m.drop_prob for m in parts.model.modules() if type(m).__name__ == "DropPath"]
    assert drops and max(drops) == pytest.approx(0.1)
    assert not parts.autocast  # AMP is CUDA-only


def test_recipe_without_mixup_and_per_update_schedule():
    from timm.loss import LabelSmoothingCrossEntropy

    recipe = _recipe(mixup_alpha=0, cutmix_alpha=0, label_smoothing=0.2, lr_step="update")
    parts = build_parts(recipe, 3, updates_per_epoch=5, device=torch.device("cpu"))
    assert parts.mixup is None
    assert isinstance(parts.loss_fn, LabelSmoothingCrossEntropy)
    assert parts.loss_fn.smoothing == pytest.approx(0.2)
    assert (parts.scheduler.t_initial, parts.scheduler.warmup_t) == (15, 5)
    assert not parts.scheduler.t_in_epochs
    plain = build_parts(_recipe(mixup_prob=0, label_smoothing=0), 3, 5, device=torch.device("cpu"))
    assert isinstance(plain.loss_fn, torch.nn.CrossEntropyLoss) and plain.mixup is None


def test_recipe_validation():
    with pytest.raises(ValueError, match="even batch_size"):
        _recipe(batch_size=33)
    _recipe(batch_size=33, mixup_alpha=0, cutmix_alpha=0)
    with pytest.raises(ValueError, match="not a timm RandAugment"):
        _recipe(randaugment="augmix-m5")
    with pytest.raises(ValueError, match="warmup_epochs"):
        _recipe(epochs=2, warmup_epochs=3)
    with pytest.raises(ValueError, match="extra"):
        TrainRecipe(epocs=3)
    with pytest.raises(Task2SimError, match="did you mean 'resnet10t'"):
        build_parts(_recipe(model="resnet10x"), 3, 1, torch.device("cpu"))


# ---- tensor augmentation against timm's PIL ops ----


def _smooth_images(n: int = 4, size: int = 32) -> np.ndarray:
    rng = np.random.default_rng(0)
    small = rng.integers(0, 256, (n, 8, 8, 3), dtype=np.uint8)
    big = [Image.fromarray(s).resize((size, size), Image.BICUBIC) for s in small]
    return np.stack([np.asarray(b) for b in big])


def test_randaugment_ops_match_timm_pil_ops():
    from timm.data import auto_augment

    patch_timm_posterize()  # Pillow >= 12 refuses posterize to 0 bits (magnitude 10)
    images = _smooth_images()
    batch = torch.from_numpy(images).permute(0, 3, 1, 2).float()
    hparams = {**auto_augment._HPARAMS_DEFAULT, "translate_const": 14}
    hparams["interpolation"] = Image.BICUBIC
    geometric = ("Rotate", "Shear", "Translate")
    for name in auto_augment.NAME_TO_OP:
        if name.startswith(("Desaturate", "GaussianBlur")):
            continue
        for magnitude in (3, 9, 10):
            op = auto_augment.AugmentOp(name, prob=1.0, magnitude=magnitude, hparams=hparams)
            random.seed(1)
            negate = random.random() > 0.5  # timm's sign draw, repeated per image below
            reference = []
            for image in images:
                random.seed(1)
                reference.append(np.asarray(op(Image.fromarray(image)), dtype=np.float32))
            ours = apply_op(name, batch.clone(), magnitude, -1.0 if negate else 1.0)
            diff = np.abs(np.stack(reference) - ours.permute(0, 2, 3, 1).numpy())
            if name.startswith(geometric):  # PIL's bicubic kernel differs a little
                assert diff.mean() < 1.5 and diff.max() <= 12, name
            else:
                assert diff.max() == 0, name


def test_batched_randaugment_matches_single_ops():
    """The batched layer (grouping, lookup tables, one gather) gives each image its op's result."""
    from dataclasses import replace

    from task2sim.train.augment import RandPolicy

    transform = TensorTrainTransform(32, randaugment="rand-m9-inc1")
    template = transform.policy.ops[0]
    batch = torch.from_numpy(_smooth_images(8)).permute(0, 3, 1, 2).float()
    names = ["AutoContrast", "Equalize", "Invert", "Posterize", "Solarize", "SolarizeAdd"]
    names += ["Color", "Contrast", "Brightness", "Sharpness"]
    single = {name: apply_op(name, batch.clone(), 9) for name in names}
    for name in names:
        op = replace(template, name=name, prob=1.0, magnitude_std=0.0)
        transform.policy = RandPolicy((op,), 1, None)
        out = transform._randaugment(batch.clone(), torch.Generator().manual_seed(0))
        assert torch.equal(out, single[name]), name
    pair = tuple(
        replace(template, name=n, prob=1.0, magnitude_std=0.0) for n in ("Equalize", "Color")
    )
    transform.policy = RandPolicy(pair, 1, None)
    out = transform._randaugment(batch.clone(), torch.Generator().manual_seed(0))
    for i in range(len(batch)):
        assert torch.equal(out[i], single["Equalize"][i]) or torch.equal(out[i], single["Color"][i])


def test_tensor_crop_and_flip():
    images = torch.from_numpy(_smooth_images())
    keep = TensorTrainTransform(32, scale=(1, 1), ratio=(1, 1), hflip=0, color_jitter=None)
    generator = torch.Generator().manual_seed(0)
    mean, std = keep.mean, keep.std
    plain = keep(images, generator) * std + mean
    assert torch.allclose(plain, images.permute(0, 3, 1, 2).float(), atol=1e-3)
    flip = TensorTrainTransform(32, scale=(1, 1), ratio=(1, 1), hflip=1, color_jitter=None)
    mirrored = flip(images, generator) * std + mean
    assert torch.allclose(mirrored, plain.flip(-1), atol=1e-3)
    paper = TensorTrainTransform(32, randaugment="rand-m9-mstd0.5-inc1")
    a = paper(images, torch.Generator().manual_seed(5))
    b = paper(images, torch.Generator().manual_seed(5))
    assert a.shape == (4, 3, 32, 32) and torch.equal(a, b)


@pytest.mark.parametrize("impl", ["tensor", "timm"])
def test_batches_are_deterministic_and_sharded(easy_set, impl):
    from task2sim.datasets.image_set import load_image_set

    images, labels = load_image_set(easy_set).arrays()
    recipe = _recipe(augment_impl=impl, num_workers=0, batch_size=16)
    first = list(TrainBatches(images, labels, recipe).epoch(0))
    again = list(TrainBatches(images, labels, recipe).epoch(0))
    assert len(first) == 12 and first[0][0].shape == (16, 3, 32, 32)
    assert all(
        torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
        for a, b in zip(first, again, strict=True)
    )
    ranks = [TrainBatches(images, labels, recipe, rank=r, world_size=2) for r in (0, 1)]
    assert ranks[0].batches_per_epoch == 6
    assert not set(ranks[0].indices(0)) & set(ranks[1].indices(0))


# ---- training runs ----


def test_training_decreases_loss_and_checkpoint_round_trip(easy_set, tmp_path):
    recipe = _recipe(
        epochs=6, randaugment=None, mixup_alpha=0, cutmix_alpha=0, label_smoothing=0,
        crop_scale=(0.5, 1.0), lr=3e-3, warmup_epochs=0, drop_path=0.0,
    )  # fmt: skip
    summary = pretrain(easy_set, recipe, tmp_path / "ckpt", progress=False)
    meta = read_meta(tmp_path / "ckpt")
    losses = [row["loss"] for row in meta["history"]]
    assert losses[-1] < 0.5 * losses[0], losses
    assert summary["final_loss"] == meta["final_train_loss"] == losses[-1]
    assert meta["class_names"] == ["red", "green", "blue"] and meta["num_classes"] == 3
    assert meta["model"] == "resnet10t" and meta["image_size"] == 32 and meta["epochs"] == 6
    assert TrainRecipe(**meta["recipe"]) == recipe
    assert sorted(p.name for p in (tmp_path / "ckpt").iterdir()) == ["meta.json", "model.pt"]
    assert not (partial_dir(tmp_path / "ckpt")).exists()

    model = load_backbone(tmp_path / "ckpt")
    assert not model.training and model.num_features == 64
    from task2sim.datasets.image_set import load_image_set

    images, labels = load_image_set(easy_set).arrays()
    x = torch.from_numpy(images).permute(0, 3, 1, 2).float() / 255
    x = (x - torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)) / 0.226
    with torch.no_grad():
        accuracy = (model(x).argmax(1).numpy() == labels).mean()
    assert accuracy > 0.6  # chance is 1/3


def test_same_seed_same_weights_and_killed_run_resumes_identically(
    rendered_set, tmp_path, monkeypatch
):
    recipe = _recipe(epochs=4, warmup_epochs=1, batch_size=16)  # paper augmentations + mixup
    pretrain(rendered_set, recipe, tmp_path / "a", log_dir=tmp_path / "log_a", progress=False)
    pretrain(rendered_set, recipe, tmp_path / "b", progress=False)
    assert _same(_weights(tmp_path / "a"), _weights(tmp_path / "b"))
    assert _meta_bytes(tmp_path / "a") == _meta_bytes(tmp_path / "b")
    reseeded = recipe.model_copy(update={"seed": 1})
    pretrain(rendered_set, reseeded, tmp_path / "d", progress=False)
    assert not _same(_weights(tmp_path / "a"), _weights(tmp_path / "d"))

    saved = []
    real_save = loop.save_train_state

    def save_then_die(path, state):
        real_save(path, state)
        saved.append(state["epoch"])
        if state["epoch"] == 2:
            raise Killed  # right after the epoch-2 state reached the disk

    monkeypatch.setattr(loop, "save_train_state", save_then_die)
    with pytest.raises(Killed):
        pretrain(rendered_set, recipe, tmp_path / "c", log_dir=tmp_path / "log_c", progress=False)
    assert saved == [1, 2] and not (tmp_path / "c").exists()
    assert (partial_dir(tmp_path / "c") / "train_state.pt").is_file()
    summary = pretrain(
        rendered_set, recipe, tmp_path / "c", log_dir=tmp_path / "log_c", progress=False
    )
    assert summary["resumed_from"] == 2 and saved == [1, 2, 3]
    assert _same(_weights(tmp_path / "a"), _weights(tmp_path / "c"))
    assert _meta_bytes(tmp_path / "a") == _meta_bytes(tmp_path / "c")

    for log_dir in ("log_a", "log_c"):  # dvclive: one row per epoch, also after the resume
        metrics = json.loads((tmp_path / log_dir / "metrics.json").read_text())
        assert metrics["step"] == 3 and set(metrics["train"]) == {"loss", "lr", "img_per_s"}
        rows = (tmp_path / log_dir / "plots" / "metrics" / "train" / "loss.tsv").read_text()
        assert len(rows.strip().splitlines()) == 1 + 4


def test_stale_partial_from_another_recipe_is_discarded(rendered_set, tmp_path):
    partial = partial_dir(tmp_path / "ckpt")
    partial.mkdir()
    (partial / "job.json").write_text('{"fingerprint": "another recipe"}')
    (partial / "train_state.pt").write_bytes(b"junk")
    summary = pretrain(rendered_set, _recipe(epochs=1), tmp_path / "ckpt", progress=False)
    assert summary["resumed_from"] == 0 and (tmp_path / "ckpt" / "model.pt").is_file()


# ---- errors ----


def test_clear_errors(rendered_set, tmp_path):
    with pytest.raises(Task2SimError, match="not a rendered image set"):
        pretrain(tmp_path / "nowhere", _recipe(), tmp_path / "out", progress=False)
    with pytest.raises(Task2SimError, match="fewer than one batch"):
        pretrain(rendered_set, _recipe(batch_size=128), tmp_path / "out", progress=False)
    with pytest.raises(Task2SimError, match=r"no meta\.json"):
        load_backbone(tmp_path / "nowhere")

    ckpt = tmp_path / "ckpt"
    pretrain(rendered_set, _recipe(epochs=1), ckpt, progress=False)
    (ckpt / MODEL_FILE).write_bytes(b"PK\x03\x04 not a checkpoint")
    with pytest.raises(Task2SimError, match="damaged"):
        load_backbone(ckpt)
    (ckpt / "meta.json").write_text("{ not json")
    with pytest.raises(Task2SimError, match="damaged"):
        load_backbone(ckpt)


# ---- command line and torchrun ----


def test_cli_recipe_json(rendered_set, tmp_path, capsys):
    from task2sim.cli import main

    recipe_file = tmp_path / "recipe.json"
    recipe_file.write_text(_recipe(epochs=1).model_dump_json())
    out = tmp_path / "ckpt"
    args = ["pretrain", str(rendered_set), "--out", str(out), "--recipe-json", str(recipe_file)]
    assert main([*args, "--quiet"]) == 0
    assert "final loss" in capsys.readouterr().out and (out / "model.pt").is_file()
    recipe_file.write_text('{"epochs": 0}')
    assert main([*args, "--quiet"]) == 2
    assert "not a valid recipe" in capsys.readouterr().err


def test_torchrun_two_cpu_processes(rendered_set, tmp_path):
    recipe_file = tmp_path / "recipe.json"
    recipe_file.write_text(_recipe(epochs=2, batch_size=16).model_dump_json())
    out = tmp_path / "ckpt"
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2"]
    command += ["--standalone", "-m", "task2sim", "pretrain", str(rendered_set)]
    command += ["--out", str(out), "--recipe-json", str(recipe_file), "--quiet"]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": ""}
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "rank 0 of 2" in done.stderr and "rank 1 of 2" in done.stderr
    assert done.stdout.count("final loss") == 1  # only rank 0 reports
    meta = read_meta(out)
    assert meta["world_size"] == 2 and meta["epochs"] == 2
    load_backbone(out)
