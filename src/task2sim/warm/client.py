"""The caller's side: hand the command to the warm server, relay signals, return the exit status."""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from task2sim.warm.protocol import recv_message, send_message, server_key, socket_path

WARM_COMMANDS = frozenset({"render", "sweep"})
START_TIMEOUT_S = 120.0
_FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def enabled(argv: Sequence[str]) -> bool:
    """Warm only for the per-config stage commands, and only where fork and fd passing exist."""
    if os.environ.get("TASK2SIM_WARM", "1") == "0":
        return False
    if not (hasattr(os, "fork") and hasattr(socket, "send_fds")):
        return False
    command = next((a for a in argv if not a.startswith("-")), None)
    return command in WARM_COMMANDS and not {"-h", "--help"} & set(argv)


def _connect(path: Path) -> socket.socket | None:
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        conn.connect(str(path))
    except OSError:
        conn.close()
        return None
    return conn


def _start_and_connect(path: Path) -> socket.socket | None:
    """Start a server for this key (one caller at a time) and wait until it accepts."""
    with open(path.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        conn = _connect(path)
        if conn is not None:
            return conn
        with open(path.with_suffix(".log"), "ab") as log:
            server = subprocess.Popen(
                [sys.executable, "-m", "task2sim.warm.server", str(path)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                start_new_session=True,  # outlives this caller, and no terminal's signals
                close_fds=True,
            )
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline and server.poll() is None:
            conn = _connect(path)
            if conn is not None:
                return conn
            time.sleep(0.05)
        return None


def _std_fds() -> list[int]:
    """Our stdin/stdout/stderr, with /dev/null standing in for any that is closed."""
    fds = []
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
            fds.append(fd)
        except OSError:
            fds.append(os.open(os.devnull, os.O_RDWR))
    return fds


def run_warm(argv: Sequence[str]) -> int | None:
    """Run `task2sim argv` in a warm child; None when that is not possible (run it cold)."""
    if not enabled(argv):
        return None
    try:
        path = socket_path(server_key())
        conn = _connect(path) or _start_and_connect(path)
    except OSError:
        return None
    if conn is None:
        return None
    with conn:
        request = {"argv": list(argv), "cwd": os.getcwd(), "env": dict(os.environ)}
        send_message(conn, request, fds=_std_fds())
        started, _ = recv_message(conn)
        if started is None or "pid" not in started:
            return None  # the server went away before forking: nothing ran
        pid = int(started["pid"])

        def forward(sig: int, _frame) -> None:
            with contextlib.suppress(ProcessLookupError):  # it ended; its status is on the way
                os.kill(pid, sig)

        previous = {sig: signal.signal(sig, forward) for sig in _FORWARDED}
        try:
            while True:
                try:
                    message, _ = recv_message(conn)
                    break
                except InterruptedError:
                    continue
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
    if message is None or "exit" not in message:
        print("error: the warm task2sim process ended without an exit status", file=sys.stderr)
        return 1
    return int(message["exit"])
