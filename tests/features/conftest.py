"""Fixtures of the feature-family tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import radiome


@pytest.fixture(scope="session")
def digital_phantom(shared_data: Path) -> tuple[np.ndarray, np.ndarray]:
    """Grey levels (int64, 0 outside the ROI) and ROI mask of the IBSI 1 digital phantom.

    The phantom's intensities are already its grey levels 1..6 (no discretisation needed, as
    the manual's texture matrices in 06_Digital_phantom_texture_matrices.rst assume); arrays
    are (z, y, x) = (4, 4, 5).
    """
    volume = radiome.load_volume(shared_data / "ibsi1" / "digital_phantom" / "phantom.nii.gz")
    mask = radiome.load_mask(
        shared_data / "ibsi1" / "digital_phantom" / "mask.nii.gz", reference=volume
    )
    roi = np.asarray(mask.array, dtype=bool)
    return np.where(roi, np.rint(volume.array), 0).astype(np.int64), roi
