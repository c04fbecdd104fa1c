"""The resumable downloader, against a loopback HTTP server that truncates or ignores Range."""

from __future__ import annotations

import hashlib
import socket
from pathlib import Path

import pytest

from loopback import FileServer
from task2sim.datasets import download as download_module
from task2sim.datasets.download import download
from task2sim.errors import Task2SimError

PAYLOAD = bytes(range(256)) * 64  # 16 KiB, several read chunks


@pytest.fixture(autouse=True)
def _no_retry_delay(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(download_module, "RETRY_DELAY_S", 0.0)


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _get(server: FileServer, dest: Path, checksum: str | None = None, **kwargs: object) -> Path:
    return download(
        server.url("file.bin"), dest, checksum or sha256(PAYLOAD), timeout=5, progress=False,
        **kwargs,
    )  # fmt: skip


def test_full_download_verifies_sha256(server, tmp_path):
    server.files["file.bin"] = PAYLOAD
    dest = tmp_path / "sub" / "file.bin"
    assert _get(server, dest) == dest
    assert dest.read_bytes() == PAYLOAD
    assert not dest.with_name("file.bin.part").exists()
    assert server.requests == [("file.bin", None)]


def test_md5_checksum_works(server, tmp_path):
    server.files["file.bin"] = PAYLOAD
    dest = _get(server, tmp_path / "f", "md5:" + hashlib.md5(PAYLOAD).hexdigest())
    assert dest.read_bytes() == PAYLOAD


def test_verified_dest_makes_no_request(server, tmp_path):
    dest = tmp_path / "file.bin"
    dest.write_bytes(PAYLOAD)
    assert _get(server, dest) == dest
    assert server.requests == []


def test_unverified_dest_is_refused_not_deleted(server, tmp_path):
    dest = tmp_path / "file.bin"
    dest.write_bytes(b"user data")
    with pytest.raises(Task2SimError, match=r"delete .*file\.bin"):
        _get(server, dest)
    assert dest.read_bytes() == b"user data"
    assert server.requests == []


@pytest.mark.parametrize("checksum", ["crc32:abcd", "sha256:xyz", "md5"])
def test_bad_checksum_spec(server, tmp_path, checksum):
    with pytest.raises(Task2SimError, match="checksum"):
        _get(server, tmp_path / "f", checksum)
    assert server.requests == []


def test_wrong_checksum_leaves_nothing(server, tmp_path):
    server.files["file.bin"] = PAYLOAD
    dest = tmp_path / "file.bin"
    expected = sha256(b"something else")
    with pytest.raises(Task2SimError) as caught:
        _get(server, dest, expected)
    message = str(caught.value)
    assert server.url("file.bin") in message
    assert expected.split(":")[1] in message and hashlib.sha256(PAYLOAD).hexdigest() in message
    assert "report" in message
    assert list(tmp_path.iterdir()) == []


def test_truncated_transfer_resumes_with_range(server, tmp_path):
    server.files["file.bin"] = PAYLOAD
    server.behaviour["file.bin"] = "truncate_first"
    dest = _get(server, tmp_path / "file.bin")
    assert dest.read_bytes() == PAYLOAD
    assert server.requests == [("file.bin", None), ("file.bin", f"bytes={len(PAYLOAD) // 2}-")]


def test_persistent_truncation_keeps_part_and_a_later_run_resumes(server, tmp_path):
    server.files["file.bin"] = PAYLOAD
    server.behaviour["file.bin"] = "always_truncate"
    dest = tmp_path / "file.bin"
    with pytest.raises(Task2SimError) as caught:
        _get(server, dest, retries=2)
    part = tmp_path / "file.bin.part"
    assert len(server.requests) == 3
    assert part.exists() and not dest.exists()
    have = part.stat().st_size
    assert 0 < have < len(PAYLOAD)
    message = str(caught.value)
    assert f"{have} of {len(PAYLOAD)} bytes" in message and "resumes" in message
    assert str(part) in message

    server.behaviour["file.bin"] = "ok"
    assert _get(server, dest).read_bytes() == PAYLOAD
    assert server.requests[-1] == ("file.bin", f"bytes={have}-")
    assert not part.exists()


def test_server_ignoring_range_restarts_from_zero(server, tmp_path):
    server.files["file.bin"] = PAYLOAD
    server.behaviour["file.bin"] = "ignore_range"
    part = tmp_path / "file.bin.part"
    part.write_bytes(PAYLOAD[:1000])
    dest = _get(server, tmp_path / "file.bin")
    assert dest.read_bytes() == PAYLOAD
    assert server.requests == [("file.bin", "bytes=1000-")]


def test_complete_part_is_verified_after_416(server, tmp_path):
    server.files["file.bin"] = PAYLOAD
    (tmp_path / "file.bin.part").write_bytes(PAYLOAD)
    dest = _get(server, tmp_path / "file.bin")
    assert dest.read_bytes() == PAYLOAD
    assert server.requests == [("file.bin", f"bytes={len(PAYLOAD)}-")]


def test_http_404_names_url_and_manual_fix(server, tmp_path):
    dest = tmp_path / "file.bin"
    with pytest.raises(Task2SimError, match="HTTP 404") as caught:
        _get(server, dest)
    assert server.url("file.bin") in str(caught.value) and str(dest) in str(caught.value)
    assert list(tmp_path.iterdir()) == []


def test_unreachable_host_fails_at_once(tmp_path):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/file.bin"
    with pytest.raises(Task2SimError, match="cannot reach") as caught:
        download(url, tmp_path / "f", sha256(PAYLOAD), timeout=5, progress=False)
    assert "by hand" in str(caught.value)
