"""IBSI 1 image processing, step by step, against the diagnostic values of the CT phantom.

Provenance: ``ibsi1/reference_values/ibsi1_ct_config_<X>_diagnostics.csv`` of the shared data,
the IBSI 1 compliance table's diagnostics (image and ROI after each processing step) as
transcribed by MIRP (see that folder's README). Every table found is used, one test per row,
id ``<config>-<feature_tag>``, with the spec ``specs/ibsi1/config_<X>.yaml``.

The stages are computed with :func:`radiome.preprocess.process` on the whole image grid
(``margin=None``), the path that extraction takes on a crop around the ROI
(:func:`test_cropped_processing_keeps_the_whole_grid_roi` shows the crop changes nothing):

- ``init``: the image and mask as read;
- ``interp``: the image after interpolation and rounding, and the interpolated ROI before
  re-segmentation (its intensity mask is still the morphological mask);
- ``reseg``: the ROI after re-segmentation (range, then outlier filtering).

Axes: the tables' x, y, z are array axes 2, 1, 0. A row passes when
``abs(got - value) <= tolerance``; where the tolerance is 0 the value is the exact quantity
printed rounded (0.977 mm for a spacing of 0.976999998 mm, a mean of -266 HU for -266.47 HU), so
it must agree within half a unit of its last printed digit.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

import radiome
from radiome.preprocess import process

SPECS = Path(__file__).resolve().parents[2] / "specs" / "ibsi1"
_IMAGE = "ibsi1/ct_phantom/nifti/phantom.nii.gz"
_MASK = "ibsi1/ct_phantom/nifti/mask.nii.gz"
_AXIS = {"x": 2, "y": 1, "z": 0}
_STATISTIC = {"mean_int": np.mean, "min_int": np.min, "max_int": np.max}


@dataclass(frozen=True)
class _Stage:
    """The image, its voxel size and the two ROI masks after one processing step."""

    image: np.ndarray
    spacing: tuple[float, float, float]
    masks: dict[str, np.ndarray]  # "int" (intensity mask), "morph" (morphological mask)


def _spec(config: str) -> radiome.Spec:
    """The spec of a CT configuration; a table without its spec is a failure, not a skip."""
    path = SPECS / f"config_{config}.yaml"
    if not path.is_file():
        pytest.fail(f"{path}: no spec for IBSI 1 configuration {config}")
    return radiome.load_spec(path)


@pytest.fixture(scope="module")
def ct_phantom(shared_data: Path) -> tuple[radiome.Volume, radiome.Mask]:
    """The IBSI 1 CT phantom and its GTV mask, as read."""
    volume = radiome.load_volume(shared_data / _IMAGE)
    return volume, radiome.load_mask(shared_data / _MASK, reference=volume)


@pytest.fixture(scope="module")
def whole_grid(ct_phantom) -> dict[str, radiome.preprocess.Processed]:
    """Processing of the whole image grid per configuration, computed on first use."""
    volume, mask = ct_phantom

    class _ByConfig(dict):
        def __missing__(self, config: str) -> radiome.preprocess.Processed:
            self[config] = process(volume, mask, _spec(config), margin=None)
            return self[config]

    return _ByConfig()


def _stages(ct_phantom, processed: radiome.preprocess.Processed) -> dict[str, _Stage]:
    """The three stages of the diagnostics tables."""
    volume, mask = ct_phantom
    roi = np.asarray(mask.array, dtype=bool)
    return {
        "init": _Stage(np.asarray(volume.array, dtype=np.float64), volume.grid.spacing,
                       {"int": roi, "morph": roi}),
        "interp": _Stage(processed.image, processed.spacing,
                         {"int": processed.morph_mask, "morph": processed.morph_mask}),
        "reseg": _Stage(processed.image, processed.spacing,
                        {"int": processed.int_mask, "morph": processed.morph_mask}),
    }


def _extent(mask: np.ndarray, axis: int) -> int:
    """Voxels spanned by the mask's bounding box along an axis."""
    present = np.flatnonzero(mask.any(axis=tuple(a for a in range(3) if a != axis)))
    return int(present[-1] - present[0] + 1)


def _diagnostic(tag: str, stages: dict[str, _Stage]) -> float:
    """The quantity a diagnostics ``feature_tag`` names, e.g. ``int_mask_bb_dim_x_reseg_roi``."""
    *words, stage_name, scope = tag.split("_")
    stage = stages[stage_name]
    values = stage.image
    if scope == "roi":
        which, _ = words.pop(0), words.pop(0)  # "int"/"morph", "mask"
        mask = stage.masks[which]
        values = stage.image[mask]
    quantity = "_".join(words)
    if quantity in ("img_dim_x", "img_dim_y", "img_dim_z", "dim_x", "dim_y", "dim_z"):
        return stage.image.shape[_AXIS[quantity[-1]]]
    if quantity in ("vox_dim_x", "vox_dim_y", "vox_dim_z"):
        return stage.spacing[_AXIS[quantity[-1]]]
    if quantity in ("bb_dim_x", "bb_dim_y", "bb_dim_z") and scope == "roi":
        return _extent(mask, _AXIS[quantity[-1]])
    if quantity == "vox_count" and scope == "roi":
        return int(np.count_nonzero(mask))
    if quantity in _STATISTIC:
        return float(_STATISTIC[quantity](values))
    pytest.fail(f"{tag}: a diagnostic this test does not know how to compute")


def _allowed(value: str, tolerance: str) -> float:
    """The table's tolerance, or half a unit of the last printed digit where it is 0."""
    if float(tolerance) > 0:
        return float(tolerance)
    decimals = len(value.split(".")[1]) if "." in value else 0
    return 0.5 * 10.0**-decimals


@pytest.mark.reference_rows(
    "ibsi1/reference_values/ibsi1_ct_config_*_diagnostics.csv", id="{config}-{feature_tag}"
)
def test_diagnostic_value_after_each_step(row, ct_phantom, whole_grid):
    stages = _stages(ct_phantom, whole_grid[row["config"]])
    got = _diagnostic(row["feature_tag"], stages)
    allowed = _allowed(row["value"], row["tolerance"])
    assert abs(got - float(row["value"])) <= allowed * (1 + 1e-9), (
        f"{row['stage']}, {row['feature']}: got {got!r}, reference {row['value']} ± {allowed:g}"
    )


@pytest.mark.parametrize("spec_path", sorted(SPECS.glob("config_*.yaml")), ids=lambda p: p.stem)
def test_cropped_processing_keeps_the_whole_grid_roi(spec_path, ct_phantom, whole_grid):
    """Processing a crop around the ROI (as extraction does) gives the whole grid's ROI.

    Same masks and intensities on the ROI's box, so the diagnostics above hold for extraction.
    """
    config = spec_path.stem.removeprefix("config_")
    volume, mask = ct_phantom
    whole = whole_grid[config]
    crop = process(volume, mask, radiome.load_spec(spec_path))
    whole, crop = whole.cropped(whole.roi_box()), crop.cropped(crop.roi_box())
    assert crop.grid == whole.grid
    np.testing.assert_array_equal(crop.morph_mask, whole.morph_mask)
    np.testing.assert_array_equal(crop.int_mask, whole.int_mask)
    np.testing.assert_array_equal(crop.image[crop.int_mask], whole.image[whole.int_mask])
