"""Filter banks: several filters at once give the responses of one filter at a time."""

from __future__ import annotations

import numpy as np
import pytest

from radiome.filters import (
    LoGSpec,
    MeanSpec,
    WaveletSpec,
    apply_filter,
    apply_filters,
    required_margin_voxels,
)


@pytest.fixture
def image() -> np.ndarray:
    return np.random.default_rng(3).normal(size=(9, 31, 26)) * 100.0


SPACING = (3.0, 0.8, 0.7)


@pytest.mark.parametrize(("dimensions", "boundary"),
                         [("3d", "mirror"), ("3d", "zero"), ("2d", "nearest"), ("3d", "periodic")])
def test_log_bank_equals_single_filters(image, dimensions, boundary):
    specs = [LoGSpec(sigma_mm=s, dimensions=dimensions, boundary=boundary) for s in (0.8, 1.5, 3)]
    for spec, response in zip(specs, apply_filters(image, SPACING, specs), strict=True):
        single = apply_filter(image, SPACING, spec)
        assert np.abs(response - single).max() <= 1e-12 * np.abs(single).max()


def test_wavelet_bank_is_bit_identical(image):
    bands = ["LLL", "LLH", "LHL", "LHH", "HLL", "HLH", "HHL", "HHH"]
    specs = [WaveletSpec(wavelet="coif1", bands=b) for b in bands]
    for spec, response in zip(specs, apply_filters(image, SPACING, specs), strict=True):
        assert np.array_equal(response, apply_filter(image, SPACING, spec))


def test_mixed_bank_keeps_the_order(image):
    specs = [MeanSpec(support=3), WaveletSpec(wavelet="haar", bands="HL", dimensions="2d"),
             LoGSpec(sigma_mm=2.0), WaveletSpec(wavelet="haar", bands="LH", dimensions="2d"),
             LoGSpec(sigma_mm=1.0)]
    responses = apply_filters(image, SPACING, specs)
    for spec, response in zip(specs, responses, strict=True):
        single = apply_filter(image, SPACING, spec)
        assert np.allclose(response, single, rtol=0, atol=1e-12 * np.abs(single).max())


@pytest.mark.parametrize("cut", [(False, False), (True, False), (False, True)])
def test_filters_of_a_crop_with_edges_equal_the_whole_image_in_the_box(cut):
    """A crop that keeps the widest margin where it cuts the image, and reaches the image's
    edge elsewhere, gives the whole image's responses inside its box: LoG banks without
    padding the cuts, narrower filters on the part of the crop they need."""
    image = np.random.default_rng(5).normal(size=(16, 70, 60)) * 100.0
    specs = [LoGSpec(sigma_mm=s) for s in (1.0, 2.0, 3.0)] + [
        WaveletSpec(wavelet="coif1", bands=b) for b in ("LLH", "HHH")] + [MeanSpec(support=3)]
    margin = np.max([required_margin_voxels(s, SPACING) for s in specs], axis=0)
    crop, edges, box = [], [], []
    for axis, (n, m) in enumerate(zip(image.shape, margin, strict=True)):
        at_start, at_end = cut if axis > 0 else (False, False)
        # Boxes closer to an image edge than the kernel radius where the crop reaches it.
        b = slice(3, 15) if at_start else slice(n - 15, n - 3) if at_end else slice(m + 1, m + 5)
        box.append(b)
        crop.append(slice(0 if at_start else b.start - m, image.shape[axis] if at_end
                          else b.stop + m))
        edges.append((at_start, at_end))
    assert all(0 <= c.start and c.stop <= n for c, n in zip(crop, image.shape, strict=True))
    inner = tuple(slice(b.start - c.start, b.stop - c.start) for b, c in zip(box, crop, strict=True))
    whole = apply_filters(image, SPACING, specs)
    cropped = apply_filters(image[tuple(crop)], SPACING, specs, edges=edges)
    only_box = apply_filters(image[tuple(crop)], SPACING, specs, edges=edges, region=inner)
    for full, part, boxed in zip(whole, cropped, only_box, strict=True):
        np.testing.assert_allclose(part[inner], full[tuple(box)], rtol=0,
                                   atol=1e-12 * np.abs(full).max())
        assert boxed.shape == full[tuple(box)].shape
        np.testing.assert_array_equal(boxed, part[inner])  # the same passes, fewer positions
