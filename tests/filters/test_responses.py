"""Each filter on tiny images with hand-computable answers, invariants and independent twins."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import pywt
from scipy import fft as sfft
from scipy import ndimage as ndi

from radiome.errors import GeometryError, IntensityError
from radiome.filters import (
    GaborSpec,
    LawsSpec,
    LoGSpec,
    MeanSpec,
    RieszSpec,
    SimoncelliSpec,
    WaveletSpec,
    apply_filter,
)
from radiome.filters.convolution import fft_filter
from radiome.filters.gabor import gabor_kernel
from radiome.filters.log import log_transfer
from radiome.filters.riesz import riesz_transfer
from radiome.filters.simoncelli import simoncelli_transfer

_ISO = (1.0, 1.0, 1.0)


def _impulse(shape: tuple[int, int, int] = (9, 9, 9)) -> np.ndarray:
    image = np.zeros(shape)
    image[tuple(n // 2 for n in shape)] = 1.0
    return image


# --- mean ---------------------------------------------------------------------------------

@pytest.mark.parametrize("boundary", ["nearest", "periodic", "mirror"])
def test_mean_keeps_a_constant(boundary: str) -> None:
    got = apply_filter(np.full((4, 5, 6), 7.0), _ISO, MeanSpec(support=3, boundary=boundary))
    np.testing.assert_allclose(got, 7.0, rtol=1e-15)


def test_mean_with_zero_padding_counts_the_missing_voxels_as_zero() -> None:
    got = apply_filter(np.ones((4, 5, 6)), _ISO, MeanSpec(support=3, boundary="zero"))
    assert got[0, 0, 0] == pytest.approx(8 / 27)
    assert got[1, 2, 3] == pytest.approx(1.0)
    got_2d = apply_filter(np.ones((4, 5, 6)), _ISO,
                          MeanSpec(support=3, dimensions="2d", boundary="zero"))
    assert got_2d[0, 0, 0] == pytest.approx(4 / 9)


# --- LoG ----------------------------------------------------------------------------------

def test_log_of_an_impulse_is_the_sampled_laplacian_of_a_gaussian() -> None:
    sigma = 1.5
    got = apply_filter(_impulse((25, 25, 25)), _ISO, LoGSpec(sigma_mm=sigma, boundary="zero"))
    z, y, x = np.meshgrid(*[np.arange(25) - 12] * 3, indexing="ij")
    r2 = x**2 + y**2 + z**2
    gauss = np.exp(-r2 / (2 * sigma**2)) / (2 * np.pi * sigma**2) ** 1.5
    continuous = (r2 - 3 * sigma**2) / sigma**4 * gauss
    # scipy normalises the sampled Gaussian to unit sum: close to the continuous kernel.
    np.testing.assert_allclose(got, continuous, rtol=0, atol=2e-3 * np.abs(continuous).max())
    # separable: the sum is 3 x (sum of the 1D second-derivative kernel) x (sum of the
    # 1D Gaussian, 1); scipy's sampled derivative kernel does not sum exactly to 0.
    line = np.zeros(25)
    line[12] = 1.0
    second = ndi.gaussian_filter1d(line, sigma, order=2, mode="constant", truncate=4.0)
    assert got.sum() == pytest.approx(3 * second.sum(), rel=1e-12)


@pytest.mark.parametrize("dimensions", ["2d", "3d"])
def test_log_transfer_is_the_circular_convolution(dimensions: str) -> None:
    image = np.random.default_rng(8).normal(size=(20, 22, 24))
    spacing = (2.0, 0.8, 0.8)
    spec = LoGSpec(sigma_mm=1.5, dimensions=dimensions, boundary="periodic")  # type: ignore[arg-type]
    axes = (1, 2) if dimensions == "2d" else (0, 1, 2)
    shape = [image.shape[a] for a in axes]
    transfer = log_transfer(shape, [1.5 / spacing[a] for a in axes], 4.0)
    by_fft = np.fft.irfftn(np.fft.rfftn(image, axes=axes) * transfer, s=shape, axes=axes)
    np.testing.assert_allclose(apply_filter(image, spacing, spec), by_fft, atol=1e-12)


def test_log_2d_stays_in_its_slice_and_uses_in_plane_spacing() -> None:
    spec = LoGSpec(sigma_mm=2.0, dimensions="2d", boundary="zero")
    got = apply_filter(_impulse((5, 21, 21)), (9.0, 1.0, 1.0), spec)
    assert np.all(got[[0, 1, 3, 4]] == 0.0)
    np.testing.assert_allclose(got[2], got[2].T, atol=1e-15)
    stretched = apply_filter(_impulse((5, 21, 21)), (9.0, 2.0, 1.0), spec)
    assert stretched[2, 10, 12] != pytest.approx(stretched[2, 12, 10])


def test_log_of_an_impulse_is_isotropic_on_an_isotropic_grid() -> None:
    got = apply_filter(_impulse((15, 15, 15)), _ISO, LoGSpec(sigma_mm=2.0, boundary="zero"))
    for turned in (got[::-1], got[:, ::-1], got[..., ::-1], got.transpose(1, 2, 0),
                   got.transpose(2, 0, 1), got.transpose(0, 2, 1)):
        np.testing.assert_allclose(turned, got, rtol=0, atol=1e-15)


# --- Laws ---------------------------------------------------------------------------------

def test_laws_impulse_response_is_the_kernel_product_in_x_y_z_order() -> None:
    got = apply_filter(_impulse(), _ISO, LawsSpec(kernel="E5L5S5", boundary="zero"))
    e5 = np.array([-1, -2, 0, 2, 1]) / math.sqrt(10)
    l5 = np.array([1, 4, 6, 4, 1]) / math.sqrt(70)
    s5 = np.array([-1, 0, 2, 0, -1]) / math.sqrt(6)
    expected = s5[:, None, None] * l5[None, :, None] * e5[None, None, :]  # (z, y, x)
    np.testing.assert_allclose(got[2:7, 2:7, 2:7], expected, atol=1e-15)
    assert np.abs(got).sum() == pytest.approx(np.abs(expected).sum())


def test_laws_rotation_invariant_max_of_an_impulse_is_the_max_over_rotated_kernels() -> None:
    plain = apply_filter(_impulse(), _ISO, LawsSpec(kernel="E5L5S5", boundary="zero"))
    pooled = apply_filter(_impulse(), _ISO, LawsSpec(kernel="E5L5S5", boundary="zero",
                                                     rotation_invariance=True))
    expected = np.max([_rotate_about_centre(plain, k) for k in range(24)], axis=0)
    np.testing.assert_allclose(pooled, expected, atol=1e-15)


def test_laws_energy_is_the_mean_absolute_response_in_the_window() -> None:
    image = np.random.default_rng(3).normal(size=(8, 9, 10))
    plain = apply_filter(image, _ISO, LawsSpec(kernel="L3E3S3", boundary="nearest"))
    energy = apply_filter(image, _ISO, LawsSpec(kernel="L3E3S3", boundary="nearest",
                                                energy_delta=1))
    padded = np.pad(np.abs(plain), 1, mode="edge")
    assert energy[0, 0, 0] == pytest.approx(padded[:3, :3, :3].mean())
    assert energy[4, 4, 4] == pytest.approx(np.abs(plain[3:6, 3:6, 3:6]).mean())


def _rotate_about_centre(cube: np.ndarray, index: int) -> np.ndarray:
    """Rotation number ``index`` (0..23) of a cube, by np.rot90 (an independent twin)."""
    faces = (cube, np.rot90(cube, 1, (0, 2)), np.rot90(cube, 2, (0, 2)),
             np.rot90(cube, 3, (0, 2)), np.rot90(cube, 1, (0, 1)), np.rot90(cube, 3, (0, 1)))
    return np.rot90(faces[index // 4], index % 4, (1, 2))


# --- Gabor --------------------------------------------------------------------------------

def test_gabor_impulse_response_is_the_envelope_modulus() -> None:
    spec = GaborSpec(sigma_mm=2.0, wavelength_mm=3.0, gamma=0.5, theta_deg=30.0,
                     dimensions="2d", boundary="zero")
    got = apply_filter(_impulse((3, 41, 41)), _ISO, spec)
    y, x = np.meshgrid(np.arange(41) - 20, np.arange(41) - 20, indexing="ij")
    u = x * math.cos(math.pi / 6) + y * math.sin(math.pi / 6)
    v = -x * math.sin(math.pi / 6) + y * math.cos(math.pi / 6)
    envelope = np.exp(-(u**2 + 0.25 * v**2) / 8.0)
    inside = (np.abs(x) <= 16) & (np.abs(y) <= 16)  # 4 * sigma / gamma = 16 mm
    np.testing.assert_allclose(got[1][inside], envelope[inside], atol=1e-12)
    assert np.all(got[1][~inside] < 1e-12)
    assert np.all(got[[0, 2]] < 1e-12)


def test_gabor_kernel_is_unnormalised_and_opposite_orientations_are_conjugate() -> None:
    spec = GaborSpec(sigma_mm=3.0, wavelength_mm=4.0, gamma=1.5, theta_deg=0.0)
    kernel = gabor_kernel(spec, 0.4, (1.0, 0.5))
    ry, rx = kernel.shape[0] // 2, kernel.shape[1] // 2
    assert (ry, rx) == (12, 24)
    assert kernel[ry, rx] == 1.0
    np.testing.assert_allclose(gabor_kernel(spec, 0.4 + math.pi, (1.0, 0.5)), np.conj(kernel),
                               atol=1e-12)


def test_gabor_pooling_over_half_turns_equals_the_full_circle() -> None:
    image = np.random.default_rng(4).normal(size=(6, 20, 20))
    common = {"sigma_mm": 1.5, "wavelength_mm": 2.0, "gamma": 1.5, "dimensions": "2d",
              "boundary": "mirror"}
    pooled = apply_filter(image, _ISO, GaborSpec(**common, rotation_invariance=True,
                                                 orientation_step_deg=60.0))
    singles = [apply_filter(image, _ISO, GaborSpec(**common, theta_deg=t))
               for t in range(0, 360, 60)]
    np.testing.assert_allclose(pooled, np.mean(singles, axis=0), rtol=1e-12, atol=1e-12)


def test_gabor_3d_pools_the_three_orthogonal_planes() -> None:
    image = np.random.default_rng(5).normal(size=(10, 11, 12))
    spacing = (2.5, 0.7, 0.9)
    common = {"sigma_mm": 1.5, "wavelength_mm": 2.0, "gamma": 0.8, "theta_deg": 30.0,
              "boundary": "mirror"}
    pooled = apply_filter(image, spacing, GaborSpec(**common))
    axial_spec = GaborSpec(**common, dimensions="2d")
    axial = apply_filter(image, spacing, axial_spec)
    # coronal: planes (z, x), the plane's "y" along z; sagittal: planes (z, y)
    coronal = np.moveaxis(apply_filter(np.moveaxis(image, 1, 0), (0.7, 2.5, 0.9), axial_spec),
                          0, 1)
    sagittal = np.moveaxis(apply_filter(np.moveaxis(image, 2, 0), (0.9, 2.5, 0.7), axial_spec),
                           0, 2)
    np.testing.assert_allclose(pooled, (axial + coronal + sagittal) / 3, atol=1e-12)


# --- wavelets -----------------------------------------------------------------------------

def test_wavelet_impulse_response_is_the_filter_bank_product() -> None:
    got = apply_filter(_impulse(), _ISO,
                       WaveletSpec(wavelet="db2", bands="LHL", boundary="zero"))
    bank = pywt.Wavelet("db2")
    lo, hi = np.array(bank.dec_lo), np.array(bank.dec_hi)
    # convolution with origin at n // 2 = 2: weights m land at index centre + m - 2
    expected = lo[:, None, None] * hi[None, :, None] * lo[None, None, :]
    np.testing.assert_allclose(got[2:6, 2:6, 2:6], expected, atol=1e-15)


def test_a_trous_level_two_spaces_the_taps() -> None:
    spec = WaveletSpec(wavelet="haar", bands="HH", level=2, dimensions="2d", boundary="zero")
    got = apply_filter(_impulse((1, 11, 11)), _ISO, spec)[0]
    lo, hi = np.array(pywt.Wavelet("haar").dec_lo), np.array(pywt.Wavelet("haar").dec_hi)
    # level 1: lo at offsets -1, 0; level 2: hi at offsets -2, 0; combined offsets -3..0
    line = np.zeros(4)
    for i, a in zip((-1, 0), lo, strict=True):
        for j, b in zip((-2, 0), hi, strict=True):
            line[i + j + 3] += a * b
    np.testing.assert_allclose(got[2:6, 2:6], np.outer(line, line), atol=1e-15)
    assert np.abs(got).sum() == pytest.approx(np.abs(np.outer(line, line)).sum())


def test_wavelet_rotation_average_matches_rotated_impulse_responses() -> None:
    plain = apply_filter(_impulse(), _ISO, WaveletSpec(wavelet="db2", bands="LLH",
                                                       boundary="zero"))
    pooled = apply_filter(_impulse(), _ISO, WaveletSpec(wavelet="db2", bands="LLH",
                                                        boundary="zero",
                                                        rotation_invariance=True))
    expected = np.mean([_rotate_about_centre(plain, k) for k in range(24)], axis=0)
    np.testing.assert_allclose(pooled, expected, atol=1e-15)


@pytest.mark.parametrize(("wavelet", "level"), [("haar", 1), ("db2", 1), ("db3", 2),
                                               ("coif1", 2)])
def test_decimated_wavelet_holds_the_pywavelets_dwt_coefficients(wavelet: str,
                                                                 level: int) -> None:
    # With periodic boundaries the undecimated map sampled every 2**level voxels is exactly
    # PyWavelets' decimated transform (periodization mode): an independent check of the
    # filter origin and of the a trous spacing.
    image = np.random.default_rng(6).normal(size=(16, 16, 16))
    common = {"wavelet": wavelet, "bands": "HLH", "level": level, "boundary": "periodic"}
    full = apply_filter(image, _ISO, WaveletSpec(**common))
    held = apply_filter(image, _ISO, WaveletSpec(**common, decimated=True))
    step = 2**level
    sampled = full[::step, ::step, ::step]
    np.testing.assert_array_equal(held, sampled.repeat(step, 0).repeat(step, 1)
                                  .repeat(step, 2))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # pywt: boundary effects at level 2
        bands = pywt.wavedecn(image, wavelet, mode="periodization", level=level)[1]
    np.testing.assert_allclose(sampled, bands["dad"], rtol=0, atol=1e-12)  # z=H, y=L, x=H


# --- Simoncelli ---------------------------------------------------------------------------

@pytest.mark.parametrize("boundary", ["periodic", "mirror", "nearest"])
def test_simoncelli_removes_a_constant(boundary: str) -> None:
    got = apply_filter(np.full((8, 9, 10), 5.0), _ISO,
                       SimoncelliSpec(level=1, boundary=boundary))
    np.testing.assert_allclose(got, 0.0, atol=1e-12)


def test_simoncelli_passes_a_cosine_with_the_gain_of_its_band() -> None:
    n = 64
    x = np.arange(n)
    cosine = np.broadcast_to(np.cos(2 * np.pi * 12 * x / n), (4, 5, n))
    got = apply_filter(cosine, _ISO, SimoncelliSpec(level=1, dimensions="2d",
                                                    boundary="periodic"))
    # On the consensus grid, bin 12 of 64 sits at (2 * 12 + 1) / 63 and -12 at -23 / 63 (in
    # units of pi); bin 0 of the odd y axis at 0.
    gain = np.mean([math.cos(math.pi / 2 * math.log2(2 * r)) for r in (25 / 63, 23 / 63)])
    np.testing.assert_allclose(got, gain * cosine, atol=1e-12)
    transfer = simoncelli_transfer((5, 64), 1)
    assert transfer[0, 12] == pytest.approx(gain)
    assert transfer[0, 0] == 0.0


def _simoncelli_by_definition(image: np.ndarray, level: int, axes: tuple[int, ...],
                              boundary: str) -> np.ndarray:
    """Twin: numpy.pad to next_fast_len(2 n), complex FFT times psi_j, real part, crop.

    The bins of the padded FFT are placed on the image's own consensus grid: signed bin k of
    N is k n / N bins of the image, whose bin b sits at linspace(-1, 1, n) position
    (b + e / 2) / ((n - 1) / 2), e = 1 for an even n (1 = Nyquist).
    """
    modes = {"mirror": "symmetric", "nearest": "edge", "zero": "constant"}
    widths = [(0, 0)] * image.ndim
    if boundary != "periodic":
        for a in axes:
            extra = sfft.next_fast_len(2 * image.shape[a], real=True) - image.shape[a]
            widths[a] = (extra // 2, extra - extra // 2)
    padded = np.pad(image, widths, mode=modes.get(boundary, "wrap"))
    squares = []
    for a in axes:
        n, points = image.shape[a], padded.shape[a]
        image_bins = np.fft.fftfreq(points, 1.0 / points) * n / points
        position = (image_bins + (n % 2 == 0) / 2) / ((n - 1) / 2)
        shape = [1] * image.ndim
        shape[a] = points
        squares.append((position**2).reshape(shape))
    radius = np.sqrt(sum(squares))
    top = 2.0 ** (1 - level)
    inside = (radius >= top / 4) & (radius <= top)
    psi = np.where(inside, np.cos(np.pi / 2 * np.log2(2 * np.where(inside, radius, 1) / top)), 0)
    response = np.fft.ifftn(np.fft.fftn(padded, axes=axes) * psi, axes=axes).real
    return response[tuple(slice(w[0], w[0] + n)
                          for w, n in zip(widths, image.shape, strict=True))]


@pytest.mark.parametrize("boundary", ["mirror", "nearest", "zero", "periodic"])
@pytest.mark.parametrize(("dimensions", "level"), [("3d", 1), ("3d", 2), ("2d", 1), ("2d", 3)])
def test_simoncelli_equals_the_padded_fft_twin(boundary: str, dimensions: str,
                                               level: int) -> None:
    image = np.random.default_rng(7).normal(size=(7, 10, 12))
    axes = (0, 1, 2) if dimensions == "3d" else (1, 2)
    got = apply_filter(image, _ISO, SimoncelliSpec(level=level, dimensions=dimensions,
                                                   boundary=boundary))
    expected = _simoncelli_by_definition(image, level, axes, boundary)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)
    if boundary != "periodic":  # the boundary shows: not the periodic response
        periodic = _simoncelli_by_definition(image, level, axes, "periodic")
        assert np.abs(got - periodic).max() > 1e-3


def test_simoncelli_padding_by_whole_periods_changes_nothing() -> None:
    image = np.random.default_rng(3).normal(size=(6, 9, 10))
    periodic = apply_filter(image, _ISO, SimoncelliSpec(level=1, boundary="periodic"))
    tiled = np.pad(image, [(n, n) for n in image.shape], mode="wrap")
    crop = [slice(n, 2 * n) for n in image.shape]

    def transfer(shape: tuple[int, ...]) -> list[np.ndarray]:
        return [simoncelli_transfer(shape, 1, image.shape)]

    got = next(fft_filter(tiled, (0, 1, 2), transfer, crop))
    np.testing.assert_allclose(got, periodic, rtol=0, atol=1e-12)


def test_simoncelli_3d_of_a_single_slice_is_its_2d_map() -> None:
    image = np.random.default_rng(5).normal(size=(1, 12, 11))
    flat = apply_filter(image, _ISO, SimoncelliSpec(level=1, boundary="periodic"))
    planar = apply_filter(image, _ISO, SimoncelliSpec(level=1, dimensions="2d",
                                                      boundary="periodic"))
    np.testing.assert_allclose(flat, planar, rtol=0, atol=1e-12)
    assert np.abs(flat).max() > 0.1


# --- Riesz --------------------------------------------------------------------------------

def test_first_order_riesz_turns_a_cosine_into_a_sine() -> None:
    n = 32
    x = np.arange(n) * 2.0
    cosine = np.broadcast_to(np.cos(2 * np.pi * 5 * x / (2.0 * n)), (n, n, n)).copy()
    base = SimoncelliSpec(level=1, boundary="periodic")
    band = apply_filter(cosine, (2.0, 2.0, 2.0), base)
    along_x = apply_filter(cosine, (2.0, 2.0, 2.0), RieszSpec(order=(1, 0, 0), base=base))
    along_y = apply_filter(cosine, (2.0, 2.0, 2.0), RieszSpec(order=(0, 1, 0), base=base))
    second = apply_filter(cosine, (2.0, 2.0, 2.0), RieszSpec(order=(2, 0, 0), base=base))
    sine = np.broadcast_to(np.sin(2 * np.pi * 5 * x / (2.0 * n)), (n, n, n))
    gain = band[0, 0, 0]
    np.testing.assert_allclose(along_x, gain * sine, atol=1e-12)
    np.testing.assert_allclose(along_y, 0.0, atol=1e-12)
    np.testing.assert_allclose(second, -band, atol=1e-12)


def test_riesz_components_of_an_order_form_a_tight_frame() -> None:
    shape, spacing = (6, 8, 10), (2.5, 0.7, 0.7)
    orders = [(2, 0, 0), (0, 2, 0), (0, 0, 2), (1, 1, 0), (1, 0, 1), (0, 1, 1)]
    total = sum(np.abs(riesz_transfer(shape, spacing, o)) ** 2 for o in orders)
    expected = np.ones_like(total)
    expected[0, 0, 0] = 0.0
    np.testing.assert_allclose(total, expected, atol=1e-12)
    first = sum(riesz_transfer(shape, spacing, o) ** 2 for o in [(1, 0, 0), (0, 1, 0),
                                                                 (0, 0, 1)])
    np.testing.assert_allclose(first, -expected, atol=1e-12)


# --- validation ---------------------------------------------------------------------------

def test_apply_filter_refuses_bad_inputs_naming_the_filter() -> None:
    spec = MeanSpec(support=3)
    with pytest.raises(GeometryError, match=r"mean_m3: image must be a 3D"):
        apply_filter(np.zeros((4, 4)), _ISO, spec)
    with pytest.raises(GeometryError, match=r"spacing must be three positive"):
        apply_filter(np.zeros((4, 4, 4)), (1.0, 0.0, 1.0), spec)
    image = np.zeros((4, 4, 4))
    image[1, 1, 1] = np.nan
    with pytest.raises(IntensityError, match="NaN"):
        apply_filter(image, _ISO, spec)
    with pytest.raises(TypeError, match="FilterSpec"):
        apply_filter(np.zeros((4, 4, 4)), _ISO, {"kind": "mean", "support": 3})
