"""A render job: everything that determines an image set's bytes, built from params in one place.

The sweep sets and the final sets differ only in scale, so both come from `RenderJob.from_params`;
the final sets are stored keyed by `fingerprint()`, which depends on the job's values alone.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from typing import Literal

from task2sim.params import Params, SimParams

# sweep: the render@cNNN sets (`render:`); final: the pre-training sets (`pretrain:`).
Scale = Literal["sweep", "final"]


@dataclass(frozen=True)
class RenderJob:
    """Everything that determines a set's bytes (worker count deliberately excluded)."""

    config: int
    sim: SimParams
    images: int
    size: int
    shard_size: int
    backend: str = "embedded"
    tdw_port: int = 1071
    tdw_world: str | None = None

    @classmethod
    def from_params(cls, params: Params, config: int, scale: Scale = "sweep") -> RenderJob:
        """Config `config` at the sweep scale (`render:`), or at the final scale (`pretrain:`,
        whose world has its own classes and objects per class); the backend is `render:`'s."""
        render = params.render
        if scale == "sweep":
            sim, counts = params.sim, render
        else:
            counts = params.pretrain
            sim = params.sim.model_copy(
                update={"classes": counts.classes, "objects_per_class": counts.objects_per_class}
            )
        return cls(
            config=config,
            sim=sim,
            images=counts.images,
            size=counts.size,
            shard_size=counts.shard_size,
            backend=render.backend,
            tdw_port=render.tdw_port,
            tdw_world=render.tdw_world,
        )

    def shards(self) -> list[tuple[int, int]]:
        """Image index ranges [start, stop) of each shard."""
        starts = range(0, self.images, self.shard_size)
        return [(s, min(s + self.shard_size, self.images)) for s in starts]

    def describe(self) -> dict:
        return {**asdict(self), "sim": self.sim.model_dump()}

    def fingerprint(self) -> str:
        text = json.dumps(self.describe(), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()
