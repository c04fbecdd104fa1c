"""The one small interface every renderer implements, and the one table that names them, so a
set writer can use any of them and a backend is chosen in one place."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import numpy as np

from task2sim.errors import Task2SimError
from task2sim.render.job import RenderJob
from task2sim.render.world import World, build_world
from task2sim.sim.scene import SceneSpec

if TYPE_CHECKING:
    from task2sim.render.tdw_commands import TdwWorld


class Backend(Protocol):
    """Draws scene specs into images. One instance per process; not shared across forks."""

    size: int

    def render(self, scene: SceneSpec) -> np.ndarray:
        """The image of `scene`: uint8 array (size, size, 3), RGB, top row first."""
        ...

    def close(self) -> None:
        """Release the context, sockets or processes the backend holds."""
        ...


@dataclass(frozen=True)
class BackendKind:
    """How one named backend is set up. Both steps import their renderer only when called, so
    choosing a backend never loads another's libraries (moderngl, tdw)."""

    world: Callable[[RenderJob], World | TdwWorld]  # the banks a job's scene specs index
    open: Callable[[RenderJob, World | TdwWorld], Backend]  # in the process that renders
    max_workers: int | None = None  # processes that may render at once (None: any number)


def _embedded_world(job: RenderJob) -> World:
    return build_world(job.sim)


def _open_embedded(job: RenderJob, world: World | TdwWorld) -> Backend:
    from task2sim.render.embedded import EmbeddedRenderer

    classes = [c.objects for c in world.classes]  # type: ignore[union-attr]
    return EmbeddedRenderer(classes, world.backgrounds, world.materials, job.size)  # type: ignore[union-attr]


def _tdw_world(job: RenderJob) -> TdwWorld:
    from task2sim.render.tdw_commands import default_world, world_from_json

    if job.tdw_world:
        return world_from_json(job.tdw_world)
    return default_world(job.sim.classes, job.sim.objects_per_class, materials=job.sim.materials)


def _open_tdw(job: RenderJob, world: World | TdwWorld) -> Backend:
    from task2sim.render.tdw_backend import TdwBackend

    return TdwBackend(world, job.size, port=job.tdw_port)  # type: ignore[arg-type]


BACKENDS: dict[str, BackendKind] = {
    "embedded": BackendKind(_embedded_world, _open_embedded),  # moderngl on the CPU, in-process
    "tdw": BackendKind(_tdw_world, _open_tdw, max_workers=1),  # a build serves one controller
}


def backend_kind(name: str) -> BackendKind:
    """The backend called `name`; an unknown name fails on one line listing the known ones."""
    if name not in BACKENDS:
        raise Task2SimError(
            f"unknown render backend '{name}'", f"use one of: {', '.join(BACKENDS)}"
        )
    return BACKENDS[name]
