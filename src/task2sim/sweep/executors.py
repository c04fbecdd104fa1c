"""Where sweep jobs run: a local process pool (default) or a Ray cluster.

Both map one picklable function over job arguments and yield (argument, result) as jobs finish, so
the caller can write each result the moment it exists (a killed sweep keeps what finished).
Ray workers read the same project folder (a shared filesystem, or one machine).
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Protocol

from task2sim.errors import Task2SimError


class Executor(Protocol):
    def map_unordered(
        self, fn: Callable[[Any], Any], items: Iterable[Any]
    ) -> Iterator[tuple[Any, Any]]: ...


def _call(payload: tuple[Callable[[Any], Any], Any]) -> tuple[Any, Any]:
    fn, item = payload
    return item, fn(item)


class LocalExecutor:
    """`jobs` spawned processes (never forked: jobs may create GL contexts or torch threads)."""

    def __init__(self, jobs: int = 1) -> None:
        self.jobs = max(1, jobs)

    def map_unordered(self, fn, items):
        items = list(items)
        if self.jobs == 1 or len(items) <= 1:
            for item in items:
                yield item, fn(item)
            return
        context = multiprocessing.get_context("spawn")
        with context.Pool(min(self.jobs, len(items))) as pool:
            yield from pool.imap_unordered(_call, [(fn, item) for item in items])


class RayExecutor:
    """Jobs as Ray tasks on the cluster at `address` ("auto", "host:port", or None: a local one)."""

    def __init__(self, address: str | None, cpus_per_job: float = 1.0) -> None:
        try:
            import ray
        except ImportError:
            raise Task2SimError(
                "sweep.executor is 'ray' but Ray is not installed",
                "in the project folder: pip install -e '.[ray]' (the `ray` extra)",
            ) from None
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # no phoning home
        self._ray = ray
        self.cpus_per_job = cpus_per_job
        if not ray.is_initialized():
            try:
                ray.init(
                    address=address,
                    include_dashboard=False,
                    log_to_driver=False,
                    ignore_reinit_error=True,
                )
            except (ConnectionError, RuntimeError, ValueError) as exc:
                raise Task2SimError(
                    f"cannot reach the Ray cluster at {address!r}: {exc}",
                    "start one (`ray start --head`) and set sweep.address to its address, "
                    "or use sweep.executor: local",
                ) from None

    def map_unordered(self, fn, items):
        ray = self._ray
        remote = ray.remote(num_cpus=self.cpus_per_job)(_call)
        pending = {remote.remote((fn, item)): item for item in items}
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1)
            for ref in done:
                pending.pop(ref)
                yield ray.get(ref)


def make_executor(kind: str, jobs: int = 1, address: str | None = None) -> Executor:
    if kind == "local":
        return LocalExecutor(jobs)
    if kind == "ray":
        return RayExecutor(address)
    raise Task2SimError(f"unknown sweep executor '{kind}'", "use sweep.executor: local or ray")
