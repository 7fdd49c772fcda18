"""Filter banks: several filters at once give the responses of one filter at a time."""

from __future__ import annotations

import numpy as np
import pytest

from radiome.filters import LoGSpec, MeanSpec, WaveletSpec, apply_filter, apply_filters


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
