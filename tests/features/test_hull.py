"""Exact convex hull on the half-voxel lattice (features/_hull.py) against Qhull.

Provenance: the oracle is Qhull through scipy.spatial.ConvexHull (what morphology used before),
run on the mm coordinates of the same marching-cubes vertices; the hand-computable case is a
3 x 3 x 3 block of lattice points, whose hull is the cube through its 8 corners (volume
8 det(D), area 8 (D_y D_x + D_z D_x + D_z D_y) for the lattice steps D).
"""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy.spatial import ConvexHull
from scipy.spatial.distance import pdist

from radiome.errors import FeatureError
from radiome.features._enclosing import (
    max_distance,
    minimum_bounding_box,
    minimum_volume_ellipsoid,
)
from radiome.features._hull import convex_hull
from radiome.features.morphology import _hull_candidates, mesh_of, morphology_features

#: Voxel spacings (mm, z y x): isotropic, anisotropic, and two of the clinical cases'.
SPACINGS = [(1.0, 1.0, 1.0), (2.0, 1.0, 3.0), (5.0, 0.6269531, 0.6269531),
            (6.499999999999998, 0.7812499999999999, 0.7812499999999999), (0.7, 1.3, 0.45)]

#: Array shapes of the random masks: thin (one voxel along an axis), flat, tiny and blocks.
SHAPES = [(1, 1, 1), (1, 1, 6), (1, 6, 1), (1, 5, 7), (7, 1, 5), (6, 5, 1), (2, 2, 2),
          (2, 7, 6), (3, 3, 9), (6, 7, 8), (10, 9, 11), (14, 14, 14)]


def _random_mask(seed: int) -> tuple[np.ndarray, tuple[float, float, float]]:
    """A random mask (shape, fill fraction and spacing drawn from ``seed``), never empty."""
    rng = np.random.default_rng(seed)
    shape = SHAPES[seed % len(SHAPES)]
    mask = rng.random(shape) < rng.choice([0.05, 0.3, 0.6, 0.95])
    mask.flat[rng.integers(mask.size)] = True
    return mask, SPACINGS[seed % len(SPACINGS)]


def _ball(radius: float, spacing) -> np.ndarray:
    """Voxels whose centre lies within ``radius`` mm of the grid's centre (many hull vertices)."""
    size = [int(2 * radius / s) + 3 for s in spacing]
    axes = [(np.arange(n) - (n - 1) / 2) * s for n, s in zip(size, spacing, strict=True)]
    z, y, x = np.meshgrid(*axes, indexing="ij")
    return z**2 + y**2 + x**2 <= radius**2


def _masks():
    """(id, mask, spacing): random masks, then balls and one- and two-voxel ROIs."""
    for seed in range(60):
        mask, spacing = _random_mask(seed)
        yield f"random{seed}", mask, spacing
    yield "ball", _ball(9.0, (1.0, 1.0, 1.0)), (1.0, 1.0, 1.0)
    yield "anisotropic_ball", _ball(11.0, (3.0, 0.8, 0.8)), (3.0, 0.8, 0.8)
    two = np.zeros((5, 4, 6), dtype=bool)
    two[0, 0, 0] = two[4, 3, 5] = True
    yield "two_far_voxels", two, (2.0, 1.0, 3.0)
    yield "one_voxel", np.ones((1, 1, 1), dtype=bool), (0.7, 1.3, 0.45)


MASKS = list(_masks())


def _assert_same_planes(ours: np.ndarray, qhull_equations: np.ndarray) -> None:
    """Every facet normal of one hull is, to 1e-10, a normal of the other (triangles or not)."""
    theirs = qhull_equations[:, :3]
    gaps = np.linalg.norm(ours[:, None, :] - theirs[None, :, :], axis=2)
    assert gaps.min(axis=1).max() < 1e-10
    assert gaps.min(axis=0).max() < 1e-10


@pytest.mark.parametrize(("name", "mask", "spacing"), MASKS, ids=[m[0] for m in MASKS])
def test_hull_of_mesh_vertices_has_qhulls_vertices_volume_area_and_planes(name, mask, spacing):
    mesh = mesh_of(mask, spacing)
    step = np.array(spacing) / 2.0
    candidates = _hull_candidates(mesh.lattice)
    for subset in (candidates, np.arange(len(mesh.vertices))):  # without and with the filter
        ours = convex_hull(mesh.lattice[subset], step)
        qhull = ConvexHull(mesh.vertices[subset])
        assert np.array_equal(ours.vertices, qhull.vertices)
        assert ours.volume == pytest.approx(qhull.volume, rel=1e-12)
        assert ours.area == pytest.approx(qhull.area, rel=1e-12)
        _assert_same_planes(ours.normals, qhull.equations)
    assert np.array_equal(mesh.lattice * 0.5 * np.array(spacing), mesh.vertices)


def _qhull_features(mask: np.ndarray, spacing) -> dict[str, float]:
    """The hull-based features as computed with Qhull (the former implementation)."""
    mesh = mesh_of(mask, spacing)
    candidates = mesh.vertices[_hull_candidates(mesh.lattice)]
    hull = ConvexHull(candidates)
    points = candidates[hull.vertices]
    w, l, h = minimum_bounding_box(points, ConvexHull(points).equations[:, :3])
    a, b, c = minimum_volume_ellipsoid(points)
    return {
        "morph_diam": pdist(points).max(),
        "morph_vol_dens_conv_hull": mesh.volume / hull.volume,
        "morph_area_dens_conv_hull": mesh.area / hull.area,
        "morph_vol_dens_ombb": mesh.volume / (w * l * h),
        "morph_area_dens_ombb": mesh.area / (2.0 * (w * l + l * h + w * h)),
        "morph_vol_dens_mvee": mesh.volume / (4.0 * math.pi * a * b * c / 3.0),
    }


@pytest.mark.parametrize(("name", "mask", "spacing"), MASKS, ids=[m[0] for m in MASKS])
def test_hull_features_equal_those_computed_with_qhull(name, mask, spacing):
    got = morphology_features(mask, spacing, image=np.ones(mask.shape), int_mask=mask,
                              exclude=frozenset({"morph_moran_i", "morph_geary_c"}))
    for feature, want in _qhull_features(mask, spacing).items():
        assert got[feature] == pytest.approx(want, rel=1e-12, abs=0.0), feature


def test_points_inside_edges_and_facets_of_a_cube_are_not_vertices():
    block = np.array([[z, y, x] for z in range(3) for y in range(3) for x in range(3)])
    order = np.random.default_rng(0).permutation(len(block))
    step = np.array([0.5, 1.0, 1.5])
    hull = convex_hull(block[order], step)
    corners = {tuple(p) for p in block if set(p) <= {0, 2}}
    assert {tuple(p) for p in block[order][hull.vertices]} == corners
    assert list(hull.vertices) == sorted(hull.vertices)
    assert hull.volume == pytest.approx(8 * 0.5 * 1.0 * 1.5, rel=1e-15)
    assert hull.area == pytest.approx(8 * (1.0 * 1.5 + 0.5 * 1.5 + 0.5 * 1.0), rel=1e-15)
    assert sorted(map(tuple, np.round(hull.normals, 15) + 0.0)) == sorted(
        map(tuple, np.vstack([np.eye(3), -np.eye(3)])))


def test_repeated_points_give_one_vertex_each():
    corners = np.array([[z, y, x] for z in (0, 4) for y in (0, 2) for x in (0, 6)])
    points = np.vstack([corners, corners[::-1], [[2, 1, 3]]])
    hull = convex_hull(points, np.ones(3))
    assert len(hull.vertices) == 8
    assert {tuple(p) for p in points[hull.vertices]} == {tuple(p) for p in corners}
    assert hull.volume == pytest.approx(4 * 2 * 6, rel=1e-15)


@pytest.mark.parametrize("points", [
    np.empty((0, 3), dtype=np.int64),
    np.array([[0, 0, 0]]),
    np.array([[0, 0, 0], [1, 2, 3], [5, 1, 0]]),
    np.array([[k, 2 * k, 3 * k] for k in range(10)]),  # collinear
    np.array([[z, y, x] for z in range(4) for y in range(4) for x in range(4)
              if z + y + x == 4]),  # the plane z + y + x = 4
    np.array([[1, 1, 1]] * 5),
], ids=["empty", "one", "three", "collinear", "coplanar", "identical"])
def test_flat_point_sets_raise_a_feature_error(points):
    with pytest.raises(FeatureError, match="convex hull: .*(no points|coplanar)"):
        convex_hull(points, np.ones(3))


def test_coordinates_beyond_the_exact_integer_range_raise_a_feature_error():
    points = np.array([[0, 0, 0], [2**19, 0, 0], [0, 1, 0], [0, 0, 1]])
    with pytest.raises(FeatureError, match="span 524288 units"):
        convex_hull(points, np.ones(3))


def test_max_distance_of_points_near_a_sphere_equals_all_pairs():
    rng = np.random.default_rng(9)
    directions = rng.normal(size=(2000, 3))
    points = directions / np.linalg.norm(directions, axis=1, keepdims=True) * 40.0
    points += rng.normal(scale=1e-9, size=points.shape) + [100.0, -7.0, 3.0]
    assert max_distance(points) == pdist(points).max()
    assert max_distance(points[:1]) == 0.0


SPECS = Path(__file__).resolve().parents[2] / "benchmarks" / "specs"

_IMPORTS = """
import sys
import radiome
radiome.extract(sys.argv[1], sys.argv[2], spec=sys.argv[3])
print(sorted(m for m in sys.modules if m == "scipy.spatial" or m.startswith("scipy.spatial.")))
"""


@pytest.mark.parametrize("spec", ["original", "full_ibsi"])
def test_extracting_lung2_never_imports_scipy_spatial(shared_data, spec):
    case = shared_data / "pyradiomics_cases"
    run = subprocess.run(
        [sys.executable, "-c", _IMPORTS, str(case / "lung2_image.nrrd"),
         str(case / "lung2_label.nrrd"), str(SPECS / f"{spec}.yaml")],
        capture_output=True, text=True, check=True,
    )
    assert run.stdout.strip() == "[]"
