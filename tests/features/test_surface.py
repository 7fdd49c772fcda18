"""The cube-by-cube surface sums equal those of the marching-cubes mesh they replace."""

import numpy as np
import pytest

from radiome.features._surface import surface
from radiome.features.morphology import _hull_candidates, mesh_of


def _masks():
    rng = np.random.default_rng(18)
    for _ in range(60):
        shape = tuple(int(n) for n in rng.integers(1, 9, 3))
        mask = rng.random(shape) < rng.uniform(0.1, 0.9)
        if mask.any():
            yield mask, tuple(float(s) for s in rng.uniform(0.3, 3.0, 3))
    z, y, x = np.ogrid[-9:10, -9:10, -9:10]
    ball = z * z + y * y + x * x <= 64
    yield ball, (2.0, 0.7, 0.7)


@pytest.mark.parametrize(("mask", "spacing"), list(_masks()))
def test_surface_sums_equal_mesh_volume_area_extent_and_hull_candidates(mask, spacing):
    mesh = mesh_of(mask, spacing)
    volume, area, lattice, extent = surface(mask, spacing)
    np.testing.assert_array_equal(lattice, mesh.lattice[_hull_candidates(mesh.lattice)])
    np.testing.assert_array_equal(extent, np.ptp(mesh.vertices, axis=0))
    assert volume == pytest.approx(mesh.volume, rel=1e-13)
    assert area == pytest.approx(mesh.area, rel=1e-13)
