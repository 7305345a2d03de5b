"""Per-frame ray casting: visible ids, amodal masks, depth, shadows and shading.

Why this layout: each object is intersected only inside the image rectangle that its
bounding sphere projects to (exact perspective bounds), and shadow rays only inside the
rectangle of its shadow volume, so the cost scales with object area instead of
objects x pixels. Amodal masks come for free: they are the per-object hit masks before the
depth test that produces the visible ids.

Depth is the Euclidean distance from the camera centre along each pixel's ray (Kubric's
convention); pixels showing the sky get BACKGROUND_DEPTH.

v1 scenes are shaded here (one sun, checker ground, sky gradient); v2 scenes (scene.look set)
cast one shadow pass per light, jittered over the light's disc when it is soft, and are shaded
by shading.py. The geometry passes, hence all ground truth, are the same for both.
"""
from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from .primitives import intersect, local_normal
from .scene import Scene

__all__ = ["BACKGROUND_DEPTH", "camera_rays", "render_frame"]

BACKGROUND_DEPTH = 1000.0     # depth written for sky pixels (finite, so means stay finite)
GROUND_FAR = 150.0            # the ground is cut at this ray distance (horizon haze beyond)
CHECKER_FADE = 40.0           # checker contrast fades out by this distance (anti-aliasing)
SHADOW_EPS = 2e-3             # shadow-ray origin offset along the normal, world units
_CONVEX = {"sphere", "cube", "cylinder", "cone", "icosphere", "capsule", "rounded_box"}
# material -> (diffuse weight, specular weight, shininess, reflection weight)
_MATERIALS = {"rubber": (1.0, 0.25, 12.0, 0.0), "metal": (0.45, 1.0, 70.0, 0.45)}


@lru_cache(maxsize=1)
def _gamma_lut() -> np.ndarray:
    """(4096,) uint8 table from linear intensity to display (gamma 2.2) values."""
    return np.round(255.0 * np.linspace(0.0, 1.0, 4096) ** (1.0 / 2.2)).astype(np.uint8)


def camera_rays(height: int, width: int, K: np.ndarray) -> np.ndarray:
    """Unit ray directions through pixel centres in camera space -> (3, H, W) float32."""
    fx, fy = K[0, 0], -K[1, 1]
    u = (np.arange(width) + 0.5) / width
    v = (np.arange(height) + 0.5) / height
    x = np.broadcast_to(((u - 0.5) / fx)[None, :], (height, width))
    y = np.broadcast_to((-(v - 0.5) / fy)[:, None], (height, width))
    d = np.stack([x, y, -np.ones((height, width))])
    return (d / np.linalg.norm(d, axis=0, keepdims=True)).astype(np.float32)


def _sphere_bounds(center: np.ndarray, radius: float, cam_pos: np.ndarray, cam_rot: np.ndarray,
                   K: np.ndarray) -> tuple[float, float, float, float] | str:
    """Exact image bounds (u0, u1, v0, v1) of a sphere's projection, or "behind" / "crossing"."""
    X, Y, negZ = cam_rot.T @ (center - cam_pos)
    Z = -negZ                                          # depth along the viewing axis
    if Z + radius <= 0:
        return "behind"
    if Z - radius < 1e-3:
        return "crossing"
    den = Z * Z - radius * radius

    def extent(a: float) -> tuple[float, float]:       # tangent slopes a/Z of the circle
        root = radius * math.sqrt(max(a * a + den, 0.0))
        return (a * Z - root) / den, (a * Z + root) / den

    mx0, mx1 = extent(float(X))
    my0, my1 = extent(float(Y))
    fx, fy = K[0, 0], -K[1, 1]
    return fx * mx0 + 0.5, fx * mx1 + 0.5, 0.5 - fy * my1, 0.5 - fy * my0


def _pixel_rect(bounds: tuple[float, float, float, float], H: int, W: int) -> tuple[int, int, int, int] | None:
    """Pixel rectangle (y0, y1, x0, x1), one pixel of margin, clipped; None when empty."""
    u0, u1, v0, v1 = bounds
    x0 = max(0, math.floor(u0 * W - 0.5) - 1)
    x1 = min(W, math.floor(u1 * W - 0.5) + 2)
    y0 = max(0, math.floor(v0 * H - 0.5) - 1)
    y1 = min(H, math.floor(v1 * H - 0.5) + 2)
    return (y0, y1, x0, x1) if x0 < x1 and y0 < y1 else None


def _object_rect(center, radius, cam_pos, cam_rot, K, H, W):
    b = _sphere_bounds(center, radius, cam_pos, cam_rot, K)
    if b == "behind":
        return None
    return (0, H, 0, W) if b == "crossing" else _pixel_rect(b, H, W)


def _shadow_rect(center: np.ndarray, radius: float, light: np.ndarray, cam_pos: np.ndarray,
                 cam_rot: np.ndarray, K: np.ndarray, H: int, W: int,
                 spread: float = 0.0) -> tuple[int, int, int, int] | None:
    """Rectangle holding every point above the ground that the sphere can shade, for light
    directions within ``spread`` radians of ``light`` (the shadow volume is then held by a
    capsule whose end spheres grow by the drift of the farthest ray)."""
    if spread > 0:
        low = light[2] * math.cos(spread) - math.sqrt(max(1.0 - light[2] ** 2, 0.0)) * math.sin(spread)
        reach = (center[2] + radius) / max(low, 1e-3)
        far = center - light * reach
        radius = radius + reach * math.tan(spread)
    else:
        far = center - light * ((center[2] + radius) / max(light[2], 1e-3))
    b0 = _sphere_bounds(center, radius, cam_pos, cam_rot, K)
    b1 = _sphere_bounds(far, radius, cam_pos, cam_rot, K)
    if isinstance(b0, str) or isinstance(b1, str):
        return (0, H, 0, W)
    return _pixel_rect((min(b0[0], b1[0]), max(b0[1], b1[1]), min(b0[2], b1[2]), max(b0[3], b1[3])), H, W)


def _rot(M: np.ndarray, x: np.ndarray | float, y: np.ndarray | float,
         z: np.ndarray | float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """M (3, 3) @ (x, y, z) for component arrays, without BLAS (keeps one thread)."""
    m = [[float(v) for v in row] for row in M]
    return (m[0][0] * x + m[0][1] * y + m[0][2] * z, m[1][0] * x + m[1][1] * y + m[1][2] * z,
            m[2][0] * x + m[2][1] * y + m[2][2] * z)


def _linear(rgb: np.ndarray) -> np.ndarray:
    """Display RGB -> linear intensity (shading is done in linear light)."""
    return np.asarray(rgb, np.float64) ** 2.2


def render_frame(scene: Scene, f: int, rays: np.ndarray, K: np.ndarray, rgb: np.ndarray, ids: np.ndarray,
                 depth: np.ndarray, amodal: np.ndarray, object_depth: np.ndarray | None = None) -> None:
    """Render frame ``f`` into the given buffers.

    rays (3, H, W) camera-space unit directions; rgb (H, W, 3) uint8; ids (H, W) int32
    (0 background, obj+1); depth (H, W) float32; amodal (N, H, W) bool and object_depth
    (N, H, W) float32 (inf off the object) must arrive cleared (False / inf).
    """
    H, W = ids.shape
    cam_pos, cam_rot = scene.cam_positions[f], scene.cam_rotations[f]
    ox, oy, oz = (float(v) for v in cam_pos)
    dx, dy, dz = _rot(cam_rot, rays[0], rays[1], rays[2])
    with np.errstate(divide="ignore"):
        tg = -oz / dz
    zbuf = np.where((dz < 0) & (tg < GROUND_FAR), tg, np.float32(np.inf)).astype(np.float32)
    ids[:] = 0

    rects = []
    for i, obj in enumerate(scene.objects):           # primary rays, one object at a time
        c = obj.positions[f]
        rect = _object_rect(c, obj.radius, cam_pos, cam_rot, K, H, W)
        rects.append(rect)
        if rect is None:
            continue
        y0, y1, x0, x1 = rect
        M = obj.rotations[f].T
        lo = M @ (cam_pos - c) / obj.scale
        u = _rot(M, dx[y0:y1, x0:x1], dy[y0:y1, x0:x1], dz[y0:y1, x0:x1])
        t = (intersect(obj.kind, float(lo[0]), float(lo[1]), float(lo[2]), *u) * obj.scale).astype(np.float32)
        amodal[i, y0:y1, x0:x1] = t < np.inf
        if object_depth is not None:
            object_depth[i, y0:y1, x0:x1] = t
        closer = t < zbuf[y0:y1, x0:x1]
        np.copyto(zbuf[y0:y1, x0:x1], t, where=closer)
        np.copyto(ids[y0:y1, x0:x1], np.int32(i + 1), where=closer)

    sky = ~(zbuf < np.inf)
    np.copyto(depth, np.where(sky, np.float32(BACKGROUND_DEPTH), zbuf))
    t = np.where(sky, np.float32(0), zbuf)
    px, py, pz = ox + t * dx, oy + t * dy, oz + t * dz
    nx, ny, nz = np.zeros_like(t), np.zeros_like(t), np.ones_like(t)
    fnx, fny, fnz = nx.reshape(-1), ny.reshape(-1), nz.reshape(-1)
    local: list[tuple[np.ndarray, tuple[np.ndarray, ...]] | None] = []
    for i, obj in enumerate(scene.objects):           # normals of the visible pixels
        local.append(None)
        if rects[i] is None:
            continue
        y0, y1, x0, x1 = rects[i]
        yy, xx = np.nonzero(ids[y0:y1, x0:x1] == i + 1)
        if yy.size == 0:
            continue
        flat = (yy + y0) * W + (xx + x0)
        M = obj.rotations[f].T
        c = obj.positions[f]
        inv = 1.0 / obj.scale
        lp = _rot(M, (px.reshape(-1)[flat] - c[0]) * inv, (py.reshape(-1)[flat] - c[1]) * inv,
                  (pz.reshape(-1)[flat] - c[2]) * inv)
        local[i] = (flat, lp)
        wn = _rot(obj.rotations[f], *local_normal(obj.kind, *lp))
        norm = 1.0 / np.maximum(np.sqrt(wn[0] ** 2 + wn[1] ** 2 + wn[2] ** 2), 1e-12)
        fnx[flat], fny[flat], fnz[flat] = wn[0] * norm, wn[1] * norm, wn[2] * norm

    n = (nx, ny, nz)
    origins = tuple((p + q * SHADOW_EPS).reshape(-1) for p, q in zip((px, py, pz), n))
    if scene.look is None:                            # v1: one sun, hard shadows
        L = scene.light_dir
        ndotl = nx * float(L[0]) + ny * float(L[1]) + nz * float(L[2])
        lit = (ndotl > 0) & ~sky
        shadow = _cast_shadows(scene, f, L, None, 0.0, lit, ids, origins, K)
        _shade(scene, ids, sky, t, (px, py), n, (dx, dy, dz), ndotl, shadow, rgb)
        return
    from .lights import direction_maps
    from .shading import shade_v2

    shadows = []
    for k, light in enumerate(scene.look.lights):
        L = light.direction
        lit = (nx * float(L[0]) + ny * float(L[1]) + nz * float(L[2]) > 0) & ~sky
        maps = None
        if light.softness > 0:
            key = ("dirs", k, H, W)
            if key not in scene.look.cache:
                scene.look.cache[key] = direction_maps(light, H, W)
            maps = scene.look.cache[key]
        shadows.append(_cast_shadows(scene, f, L, maps, light.softness, lit, ids, origins, K))
    shade_v2(scene, ids, sky, t, (px, py), n, (dx, dy, dz), shadows, local, K, rgb)


def _cast_shadows(scene: Scene, f: int, L: np.ndarray, maps: tuple[np.ndarray, ...] | None, spread: float,
                  lit: np.ndarray, ids: np.ndarray, origins: tuple[np.ndarray, ...], K: np.ndarray) -> np.ndarray:
    """Shadow mask (H, W) bool of the lit pixels ``lit`` (H, W) for light direction L (3,), or
    per-pixel directions ``maps`` (three (H, W)) within ``spread`` rad of L; shadow-ray
    origins are the surface points nudged along their normals, three flat (H*W,) arrays."""
    H, W = ids.shape
    cam_pos, cam_rot = scene.cam_positions[f], scene.cam_rotations[f]
    lx, ly, lz = (float(v) for v in L)
    shadow = np.zeros((H, W), bool)
    fshadow = shadow.reshape(-1)
    sx, sy, sz = origins
    for j, obj in enumerate(scene.objects):           # shadow rays towards the light
        c = obj.positions[f]
        rect = _shadow_rect(c, obj.radius, L, cam_pos, cam_rot, K, H, W, spread)
        if rect is None:
            continue
        y0, y1, x0, x1 = rect
        cand = lit[y0:y1, x0:x1] & ~shadow[y0:y1, x0:x1]
        if obj.kind in _CONVEX:                       # a convex solid never shades its lit side
            cand &= ids[y0:y1, x0:x1] != j + 1
        yy, xx = np.nonzero(cand)
        if yy.size == 0:
            continue
        flat = (yy + y0) * W + (xx + x0)
        wx, wy, wz = sx[flat] - c[0], sy[flat] - c[1], sz[flat] - c[2]
        if maps is not None:
            lx, ly, lz = (m.reshape(-1)[flat] for m in maps)
        b = wx * lx + wy * ly + wz * lz               # bounding-sphere pre-test
        disc = b * b - (wx * wx + wy * wy + wz * wz - obj.radius ** 2)
        keep = np.nonzero((disc >= 0) & (np.sqrt(np.maximum(disc, 0)) > b))[0]
        if keep.size == 0:
            continue
        M = obj.rotations[f].T
        inv = 1.0 / obj.scale
        lo = _rot(M, wx[keep] * inv, wy[keep] * inv, wz[keep] * inv)
        if maps is None:
            lu = M @ L
            lu = (float(lu[0]), float(lu[1]), float(lu[2]))
        else:
            lu = _rot(M, lx[keep], ly[keep], lz[keep])
        hit = intersect(obj.kind, *lo, *lu) < np.inf
        fshadow[flat[keep[hit]]] = True
    return shadow


def _shade(scene: Scene, ids, sky, t, pxy, n, d, ndotl, shadow, rgb) -> None:
    """Blinn-Phong with ambient light, a checker ground, a sky gradient and a fake
    environment reflection for metal; writes display RGB uint8 into ``rgb``.

    Works channel-first (3, H, W) on the ground and on flat index lists for objects and sky,
    which keeps the per-pixel work to a few dozen vector operations.
    """
    H, W = ids.shape
    L = scene.light_dir
    g = _linear(scene.ground_colors).astype(np.float32)
    sky_lin = _linear(scene.sky_colors).astype(np.float32)
    light = scene.ambient + scene.sun * (np.maximum(ndotl, 0) * ~shadow)       # (H, W)

    parity = (np.floor(pxy[0] * (1.0 / scene.ground_tile)) + np.floor(pxy[1] * (1.0 / scene.ground_tile)))
    parity = (parity.astype(np.int32) & 1).astype(np.float32)
    fade = np.minimum(t * (1.0 / CHECKER_FADE), 1.0)
    mix = parity + (0.5 - parity) * fade                                       # 0 -> g[0], 1 -> g[1]
    out = (g[0][:, None, None] + (g[1] - g[0])[:, None, None] * mix) * light   # (3, H, W)
    flat = out.reshape(3, -1)

    obj = np.flatnonzero(ids > 0)
    if obj.size:
        nobj = len(scene.objects)
        table = np.zeros((nobj + 1, 3), np.float32)
        mat = np.zeros((nobj + 1, 4), np.float32)
        for i, o in enumerate(scene.objects):
            table[i + 1] = _linear(o.color)
            mat[i + 1] = _MATERIALS[o.material]
        oid = ids.reshape(-1)[obj]
        alb = table[oid].T                                                     # (3, M)
        kd, ks, shin, kr = mat[oid].T
        dxs, dys, dzs = (a.reshape(-1)[obj] for a in d)
        nxs, nys, nzs = (a.reshape(-1)[obj] for a in n)
        lam = np.maximum(ndotl.reshape(-1)[obj], 0) * ~shadow.reshape(-1)[obj]
        hx, hy, hz = L[0] - dxs, L[1] - dys, L[2] - dzs
        ndoth = np.maximum((nxs * hx + nys * hy + nzs * hz) / np.sqrt(hx * hx + hy * hy + hz * hz), 0)
        spec = ks * ndoth ** shin * scene.sun * (lam > 0)
        rz = dzs - 2 * (dxs * nxs + dys * nys + dzs * nzs) * nzs               # reflected ray, z part
        env_sky = sky_lin[0][:, None] + (sky_lin[1] - sky_lin[0])[:, None] * np.sqrt(np.clip(rz, 0, 1))
        env_ground = (0.5 * (g[0] + g[1]) * (scene.ambient + scene.sun * float(L[2])))[:, None]
        env = np.where(rz > 0, env_sky, env_ground)
        spec_col = np.where(kr > 0, alb, 1.0) * spec
        flat[:, obj] = alb * (kd * (scene.ambient + scene.sun * lam)) + spec_col + kr * alb * env

    sk = np.flatnonzero(sky)
    if sk.size:
        up = np.sqrt(np.clip(d[2].reshape(-1)[sk], 0, 1))
        flat[:, sk] = sky_lin[0][:, None] + (sky_lin[1] - sky_lin[0])[:, None] * up

    np.clip(out, 0, 1, out=out)
    idx = (out * 4095 + 0.5).astype(np.int32)
    rgb[:] = np.take(_gamma_lut(), idx).transpose(1, 2, 0)
