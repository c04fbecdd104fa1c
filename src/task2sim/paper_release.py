"""The paper's released controller inputs: the reward table and the 20 Task2Vec vectors.

Found, in this order: the folder in env `TASK2SIM_PAPER_DIR`; `../shared/paper` beside the project;
`data/raw/paper` (earlier downloads); else downloaded there from the official repository at the
commit that added them. Every copy is checked against the sha256 below, wherever it came from.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from task2sim.datasets.download import download
from task2sim.datasets.raw import sha256_file
from task2sim.errors import Task2SimError
from task2sim.paths import raw_dir, shared_root
from task2sim.reward_table import RewardTable, load_reward_table

log = logging.getLogger(__name__)

# samarth4149/task2sim at the commit that added the artifacts (the code commit of SPEC §8): a
# commit URL never changes, unlike a branch.
UPSTREAM_COMMIT = "0cc37a1cfdef65dba564ead5e0a9c7c1bce8d769"
UPSTREAM = f"https://raw.githubusercontent.com/samarth4149/task2sim/{UPSTREAM_COMMIT}/"


@dataclass(frozen=True)
class Artifact:
    name: str
    upstream_path: str
    sha256: str


ARTIFACTS = {
    a.name: a
    for a in (
        Artifact(
            "reward_db.json",
            "controller_db/reward_db.json",
            "1498ff9576022b955648a38cc1aaf4cca34a56f12f757e726e9e57d590786859",
        ),
        Artifact(
            "resnet18_imagenet_12_seen_tasks.pt",
            "task_db/resnet18_imagenet_12_seen_tasks.pt",
            "88b75a8350c91cadb5c2f9aa33a624e299fb09d92241ef9e0161d49c486d0d4d",
        ),
        Artifact(
            "resnet18_imagenet_8_unseen_tasks.pt",
            "task_db/resnet18_imagenet_8_unseen_tasks.pt",
            "7105a6da91f3ee67863df50d2f3330f54c91546e859dd4e7f592936c90e0a4eb",
        ),
    )
}

# controller/config.py of the official code: TRAIN_TASKS and TEST_TASKS.
PAPER_SEEN = (
    "CropDisease", "EuroSAT", "SVHN", "ChestX", "Sketch", "DTD",
    "Flowers102", "DeepWeeds", "Resisc45", "Omniglot", "ISIC", "Kaokore",
)  # fmt: skip
PAPER_UNSEEN = ("CUB", "PacsC", "PacsS", "AID", "USPS", "FMD", "CactusAerial", "ChestXPneumonia")
PAPER_TASK2SIM = {"seen": 30.46, "unseen": 53.06}  # supp. Table 1, Task2Vec from 100 % of data


def candidate_dirs() -> list[tuple[str, Path]]:
    """Where copies are looked for, in order, each with how it was chosen."""
    dirs = []
    if os.environ.get("TASK2SIM_PAPER_DIR"):
        dirs.append(("TASK2SIM_PAPER_DIR", Path(os.environ["TASK2SIM_PAPER_DIR"])))
    dirs.append(("sibling folder", shared_root().parent / "shared" / "paper"))
    dirs.append(("download cache", download_dir()))
    return dirs


def download_dir() -> Path:
    return raw_dir() / "paper"


def _verified(path: Path, artifact: Artifact) -> Path:
    actual = sha256_file(path)
    if actual != artifact.sha256:
        raise Task2SimError(
            f"{path} has sha256 {actual}, but the released {artifact.name} has {artifact.sha256}",
            f"replace it with the file from {UPSTREAM}{artifact.upstream_path} (or delete it)",
        )
    return path


def locate(name: str, allow_download: bool = True) -> Path:
    """A verified local copy of artifact `name`, downloading it if no folder has one."""
    artifact = ARTIFACTS[name]
    for how, folder in candidate_dirs():
        path = folder / name
        if path.is_file():
            log.debug("%s: using %s (%s)", name, path, how)
            return _verified(path, artifact)
    where = ", ".join(str(folder) for _, folder in candidate_dirs())
    fix = (
        f"put the released files ({', '.join(ARTIFACTS)}) in one of: {where} "
        "(or set TASK2SIM_PAPER_DIR to a folder holding them)"
    )
    if not allow_download:
        raise Task2SimError(f"the paper's {name} was not found", fix)
    url = UPSTREAM + artifact.upstream_path
    try:
        return download(url, download_dir() / name, f"sha256:{artifact.sha256}")
    except Task2SimError as exc:
        raise Task2SimError(f"the paper's {name} is not here and {exc.problem}", fix) from None


def load_paper_rewards(allow_download: bool = True) -> RewardTable:
    """The released 20-task x 256-config table of 5-NN accuracies (%)."""
    return load_reward_table(locate("reward_db.json", allow_download))


def load_paper_vectors(allow_download: bool = True) -> dict[str, np.ndarray]:
    """The released ResNet-18 Task2Vec vectors, task → hessian / scale (9600-d, float64)."""
    vectors: dict[str, np.ndarray] = {}
    for name in ("resnet18_imagenet_12_seen_tasks.pt", "resnet18_imagenet_8_unseen_tasks.pt"):
        path = locate(name, allow_download)
        try:  # tensors in plain dicts: the safe loader suffices
            loaded = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:
            raise Task2SimError(f"{path} is not a readable torch file: {exc}") from None
        for task, entry in loaded.items():
            hessian = np.asarray(entry["hessian"], dtype=np.float64)
            scale = np.asarray(entry["scale"], dtype=np.float64)
            vectors[task] = hessian / scale
    return vectors
