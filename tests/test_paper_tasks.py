"""The paper's 20 tasks: registry facts, offline `missing()`, and every converter end to end on tiny
synthetic files of the real layouts, served from a loopback HTTP server."""

from __future__ import annotations

import bz2
import hashlib
import io
import socket
import tarfile
import urllib.request
import zipfile

import numpy as np
import pytest
from PIL import Image
from scipy.io import savemat

from loopback import FileServer
from task2sim.datasets import download as download_module
from task2sim.datasets import paper
from task2sim.datasets.paper import PAPER_TASKS, REMOTE_FILES, RemoteFile
from task2sim.datasets.registry import get_task
from task2sim.errors import Task2SimError
from task2sim.params import TaskEntry
from task2sim.paths import raw_dir

# SUPP Table 2: name -> (classes, train, test); roles from SPEC.md section 3.
TABLE = {
    "CropDisease": (38, 43456, 10849), "Flowers102": (102, 1020, 6149),
    "DeepWeeds": (9, 12252, 5257), "CUB": (200, 5994, 5794), "EuroSAT": (10, 18900, 8100),
    "Resisc45": (45, 22005, 9495), "AID": (30, 6993, 3007), "CactusAerial": (2, 17500, 4000),
    "Omniglot": (659, 9226, 3954), "SVHN": (10, 73257, 26032), "USPS": (10, 7291, 2007),
    "ISIC": (7, 7007, 3008), "ChestX": (7, 18090, 7758), "ChestXPneumonia": (2, 5216, 624),
    "Kaokore": (8, 6568, 821), "Sketch": (1000, 35000, 15889), "PacsC": (7, 2107, 237),
    "PacsS": (7, 3531, 398), "DTD": (47, 3760, 1880), "FMD": (10, 1400, 600),
}  # fmt: skip
SEEN = {
    "CropDisease", "EuroSAT", "SVHN", "ChestX", "Sketch", "DTD", "Flowers102", "DeepWeeds",
    "Resisc45", "Omniglot", "ISIC", "Kaokore",
}  # fmt: skip
DOWNLOADABLE = {"EuroSAT", "SVHN", "USPS", "DTD", "Flowers102", "Omniglot"}
DOMAINS = {"natural", "satellite", "symbolic", "medical", "illustrative", "texture"}


@pytest.fixture(autouse=True)
def _raw_in_tmp(tmp_path, monkeypatch):
    monkeypatch.setenv("TASK2SIM_RAW", str(tmp_path / "raw"))
    monkeypatch.setattr(download_module, "RETRY_DELAY_S", 0.0)


def publish(monkeypatch, server: FileServer, task: str, files: dict[str, bytes]) -> None:
    """Serve `files` and point the task's REMOTE_FILES at them (same file names as upstream)."""
    assert set(files) == {f.filename for f in REMOTE_FILES[task]}
    remotes = []
    for name, data in files.items():
        server.files[f"{task}/{name}"] = data
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        remotes.append(RemoteFile(server.url(f"{task}/{name}"), name, digest))
    monkeypatch.setitem(REMOTE_FILES, task, tuple(remotes))


def image_bytes(value: int, fmt: str = "JPEG", size: int = 8) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (size, size), (value, value, value)).save(out, fmt)
    return out.getvalue()


def zip_bytes(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return out.getvalue()


def tgz_bytes(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as tf:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return out.getvalue()


def mat_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    out = io.BytesIO()
    savemat(out, arrays)
    return out.getvalue()


def load(task: str, size: int = 16):
    return get_task(task).load(TaskEntry(source=task, size=size))


# --- registry facts -------------------------------------------------------------------------------
def test_all_twenty_tasks_with_roles_and_sizes():
    assert {t.name for t in PAPER_TASKS} == set(TABLE)
    assert len(PAPER_TASKS) == 20
    for task in PAPER_TASKS:
        assert (task.classes, task.train, task.test) == TABLE[task.name], task.name
        assert task.paper_role == ("seen" if task.name in SEEN else "unseen"), task.name
        expected = "download" if task.name in DOWNLOADABLE else "manual"
        assert task.availability == expected, task.name
        assert task.domain in DOMAINS, task.name
    assert sum(t.paper_role == "seen" for t in PAPER_TASKS) == 12


def test_published_checksums_are_well_formed():
    for task in DOWNLOADABLE:
        for remote in REMOTE_FILES[task]:
            assert remote.url.startswith(("http://", "https://")) and remote.url.endswith(
                remote.filename
            )
            algorithm, digest = remote.checksum.split(":")
            assert algorithm == "md5" and len(digest) == 32


def test_missing_never_touches_the_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("missing() used the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(urllib.request, "urlopen", refuse)
    for task in PAPER_TASKS:
        reason = task.missing()
        if task.name in DOWNLOADABLE:
            assert reason.startswith("needs download (network):"), reason
        else:
            assert reason.startswith("manual download:"), reason
            assert str(raw_dir() / task.name / "imagefolder") in reason
        assert "\n" not in reason


# --- converters, end to end -----------------------------------------------------------------------
def test_eurosat_zip(monkeypatch, server):
    members = {
        f"2750/{cls}/{cls}_{i}.jpg": image_bytes(40 * c + i)
        for c, cls in enumerate(["AnnualCrop", "Forest"])
        for i in range(3)
    }
    publish(monkeypatch, server, "EuroSAT", {"EuroSAT.zip": zip_bytes(members)})
    assert paper.missing("EuroSAT").startswith("needs download")
    raw = load("EuroSAT")
    assert raw.classes == ["AnnualCrop", "Forest"]
    assert raw.images.shape == (6, 16, 16, 3) and raw.test_images is None
    assert raw.labels.tolist() == [0, 0, 0, 1, 1, 1]
    assert raw.provenance["files"]["EuroSAT.zip"]["url"] == server.url("EuroSAT/EuroSAT.zip")
    assert paper.missing("EuroSAT") is None

    requests = len(server.requests)
    (raw_dir() / "EuroSAT" / "EuroSAT.zip").unlink()  # unpacked archives need not be kept
    assert paper.missing("EuroSAT") is None
    np.testing.assert_array_equal(load("EuroSAT").images, raw.images)
    assert len(server.requests) == requests


def test_svhn_mat(monkeypatch, server):
    def split(labels: list[int]) -> bytes:
        x = np.zeros((32, 32, 3, len(labels)), dtype=np.uint8)
        for i in range(len(labels)):
            x[..., i] = 20 * i + 5
        return mat_bytes({"X": x, "y": np.array(labels, dtype=np.uint8)[:, None]})

    files = {"train_32x32.mat": split([10, 1, 2, 10]), "test_32x32.mat": split([3, 10])}
    publish(monkeypatch, server, "SVHN", files)
    raw = load("SVHN", size=32)
    assert raw.classes == [str(d) for d in range(10)]
    assert raw.labels.tolist() == [0, 1, 2, 0] and raw.test_labels.tolist() == [3, 0]
    assert raw.images.shape == (4, 32, 32, 3) and raw.test_images.shape == (2, 32, 32, 3)
    assert [int(im[0, 0, 0]) for im in raw.images] == [5, 25, 45, 65]
    assert load("SVHN", size=16).images.shape == (4, 16, 16, 3)


def test_usps_bz2(monkeypatch, server):
    def libsvm(rows: list[tuple[int, dict[int, float]]]) -> bytes:
        lines = [f"{label} " + " ".join(f"{i}:{v}" for i, v in px.items()) for label, px in rows]
        return bz2.compress(("\n".join(lines) + "\n").encode("ascii"))

    train = [(1, {1: -1.0, 2: 1.0}), (10, {256: 1.0}), (5, {1: 0.0})]
    publish(
        monkeypatch, server, "USPS",
        {"usps.bz2": libsvm(train), "usps.t.bz2": libsvm([(3, {16: -1.0})])},
    )  # fmt: skip
    raw = load("USPS", size=16)
    assert raw.labels.tolist() == [0, 9, 4] and raw.test_labels.tolist() == [2]
    assert raw.images.shape == (3, 16, 16, 3) and raw.images.dtype == np.uint8
    assert raw.images[0, 0, :2, 0].tolist() == [0, 255]  # -1 -> black, 1 -> white
    assert raw.images[0, 5, 5].tolist() == [128, 128, 128]  # absent value 0 -> mid grey
    assert raw.images[1, 15, 15, 0] == 255
    assert raw.test_images[0, 0, 15, 0] == 0


def test_dtd_tar(monkeypatch, server):
    members = {
        f"dtd/images/{cls}/{cls}_{i:04d}.jpg": image_bytes(30 * c + i)
        for c, cls in enumerate(["banded", "zigzagged"])
        for i in range(3)
    }
    members["dtd/labels/train1.txt"] = b"banded/banded_0000.jpg\nzigzagged/zigzagged_0000.jpg\n"
    members["dtd/labels/val1.txt"] = b"banded/banded_0001.jpg\nzigzagged/zigzagged_0001.jpg\n"
    members["dtd/labels/test1.txt"] = b"banded/banded_0002.jpg\nzigzagged/zigzagged_0002.jpg\n"
    publish(monkeypatch, server, "DTD", {"dtd-r1.0.1.tar.gz": tgz_bytes(members)})
    raw = load("DTD")
    assert raw.classes == ["banded", "zigzagged"]
    assert raw.labels.tolist() == [0, 1, 0, 1] and raw.test_labels.tolist() == [0, 1]
    assert raw.images.shape == (4, 16, 16, 3)


def test_flowers102_tgz_and_mats(monkeypatch, server):
    members = {f"jpg/image_{i:05d}.jpg": image_bytes(10 * i) for i in range(1, 7)}
    files = {
        "102flowers.tgz": tgz_bytes(members),
        "imagelabels.mat": mat_bytes({"labels": np.array([[1, 102, 1, 102, 5, 102]])}),
        "setid.mat": mat_bytes(
            {"trnid": np.array([[1, 2]]), "valid": np.array([[3, 4]]), "tstid": np.array([[5, 6]])}
        ),
    }
    publish(monkeypatch, server, "Flowers102", files)
    raw = load("Flowers102")
    assert len(raw.classes) == 102 and raw.classes[0] == "pink primrose"
    assert raw.labels.tolist() == [0, 101] and raw.test_labels.tolist() == [4, 101]
    assert raw.images.shape == (2, 16, 16, 3) and raw.test_images.shape == (2, 16, 16, 3)


def test_omniglot_zips(monkeypatch, server):
    def alphabet(root: str, name: str) -> dict[str, bytes]:
        return {
            f"{root}/{name}/character{c:02d}/{c}_{i}.png": image_bytes(255 * (i % 2), "PNG")
            for c in (1, 2)
            for i in range(2)
        }

    evaluation = {
        **alphabet("images_evaluation", "Latin"),
        **alphabet("images_evaluation", "Angelic"),
    }
    publish(monkeypatch, server, "Omniglot", {"images_evaluation.zip": zip_bytes(evaluation)})
    raw = load("Omniglot")
    assert raw.classes == [
        "Angelic/character01", "Angelic/character02", "Latin/character01", "Latin/character02",
    ]  # fmt: skip
    assert raw.labels.tolist() == [0, 0, 1, 1, 2, 2, 3, 3] and raw.test_images is None


def test_unsafe_archive_member_is_refused(monkeypatch, server, tmp_path):
    evil = zip_bytes({"2750/a/x.jpg": image_bytes(1), "../../escaped.txt": b"boo"})
    publish(monkeypatch, server, "EuroSAT", {"EuroSAT.zip": evil})
    with pytest.raises(Task2SimError, match="unsafe member"):
        load("EuroSAT")
    assert not (raw_dir() / "EuroSAT" / "extracted").exists()
    assert not list(tmp_path.rglob("escaped.txt"))


def test_corrupt_download_is_not_kept(monkeypatch, server):
    publish(monkeypatch, server, "DTD", {"dtd-r1.0.1.tar.gz": b"not the archive"})
    good = REMOTE_FILES["DTD"][0]
    wrong = RemoteFile(good.url, good.filename, "sha256:" + "0" * 64)
    monkeypatch.setitem(REMOTE_FILES, "DTD", (wrong,))
    with pytest.raises(Task2SimError, match=r"expected 0{64}"):
        load("DTD")
    assert not list((raw_dir() / "DTD").iterdir())


# --- manual tasks ---------------------------------------------------------------------------------
def test_manual_task_without_folder_says_where_to_put_it():
    folder = raw_dir() / "CUB" / "imagefolder"
    with pytest.raises(Task2SimError) as caught:
        load("CUB")
    assert str(folder) in str(caught.value)
    assert "CUB-200-2011" in str(caught.value)


def test_manual_task_loads_a_placed_imagefolder(make_imagefolder):
    folder = raw_dir() / "ChestXPneumonia" / "imagefolder"
    make_imagefolder({"NORMAL": 3, "PNEUMONIA": 2}, root=folder / "train")
    make_imagefolder({"NORMAL": 1, "PNEUMONIA": 1}, root=folder / "test")
    assert paper.missing("ChestXPneumonia") is None
    raw = load("ChestXPneumonia", size=8)
    assert raw.classes == ["NORMAL", "PNEUMONIA"]
    assert raw.images.shape == (5, 8, 8, 3) and raw.test_labels.tolist() == [0, 1]
    assert "hand-placed" in raw.provenance["source"]
