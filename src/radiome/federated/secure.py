"""Exact sums under Flower's SecAgg+: a fixed-point encoding split into 16-bit pieces.

SecAgg+ (Bell et al., CCS 2020; Flower's ``SecAggPlusWorkflow`` and ``secaggplus_mod``) clips
every float to ``[-C, C]``, maps it to an integer by ``(v + C) * Q / (2C)`` with stochastic
rounding, masks it and sums modulo ``M = 2^32``; the server then maps the sum back. Floats
therefore come back with an error of about ``2C / Q`` per site. Sums of sufficient statistics
must be exact, so each value ``a`` is first written as the integer ``v = round(a * 2^40)`` and
split into six 16-bit pieces ``v = sum_k c_k 2^(16 k)`` (the five low pieces in ``[0, 2^16)``,
the top one signed). With ``C = 2^16``, ``Q = 2^17`` and weight 1 per site (``max_weight=1``)
every piece maps to the integer ``c_k + C`` exactly, the masked sum is exact modulo ``2^32``
(up to 2^14 sites), and the server recombines the summed pieces with Python integers. The only
error is the encoding's rounding: at most ``n_sites * 2^-41`` in absolute value per summed value
(:func:`quantisation_bound`), for values below ``2^55`` in magnitude.
"""

from __future__ import annotations

import numpy as np

from radiome.errors import AnalysisError

__all__ = ["decode", "encode", "min_survivors", "quantisation_bound", "secagg_parameters"]

PIECE_BITS = 16
PIECES = 6
FRAC_BITS = 40
CLIPPING_RANGE = float(2**PIECE_BITS)
QUANTIZATION_RANGE = 2 ** (PIECE_BITS + 1)
MODULUS_RANGE = 2**32
_LIMIT = 2.0 ** (PIECE_BITS * PIECES - 1 - FRAC_BITS)


def encode(values: np.ndarray, what: str = "values") -> np.ndarray:
    """Pieces ``(6, *shape)`` (integer-valued floats) of the fixed-point encoding of ``values``.

    Raises
    ------
    AnalysisError
        A value is not finite or its magnitude reaches ``2^55`` (named by ``what``).
    """
    values = np.asarray(values, dtype=np.float64)
    if not np.all(np.abs(values) < _LIMIT):
        msg = (f"{what}: a value is not finite or beyond the secure-aggregation encoding range "
               f"(|x| < 2^55), max |x| = {np.nanmax(np.abs(values)):g}")
        raise AnalysisError(msg)
    v = np.rint(np.ldexp(values, FRAC_BITS))
    pieces = []
    for _ in range(PIECES - 1):
        low = np.mod(v, 2.0**PIECE_BITS)
        pieces.append(low)
        v = np.ldexp(v - low, -PIECE_BITS)
    pieces.append(v)
    return np.stack(pieces)


def decode(pieces: np.ndarray, n_sites: int) -> np.ndarray:
    """Sum over sites of encoded values, from SecAgg+'s *average* of the pieces over ``n_sites``.

    SecAgg+ returns the weighted mean; with weight 1 per site the summed pieces are that mean
    times ``n_sites``, integers recovered by rounding and recombined exactly.
    """
    summed = np.rint(np.asarray(pieces) * n_sites).astype(np.int64).astype(object)
    total = sum(summed[k] * (1 << (PIECE_BITS * k)) for k in range(PIECES))
    flat = np.array([float(t) for t in np.ravel(total)]) if np.ndim(total) else np.array(
        float(total))
    return np.ldexp(flat.reshape(np.shape(total)), -FRAC_BITS)


def quantisation_bound(n_sites: int) -> float:
    """Largest absolute error of a value summed over ``n_sites`` through the encoding."""
    return n_sites * 2.0 ** -(FRAC_BITS + 1)


def min_survivors(n_sites: int, secagg: bool = True) -> int:
    """Fewest sites a study of ``n_sites`` may continue with after others drop out.

    Under SecAgg+: its reconstruction threshold ``ceil(2 n / 3)`` of the sites, which unmask a
    round (:func:`secagg_parameters`), and at least 3, since a sum of two sites tells each the
    other's values (so a study of 3 sites stops when one drops out). Without it: every site.
    """
    return max(3, _threshold(n_sites)) if secagg else n_sites


def _threshold(n_sites: int) -> int:
    """SecAgg+'s reconstruction threshold: ``ceil(2 n / 3)`` sites, at least 2."""
    return max(2, -(-2 * n_sites // 3))


def secagg_parameters(n_sites: int, *, timeout: float) -> dict:
    """Keyword arguments of ``SecAggPlusWorkflow`` for ``n_sites`` sites, checked.

    Every site of a round shares its secret with every other (``num_shares = 1.0``: all the
    sites sampled, also after a study continued without a site that dropped out); the secrets
    of a site that drops out during a round can be reconstructed by any ``ceil(2 n / 3)`` sites
    (at least 2). The clipping and quantisation ranges are those of the exact encoding (module
    documentation).

    Raises
    ------
    AnalysisError
        Fewer than 3 sites (SecAgg+ masks nothing with 2: each learns the other's values from
        the sum) or more than the modulus allows.
    """
    if n_sites < 3:
        msg = f"secure aggregation needs at least 3 sites, got {n_sites}; use --no-secagg"
        raise AnalysisError(msg)
    if n_sites * 2 * QUANTIZATION_RANGE > MODULUS_RANGE:
        msg = f"secure aggregation of exact sums supports at most 2^14 sites, got {n_sites}"
        raise AnalysisError(msg)
    return {"num_shares": 1.0, "reconstruction_threshold": _threshold(n_sites),
            "max_weight": 1.0, "clipping_range": CLIPPING_RANGE,
            "quantization_range": QUANTIZATION_RANGE, "modulus_range": MODULUS_RANGE,
            "timeout": timeout}
