"""Ray intersection, normals and extents of the unit primitives, vectorised over rays.

Why hand-written: the ground truth must be exact per pixel, and the same intersection code
decides visible ids, amodal masks, depth and shadows, so they can never disagree.

Every v1 shape lives in its own local frame inside the unit cube [-1, 1]^3 (the torus is flat:
|z| <= TORUS_MINOR). The v2 shapes (icosphere, capsule, rounded box) all contain the unit
ball, so "scale" means the same thing for every kind: the half-size of the object's core;
the icosphere's vertices and the capsule's caps reach a little beyond the cube.

Rays are passed as components (ox, oy, oz, dx, dy, dz): each may be a scalar or an array of
one common shape (e.g. one origin and (h, w) directions for camera rays, or (M,) origins and
one or (M,) directions for shadow rays). Directions are unit length, so the returned ``t`` is
a local distance; misses are +inf.
"""
from __future__ import annotations

import math

import numpy as np

__all__ = ["KINDS", "V1_KINDS", "TORUS_MAJOR", "TORUS_MINOR", "CAPSULE_HALF", "ROUND_RADIUS",
           "intersect", "local_normal", "support", "bounding_radius", "local_extent",
           "horizontal_radius"]

V1_KINDS: tuple[str, ...] = ("sphere", "cube", "cylinder", "cone", "torus")
KINDS: tuple[str, ...] = V1_KINDS + ("icosphere", "capsule", "rounded_box")
TORUS_MAJOR = 0.7           # ring radius; the outer radius is MAJOR + MINOR = 1
TORUS_MINOR = 0.3           # tube radius
CONE_SLOPE = 0.5            # base radius 1 at z = -1, apex at z = +1: r(z) = (1 - z) / 2
TORUS_STEPS = 64            # sphere-tracing iterations (enough for all but grazing rays)
TORUS_EPS = 2e-4            # a ray "hits" when the signed distance falls below this
CAPSULE_HALF = 0.75         # capsule: radius 1 around the segment |z| <= CAPSULE_HALF
ROUND_RADIUS = 0.3          # rounded box: the cube [-1, 1]^3 with edges rounded by this radius
_CORE = 1.0 - ROUND_RADIUS  # half-size of the rounded box's sharp core
_INF = np.float32(np.inf)
Arr = np.ndarray | float        # a ray component: one value for all rays, or one per ray


def _icosphere() -> tuple[np.ndarray, np.ndarray]:
    """Vertices (42, 3) and face planes (80, 4) = (n, h) with n.p <= h inside, of a once
    subdivided icosahedron scaled so its inscribed radius is 1 (it holds the unit ball)."""
    phi = (1.0 + math.sqrt(5.0)) / 2.0
    verts = [np.array(v, np.float64) for v in
             [(-1, phi, 0), (1, phi, 0), (-1, -phi, 0), (1, -phi, 0), (0, -1, phi), (0, 1, phi),
              (0, -1, -phi), (0, 1, -phi), (phi, 0, -1), (phi, 0, 1), (-phi, 0, -1), (-phi, 0, 1)]]
    verts = [v / np.linalg.norm(v) for v in verts]
    faces = [(0, 11, 5), (0, 5, 1), (0, 1, 7), (0, 7, 10), (0, 10, 11), (1, 5, 9), (5, 11, 4),
             (11, 10, 2), (10, 7, 6), (7, 1, 8), (3, 9, 4), (3, 4, 2), (3, 2, 6), (3, 6, 8),
             (3, 8, 9), (4, 9, 5), (2, 4, 11), (6, 2, 10), (8, 6, 7), (9, 8, 1)]
    mids: dict[tuple[int, int], int] = {}

    def mid(a: int, b: int) -> int:
        key = (min(a, b), max(a, b))
        if key not in mids:
            m = verts[a] + verts[b]
            verts.append(m / np.linalg.norm(m))
            mids[key] = len(verts) - 1
        return mids[key]

    fine = []
    for a, b, c in faces:
        ab, bc, ca = mid(a, b), mid(b, c), mid(c, a)
        fine += [(a, ab, ca), (b, bc, ab), (c, ca, bc), (ab, bc, ca)]
    V = np.array(verts)
    planes = []
    for a, b, c in fine:
        n = np.cross(V[b] - V[a], V[c] - V[a])
        n /= np.linalg.norm(n)
        n *= np.sign(n @ V[a])                        # outward
        planes.append([*n, n @ V[a]])
    P = np.array(planes)
    inner = P[:, 3].min()
    P[:, 3] /= inner
    return V / inner, P


ICO_VERTS, ICO_PLANES = _icosphere()
_ICO_N = ICO_PLANES[:, :3].astype(np.float32)
_ICO_H = ICO_PLANES[:, 3].astype(np.float32)
_BOUND = {"sphere": 1.0, "cube": math.sqrt(3.0), "cylinder": math.sqrt(2.0),
          "cone": math.sqrt(2.0), "torus": 1.0,
          "icosphere": float(np.linalg.norm(ICO_VERTS, axis=1).max()),
          "capsule": 1.0 + CAPSULE_HALF, "rounded_box": _CORE * math.sqrt(3.0) + ROUND_RADIUS}


def bounding_radius(kind: str) -> float:
    """Radius of the smallest origin-centred sphere holding the unit shape."""
    return _BOUND[kind]


def local_extent(kind: str) -> np.ndarray:
    """Half-sizes (3,) of the shape's local axis-aligned box (for Kubric's bboxes_3d)."""
    if kind == "icosphere":
        return np.abs(ICO_VERTS).max(axis=0)
    if kind == "capsule":
        return np.array([1.0, 1.0, 1.0 + CAPSULE_HALF])
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
    if kind == "icosphere":
        return float((ICO_VERTS @ np.array([vx, vy, vz])).max())
    if kind == "capsule":
        return 1.0 + CAPSULE_HALF * abs(vz)
    if kind == "rounded_box":
        return _CORE * (abs(vx) + abs(vy) + abs(vz)) + ROUND_RADIUS
    raise ValueError(f"unknown primitive {kind!r}")


def horizontal_radius(kind: str, base: np.ndarray, samples: int = 48) -> float:
    """max |p_xy| over the shape posed by ``base`` (3, 3) world-from-local: the radius of the
    vertical cylinder that holds it while it spins about world z.

    Equal to the largest support over horizontal directions; sampled at ``samples`` angles
    and divided by cos(pi / samples), so it never underestimates.
    """
    if kind == "sphere":
        return 1.0
    ang = np.arange(samples) * (2.0 * math.pi / samples)
    dirs = np.stack([np.cos(ang), np.sin(ang), np.zeros(samples)], 1) @ np.asarray(base)   # local
    best = max(support(kind, d) for d in dirs)
    return min(best / math.cos(math.pi / samples), bounding_radius(kind))


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


def _planes_hit(ox, oy, oz, dx, dy, dz, tmin, planes=slice(None)):
    """Convex polyhedron, rays (M,) against faces (F,) at once: the ray is inside every
    half-space n.p <= h between the latest entry and the earliest exit."""
    nx, ny, nz = (_ICO_N[planes, k][:, None] for k in range(3))
    h = _ICO_H[planes][:, None]
    den = nx * dx + ny * dy + nz * dz                                   # (F, M)
    t = (h - (nx * ox + ny * oy + nz * oz)) / den
    enter = den < 0
    tn = np.where(enter, t, -_INF).max(axis=0)
    tf = np.where(enter | (den == 0), _INF, t).min(axis=0)
    parallel_out = ((den == 0) & (h < nx * ox + ny * oy + nz * oz)).any(axis=0)
    return _interval_hit(tn, np.where(parallel_out, -_INF, tf), tmin)


def _icosphere_hit(ox, oy, oz, dx, dy, dz, tmin):
    """The once-subdivided icosahedron (80 faces). From one outside origin (camera rays), rays
    through the inscribed unit ball must hit, and enter through a face that looks at the
    origin, so only those faces are tested; the thin band between the inscribed and the
    circumscribed ball, and rays with their own origins, test every face."""
    comps = [np.asarray(v, np.float32) for v in (ox, oy, oz, dx, dy, dz)]
    shape = np.broadcast_shapes(*(c.shape for c in comps))
    ox, oy, oz, dx, dy, dz = (np.broadcast_to(c, shape).reshape(-1) for c in comps)
    out = np.full(ox.shape, _INF, np.float32)
    b = ox * dx + oy * dy + oz * dz
    rho2 = ox * ox + oy * oy + oz * oz - b * b                         # squared ray-centre distance
    rc2 = np.float32(_BOUND["icosphere"] ** 2)
    todo = np.flatnonzero(rho2 <= rc2)
    single = all(c.ndim == 0 for c in comps[:3])
    if single and float(ox[0] ** 2 + oy[0] ** 2 + oz[0] ** 2) > rc2 and todo.size:
        o = np.array([ox[0], oy[0], oz[0]], np.float32)
        front = np.flatnonzero(_ICO_N @ o > _ICO_H)
        core = todo[(rho2[todo] < 1.0) & (b[todo] < 0)]
        nx, ny, nz = (_ICO_N[front, k][:, None] for k in range(3))
        num = (_ICO_H[front] - _ICO_N[front] @ o)[:, None]
        t = (num / (nx * dx[core] + ny * dy[core] + nz * dz[core])).max(axis=0)
        out[core] = np.where(t > tmin, t, _INF)
        todo = np.setdiff1d(todo, core, assume_unique=True)
    for i in range(0, todo.size, 4096):                               # bounded (F, M) temporaries
        j = todo[i:i + 4096]
        out[j] = _planes_hit(ox[j], oy[j], oz[j], dx[j], dy[j], dz[j], tmin)
    return out.reshape(shape)


def _capsule(ox, oy, oz, dx, dy, dz, tmin):
    """Union of the side (unit cylinder over |z| <= CAPSULE_HALF) and two unit end spheres."""
    a = dx * dx + dy * dy
    b = ox * dx + oy * dy
    c = ox * ox + oy * oy - 1.0
    par = a < 1e-12
    t0, t1, real = _quadratic_roots(np.where(par, 1.0, a), b, c)
    best = np.full(np.broadcast(t0, oz, dz).shape, _INF, dtype=np.result_type(t0, np.float32))
    for t in (t0, t1):
        z = oz + t * dz
        ok = real & ~par & (t > tmin) & (np.abs(z) <= CAPSULE_HALF)
        best = np.where(ok & (t < best), t, best)
    for zc in (-CAPSULE_HALF, CAPSULE_HALF):
        best = np.minimum(best, _sphere(ox, oy, oz - zc, dx, dy, dz, tmin))
    return best


def _rounded_box(ox, oy, oz, dx, dy, dz, tmin):
    """Exact ray/rounded-box hit (after Inigo Quilez): enter the outer box, fold the entry
    point into the first octant; a face region is a hit, otherwise the one corner sphere and
    the three edge cylinders of that octant decide."""
    ox, oy, oz, dx, dy, dz = np.broadcast_arrays(*(np.asarray(v, np.float32) for v in (ox, oy, oz, dx, dy, dz)))
    x0, x1 = _slab(ox, dx)
    y0, y1 = _slab(oy, dy)
    z0, z1 = _slab(oz, dz)
    tn = np.maximum(np.maximum(x0, y0), z0)
    tf = np.minimum(np.minimum(x1, y1), z1)
    box = (tn <= tf) & (tf > tmin)
    t = np.maximum(tn, np.float32(tmin))
    t = np.where(box, t, 0)
    o, d = [ox, oy, oz], [dx, dy, dz]
    sg = [np.where(oi + t * di < 0, -1.0, 1.0).astype(np.float32) for oi, di in zip(o, d)]
    o = [oi * si for oi, si in zip(o, sg)]
    d = [di * si for di, si in zip(d, sg)]
    q = [oi + t * di - _CORE for oi, di in zip(o, d)]
    face = np.minimum(np.minimum(np.maximum(q[0], q[1]), np.maximum(q[1], q[2])), np.maximum(q[2], q[0])) < 0
    oc = [oi - _CORE for oi in o]
    r2 = ROUND_RADIUS * ROUND_RADIUS
    best = _sphere(oc[0] / ROUND_RADIUS, oc[1] / ROUND_RADIUS, oc[2] / ROUND_RADIUS, d[0], d[1], d[2],
                   tmin / ROUND_RADIUS) * ROUND_RADIUS                   # corner sphere
    for ax, (i, j) in enumerate(((1, 2), (0, 2), (0, 1))):             # edges along x, y, z
        a = d[i] * d[i] + d[j] * d[j]
        b = oc[i] * d[i] + oc[j] * d[j]
        c = oc[i] * oc[i] + oc[j] * oc[j] - r2
        par = a < 1e-12
        h, _, real = _quadratic_roots(np.where(par, 1.0, a), b, c)
        ok = real & ~par & (h > tmin) & (np.abs(o[ax] + h * d[ax]) <= _CORE) & (h < best)
        best = np.where(ok, h, best)
    return np.where(box, np.where(face, t, best), _INF)


_INTERSECT = {"sphere": _sphere, "cube": _cube, "cylinder": _cylinder, "cone": _cone, "torus": _torus,
              "icosphere": _icosphere_hit, "capsule": _capsule, "rounded_box": _rounded_box}


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
    if kind == "icosphere":                           # the face whose plane the point lies on
        n = _ICO_N[np.argmax(_ICO_N[:, 0:1] * px + _ICO_N[:, 1:2] * py + _ICO_N[:, 2:3] * pz
                             - _ICO_H[:, None], axis=0)]
        return n[:, 0], n[:, 1], n[:, 2]
    if kind == "capsule":
        return px, py, pz - np.clip(pz, -CAPSULE_HALF, CAPSULE_HALF)
    if kind == "rounded_box":
        return tuple(np.sign(p) * np.maximum(np.abs(p) - _CORE, 0) for p in (px, py, pz))
    raise ValueError(f"unknown primitive {kind!r}")
