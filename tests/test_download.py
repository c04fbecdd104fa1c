"""The resumable downloader, against a loopback HTTP server that truncates or ignores Range."""

from __future__ import annotations

import hashlib
import re
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from task2sim.datasets import download as download_module
from task2sim.datasets.download import download
from task2sim.errors import Task2SimError

PAYLOAD = bytes(range(256)) * 64  # 16 KiB, several read chunks


class FileServer:
    """Serves `files` on 127.0.0.1; `behaviour[path]` is ok, truncate_first, always_truncate or
    ignore_range. Records (path, Range header) for every request."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.behaviour: dict[str, str] = {}
        self.requests: list[tuple[str, str | None]] = []
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/{path.lstrip('/')}"

    def start(self) -> FileServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                path = self.path.lstrip("/")
                ranged = self.headers.get("Range")
                with server._lock:
                    server.requests.append((path, ranged))
                    seen = sum(1 for p, _ in server.requests if p == path)
                if path not in server.files:
                    self.send_error(404, "Not Found")
                    return
                data = server.files[path]
                behaviour = server.behaviour.get(path, "ok")
                start = 0
                match = re.fullmatch(r"bytes=(\d+)-", ranged or "")
                if match and behaviour != "ignore_range":
                    start = int(match[1])
                    if start >= len(data):
                        self.send_response(416)
                        self.send_header("Content-Range", f"bytes */{len(data)}")
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                else:
                    self.send_response(200)
                body = data[start:]
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                first = behaviour == "truncate_first" and seen == 1
                cut = first or behaviour == "always_truncate"
                self.wfile.write(body[: len(body) // 2] if cut else body)
                self.wfile.flush()
                self.close_connection = True

        return Handler


@pytest.fixture
def server() -> Iterator[FileServer]:
    running = FileServer().start()
    try:
        yield running
    finally:
        running.stop()


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
