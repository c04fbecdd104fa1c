"""The warm server: import once, then fork one child per command (`python -m task2sim.warm.server`).

Single-threaded: one `select` loop accepts callers and reaps children, so forking never races a
lock held by another thread. Nothing here computes: no torch op (its OpenMP pool must not exist
before the fork) and no GL context (a forked context is undefined).
"""

from __future__ import annotations

import contextlib
import importlib
import os
import select
import signal
import socket
import sys
import time
import traceback
from pathlib import Path

from task2sim.warm.protocol import recv_message, send_message

# What the warm commands import anyway; triton (torch's, when installed) before any GL library.
PRELOAD = (
    "task2sim.render.embedded:load_triton_first",
    "torch",
    "timm",
    "timm.data",
    "moderngl",
    "trimesh",
    "skimage.data",
    "skimage.io",
    "task2sim.cli",
    "task2sim.params",
    "task2sim.render.set_writer",
    "task2sim.render.embedded",
    "task2sim.render.world",
    "task2sim.sweep.job",
    "task2sim.train.loop",
    "task2sim.train.checkpoint",
    "task2sim.evaluate.protocols",
    "task2sim.datasets.format",
)
DEFAULT_IDLE_S = 120.0


def preload() -> None:
    for name in PRELOAD:
        module, _, function = name.partition(":")
        loaded = importlib.import_module(module)
        if function:
            getattr(loaded, function)()


def _text_stream(fd: int, line_buffered: bool):
    """A fresh sys.stdout/stderr on `fd`, buffered as Python would buffer it at start-up."""
    unbuffered = bool(os.environ.get("PYTHONUNBUFFERED"))
    return open(
        fd,
        "w",
        buffering=1 if (line_buffered or unbuffered) else -1,
        encoding=sys.stdout.encoding or "utf-8",
        errors="backslashreplace" if fd == 2 else "strict",
        closefd=False,
    )


def _run_child(
    inherited: list[socket.socket], conn: socket.socket, request: dict, fds: list[int]
) -> None:
    """In the forked child: become the caller's process and run its command; never returns."""
    code = 1
    try:
        for other in inherited:  # the listener and other callers' connections
            other.close()
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
            os.close(fd)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        sys.stdin = open(0, closefd=False)  # noqa: SIM115
        sys.stdout = _text_stream(1, os.isatty(1))
        sys.stderr = _text_stream(2, True)
        sys.argv = ["task2sim", *request["argv"]]
        from task2sim.cli import run

        code = run(request["argv"])
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        if exc.code is not None and not isinstance(exc.code, int):
            print(exc.code, file=sys.stderr)
    except KeyboardInterrupt:
        traceback.print_exc()
        code = 130
    except BaseException:  # what an uncaught exception would print
        traceback.print_exc()
        code = 1
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
            send_message(conn, {"exit": code})
        except Exception:
            pass
        os._exit(code)


def _caller_gone(conn: socket.socket) -> bool:
    """A caller sends nothing after its request, so a readable connection means it closed."""
    try:
        return not conn.recv(1, socket.MSG_PEEK)
    except OSError:
        return True


def serve(path: Path, idle_s: float) -> None:
    """Listen on `path` until idle for `idle_s` with no child running."""
    start = time.perf_counter()
    preload()
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    listener.bind(str(tmp))
    listener.listen(16)
    os.replace(tmp, path)  # callers see the socket only once it accepts
    bound = path.stat().st_ino
    print(
        f"server {os.getpid()} started in {time.perf_counter() - start:.1f} s: {path}", flush=True
    )
    children: dict[int, socket.socket] = {}
    orphans: set[int] = set()
    last_active = time.monotonic()
    try:
        while True:
            watched = [conn for pid, conn in children.items() if pid not in orphans]
            ready, _, _ = select.select([listener, *watched], [], [], 0.5)
            for pid, conn in children.items():
                if conn in ready and pid not in orphans and _caller_gone(conn):
                    os.kill(pid, signal.SIGTERM)  # nobody waits for its result any more
                    orphans.add(pid)
            if listener in ready:
                conn, _ = listener.accept()
                request, fds = recv_message(conn, max_fds=3)
                if request is None or len(fds) != 3:
                    for fd in fds:
                        os.close(fd)
                    conn.close()
                    continue
                pid = os.fork()
                if pid == 0:
                    _run_child([listener, *children.values()], conn, request, fds)
                for fd in fds:
                    os.close(fd)
                send_message(conn, {"pid": pid})
                children[pid] = conn
            for pid in list(children):
                done, status = os.waitpid(pid, os.WNOHANG)
                if done:
                    conn = children.pop(pid)
                    orphans.discard(pid)
                    if os.WIFSIGNALED(status):  # the child could not say so itself
                        with contextlib.suppress(OSError):
                            send_message(conn, {"exit": 128 + os.WTERMSIG(status)})
                    conn.close()
            if children or ready:
                last_active = time.monotonic()
            elif time.monotonic() - last_active > idle_s or not path.exists():
                print(f"server {os.getpid()} exits (idle, or its socket was removed)", flush=True)
                return
    finally:
        try:
            if path.stat().st_ino == bound:  # not a newer server's socket
                path.unlink()
        except FileNotFoundError:
            pass
        listener.close()


def main() -> None:
    path = Path(sys.argv[1])
    idle_s = float(os.environ.get("TASK2SIM_WARM_IDLE", DEFAULT_IDLE_S))
    serve(path, idle_s)


if __name__ == "__main__":
    main()
