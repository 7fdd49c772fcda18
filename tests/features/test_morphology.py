"""Morphological features (HCUG) on hand-computable shapes, and twins of the fast algorithms.

Provenance: the expected values are worked out by hand from the definitions of the IBSI 1
manual (03_Image_features.rst, "Morphological features"): marching cubes turns one voxel into
the octahedron with vertices at ±s/2 on each axis; two voxels give Moran's I = -1 and Geary's
C = 1 whatever their distance; the sample variance of n equally spaced points is
s² n (n + 1) / 12. Moran's I and Geary's C are checked against the pairwise sums of their
definitions, the maximum diameter against scipy's pdist, the rotating-calipers kernel against
a NumPy twin built on scipy's 2D convex hull, and the ellipsoid area against the manual's
series evaluated literally with scipy's Legendre polynomials. The IBSI reference values
themselves are checked row by row in test_ibsi1_reference.py.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.spatial import ConvexHull
from scipy.spatial.distance import pdist
from scipy.special import eval_legendre
from scipy.stats import special_ortho_group

from radiome.errors import EmptyROIError, FeatureError
from radiome.features._enclosing import (
    _rectangles_kernel,
    ellipsoid_area,
    max_distance,
    minimum_bounding_box,
    minimum_volume_ellipsoid,
)
from radiome.features.morphology import (
    FAMILY,
    FEATURES,
    mesh_of,
    morphology_features,
    spatial_autocorrelation,
)
from radiome.preprocess.roi import RoiData
from radiome.spec import default_spec


def _features(morph_mask, spacing, image=None, int_mask=None):
    """morphology_features with a unit image and int_mask = morph_mask by default."""
    morph_mask = np.asarray(morph_mask, dtype=bool)
    image = np.ones(morph_mask.shape) if image is None else image
    int_mask = morph_mask if int_mask is None else int_mask
    return morphology_features(morph_mask, spacing, image=image, int_mask=int_mask)


def _blob(seed: int, shape=(7, 8, 9)) -> np.ndarray:
    """A random irregular mask with holes, touching the array's border."""
    rng = np.random.default_rng(seed)
    return rng.random(shape) < 0.6


def test_every_feature_is_returned_and_registered_once():
    got = _features(_blob(0), (1.0, 1.5, 2.0))
    names = [f.name for f in FEATURES]
    assert len(names) == 29
    assert list(got) == names
    assert len({f.ibsi for f in FEATURES}) == 29
    assert all(f.family == "morph" for f in FEATURES)


def test_one_voxel_is_the_octahedron_of_half_spacings():
    spacing = (2.0, 1.0, 3.0)
    hz, hy, hx = (s / 2 for s in spacing)
    got = _features(np.ones((1, 1, 1)), spacing)
    volume = 4.0 / 3.0 * hz * hy * hx
    area = 8 * 0.5 * math.sqrt((hy * hx) ** 2 + (hz * hx) ** 2 + (hz * hy) ** 2)
    assert got["morph_volume"] == pytest.approx(volume, rel=1e-12)
    assert got["morph_area_mesh"] == pytest.approx(area, rel=1e-12)
    assert got["morph_vol_approx"] == 6.0
    assert got["morph_av"] == pytest.approx(area / volume, rel=1e-12)
    assert got["morph_comp_2"] == pytest.approx(36 * math.pi * volume**2 / area**3, rel=1e-12)
    assert got["morph_com"] == 0.0
    assert got["morph_diam"] == pytest.approx(3.0, rel=1e-12)
    # the hull is the octahedron itself; its bounding box has edges 2h (1/6 of the volume)
    assert got["morph_vol_dens_conv_hull"] == pytest.approx(1.0, rel=1e-12)
    assert got["morph_area_dens_conv_hull"] == pytest.approx(1.0, rel=1e-12)
    assert got["morph_vol_dens_aabb"] == pytest.approx(1.0 / 6.0, rel=1e-12)
    assert got["morph_area_dens_aabb"] == pytest.approx(
        area / (8 * (hz * hy + hy * hx + hz * hx)), rel=1e-12
    )
    # the minimum ellipsoid through the six vertices has semi-axes h: V_mvee = π V
    assert got["morph_vol_dens_mvee"] == pytest.approx(1.0 / math.pi, rel=1e-12)
    assert got["morph_area_dens_mvee"] == pytest.approx(
        area / ellipsoid_area(*sorted((hz, hy, hx), reverse=True)), rel=1e-12
    )
    # a covariance needs two voxels
    for name in ("morph_pca_maj_axis", "morph_pca_elongation", "morph_vol_dens_aee",
                 "morph_area_dens_aee"):
        assert math.isnan(got[name]), name
    # one voxel has no pairs
    assert math.isnan(got["morph_moran_i"])
    assert math.isnan(got["morph_geary_c"])


def test_sphere_likeness_features_are_one_quantity():
    got = _features(_blob(1), (1.2, 0.8, 1.0))
    comp_2 = got["morph_comp_2"]
    assert got["morph_comp_1"] == pytest.approx(math.sqrt(comp_2) / (6 * math.pi), rel=1e-12)
    assert got["morph_sph_dispr"] == pytest.approx(comp_2 ** (-1 / 3), rel=1e-12)
    assert got["morph_sphericity"] == pytest.approx(comp_2 ** (1 / 3), rel=1e-12)
    assert got["morph_asphericity"] == pytest.approx(comp_2 ** (-1 / 3) - 1, rel=1e-12)


def test_block_of_voxels_is_its_box_of_centres_plus_the_octahedron():
    # marching cubes around a block of voxels draws the Minkowski sum of the box of voxel
    # centres (edges L = (n - 1) s) and the octahedron of half-spacings h: faces L_i L_j,
    # chamfer strips of width |(h_j, h_k)| along the edges, octahedron faces at the corners
    spacing, counts = np.array([2.0, 1.0, 3.0]), np.array([2, 3, 4])
    mask = np.zeros((4, 5, 6), dtype=bool)
    mask[1:3, 1:4, 1:5] = True
    (l1, l2, l3), (h1, h2, h3) = (counts - 1) * spacing, spacing / 2
    volume = (l1 * l2 * l3 + 2 * (l1 * l2 * h3 + l1 * l3 * h2 + l2 * l3 * h1)
              + 2 * (l1 * h2 * h3 + l2 * h1 * h3 + l3 * h1 * h2) + 4 / 3 * h1 * h2 * h3)
    area = (2 * (l1 * l2 + l1 * l3 + l2 * l3)
            + 4 * (l1 * math.hypot(h2, h3) + l2 * math.hypot(h1, h3) + l3 * math.hypot(h1, h2))
            + 4 * math.sqrt((h1 * h2) ** 2 + (h1 * h3) ** 2 + (h2 * h3) ** 2))
    mesh = mesh_of(mask, tuple(spacing))
    assert mesh.volume == pytest.approx(volume, rel=1e-12)
    assert mesh.area == pytest.approx(area, rel=1e-12)
    got = _features(mask, tuple(spacing))
    assert got["morph_vol_dens_conv_hull"] == pytest.approx(1.0, rel=1e-12)  # convex
    assert got["morph_area_dens_conv_hull"] == pytest.approx(1.0, rel=1e-12)
    assert got["morph_vol_dens_aabb"] == pytest.approx(volume / 24 / 6, rel=1e-12)
    assert got["morph_vol_approx"] == 24 * 6.0


def test_line_of_voxels_has_only_a_major_principal_axis():
    n, sx = 7, 1.5
    got = _features(np.ones((1, 1, n)), (2.0, 2.0, sx))
    variance = sx**2 * n * (n + 1) / 12  # sample variance of n points sx apart
    assert got["morph_pca_maj_axis"] == pytest.approx(4 * math.sqrt(variance), rel=1e-12)
    assert got["morph_pca_min_axis"] == 0.0
    assert got["morph_pca_least_axis"] == 0.0
    assert got["morph_pca_elongation"] == 0.0
    assert got["morph_pca_flatness"] == 0.0
    assert math.isnan(got["morph_vol_dens_aee"])  # a flat ellipsoid encloses no volume


def test_centre_of_mass_shift_uses_both_masks():
    # morphological mask: x = 0, 1, 2 (spacing 2 mm: centre at 2 mm); intensity mask: x = 1, 2
    # with intensities 1 and 3: weighted centre (2 * 1 + 4 * 3) / 4 = 3.5 mm
    morph = np.ones((1, 1, 3), dtype=bool)
    intensity = np.array([[[False, True, True]]])
    image = np.array([[[100.0, 1.0, 3.0]]])
    got = _features(morph, (1.0, 1.0, 2.0), image=image, int_mask=intensity)
    assert got["morph_com"] == pytest.approx(1.5, rel=1e-12)
    assert got["morph_integ_int"] == pytest.approx(got["morph_volume"] * 2.0, rel=1e-12)


def test_two_voxels_are_perfectly_anticorrelated():
    image = np.array([[[3.0, 0.0, 0.0, 7.0]]])
    mask = np.array([[[True, False, False, True]]])
    moran, geary = spatial_autocorrelation(image, mask, (1.0, 1.0, 2.5))
    assert moran == pytest.approx(-1.0, rel=1e-12)
    assert geary == pytest.approx(1.0, rel=1e-12)


def test_constant_intensities_leave_autocorrelation_undefined():
    moran, geary = spatial_autocorrelation(np.full((3, 3, 3), 5.0), _blob(2, (3, 3, 3)),
                                           (1.0, 1.0, 1.0))
    assert math.isnan(moran)
    assert math.isnan(geary)


def _pairwise_autocorrelation(image, mask, spacing):
    """Moran's I and Geary's C by the pairwise sums of their definitions (slow twin)."""
    where = np.argwhere(mask)
    x = image[mask].astype(np.float64)
    n, a = len(x), x - x.mean()
    distance = np.sqrt((((where[:, None, :] - where[None, :, :]) * spacing) ** 2).sum(axis=2))
    weights = np.zeros_like(distance)
    np.divide(1.0, distance, out=weights, where=distance > 0)
    total = weights.sum()
    moran = n / total * (weights * np.outer(a, a)).sum() / (a**2).sum()
    geary = (n - 1) / (2 * total) * (weights * (x[:, None] - x[None, :]) ** 2).sum() / (
        a**2
    ).sum()
    return moran, geary


@pytest.mark.parametrize("seed", range(6))
def test_autocorrelation_equals_the_pairwise_sums(seed):
    rng = np.random.default_rng(seed)
    shape = tuple(rng.integers(2, 9, size=3))
    mask = rng.random(shape) < rng.uniform(0.2, 0.9)
    mask.flat[rng.choice(mask.size, size=2, replace=False)] = True
    image = rng.normal(50.0, 20.0, shape) + np.arange(shape[2])  # a trend: I > 0
    spacing = tuple(rng.uniform(0.5, 3.0, size=3))
    got = spatial_autocorrelation(image, mask, spacing)
    want = _pairwise_autocorrelation(image, mask, np.asarray(spacing))
    assert got == pytest.approx(want, rel=1e-10, abs=1e-12)


def test_max_distance_equals_all_pairs():
    points = np.random.default_rng(3).normal(size=(1500, 3)) * [1.0, 2.0, 3.0]
    assert max_distance(points) == pdist(points).max()


def _rectangles_twin(xs, ys):
    """Minimum-area rectangles by scipy's 2D hull and every edge direction, in NumPy."""
    out = np.empty((len(xs), 2))
    for k, (x, y) in enumerate(zip(xs, ys, strict=True)):
        ring = ConvexHull(np.column_stack([x, y])).vertices
        rx, ry = x[ring], y[ring]
        dx, dy = np.roll(rx, -1) - rx, np.roll(ry, -1) - ry
        length = np.sqrt(dx * dx + dy * dy)
        ex, ey = dx / length, dy / length
        along = ex[:, None] * rx[None, :] + ey[:, None] * ry[None, :]
        across = ex[:, None] * ry[None, :] - ey[:, None] * rx[None, :]
        w, l = np.ptp(along, axis=1), np.ptp(across, axis=1)
        best = np.lexsort((w + l, w * l))[0]
        out[k] = min(w[best], l[best]), max(w[best], l[best])
    return out


def test_rotating_calipers_kernel_equals_its_numpy_twin():
    rng = np.random.default_rng(4)
    xs, ys = rng.normal(size=(40, 25)), rng.normal(size=(40, 25)) * 3.0
    out = np.empty((40, 2))
    _rectangles_kernel(xs, ys, np.lexsort((ys, xs), axis=-1), out)
    assert np.array_equal(out, _rectangles_twin(xs, ys))


def test_rotating_calipers_find_a_rotated_rectangle():
    rng = np.random.default_rng(5)
    corners = np.array([[0, 0], [4, 0], [4, 1], [0, 1]], dtype=float)
    inside = rng.random((30, 2)) * [4, 1]
    theta = 0.37
    rotation = np.array([[math.cos(theta), -math.sin(theta)], [math.sin(theta), math.cos(theta)]])
    points = np.vstack([corners, inside]) @ rotation.T
    out = np.empty((1, 2))
    xs, ys = points[None, :, 0].copy(), points[None, :, 1].copy()
    _rectangles_kernel(xs, ys, np.lexsort((ys, xs), axis=-1), out)
    assert out[0] == pytest.approx([1.0, 4.0], rel=1e-12)


def test_minimum_bounding_box_of_a_rotated_box_has_its_edges():
    rng = np.random.default_rng(6)
    edges = np.array([5.0, 3.0, 2.0])
    corners = np.array([[i, j, k] for i in (0, 1) for j in (0, 1) for k in (0, 1)]) * edges
    points = np.vstack([corners, rng.random((50, 3)) * edges])
    rotated = points @ special_ortho_group.rvs(3, random_state=7).T + [10.0, -4.0, 2.0]
    hull = ConvexHull(rotated)
    got = minimum_bounding_box(rotated[hull.vertices], hull.equations[:, :3])
    assert got == pytest.approx(edges, rel=1e-9)


def test_oriented_box_lies_between_hull_and_axis_aligned_box():
    got = _features(_blob(8), (2.0, 0.7, 0.9))
    assert got["morph_vol_dens_aabb"] <= got["morph_vol_dens_ombb"]
    assert got["morph_vol_dens_ombb"] <= got["morph_vol_dens_conv_hull"]


def test_minimum_ellipsoid_of_a_rotated_box_passes_through_its_corners():
    half = np.array([3.0, 2.0, 0.5])
    corners = np.array([[i, j, k] for i in (-1, 1) for j in (-1, 1) for k in (-1, 1)]) * half
    rotated = corners @ special_ortho_group.rvs(3, random_state=9).T + [1.0, 2.0, 3.0]
    # by symmetry uniform weights are optimal: Khachiyan stops after one step, exactly
    assert minimum_volume_ellipsoid(rotated) == pytest.approx(math.sqrt(3) * half, rel=1e-12)


def test_minimum_ellipsoid_of_points_on_an_ellipsoid():
    rng = np.random.default_rng(10)
    semi = np.array([4.0, 2.5, 1.0])
    directions = rng.normal(size=(400, 3))
    surface = directions / np.linalg.norm(directions, axis=1, keepdims=True) * semi
    points = surface @ special_ortho_group.rvs(3, random_state=11).T
    got = minimum_volume_ellipsoid(points, tolerance=1e-7)
    assert got == pytest.approx(semi, rel=1e-3)


@pytest.mark.parametrize("axes", [(3.0, 2.0, 1.0), (46.0, 41.0, 35.0), (5.0, 4.5, 1.0),
                                  (1.2, 1.1, 1.0)])
def test_ellipsoid_area_is_the_manuals_series(axes):
    a, b, c = axes
    alpha, beta = math.sqrt(1 - b**2 / a**2), math.sqrt(1 - c**2 / a**2)
    x = (alpha**2 + beta**2) / (2 * alpha * beta)
    series = sum((alpha * beta) ** nu / (1 - 4 * nu**2) * eval_legendre(nu, x)
                 for nu in range(21))
    assert ellipsoid_area(a, b, c) == pytest.approx(4 * math.pi * a * b * series, rel=1e-11)


def test_ellipsoid_area_of_spheres_and_spheroids_is_finite():
    assert ellipsoid_area(2.0, 2.0, 2.0) == pytest.approx(16 * math.pi, rel=1e-14)
    # a = b: α = 0, only the leading coefficient of each P_ν survives: finite, not NaN
    assert math.isfinite(ellipsoid_area(2.0, 2.0, 1.0))


def test_bad_inputs_name_the_culprit():
    mask = np.ones((2, 2, 2), dtype=bool)
    with pytest.raises(FeatureError, match="differ in shape"):
        morphology_features(mask, (1, 1, 1), image=np.ones((2, 2, 3)), int_mask=mask)
    with pytest.raises(FeatureError, match="spacing"):
        morphology_features(mask, (1, -1, 1), image=np.ones((2, 2, 2)), int_mask=mask)
    with pytest.raises(EmptyROIError, match="int_mask"):
        morphology_features(mask, (1, 1, 1), image=np.ones((2, 2, 2)), int_mask=~mask)


def test_family_adapter_equals_morphology_features_of_both_masks():
    morph = _blob(12)
    intensity = morph & (np.random.default_rng(13).random(morph.shape) < 0.8)
    image = np.random.default_rng(14).normal(size=morph.shape)
    roi = RoiData(image=image, morph_mask=morph, int_mask=intensity, spacing=(1.0, 2.0, 1.5),
                  levels=intensity.astype(np.int32), n_levels=1, unit="HU")
    got = FAMILY.compute(roi, default_spec("CT"))
    want = morphology_features(morph, (1.0, 2.0, 1.5), image=image, int_mask=intensity)
    assert got == {(name, ""): value for name, value in want.items()}


def test_moran_and_geary_pair_sums_equal_the_fft_path(monkeypatch):
    """The pair-by-pair path (small ROIs) and the FFT path (large ones) give the same values."""
    from radiome.features import morphology

    rng = np.random.default_rng(7)
    image = rng.normal(size=(9, 14, 11))
    mask = rng.random((9, 14, 11)) < 0.6
    spacing = (2.5, 0.8, 0.7)
    monkeypatch.setattr(morphology, "_DIRECT_PAIRS_PER_FFT_VOXEL", 10**9)
    direct = morphology.spatial_autocorrelation(image, mask, spacing)
    monkeypatch.setattr(morphology, "_DIRECT_PAIRS_PER_FFT_VOXEL", 0)
    by_fft = morphology.spatial_autocorrelation(image, mask, spacing)
    assert direct == pytest.approx(by_fft, rel=1e-10)
