"""Scene assets: object meshes (procedural families or a user's files), backgrounds, materials.

Submodules are imported on first use, so `import task2sim.assets` stays cheap for workers that
need only one of them.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "ObjectClass": "mesh",
    "ObjectMesh": "mesh",
    "normalize": "mesh",
    "procedural_classes": "shapes",
    "load_or_build_classes": "cache",
    "load_or_build_skies": "cache",
    "load_mesh_folder": "user_meshes",
    "procedural_skies": "backgrounds",
    "bundled_photos": "backgrounds",
    "folder_backgrounds": "backgrounds",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
