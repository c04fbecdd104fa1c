"""The one small interface every renderer implements, so a set writer can use any of them."""

from __future__ import annotations

from typing import Protocol

import numpy as np

from task2sim.sim.scene import SceneSpec


class Backend(Protocol):
    """Draws scene specs into images. One instance per process; not shared across forks."""

    size: int

    def render(self, scene: SceneSpec) -> np.ndarray:
        """The image of `scene`: uint8 array (size, size, 3), RGB, top row first."""
        ...

    def close(self) -> None:
        """Release the context, sockets or processes the backend holds."""
        ...
