"""Fetch one published file, resumably, and keep it only if its published checksum matches.

The bytes go to `<dest>.part` first: a dropped connection keeps what arrived, and the next try (or
the next run) asks for the rest with an HTTP Range header. `dest` itself only ever appears verified.
Standard library only, so downloading needs nothing beyond the package's own dependencies.
"""

from __future__ import annotations

import http.client
import re
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from task2sim.datasets.raw import file_digest
from task2sim.errors import Task2SimError

ALGORITHMS = {"sha256": 64, "md5": 32}  # name -> hex digest length
CHUNK = 1 << 16
RETRY_DELAY_S = 2.0  # pause before resuming a dropped transfer (tests set 0)
USER_AGENT = "task2sim-downloader/1 (+urllib)"
_CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+|\*)")
# Worth retrying; a refused connection or unknown host is not (it fails at once, with a fix).
_TRANSIENT = (TimeoutError, ConnectionResetError, ConnectionAbortedError, BrokenPipeError)


class _Truncated(Exception):
    """The connection ended early; what arrived is in the .part file."""

    def __init__(self, have: int, total: int | None, reason: str) -> None:
        super().__init__(reason)
        self.have, self.total, self.reason = have, total, reason


@dataclass(frozen=True)
class Checksum:
    algorithm: str
    hexdigest: str

    def __str__(self) -> str:
        return f"{self.algorithm}:{self.hexdigest}"


def parse_checksum(checksum: str) -> Checksum:
    """Split "sha256:<hex>" / "md5:<hex>"; upstream publishes md5 for some datasets."""
    algorithm, _, digest = checksum.partition(":")
    algorithm, digest = algorithm.strip().lower(), digest.strip().lower()
    if algorithm not in ALGORITHMS:
        raise Task2SimError(
            f"unknown checksum algorithm in '{checksum}'",
            f"write the checksum as ALGORITHM:HEX with ALGORITHM one of {', '.join(ALGORITHMS)}",
        )
    if not re.fullmatch(f"[0-9a-f]{{{ALGORITHMS[algorithm]}}}", digest):
        raise Task2SimError(
            f"checksum '{checksum}' is not {ALGORITHMS[algorithm]} hex digits of {algorithm}",
            "copy the digest exactly as the dataset publishes it",
        )
    return Checksum(algorithm, digest)


def _manual_fix(url: str, dest: Path) -> str:
    return f"check your network and run again, or download {url} by hand and save it as {dest}"


def _open(url: str, offset: int, timeout: float, dest: Path) -> http.client.HTTPResponse | None:
    """Open the request (ranged when resuming); None means the server says the part is complete."""
    headers = {"User-Agent": USER_AGENT, "Accept-Encoding": "identity"}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    request = urllib.request.Request(url, headers=headers)
    try:
        return urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as exc:
        exc.close()
        if exc.code == 416 and offset:
            return None
        problem = f"{url} answered HTTP {exc.code} {exc.reason}"
        raise Task2SimError(problem, _manual_fix(url, dest)) from None
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, _TRANSIENT):  # a dropped or stalled connection: try again
            raise _Truncated(offset, None, f"{type(exc.reason).__name__}: {exc.reason}") from None
        raise Task2SimError(f"cannot reach {url}: {exc.reason}", _manual_fix(url, dest)) from None
    except (*_TRANSIENT, http.client.HTTPException) as exc:
        raise _Truncated(offset, None, f"{type(exc).__name__}: {exc}") from None


def _expected_total(response: http.client.HTTPResponse, offset: int) -> tuple[int, int | None]:
    """Where the body starts in the file (0 unless a 206) and the file's full size if known."""
    length = response.headers.get("Content-Length")
    size = int(length) if length and length.isdigit() else None
    if response.status != 206:
        return 0, size
    match = _CONTENT_RANGE.fullmatch(response.headers.get("Content-Range", "").strip())
    if not match:
        return offset, None if size is None else offset + size
    start, total = int(match[1]), match[3]
    if total.isdigit():
        return start, int(total)
    return start, None if size is None else start + size


def _fetch(url: str, part: Path, timeout: float, progress: bool, dest: Path) -> None:
    """One attempt: append to (or restart) `part`; raise _Truncated if the body ends early."""
    offset = part.stat().st_size if part.exists() else 0
    response = _open(url, offset, timeout, dest)
    if response is None:
        return
    with response:
        start, total = _expected_total(response, offset)
        if start not in (0, offset):
            part.unlink()
            raise _Truncated(0, total, f"server resumed at byte {start}, not {offset}")
        have = start
        bar = tqdm(
            total=total, initial=have, unit="B", unit_scale=True, unit_divisor=1024,
            desc=dest.name, disable=not progress, leave=False,
        )  # fmt: skip
        with bar, open(part, "ab" if start else "wb") as handle:
            while True:
                try:
                    block = response.read(CHUNK)
                except (http.client.IncompleteRead, ConnectionError, TimeoutError) as exc:
                    raise _Truncated(have, total, f"{type(exc).__name__}: {exc}") from None
                if not block:
                    break
                handle.write(block)
                have += len(block)
                bar.update(len(block))
    if total is not None and have < total:
        raise _Truncated(have, total, "connection closed early")


def _verify_part(url: str, part: Path, expected: Checksum) -> None:
    actual = file_digest(part, expected.algorithm)
    if actual != expected.hexdigest:
        size = part.stat().st_size
        part.unlink()
        raise Task2SimError(
            f"{url} downloaded ({size} bytes) but its {expected.algorithm} is {actual}, "
            f"expected {expected.hexdigest}; the download was deleted",
            "run again (the transfer may have been corrupted); if it fails the same way, "
            "upstream changed the file: please report it",
        )


def download(
    url: str,
    dest: Path,
    checksum: str,
    *,
    retries: int = 3,
    timeout: float = 60,
    progress: bool = True,
) -> Path:
    """Download `url` to `dest` unless a verified copy is there; resumes an earlier partial one."""
    expected = parse_checksum(checksum)
    dest = Path(dest)
    if dest.exists():
        actual = file_digest(dest, expected.algorithm)
        if actual == expected.hexdigest:
            return dest
        raise Task2SimError(
            f"{dest} exists but its {expected.algorithm} is {actual}, expected "
            f"{expected.hexdigest} (from {url})",
            f"delete {dest} and run again to download it afresh",
        )
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    for attempt in range(retries + 1):
        if attempt:
            time.sleep(RETRY_DELAY_S)
        try:
            _fetch(url, part, timeout, progress, dest)
            break
        except _Truncated as exc:
            last = exc
    else:
        of = f" of {last.total}" if last.total is not None else ""
        kept = f"; they are kept in {part}" if part.exists() else ""
        raise Task2SimError(
            f"download of {url} failed after {retries + 1} attempts ({last.reason}): "
            f"{last.have}{of} bytes arrived{kept}",
            "run again later: the download resumes from where it stopped",
        )
    _verify_part(url, part, expected)
    part.replace(dest)
    return dest
