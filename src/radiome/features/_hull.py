"""Exact convex hull of integer points in 3D, scaled to mm (morphology's X_vx,convex).

Marching cubes at iso-level 0.5 on a binary mask puts every mesh vertex on the half-voxel
lattice: twice its voxel-index coordinates are integers. The hull is computed on those
integers, where every orientation test (is a point above, on or below a triangle's plane?)
is an exact int64 determinant, so coplanar and collinear points, which a voxel mesh holds in
plenty, need no tolerance. The mm points are the lattice points times the diagonal matrix
D = diag(spacing / 2), and a diagonal scaling maps the hull of the points onto the hull of
the scaled points (same vertices, same facets), so only volume, area and facet normals are
computed in mm, from exact integer sums.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from radiome._kernels import kernel
from radiome.errors import FeatureError

__all__ = ["Hull", "convex_hull"]

#: Coordinates span less than this (after a shift to 0), so |orientation| < 12 R³ < 2^63.
_MAX_SPAN = 2**19


class Hull(NamedTuple):
    """Convex hull of points: extreme points, volume, area and facet normals (mm)."""

    vertices: np.ndarray  # (k,) int, ascending indices of the extreme points
    volume: float  # mm³
    area: float  # mm²
    normals: np.ndarray  # (f, 3) float, outward unit normal of each facet, (z, y, x)


def convex_hull(lattice: np.ndarray, step: np.ndarray) -> Hull:
    """Convex hull of the points ``lattice * step`` (mm), computed exactly on the integers.

    Parameters
    ----------
    lattice : (n, 3) int ndarray
        Integer coordinates of the points (e.g. twice the voxel indices of mesh vertices).
    step : (3,) float, mm, (z, y, x)
        Length of one lattice unit along each axis (e.g. half the voxel spacing).

    Returns
    -------
    Hull
        ``vertices``: ascending indices of the extreme points (a point inside an edge or a
        facet of the hull is none, as Qhull reports them); ``volume`` in mm³; ``area`` in
        mm²; ``normals``: one outward unit normal per facet (a facet is a maximal planar
        polygon, not a triangle of it).

    Raises
    ------
    FeatureError
        If the points are all coplanar (fewer than 4 points included): the hull encloses no
        volume. Not the case of a marching-cubes mesh, which spans three half-voxel planes
        along each axis. Also if the coordinates span 2^19 units or more (int64 range).

    Notes
    -----
    Quickhull (Barber, Dobkin & Huhdanpaa 1996) on a triangulated surface: each triangle keeps
    the points strictly above its plane; the farthest of them is added, the triangles it sees
    strictly are replaced by a cone from it to their horizon, and their points are
    re-assigned to the cone's triangles only (a point above a removed triangle and above no
    cone triangle is inside the new hull). With exact tests the visible triangles form a disc,
    so the horizon is one simple cycle. A point on the hull's surface is never added, but a
    point added earlier can end up inside an edge or a facet of the final hull; the final
    extreme points are therefore those where three or more distinct facet planes meet:
    adjacent triangles are grouped into facets when the third vertex of one lies exactly on
    the other's plane. With e1, e2 the edges of a triangle on the lattice, its mm area vector
    is (D e1) x (D e2) = det(D) D^-1 (e1 x e2); a facet's area vector is the exact integer sum
    of its triangles' e1 x e2, scaled once, and the volume is det(D) times the exact integer
    sum of the tetrahedra from one hull vertex to each triangle.
    """
    points = np.asarray(lattice, dtype=np.int64).reshape(-1, 3)
    if len(points) == 0:
        msg = "convex hull: there are no points"
        raise FeatureError(msg)
    points = np.ascontiguousarray(points - points.min(axis=0))
    span = int(points.max())
    if span >= _MAX_SPAN:
        msg = f"convex hull: integer coordinates span {span} units, at most {_MAX_SPAN - 1}"
        raise FeatureError(msg)
    triangles = _hull_kernel(points)
    if len(triangles) == 0:
        msg = (f"convex hull: the {len(points)} points are coplanar, so their hull "
               "encloses no volume")
        raise FeatureError(msg)
    a, b, c = (points[triangles[:, k]] for k in range(3))
    cross = np.cross(b - a, c - a)  # exact: twice the lattice area vector of each triangle
    six_volume = int(np.einsum("ij,ij->i", cross, a - a[0]).sum())  # terms >= 0: no overflow
    facet = triangles[:, 3]
    n_facets = int(facet.max()) + 1
    per_facet = np.column_stack(
        [np.bincount(facet, weights=cross[:, k], minlength=n_facets) for k in range(3)]
    )  # integer sums < 2^53: exact in float64
    hz, hy, hx = (float(h) for h in step)
    scaled = per_facet * np.array([hy * hx, hz * hx, hz * hy])
    lengths = np.sqrt(np.einsum("ij,ij->i", scaled, scaled))
    pairs = np.unique(triangles[:, :3] * n_facets + facet[:, None])
    meeting = np.bincount(pairs // n_facets, minlength=len(points))
    return Hull(
        vertices=np.flatnonzero(meeting >= 3),
        volume=six_volume * (hz * hy * hx) / 6.0,
        area=float(lengths.sum()) / 2.0,
        normals=scaled / lengths[:, None],
    )


@kernel("i8[:, ::1](i8[:, ::1])")
def _hull_kernel(points):
    """Outward triangles (a, b, c, facet id) of the hull of integer points; none if flat."""
    n = points.shape[0]
    simplex = _initial_simplex(points)
    if simplex[3] < 0:
        return np.empty((0, 4), dtype=np.int64)
    cap = 4 * n + 16  # live triangles <= 2n - 4, plus a cone of <= n during an addition
    tri = np.empty((cap, 3), dtype=np.int64)
    nbr = np.empty((cap, 3), dtype=np.int64)  # nbr[f, k]: across edge tri[f, k] -> tri[f, k+1]
    normal = np.empty((cap, 3), dtype=np.int64)
    offset = np.empty(cap, dtype=np.int64)
    alive = np.zeros(cap, dtype=np.bool_)
    head = np.full(cap, -1, dtype=np.int64)  # first point of each triangle's outside set
    nxt = np.full(n, -1, dtype=np.int64)  # next point of the same outside set
    free = np.empty(cap, dtype=np.int64)
    seen = np.zeros(cap, dtype=np.int64)
    visible = np.empty(cap, dtype=np.int64)
    horizon = np.empty((n + 3, 3), dtype=np.int64)  # (start, end, triangle outside)
    cone = np.empty(n + 3, dtype=np.int64)
    cone_at = np.empty(n, dtype=np.int64)  # cone triangle whose horizon edge starts at a vertex
    pending = np.empty(cap, dtype=np.int64)
    n_used, n_free, n_pending = 4, 0, 0

    a, b, c, d = simplex
    corners = ((a, b, c), (b, a, d), (c, b, d), (a, c, d))  # outward: d below (a, b, c)
    for f in range(4):
        _set_triangle(points, tri, normal, offset, f, corners[f][0], corners[f][1],
                      corners[f][2])
        alive[f] = True
    for f in range(4):
        for k in range(3):
            for g in range(4):
                for j in range(3):
                    if tri[g, j] == tri[f, (k + 1) % 3] and tri[g, (j + 1) % 3] == tri[f, k]:
                        nbr[f, k] = g
    for q in range(n):
        if q == a or q == b or q == c or q == d:
            continue
        for f in range(4):
            if _height(points, normal, offset, f, q) > 0:
                nxt[q] = head[f]
                head[f] = q
                break
    for f in range(4):
        if head[f] >= 0:
            pending[n_pending] = f
            n_pending += 1

    stamp = 0
    while n_pending > 0:
        n_pending -= 1
        f = pending[n_pending]
        if not alive[f] or head[f] < 0:
            continue
        eye, best = -1, 0
        q = head[f]
        while q >= 0:
            h = _height(points, normal, offset, f, q)
            if h > best:
                eye, best = q, h
            q = nxt[q]
        # the triangles that see the eye strictly, and the horizon around them
        stamp += 1
        seen[f] = stamp
        visible[0] = f
        n_visible, n_horizon, i = 1, 0, 0
        while i < n_visible:
            g = visible[i]
            i += 1
            for k in range(3):
                h = nbr[g, k]
                if seen[h] == stamp:
                    continue
                if _height(points, normal, offset, h, eye) > 0:
                    seen[h] = stamp
                    visible[n_visible] = h
                    n_visible += 1
                else:
                    horizon[n_horizon, 0] = tri[g, k]
                    horizon[n_horizon, 1] = tri[g, (k + 1) % 3]
                    horizon[n_horizon, 2] = h
                    n_horizon += 1
        # the cone from the eye to the horizon
        for e in range(n_horizon):
            if n_free > 0:
                n_free -= 1
                t = free[n_free]
            else:
                t = n_used
                n_used += 1
            start, end, outer = horizon[e, 0], horizon[e, 1], horizon[e, 2]
            _set_triangle(points, tri, normal, offset, t, start, end, eye)
            alive[t] = True
            head[t] = -1
            nbr[t, 0] = outer
            for j in range(3):
                if tri[outer, j] == end:  # outer's edge end -> start
                    nbr[outer, j] = t
            cone[e] = t
            cone_at[start] = t
        for e in range(n_horizon):
            t = cone[e]
            u = cone_at[tri[t, 1]]
            nbr[t, 1] = u
            nbr[u, 2] = t
        # outside points of the removed triangles go to the cone, or are inside
        for v in range(n_visible):
            g = visible[v]
            q = head[g]
            while q >= 0:
                following = nxt[q]
                if q != eye:
                    for e in range(n_horizon):
                        t = cone[e]
                        if _height(points, normal, offset, t, q) > 0:
                            nxt[q] = head[t]
                            head[t] = q
                            break
                q = following
            alive[g] = False
            head[g] = -1
            free[n_free] = g
            n_free += 1
        for e in range(n_horizon):
            if head[cone[e]] >= 0:
                if n_pending == pending.shape[0]:
                    pending = np.concatenate((pending, np.empty_like(pending)))
                pending[n_pending] = cone[e]
                n_pending += 1
    return _facets(points, tri, nbr, normal, offset, alive[:n_used])


@kernel()
def _facets(points, tri, nbr, normal, offset, alive):
    """(a, b, c, facet id) of the live triangles; coplanar neighbours share a facet id."""
    compact = np.full(alive.shape[0], -1, dtype=np.int64)
    m = 0
    for f in range(alive.shape[0]):
        if alive[f]:
            compact[f] = m
            m += 1
    out = np.empty((m, 4), dtype=np.int64)
    stack = np.empty(m, dtype=np.int64)
    for f in range(alive.shape[0]):
        if alive[f]:
            out[compact[f], :3] = tri[f]
            out[compact[f], 3] = -1
    n_facets = 0
    for f in range(alive.shape[0]):
        if not alive[f] or out[compact[f], 3] >= 0:
            continue
        out[compact[f], 3] = n_facets
        stack[0] = f
        depth = 1
        while depth > 0:
            depth -= 1
            g = stack[depth]
            for k in range(3):
                h = nbr[g, k]
                if out[compact[h], 3] >= 0:
                    continue
                if (_height(points, normal, offset, f, tri[h, 0]) == 0
                        and _height(points, normal, offset, f, tri[h, 1]) == 0
                        and _height(points, normal, offset, f, tri[h, 2]) == 0):
                    out[compact[h], 3] = n_facets
                    stack[depth] = h
                    depth += 1
        n_facets += 1
    return out


@kernel()
def _initial_simplex(points):
    """Indices of 4 affinely independent points, far apart; -1 from where none is left."""
    n = points.shape[0]
    out = np.full(4, -1, dtype=np.int64)
    a, b, extent = 0, 0, 0
    for axis in range(3):
        lo, hi = 0, 0
        for i in range(n):
            if points[i, axis] < points[lo, axis]:
                lo = i
            if points[i, axis] > points[hi, axis]:
                hi = i
        if points[hi, axis] - points[lo, axis] > extent:
            a, b, extent = lo, hi, points[hi, axis] - points[lo, axis]
    if extent == 0:
        return out
    out[0], out[1] = a, b
    u0, u1, u2 = _difference(points, b, a)
    c, farthest = -1, 0.0
    for i in range(n):
        v0, v1, v2 = _difference(points, i, a)
        w0, w1, w2 = u1 * v2 - u2 * v1, u2 * v0 - u0 * v2, u0 * v1 - u1 * v0
        if w0 != 0 or w1 != 0 or w2 != 0:  # exact: i is off the line ab
            size = float(w0) ** 2 + float(w1) ** 2 + float(w2) ** 2
            if size > farthest:
                c, farthest = i, size
    if c < 0:
        return out
    out[2] = c
    v0, v1, v2 = _difference(points, c, a)
    w0, w1, w2 = u1 * v2 - u2 * v1, u2 * v0 - u0 * v2, u0 * v1 - u1 * v0
    level = w0 * points[a, 0] + w1 * points[a, 1] + w2 * points[a, 2]
    d, farthest_i, sign = -1, 0, 0
    for i in range(n):
        h = w0 * points[i, 0] + w1 * points[i, 1] + w2 * points[i, 2] - level
        if abs(h) > farthest_i:
            d, farthest_i, sign = i, abs(h), 1 if h > 0 else -1
    if d < 0:
        return out
    if sign > 0:  # d above (a, b, c): swap b and c so that d lies below
        out[1], out[2] = c, b
    out[3] = d
    return out


@kernel()
def _set_triangle(points, tri, normal, offset, t, a, b, c):
    """Store triangle t = (a, b, c) with its plane: normal (b - a) x (c - a), offset n . a."""
    tri[t, 0], tri[t, 1], tri[t, 2] = a, b, c
    u0, u1, u2 = _difference(points, b, a)
    v0, v1, v2 = _difference(points, c, a)
    normal[t, 0] = u1 * v2 - u2 * v1
    normal[t, 1] = u2 * v0 - u0 * v2
    normal[t, 2] = u0 * v1 - u1 * v0
    offset[t] = (normal[t, 0] * points[a, 0] + normal[t, 1] * points[a, 1]
                 + normal[t, 2] * points[a, 2])


@kernel()
def _difference(points, i, j):
    """points[i] - points[j] as three integers."""
    return points[i, 0] - points[j, 0], points[i, 1] - points[j, 1], points[i, 2] - points[j, 2]


@kernel()
def _height(points, normal, offset, t, q):
    """n . q - offset of triangle t: > 0 above its plane (outside), 0 on it, exact."""
    return (normal[t, 0] * points[q, 0] + normal[t, 1] * points[q, 1]
            + normal[t, 2] * points[q, 2] - offset[t])
