"""Scene assets: object meshes (procedural families or a user's files), backgrounds, materials.

No names are re-exported: each user imports the one submodule it needs, so a render worker that
only loads cached meshes never imports the generators (trimesh alone takes over a second).
"""
