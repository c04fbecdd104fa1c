"""Closed, outward-facing part meshes and smooth deformations: the vocabulary of procedural objects.

Every part is a (vertices float64 (V,3), faces int64 (F,3)) pair in a local frame with +Y as its
main axis and a size of about one unit. Most parts are generalised cylinders (`sweep`): one
cross-section carried along a path, which covers superquadrics, lathed profiles, extruded outlines
and tubes along knots or helices with a single, well-tested piece of topology code.
"""

from __future__ import annotations

import numpy as np
import trimesh

Geometry = tuple[np.ndarray, np.ndarray]

X, Y, Z = np.eye(3)


# --- cross-sections: (S, 2) counter-clockwise outlines, star-shaped around the origin -------------


def circle(sides: int, phase: float = 0.0) -> np.ndarray:
    theta = phase + np.linspace(0.0, 2.0 * np.pi, sides, endpoint=False)
    return np.stack([np.cos(theta), np.sin(theta)], axis=1)


def polygon(sides: int) -> np.ndarray:
    """Regular polygon with a flat side at the bottom, inscribed radius 1."""
    pts = circle(sides, phase=-np.pi / 2 + np.pi / sides)
    return pts / np.cos(np.pi / sides)


def superellipse(power: float, sides: int) -> np.ndarray:
    """|x|^p + |y|^p = 1: p=2 is a circle, large p a rounded square, p<1 an astroid."""
    theta = np.linspace(0.0, 2.0 * np.pi, sides, endpoint=False) + np.pi / sides
    c, s = np.cos(theta), np.sin(theta)
    e = 2.0 / power
    return np.stack([np.sign(c) * np.abs(c) ** e, np.sign(s) * np.abs(s) ** e], axis=1)


def star(points: int, inner: float) -> np.ndarray:
    theta = np.pi / 2 + np.arange(2 * points) * np.pi / points
    radius = np.where(np.arange(2 * points) % 2 == 0, 1.0, inner)
    return np.stack([radius * np.cos(theta), radius * np.sin(theta)], axis=1)


def gear(teeth: int, depth: float) -> np.ndarray:
    """Teeth with flat tops: four outline points per tooth."""
    step = 2.0 * np.pi / teeth
    base = np.arange(teeth) * step
    offsets = np.array([0.0, 0.18, 0.5, 0.68]) * step
    radius = np.array([1.0 - depth, 1.0, 1.0, 1.0 - depth])
    theta = (base[:, None] + offsets[None, :]).reshape(-1)
    r = np.tile(radius, teeth)
    return np.stack([r * np.cos(theta), r * np.sin(theta)], axis=1)


def radial(amplitudes: np.ndarray, phases: np.ndarray, sides: int) -> np.ndarray:
    """Outline r(t) = 1 + sum_k a_k cos(k t + phi_k) (k from 1): flowers, blobs, lobes."""
    theta = np.linspace(0.0, 2.0 * np.pi, sides, endpoint=False)
    k = np.arange(1, len(amplitudes) + 1)
    r = 1.0 + (amplitudes[None, :] * np.cos(k[None, :] * theta[:, None] + phases[None, :])).sum(1)
    r = np.maximum(r, 0.25)
    return np.stack([r * np.cos(theta), r * np.sin(theta)], axis=1)


def cross(arm: float) -> np.ndarray:
    """Plus sign with arm half-width `arm` (0..1), outer half-size 1."""
    a = arm
    pts = [(1, -a), (1, a), (a, a), (a, 1), (-a, 1), (-a, a), (-1, a), (-1, -a), (-a, -a)]
    pts += [(-a, -1), (a, -1), (a, -a)]
    return np.asarray(pts, dtype=np.float64)


# --- the generalised cylinder --------------------------------------------------------------------


def sweep(
    centers: np.ndarray,
    e1: np.ndarray,
    e2: np.ndarray,
    scales: np.ndarray,
    section: np.ndarray,
    closed: bool = False,
    cap: bool = True,
) -> Geometry:
    """Carry `section` along `centers` in the planes (e1, e2), with e1 x e2 along the path.

    Open paths are closed by flat caps, or by a single pole vertex where an end ring has zero
    scale. Faces are counter-clockwise seen from outside for a counter-clockwise section.
    """
    centers = np.asarray(centers, dtype=np.float64)
    scales = np.asarray(scales, dtype=np.float64)
    if scales.ndim == 1:
        scales = np.stack([scales, scales], axis=1)
    rings, sides = len(centers), len(section)
    points = (
        centers[:, None, :]
        + (scales[:, 0, None] * section[None, :, 0])[..., None] * e1[:, None, :]
        + (scales[:, 1, None] * section[None, :, 1])[..., None] * e2[:, None, :]
    )
    pole_start = not closed and bool(np.all(scales[0] == 0))
    pole_end = not closed and bool(np.all(scales[-1] == 0))
    vertices = [points.reshape(-1, 3)]
    index = np.arange(rings * sides).reshape(rings, sides)
    j = np.arange(sides)
    jn = (j + 1) % sides
    spans = rings if closed else rings - 1
    faces = []
    for i in range(spans):
        i2 = (i + 1) % rings
        a, b, c, d = index[i, j], index[i, jn], index[i2, jn], index[i2, j]
        if not (pole_start and i == 0):
            faces.append(np.stack([a, b, c], axis=1))
        if not (pole_end and i2 == rings - 1):
            faces.append(np.stack([a, c, d], axis=1))
    count = rings * sides
    if not closed:
        for end, is_pole in ((0, pole_start), (rings - 1, pole_end)):
            if not (cap or is_pole):
                continue
            vertices.append(centers[end][None, :])
            hub = np.full(sides, count)
            count += 1
            ring = index[end]
            if end == 0:
                faces.append(np.stack([hub, ring[jn], ring[j]], axis=1))
            else:
                faces.append(np.stack([hub, ring[j], ring[jn]], axis=1))
    v = np.concatenate(vertices)
    f = np.concatenate(faces)
    if pole_start or pole_end:
        v, f = _weld_poles(v, f, index, pole_start, pole_end, rings)
    return v, f


def _weld_poles(
    v: np.ndarray, f: np.ndarray, index: np.ndarray, start: bool, end: bool, rings: int
) -> Geometry:
    """Collapse zero-scale end rings onto their hub vertex and drop the faces that vanish."""
    remap = np.arange(len(v))
    hubs = len(index.reshape(-1))
    if start:
        remap[index[0]] = hubs
        hubs += 1
    if end:
        remap[index[rings - 1]] = hubs
    f = remap[f]
    good = (f[:, 0] != f[:, 1]) & (f[:, 1] != f[:, 2]) & (f[:, 0] != f[:, 2])
    f = f[good]
    used = np.unique(f)
    compact = np.full(len(v), -1)
    compact[used] = np.arange(len(used))
    return v[used], compact[f]


def _axis_frames(rings: int, axis: np.ndarray = Y) -> tuple[np.ndarray, np.ndarray]:
    """Constant frames for a straight path along +Y (e1=+X, e2=-Z) or +Z (e1=+X, e2=+Y)."""
    if np.allclose(axis, Y):
        return np.tile(X, (rings, 1)), np.tile(-Z, (rings, 1))
    return np.tile(X, (rings, 1)), np.tile(Y, (rings, 1))


def superquadric(e1: float, e2: float, size: np.ndarray, rings: int, sides: int) -> Geometry:
    """Superellipsoid: e1 shapes the vertical profile, e2 the horizontal one (0.1 boxy, 1 round,
    2 diamond, >2 pinched)."""
    v = np.linspace(-np.pi / 2, np.pi / 2, rings)
    sv, cv = np.sin(v), np.cos(v)
    height = np.sign(sv) * np.abs(sv) ** e1
    radius = np.abs(cv) ** e1
    radius[[0, -1]] = 0.0
    centers = np.outer(height * size[1], Y)
    section = superellipse(2.0 / max(e2, 1e-3), sides)
    fx, fz = _axis_frames(rings)
    return sweep(centers, fx, fz, np.stack([radius * size[0], radius * size[2]], 1), section)


def smooth_profile(controls: np.ndarray, samples: int) -> np.ndarray:
    """Catmull-Rom interpolation of evenly spaced control values (for lathe radii)."""
    c = np.asarray(controls, dtype=np.float64)
    padded = np.concatenate([[2 * c[0] - c[1]], c, [2 * c[-1] - c[-2]]])
    t = np.linspace(0.0, len(c) - 1, samples)
    i = np.minimum(t.astype(int), len(c) - 2)
    u = t - i
    p0, p1, p2, p3 = padded[i], padded[i + 1], padded[i + 2], padded[i + 3]
    return 0.5 * (
        2 * p1
        + (-p0 + p2) * u
        + (2 * p0 - 5 * p1 + 4 * p2 - p3) * u**2
        + (-p0 + 3 * p1 - 3 * p2 + p3) * u**3
    )


def lathe(
    radii: np.ndarray, height: float, section: np.ndarray, rings: int, pointed: tuple[bool, bool]
) -> Geometry:
    """Solid of revolution: a smooth radius profile along +Y (bottom to top), any section shape.

    `pointed` closes the bottom / top in a pole instead of a flat cap."""
    r = np.maximum(smooth_profile(radii, rings), 0.04)
    if pointed[0]:
        r[0] = 0.0
    if pointed[1]:
        r[-1] = 0.0
    centers = np.outer(np.linspace(-height / 2, height / 2, rings), Y)
    fx, fz = _axis_frames(rings)
    return sweep(centers, fx, fz, r, section)


def prism(section: np.ndarray, depth: float, rings: int = 2, bevel: float = 0.0) -> Geometry:
    """Extrude an outline along +Z (the front direction); `bevel` chamfers both ends."""
    if bevel > 0:
        inset = min(bevel, 0.3 * depth)
        inner = np.linspace(-depth / 2 + inset, depth / 2 - inset, rings)
        z = np.concatenate([[-depth / 2], inner, [depth / 2]])
        scale = np.concatenate([[1.0 - bevel], np.ones(rings), [1.0 - bevel]])
    else:
        z = np.linspace(-depth / 2, depth / 2, rings)
        scale = np.ones(rings)
    fx, fy = _axis_frames(len(z), Z)
    return sweep(np.outer(z, Z), fx, fy, scale, section)


def frames_along(points: np.ndarray, closed: bool) -> tuple[np.ndarray, np.ndarray]:
    """Parallel-transport frames (e1, e2) along a polyline, twist-corrected on closed loops."""
    if closed:
        tangent = np.roll(points, -1, axis=0) - np.roll(points, 1, axis=0)
    else:
        tangent = np.gradient(points, axis=0)
    tangent /= np.linalg.norm(tangent, axis=1, keepdims=True)
    seed = X if abs(tangent[0] @ X) < 0.9 else Z
    n = seed - (seed @ tangent[0]) * tangent[0]
    normals = np.empty_like(points)
    normals[0] = n / np.linalg.norm(n)
    for i in range(1, len(points)):
        m = normals[i - 1] - (normals[i - 1] @ tangent[i]) * tangent[i]
        normals[i] = m / np.linalg.norm(m)
    if closed:
        back = normals[-1] - (normals[-1] @ tangent[0]) * tangent[0]
        back /= np.linalg.norm(back)
        angle = np.arctan2(np.cross(back, normals[0]) @ tangent[0], back @ normals[0])
        turn = angle * np.arange(len(points)) / len(points)
        binormals = np.cross(tangent, normals)
        normals = np.cos(turn)[:, None] * normals + np.sin(turn)[:, None] * binormals
    return normals, np.cross(tangent, normals)


def tube(
    points: np.ndarray, radius: np.ndarray | float, section: np.ndarray, closed: bool
) -> Geometry:
    """A tube of the given section along a polyline (knots, helices, rings, arcs)."""
    e1, e2 = frames_along(points, closed)
    r = np.broadcast_to(np.asarray(radius, dtype=np.float64), (len(points),))
    return sweep(points, e1, e2, r, section, closed=closed)


def curve(kind: str, samples: int, p: dict[str, float]) -> tuple[np.ndarray, bool]:
    """Named space curves of about unit size; returns (points, closed)."""
    t = np.linspace(0.0, 2.0 * np.pi, samples, endpoint=False)
    if kind == "ring":
        return np.stack([np.cos(t), np.zeros_like(t), np.sin(t)], 1), True
    if kind == "knot":
        a, b = int(p["p"]), int(p["q"])
        r = 1.0 + p["depth"] * np.cos(b * t)
        pts = np.stack([r * np.cos(a * t), p["depth"] * np.sin(b * t) * 1.3, r * np.sin(a * t)], 1)
        return pts / (1.0 + p["depth"]), True
    if kind == "wave":
        y = p["amp"] * np.sin(int(p["waves"]) * t)
        return np.stack([np.cos(t), y, np.sin(t)], 1), True
    if kind == "lissajous":
        pts = np.stack([np.sin(t), np.sin(2 * t + p["phase"]), np.sin(3 * t) * p["amp"]], 1)
        return pts, True
    s = np.linspace(0.0, 1.0, samples)
    if kind == "helix":
        turns = p["turns"]
        a = 2 * np.pi * turns * s
        return np.stack([np.cos(a), (s - 0.5) * p["pitch"] * 2, np.sin(a)], 1), False
    if kind == "turret":
        # A conical helix, wide at the bottom: turret shells, drill bits, screws.
        a = 2 * np.pi * p["turns"] * s
        r = 1.0 - 0.8 * s
        return np.stack([r * np.cos(a), (s - 0.5) * p["pitch"], r * np.sin(a)], 1), False
    if kind == "spiral":
        a = 2 * np.pi * p["turns"] * s
        r = 0.2 + 0.8 * s
        return np.stack([r * np.cos(a), (s - 0.5) * p["pitch"], r * np.sin(a)], 1), False
    if kind == "arch":
        # A U-shape (magnet, handle, croquet hoop): legs down, arc on top.
        leg = p["leg"]
        n_leg = samples // 4 if leg > 0.05 else 0
        n_arc = samples - 2 * n_leg
        a = np.linspace(np.pi, 0.0, n_arc)
        left = np.stack(
            [-np.ones(n_leg), np.linspace(-leg, 0, n_leg, endpoint=False), 0 * s[:n_leg]], 1
        )
        arc = np.stack([np.cos(a), np.sin(a), np.zeros(n_arc)], 1)
        right = left[::-1] * np.array([-1, 1, 1])
        return np.concatenate([left, arc, right]), False
    if kind == "zigzag":
        y = np.linspace(-1, 1, samples)
        x = np.sin(y * np.pi * p["waves"]) * p["amp"]
        return np.stack([x, y, np.zeros_like(y)], 1), False
    raise ValueError(f"unknown curve {kind!r}")


# --- trimesh primitives, turned so their axis is +Y ----------------------------------------------

_Z_TO_Y = trimesh.transformations.rotation_matrix(-np.pi / 2, X)


def _tm(mesh: trimesh.Trimesh, z_axis: bool = True) -> Geometry:
    if z_axis:
        mesh.apply_transform(_Z_TO_Y)
    return np.asarray(mesh.vertices, dtype=np.float64), np.asarray(mesh.faces, dtype=np.int64)


def box(size: np.ndarray) -> Geometry:
    return _tm(trimesh.creation.box(extents=2.0 * np.asarray(size)), z_axis=False)


def sphere(radius: float, subdivisions: int = 2) -> Geometry:
    return _tm(trimesh.creation.icosphere(subdivisions=subdivisions, radius=radius), False)


def capsule(height: float, radius: float, sides: int) -> Geometry:
    return _tm(trimesh.creation.capsule(height=height, radius=radius, count=[sides, sides // 2]))


def cylinder(height: float, radius: float, sides: int) -> Geometry:
    return _tm(trimesh.creation.cylinder(radius=radius, height=height, sections=sides))


def cone(height: float, radius: float, sides: int) -> Geometry:
    v, f = _tm(trimesh.creation.cone(radius=radius, height=height, sections=sides))
    v[:, 1] -= height / 2
    return v, f


def torus(major: float, minor: float, sides: int) -> Geometry:
    """Ring in the XZ plane (around +Y)."""
    mesh = trimesh.creation.torus(
        major_radius=major,
        minor_radius=minor,
        major_sections=sides,
        minor_sections=max(6, sides // 3),
    )
    return _tm(mesh)


def annulus(inner: float, outer: float, height: float, sides: int) -> Geometry:
    return _tm(trimesh.creation.annulus(r_min=inner, r_max=outer, height=height, sections=sides))


# --- deformations: orientation-preserving maps, so outward faces stay outward --------------------


def _span(v: np.ndarray) -> tuple[np.ndarray, float]:
    """Height in [-1, 1] over the part's Y extent, and its half-height."""
    lo, hi = v[:, 1].min(), v[:, 1].max()
    half = max((hi - lo) / 2.0, 1e-9)
    return (v[:, 1] - (lo + hi) / 2.0) / half, half


def taper(v: np.ndarray, amount: float) -> np.ndarray:
    """Scale X/Z linearly with height: amount>0 widens the top (|amount| < 1)."""
    t, _ = _span(v)
    s = 1.0 + amount * t
    return v * np.stack([s, np.ones_like(s), s], 1)


def twist(v: np.ndarray, turns: float) -> np.ndarray:
    """Rotate about Y by up to `turns` * 2 pi from bottom to top."""
    t, _ = _span(v)
    a = np.pi * turns * t
    c, s = np.cos(a), np.sin(a)
    return np.stack([c * v[:, 0] + s * v[:, 2], v[:, 1], -s * v[:, 0] + c * v[:, 2]], 1)


def bend(v: np.ndarray, angle: float) -> np.ndarray:
    """Bend the Y axis into an arc of `angle` radians in the XY plane (around +Z)."""
    if abs(angle) < 1e-6:
        return v.copy()
    t, half = _span(v)
    radius = 2.0 * half / angle
    width = np.abs(v[:, 0]).max()
    if abs(radius) < 1.2 * width:
        radius = np.sign(radius) * 1.2 * width
    theta = t * half / radius
    r = radius - v[:, 0]
    return np.stack([radius - r * np.cos(theta), r * np.sin(theta), v[:, 2]], 1)


def transform(v: np.ndarray, rotation: np.ndarray, translation: np.ndarray) -> np.ndarray:
    return v @ rotation.T + translation


def rotation_to(direction: np.ndarray, spin: float = 0.0) -> np.ndarray:
    """A rotation taking +Y to `direction`, then spun by `spin` about it."""
    d = np.asarray(direction, dtype=np.float64)
    d = d / np.linalg.norm(d)
    axis = np.cross(Y, d)
    s, c = np.linalg.norm(axis), float(Y @ d)
    if s < 1e-9:
        base = np.eye(3) if c > 0 else np.diag([1.0, -1.0, -1.0])
    else:
        k = axis / s
        kx = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
        base = np.eye(3) + s * kx + (1 - c) * kx @ kx
    cs, sn = np.cos(spin), np.sin(spin)
    spin_y = np.array([[cs, 0, sn], [0, 1, 0], [-sn, 0, cs]])
    return base @ spin_y


def frame(direction: np.ndarray, up: np.ndarray) -> np.ndarray:
    """A rotation taking +Y to `direction` and +X as close to `up` as possible (flat parts)."""
    y = np.asarray(direction, dtype=np.float64)
    y = y / np.linalg.norm(y)
    x = np.asarray(up, dtype=np.float64) - (np.asarray(up) @ y) * y
    if np.linalg.norm(x) < 1e-9:
        x = np.cross(y, Z if abs(y @ Z) < 0.9 else X)
    x = x / np.linalg.norm(x)
    return np.stack([x, y, np.cross(x, y)], axis=1)


def merge(parts: list[Geometry]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Concatenate parts into one vertex/face list; also returns the part index of each vertex."""
    vertices, faces, owner = [], [], []
    offset = 0
    for k, (v, f) in enumerate(parts):
        vertices.append(v)
        faces.append(f + offset)
        owner.append(np.full(len(v), k))
        offset += len(v)
    return np.concatenate(vertices), np.concatenate(faces), np.concatenate(owner)
