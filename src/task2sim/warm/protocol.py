"""What client and server agree on: the server's key and socket path, and the message framing."""

from __future__ import annotations

import hashlib
import json
import os
import socket
import sys
import sysconfig
import tempfile
from pathlib import Path
from typing import Any

import task2sim

# Read by libraries at import or load time (hash seed, thread pools, loaders, Mesa): a server
# started under other values would not behave like a fresh process under the caller's.
_IMPORT_TIME_ENV_PREFIXES = (
    "PYTHON",
    "OMP_",
    "MKL_",
    "KMP_",
    "GOMP_",
    "OPENBLAS_",
    "TORCH",
    "CUDA",
    "LD_",
    "MESA_",
    "LIBGL_",
    "EGL_",
    "GALLIUM_",
    "VIRTUAL_ENV",
)
_MAX_MESSAGE = 1 << 20


def source_fingerprint() -> list[tuple[str, int, int]]:
    """(path, size, mtime) of every file of the package: any edit gives a new server."""
    root = Path(task2sim.__file__).parent
    rows = []
    for path in sorted(root.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            stat = path.stat()
            rows.append((str(path.relative_to(root)), stat.st_size, stat.st_mtime_ns))
    return rows


def server_key() -> str:
    """A digest of everything a warm child inherits instead of loading it itself."""
    purelib = Path(sysconfig.get_paths()["purelib"])
    env = sorted((k, v) for k, v in os.environ.items() if k.startswith(_IMPORT_TIME_ENV_PREFIXES))
    blob = json.dumps(
        {
            "python": sys.executable,
            "version": sys.version,
            "site": purelib.stat().st_mtime_ns if purelib.is_dir() else 0,
            "source": source_fingerprint(),
            "env": env,
        }
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:20]


def socket_dir() -> Path:
    """A per-user folder only its owner can enter (sockets grant whoever can reach them a shell)."""
    folder = Path(tempfile.gettempdir()) / f"task2sim-warm-{os.getuid()}"
    folder.mkdir(mode=0o700, exist_ok=True)
    if folder.stat().st_uid != os.getuid() or folder.stat().st_mode & 0o077:
        raise PermissionError(f"{folder} is not private to this user")
    return folder


def socket_path(key: str) -> Path:
    return socket_dir() / f"{key}.sock"


def send_message(
    conn: socket.socket, message: dict[str, Any], fds: list[int] | None = None
) -> None:
    """One JSON message, length-prefixed; `fds` ride along as SCM_RIGHTS."""
    data = json.dumps(message).encode()
    frame = len(data).to_bytes(4, "big") + data
    if fds:
        socket.send_fds(conn, [frame], fds)
    else:
        conn.sendall(frame)


def _recv_exactly(conn: socket.socket, size: int) -> bytes | None:
    chunks, got = [], 0
    while got < size:
        chunk = conn.recv(size - got)
        if not chunk:
            return None
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def recv_message(conn: socket.socket, max_fds: int = 0) -> tuple[dict[str, Any] | None, list[int]]:
    """The next message and any fds sent with it; (None, []) when the peer has closed."""
    fds: list[int] = []
    if max_fds:
        head, fds, _, _ = socket.recv_fds(conn, 4, max_fds)
        if len(head) < 4:
            rest = _recv_exactly(conn, 4 - len(head)) if head else None
            if rest is None:
                return None, fds
            head += rest
    else:
        head = _recv_exactly(conn, 4)
        if head is None:
            return None, []
    size = int.from_bytes(head, "big")
    if size > _MAX_MESSAGE:
        raise ValueError(f"warm-server message of {size} bytes")
    body = _recv_exactly(conn, size)
    if body is None:
        return None, fds
    return json.loads(body), fds
