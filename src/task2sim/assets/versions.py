"""Generator versions: bump one when its output changes, so the caches keyed by it are rebuilt.

Kept apart from the generators so that loading a cache never imports them (trimesh alone takes
over a second to import, once per render process).
"""

GENERATOR_VERSION = 1  # procedural object families (assets/shapes.py)
SKY_VERSION = 1  # procedural skies (assets/backgrounds.py)
