"""required_margin_voxels: a crop with that margin gives the whole-image response in the box."""

from __future__ import annotations

import numpy as np
import pytest

from radiome.filters import (
    GaborSpec,
    LawsSpec,
    LoGSpec,
    MeanSpec,
    RieszSpec,
    SimoncelliSpec,
    WaveletSpec,
    apply_filter,
    canonical_name,
    required_margin_voxels,
)

_SPACING = (2.5, 0.7, 0.7)
_BOX = (slice(9, 13), slice(30, 36), slice(28, 35))  # the "ROI box", well inside the image

_CROPPABLE = [
    MeanSpec(support=5),
    MeanSpec(support=7, dimensions="2d", boundary="zero"),
    LoGSpec(sigma_mm=1.5),
    LoGSpec(sigma_mm=2.0, dimensions="2d", boundary="nearest"),
    LawsSpec(kernel="L5E5E5", energy_delta=3, rotation_invariance=True),
    LawsSpec(kernel="E3S5", dimensions="2d", boundary="zero"),
    GaborSpec(sigma_mm=1.5, wavelength_mm=2.0, gamma=1.5, rotation_invariance=True,
              orientation_step_deg=45.0),
    GaborSpec(sigma_mm=1.0, wavelength_mm=2.0, gamma=0.5, theta_deg=30.0, dimensions="2d"),
    WaveletSpec(wavelet="db3", bands="HHH", level=2, rotation_invariance=True),
    WaveletSpec(wavelet="coif1", bands="LH", dimensions="2d", boundary="nearest"),
]


@pytest.mark.parametrize("spec", _CROPPABLE, ids=canonical_name)
def test_response_in_the_box_does_not_depend_on_the_crop(spec: object) -> None:
    image = np.random.default_rng(7).normal(size=(22, 66, 64))
    margin = required_margin_voxels(spec, _SPACING)
    assert margin is not None
    crop = tuple(slice(box.start - m, box.stop + m) for box, m in zip(_BOX, margin, strict=True))
    assert all(c.start >= 0 and c.stop <= n for c, n in zip(crop, image.shape, strict=True))
    whole = apply_filter(image, _SPACING, spec)[_BOX]
    inner = tuple(slice(m, m + box.stop - box.start) for box, m in zip(_BOX, margin, strict=True))
    cropped = apply_filter(image[crop], _SPACING, spec)[inner]
    np.testing.assert_allclose(cropped, whole, rtol=1e-10, atol=1e-10)
    if any(margin):  # one voxel less changes the response somewhere in the box
        axis = int(np.argmax(margin))
        short = list(crop)
        short[axis] = slice(crop[axis].start + 1, crop[axis].stop - 1)
        short_inner = list(inner)
        short_inner[axis] = slice(inner[axis].start - 1, inner[axis].stop - 1)
        changed = apply_filter(image[tuple(short)], _SPACING, spec)[tuple(short_inner)]
        assert not np.allclose(changed, whole, rtol=1e-10, atol=1e-10)


def test_margins_of_separable_kernels() -> None:
    assert required_margin_voxels(MeanSpec(support=5), _SPACING) == (2, 2, 2)
    assert required_margin_voxels(MeanSpec(support=5, dimensions="2d"), _SPACING) == (0, 2, 2)
    # 4 sigma: 6 mm = 2.4 -> 2 voxels along z, 8.57 -> 9 voxels in-plane
    assert required_margin_voxels(LoGSpec(sigma_mm=1.5), _SPACING) == (2, 9, 9)
    laws = LawsSpec(kernel="L5E3", dimensions="2d", energy_delta=7)
    assert required_margin_voxels(laws, _SPACING) == (0, 1 + 7, 2 + 7)
    # db3 (6 taps, origin 3): 3 voxels at level 1, 6 more at level 2
    wavelet = WaveletSpec(wavelet="db3", bands="LLH", level=2)
    assert required_margin_voxels(wavelet, _SPACING) == (9, 9, 9)


@pytest.mark.parametrize("spec", [
    MeanSpec(support=5, boundary="periodic"),
    SimoncelliSpec(level=1),
    RieszSpec(order=(1, 0, 0), base=LoGSpec(sigma_mm=1.5)),
    WaveletSpec(wavelet="haar", bands="LLH", decimated=True),
], ids=canonical_name)
def test_no_margin_where_the_whole_image_matters(spec: object) -> None:
    assert required_margin_voxels(spec, _SPACING) is None


def test_margin_refuses_what_is_not_a_filter() -> None:
    with pytest.raises(TypeError, match="filter spec"):
        required_margin_voxels("log", _SPACING)
