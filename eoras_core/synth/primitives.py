"""Ray intersection, normals and extents of the unit primitives, vectorised over rays.

Why hand-written: the ground truth must be exact per pixel, and the same intersection code
decides visible ids, amodal masks, depth and shadows, so they can never disagree.

Every shape lives in its own local frame inside the unit cube [-1, 1]^3 (the torus is flat:
|z| <= TORUS_MINOR). Rays are passed as components (ox, oy, oz, dx, dy, dz): each may be a
scalar or an array of one common shape (e.g. one origin and (h, w) directions for camera
rays, or (M,) origins and one direction for shadow rays). Directions are unit length, so the
returned ``t`` is a local distance; misses are +inf.
"""
from __future__ import annotations

import math

import numpy as np

__all__ = ["KINDS", "TORUS_MAJOR", "TORUS_MINOR", "intersect", "local_normal", "support",
           "bounding_radius", "local_extent"]

KINDS: tuple[str, ...] = ("sphere", "cube", "cylinder", "cone", "torus")
TORUS_MAJOR = 0.7           # ring radius; the outer radius is MAJOR + MINOR = 1
TORUS_MINOR = 0.3           # tube radius
CONE_SLOPE = 0.5            # base radius 1 at z = -1, apex at z = +1: r(z) = (1 - z) / 2
TORUS_STEPS = 64            # sphere-tracing iterations (enough for all but grazing rays)
TORUS_EPS = 2e-4            # a ray "hits" when the signed distance falls below this
_INF = np.float32(np.inf)
Arr = np.ndarray | float        # a ray component: one value for all rays, or one per ray
_BOUND = {"sphere": 1.0, "cube": math.sqrt(3.0), "cylinder": math.sqrt(2.0),
          "cone": math.sqrt(2.0), "torus": 1.0}


def bounding_radius(kind: str) -> float:
    """Radius of the smallest origin-centred sphere holding the unit shape."""
    return _BOUND[kind]


def local_extent(kind: str) -> np.ndarray:
    """Half-sizes (3,) of the shape's local axis-aligned box (for Kubric's bboxes_3d)."""
    return np.array([1.0, 1.0, TORUS_MINOR if kind == "torus" else 1.0])


def support(kind: str, v: np.ndarray) -> float:
    """max over the shape of p . v for a unit vector v (3,): how far it reaches along v.

    Used to rest an object on the ground: its centre sits at support(-z in local frame).
    """
    vx, vy, vz = (float(a) for a in v)
    rho = math.hypot(vx, vy)
    if kind == "sphere":
        return 1.0
    if kind == "cube":
        return abs(vx) + abs(vy) + abs(vz)
    if kind == "cylinder":
        return rho + abs(vz)
    if kind == "cone":
        return max(vz, rho - vz)
    if kind == "torus":
        return TORUS_MAJOR * rho + TORUS_MINOR
    raise ValueError(f"unknown primitive {kind!r}")


def _quadratic_roots(a, b, c):
    """Roots of a t^2 + 2 b t + c = 0 -> (t0, t1, real); t0 <= t1 when a > 0."""
    disc = b * b - a * c
    sq = np.sqrt(np.maximum(disc, 0))
    return (-b - sq) / a, (-b + sq) / a, disc >= 0


def _sphere(ox, oy, oz, dx, dy, dz, tmin):
    b = ox * dx + oy * dy + oz * dz
    c = ox * ox + oy * oy + oz * oz - 1.0
    disc = b * b - c
    sq = np.sqrt(np.maximum(disc, 0))
    t0, t1 = -b - sq, -b + sq
    t = np.where(t0 > tmin, t0, t1)
    return np.where((disc >= 0) & (t > tmin), t, _INF)


def _slab(o, d):
    """Entry/exit of the slab |x| <= 1 along one axis (IEEE inf handles d == 0)."""
    inv = 1.0 / d
    ta, tb = (-1.0 - o) * inv, (1.0 - o) * inv
    return np.minimum(ta, tb), np.maximum(ta, tb)


def _interval_hit(tn, tf, tmin):
    """Nearest t > tmin of a convex interval [tn, tf] (inf when empty or behind)."""
    t = np.where(tn > tmin, tn, tf)
    return np.where((tn <= tf) & (t > tmin), t, _INF)


def _cube(ox, oy, oz, dx, dy, dz, tmin):
    x0, x1 = _slab(ox, dx)
    y0, y1 = _slab(oy, dy)
    z0, z1 = _slab(oz, dz)
    return _interval_hit(np.maximum(np.maximum(x0, y0), z0), np.minimum(np.minimum(x1, y1), z1), tmin)


def _cylinder(ox, oy, oz, dx, dy, dz, tmin):
    a = dx * dx + dy * dy
    b = ox * dx + oy * dy
    c = ox * ox + oy * oy - 1.0
    par = a < 1e-12                                   # ray parallel to the axis
    s0, s1, real = _quadratic_roots(np.where(par, 1.0, a), b, c)
    s0 = np.where(par, np.where(c <= 0, -_INF, _INF), np.where(real, s0, _INF))
    s1 = np.where(par, _INF, np.where(real, s1, -_INF))
    z0, z1 = _slab(oz, dz)
    return _interval_hit(np.maximum(s0, z0), np.minimum(s1, z1), tmin)


def _cone(ox, oy, oz, dx, dy, dz, tmin):
    k2 = CONE_SLOPE * CONE_SLOPE
    w0, dw = 1.0 - oz, -dz                            # w = 1 - z: distance below the apex
    a = dx * dx + dy * dy - k2 * dw * dw
    b = ox * dx + oy * dy - k2 * w0 * dw
    c = ox * ox + oy * oy - k2 * w0 * w0
    lin = np.abs(a) < 1e-9                            # ray parallel to a generator line
    t0, t1, real = _quadratic_roots(np.where(lin, 1.0, a), b, c)
    tl = -c / (2.0 * b)
    t0, t1 = np.where(lin, tl, t0), np.where(lin, tl, t1)
    best = np.full(np.broadcast(t0, tmin).shape, _INF, dtype=np.result_type(t0, np.float32))
    for t in (t0, t1):                                # side hits between base and apex
        z = oz + t * dz
        ok = (real | lin) & (t > tmin) & (z >= -1.0) & (z <= 1.0)
        best = np.where(ok & (t < best), t, best)
    tc = (-1.0 - oz) / dz                             # base disc at z = -1
    px, py = ox + tc * dx, oy + tc * dy
    ok = (tc > tmin) & (px * px + py * py <= 1.0)
    return np.where(ok & (tc < best), tc, best)


def _torus(ox, oy, oz, dx, dy, dz, tmin):
    """Sphere tracing of the exact torus SDF, only over rays that enter its bounds."""
    ox, oy, oz, dx, dy, dz = np.broadcast_arrays(ox, oy, oz, dx, dy, dz)
    shape = ox.shape
    ox, oy, oz, dx, dy, dz = (np.asarray(v, np.float32).reshape(-1) for v in (ox, oy, oz, dx, dy, dz))
    out = np.full(ox.shape, _INF, np.float32)
    b = ox * dx + oy * dy + oz * dz                   # bounding sphere (radius 1)
    disc = b * b - (ox * ox + oy * oy + oz * oz - 1.0)
    sq = np.sqrt(np.maximum(disc, 0))
    with np.errstate(divide="ignore", invalid="ignore"):
        inv = 1.0 / dz                                # bounding slab |z| <= MINOR
        za, zb = (-TORUS_MINOR - oz) * inv, (TORUS_MINOR - oz) * inv
    start = np.maximum(np.maximum(-b - sq, np.minimum(za, zb)), np.float32(tmin))
    end = np.minimum(-b + sq, np.maximum(za, zb))
    idx = np.nonzero((disc >= 0) & (start < end))[0]
    if idx.size == 0:
        return out.reshape(shape)
    t, end = start[idx], end[idx]
    ox, oy, oz, dx, dy, dz = ox[idx], oy[idx], oz[idx], dx[idx], dy[idx], dz[idx]
    for step in range(TORUS_STEPS):
        px, py, pz = ox + t * dx, oy + t * dy, oz + t * dz
        q = np.sqrt(px * px + py * py) - TORUS_MAJOR
        dist = np.sqrt(q * q + pz * pz) - TORUS_MINOR
        hit = dist < TORUS_EPS
        if step % 4 == 3 or step == TORUS_STEPS - 1:  # retire converged and escaped rays
            done = hit | (t > end)
            out[idx[hit & (t <= end)]] = t[hit & (t <= end)]
            keep = ~done
            if not keep.any():
                break
            idx, t, end = idx[keep], t[keep] + dist[keep], end[keep]
            ox, oy, oz, dx, dy, dz = ox[keep], oy[keep], oz[keep], dx[keep], dy[keep], dz[keep]
        else:
            t = t + np.where(hit, 0, dist)
    return out.reshape(shape)


_INTERSECT = {"sphere": _sphere, "cube": _cube, "cylinder": _cylinder, "cone": _cone, "torus": _torus}


def intersect(kind: str, ox: Arr, oy: Arr, oz: Arr, dx: Arr, dy: Arr, dz: Arr, tmin: float = 0.0) -> np.ndarray:
    """Nearest local distance t > tmin where the ray meets the unit ``kind``; +inf on a miss.

    Shape: the broadcast shape of the six components.
    """
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        return _INTERSECT[kind](ox, oy, oz, dx, dy, dz, tmin)


def local_normal(kind: str, px: np.ndarray, py: np.ndarray, pz: np.ndarray) -> tuple[np.ndarray, ...]:
    """Outward (unnormalised) normals at local surface points (M,) -> three (M,) arrays."""
    one = np.ones_like(px)
    zero = np.zeros_like(px)
    if kind == "sphere":
        return px, py, pz
    if kind == "cube":
        ax, ay, az = np.abs(px), np.abs(py), np.abs(pz)
        m = np.maximum(np.maximum(ax, ay), az)
        return (np.where(ax == m, np.sign(px), zero), np.where(ay == m, np.sign(py), zero),
                np.where(az == m, np.sign(pz), zero))
    if kind == "cylinder":
        cap = np.abs(pz) - 1.0 > np.sqrt(px * px + py * py) - 1.0
        return np.where(cap, zero, px), np.where(cap, zero, py), np.where(cap, np.sign(pz), zero)
    if kind == "cone":
        r = np.maximum(np.sqrt(px * px + py * py), 1e-12)
        side = (r - CONE_SLOPE * (1.0 - pz)) / math.sqrt(1.0 + CONE_SLOPE ** 2)
        cap = -1.0 - pz > side
        return (np.where(cap, zero, px / r), np.where(cap, zero, py / r),
                np.where(cap, -one, CONE_SLOPE * one))
    if kind == "torus":
        r = np.maximum(np.sqrt(px * px + py * py), 1e-12)
        f = 1.0 - TORUS_MAJOR / r
        return px * f, py * f, pz
    raise ValueError(f"unknown primitive {kind!r}")
