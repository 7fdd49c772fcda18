"""Maps of the first-order families: the kernel's grey-level histogram, slid along x, and
the intensity statistics of each kernel.

The histogram of the kernel's grey levels is updated as the kernel slides one voxel along x
(the voxels of the leaving slab subtracted, those of the entering slab added); it gives every
family the kernel's voxel count, its number of distinct grey levels and its highest level
(N_g of fixed-bin-size discretisation), and the intensity histogram features (IBSI ZVCW) from
:func:`radiome.features.histogram` 's own sums. Intensity statistics (IBSI UHIW) sort the
kernel's intensities and use :func:`radiome.features.stats` 's sums, so each map value is the
number :func:`radiome.extract` gives for the kernel.
"""

from __future__ import annotations

import numpy as np

from radiome._kernels import kernel
from radiome.features.histogram import _histogram_sums
from radiome.features.stats import _QUANTILES, _sums

__all__ = ["histogram_maps", "statistics_maps"]

#: Columns of the per-centre counts written by :func:`histogram_maps`.
N_VOXELS, N_DISTINCT, TOP = 0, 1, 2


@kernel()
def _percentiles_of_sorted(x, out):
    """P10, P25, P50, P75, P90 of sorted values, as ``np.percentile`` (linear) computes them."""
    n = x.size
    for q in range(5):
        virtual = (n - 1) * _QUANTILES[q]
        floor = np.floor(virtual)
        gamma = virtual - floor
        previous = min(int(floor), n - 1)
        following = min(previous + 1, n - 1)
        a = x[previous]
        b = x[following]
        diff = b - a
        out[q] = b - diff * (1 - gamma) if gamma >= 0.5 else a + diff * gamma


@kernel()
def _percentiles_of_counts(cumulative, out):
    """P10 ... P90 of the grey levels 1..N_g with cumulative counts ``cumulative``."""
    n = cumulative[cumulative.size - 1]
    for q in range(5):
        virtual = (n - 1) * _QUANTILES[q]
        floor = np.floor(virtual)
        gamma = virtual - floor
        previous = min(int(floor), n - 1)
        following = min(previous + 1, n - 1)
        a = float(np.searchsorted(cumulative, previous, side="right") + 1)
        b = float(np.searchsorted(cumulative, following, side="right") + 1)
        diff = b - a
        out[q] = b - diff * (1 - gamma) if gamma >= 0.5 else a + diff * gamma


@kernel()
def _toggle(u, levels, hist, state, sign):
    """Add (sign 1) or remove (sign -1) voxel ``u`` to the histogram; state: count, distinct."""
    g = levels[u]
    if g == 0:
        return
    hist[g] += sign
    state[0] += sign
    if (sign > 0 and hist[g] == 1) or (sign < 0 and hist[g] == 0):
        state[1] += sign


@kernel()
def _place(centre, levels, row_base, row_lo, row_hi, hist, state, sign):
    """Add or remove every voxel of a centre's kernel."""
    for r in range(row_base.size):
        for dx in range(row_lo[r], row_hi[r] + 1):
            _toggle(centre + row_base[r] + dx, levels, hist, state, sign)


@kernel()
def _intensity_histogram(hist, top, grey, n_levels, counts, percentiles, out):
    """The 23 intensity histogram features (order of ``histogram.FEATURES``) of a kernel."""
    for k in range(n_levels):
        counts[k] = 0
    low = 0
    for g in range(1, top + 1):
        if hist[g] > 0:
            counts[grey[g - 1] - 1] = hist[g]
            if low == 0:
                low = grey[g - 1]
    high = grey[top - 1]
    used = counts[:n_levels]
    _percentiles_of_counts(np.cumsum(used), percentiles)
    p10, p25, median, p75, p90 = (percentiles[0], percentiles[1], percentiles[2],
                                  percentiles[3], percentiles[4])
    (mu, var, m3, m4, mad, medad, entropy, uniformity, rmad, max_grad, max_grad_g, min_grad,
     min_grad_g, mode) = _histogram_sums(used, median, p10, p90)
    out[0] = mu
    out[1] = var
    out[2] = m3 / var**1.5 if var > 0 else 0.0
    out[3] = m4 / var**2 - 3.0 if var > 0 else 0.0
    out[4] = median
    out[5] = low
    out[6] = p10
    out[7] = p90
    out[8] = high
    out[9] = mode
    out[10] = p75 - p25
    out[11] = high - low
    out[12] = mad
    out[13] = rmad
    out[14] = medad
    out[15] = np.sqrt(var) / mu
    out[16] = (p75 - p25) / (p75 + p25)
    out[17] = entropy
    out[18] = uniformity
    out[19] = max_grad
    out[20] = max_grad_g
    out[21] = min_grad
    out[22] = min_grad_g


@kernel("none(i8[::1], i8[::1], i8[::1], i8[::1], i8[::1], i8[::1], i8[::1], i8, i8, i8, b1, "
        "i8[:, ::1], f8[:, ::1])", error_model="numpy")
def histogram_maps(levels, grey, centres, row_starts, row_base, row_lo, row_hi, first_row,
                   last_row, bin_count, with_features, counts_out, features_out):
    """Slide the kernel along the centre rows ``first_row:last_row``: per centre, the kernel's
    voxel count, distinct grey levels and highest compact level (``counts_out``), and with
    ``with_features`` its 23 intensity histogram features (``features_out``, NaN for an empty
    kernel). N_g is ``bin_count`` (fixed bin number) or, when 0, the kernel's highest level."""
    n_grey = grey.size
    hist = np.zeros(n_grey + 1, dtype=np.int64)
    state = np.zeros(2, dtype=np.int64)
    width = 0
    for r in range(row_lo.size):
        width = max(width, row_hi[r] - row_lo[r] + 1)
    counts = np.zeros(max(bin_count, grey[n_grey - 1]) if n_grey else 1, dtype=np.int64)
    percentiles = np.zeros(5)
    for q in range(first_row, last_row):
        current = -1
        for i in range(row_starts[q], row_starts[q + 1]):
            centre = centres[i]
            if current < 0 or centre - current > width:
                if current >= 0:
                    _place(current, levels, row_base, row_lo, row_hi, hist, state, -1)
                _place(centre, levels, row_base, row_lo, row_hi, hist, state, 1)
            else:
                while current < centre:
                    for r in range(row_base.size):
                        _toggle(current + row_base[r] + row_lo[r], levels, hist, state, -1)
                        _toggle(current + 1 + row_base[r] + row_hi[r], levels, hist, state, 1)
                    current += 1
            current = centre
            top = n_grey
            while top > 0 and hist[top] == 0:
                top -= 1
            counts_out[i, N_VOXELS] = state[0]
            counts_out[i, N_DISTINCT] = state[1]
            counts_out[i, TOP] = top
            if not with_features:
                continue
            if top == 0:
                features_out[i, :] = np.nan
                continue
            n_levels = bin_count if bin_count > 0 else grey[top - 1]
            _intensity_histogram(hist, top, grey, n_levels, counts, percentiles,
                                 features_out[i])
        if current >= 0:
            _place(current, levels, row_base, row_lo, row_hi, hist, state, -1)


@kernel("none(f8[::1], i8[::1], i8[::1], i8[::1], i8[::1], i8[::1], i8, i8, i8, f8[:, ::1], "
        "b1[::1])", error_model="numpy")
def statistics_maps(values, levels, centres, row_base, row_lo, row_hi, n_kernel, first,
                    last, out, equal):
    """The 18 intensity statistics (order of ``stats.FEATURES``) of the held voxels of the
    kernels of centres ``first:last`` (NaN for an empty kernel); ``equal`` is 1 where the
    kernel's intensities are all equal (σ = 0)."""
    buffer = np.empty(n_kernel)
    percentiles = np.zeros(5)
    for i in range(first, last):
        centre = centres[i]
        n = 0
        for r in range(row_base.size):
            start = centre + row_base[r]
            for dx in range(row_lo[r], row_hi[r] + 1):
                if levels[start + dx] > 0:
                    buffer[n] = values[start + dx]
                    n += 1
        if n == 0:
            out[i, :] = np.nan
            equal[i] = False
            continue
        x = np.sort(buffer[:n])
        _percentiles_of_sorted(x, percentiles)
        p10, p25, median, p75, p90 = (percentiles[0], percentiles[1], percentiles[2],
                                      percentiles[3], percentiles[4])
        mu, squares, n_robust, central = _sums(x, p10, p90, median)
        m2 = central[0] / n
        m3 = central[1] / n
        m4 = central[2] / n
        out[i, 0] = mu
        out[i, 1] = m2
        out[i, 2] = m3 / m2**1.5 if m2 > 0 else np.nan
        out[i, 3] = m4 / m2**2 - 3.0 if m2 > 0 else np.nan
        out[i, 4] = median
        out[i, 5] = x[0]
        out[i, 6] = p10
        out[i, 7] = p90
        out[i, 8] = x[n - 1]
        out[i, 9] = p75 - p25
        out[i, 10] = x[n - 1] - x[0]
        out[i, 11] = central[3] / n
        out[i, 12] = central[5] / n_robust
        out[i, 13] = central[4] / n
        out[i, 14] = np.sqrt(m2) / mu if mu != 0 else np.nan
        out[i, 15] = (p75 - p25) / (p75 + p25) if p75 + p25 != 0 else np.nan
        out[i, 16] = squares
        out[i, 17] = np.sqrt(squares / n)
        equal[i] = x[0] == x[n - 1]
