"""Boundary conditions, 1D convolution passes, rotation sets and pooling on tiny arrays."""

from __future__ import annotations

import numpy as np
import pytest

from radiome.filters.convolution import (
    Taps,
    convolve_taps,
    pad,
    pool,
    right_angle_rotations,
    rotated_chains,
    separable_responses,
)

_LINE = np.array([1.0, 2.0, 4.0, 8.0])


def _along_x(values: np.ndarray) -> np.ndarray:
    """A (1, 1, n) image holding ``values``."""
    return np.asarray(values, dtype=np.float64)[None, None, :]


@pytest.mark.parametrize(("boundary", "padded"), [
    ("zero", [0, 0, 1, 2, 4, 8, 0, 0]),
    ("nearest", [1, 1, 1, 2, 4, 8, 8, 8]),
    ("periodic", [4, 8, 1, 2, 4, 8, 1, 2]),
    ("mirror", [2, 1, 1, 2, 4, 8, 8, 4]),
])
def test_pad_extends_a_line_as_each_boundary_condition_says(
    boundary: str, padded: list[float]
) -> None:
    assert pad(_LINE, [(2, 2)], boundary).tolist() == padded  # type: ignore[arg-type]


def test_convolution_is_not_correlation() -> None:
    # out[i] = sum_m w[m] f[i - o[m]]: an impulse returns the kernel in its own order.
    impulse = _along_x([0, 0, 0, 1, 0, 0, 0])
    taps = Taps.centred([1.0, 2.0, 3.0])
    assert convolve_taps(impulse, taps, 2, "zero").ravel().tolist() == [0, 0, 1, 2, 3, 0, 0]


def test_even_filter_has_its_origin_at_n_over_2() -> None:
    taps = Taps.centred([1.0, 2.0, 3.0, 4.0])
    assert taps.offsets == (-2, -1, 0, 1)
    impulse = _along_x([0, 0, 0, 1, 0, 0, 0])
    assert convolve_taps(impulse, taps, 2, "zero").ravel().tolist() == [0, 1, 2, 3, 4, 0, 0]
    assert Taps.centred([1.0, 2.0, 3.0, 4.0], step=2).offsets == (-4, -2, 0, 2)
    assert taps.reversed().offsets == (2, 1, 0, -1)


@pytest.mark.parametrize(("boundary", "expected"), [
    # out[i] = f[i + 1] - f[i - 1] with f = 1 2 4 8 extended by the boundary condition
    ("zero", [2, 3, 6, -4]),
    ("nearest", [1, 3, 6, 4]),
    ("periodic", [-6, 3, 6, -3]),
    ("mirror", [1, 3, 6, 4]),
])
def test_convolution_at_the_border_follows_the_boundary_condition(
    boundary: str, expected: list[float]
) -> None:
    taps = Taps((-1, 1), (1.0, -1.0))
    got = convolve_taps(_along_x(_LINE), taps, 2, boundary)  # type: ignore[arg-type]
    assert got.ravel().tolist() == expected


@pytest.mark.parametrize("axis", [0, 1, 2])
def test_every_axis_is_filtered_alike(axis: int) -> None:
    rng = np.random.default_rng(1)
    image = rng.normal(size=(5, 6, 7))
    taps = Taps((-2, 0, 1), (0.5, -1.0, 2.0))
    got = convolve_taps(image, taps, axis, "mirror")
    moved = np.moveaxis(image, axis, -1)
    padded = np.pad(moved, [(0, 0), (0, 0), (1, 2)], mode="symmetric")
    n = moved.shape[-1]
    expected = sum(w * padded[..., 1 - o: 1 - o + n] for o, w in zip(*taps, strict=True))
    np.testing.assert_allclose(got, np.moveaxis(expected, -1, axis), rtol=0, atol=1e-13)


def test_filters_wider_than_the_image_repeat_the_boundary() -> None:
    taps = Taps.centred(np.ones(9))
    got = convolve_taps(_along_x(_LINE), taps, 2, "periodic")
    # nine taps over four periodic voxels: every voxel twice, plus the one at offset 4
    expected = [2 * _LINE.sum() + _LINE[(i + 4) % 4] for i in range(4)]
    np.testing.assert_allclose(got.ravel(), expected, rtol=0, atol=1e-12)


@pytest.mark.parametrize(("n_axes", "count"), [(2, 4), (3, 24)])
def test_right_angle_rotations_are_the_proper_rotations(n_axes: int, count: int) -> None:
    rotations = right_angle_rotations(n_axes)
    assert len(rotations) == len(set(rotations)) == count
    assert rotations[0] == (tuple(range(n_axes)), (1,) * n_axes)
    for perm, signs in rotations:
        matrix = np.zeros((n_axes, n_axes))
        matrix[np.arange(n_axes), perm] = signs
        assert round(np.linalg.det(matrix)) == 1


def test_rotated_chains_match_numpy_rotations() -> None:
    # The separable kernels of the 24 rotations equal the 24 rotations of the dense kernel.
    kernels = [Taps.centred([1.0, 2.0, 3.0]), Taps.centred([1.0, -1.0, 0.0]),
               Taps.centred([0.0, 1.0, 5.0])]
    dense_rotations = []
    for variant in rotated_chains([(k,) for k in kernels], rotation_invariance=True):
        impulse = np.zeros((3, 3, 3))
        impulse[1, 1, 1] = 1.0
        for axis, (taps,) in enumerate(variant):
            impulse = convolve_taps(impulse, taps, axis, "zero")
        dense_rotations.append(impulse)
    dense = dense_rotations[0]
    expected = set()
    for turned in _numpy_rotations(dense):
        expected.add(turned.tobytes())
    assert {d.tobytes() for d in dense_rotations} == expected
    assert len(expected) == 24


def _numpy_rotations(cube: np.ndarray) -> list[np.ndarray]:
    """The 24 rotations of a 3D array, by np.rot90 about each axis."""
    out = []
    for face in (cube, np.rot90(cube, 1, (0, 2)), np.rot90(cube, 2, (0, 2)),
                 np.rot90(cube, 3, (0, 2)), np.rot90(cube, 1, (0, 1)),
                 np.rot90(cube, 3, (0, 1))):
        out += [np.rot90(face, k, (1, 2)) for k in range(4)]
    return out


def test_separable_responses_share_passes_without_changing_results() -> None:
    rng = np.random.default_rng(2)
    image = rng.normal(size=(6, 7, 8))
    kernels = [(Taps.centred([-1.0, 0.0, 1.0]),), (Taps.centred([1.0, 2.0, 1.0]),),
               (Taps.centred([1.0, -2.0, 1.0]),)]
    variants = rotated_chains(kernels, rotation_invariance=True)
    shared = pool(separable_responses(image, variants, (0, 1, 2), "nearest", "average"),
                  "average")
    naive = np.zeros_like(image)
    for variant in variants:
        response = image
        for axis, chain in enumerate(variant):
            for taps in chain:
                response = convolve_taps(response, taps, axis, "nearest")
        naive += response / len(variants)
    np.testing.assert_allclose(shared, naive, rtol=0, atol=1e-12)


def test_pool_average_and_max_with_multiplicity() -> None:
    a, b = np.array([1.0, -2.0]), np.array([3.0, -4.0])
    assert pool([(a, 1), (b, 3)], "average").tolist() == [2.5, -3.5]
    assert pool([(a, 1), (b, 3)], "max").tolist() == [3.0, -2.0]
