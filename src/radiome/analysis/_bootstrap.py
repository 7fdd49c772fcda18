"""Percentile bootstrap over patients (cluster bootstrap when rows are lesions)."""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np

from radiome.errors import AnalysisWarning

__all__ = ["bootstrap_ci"]


def bootstrap_ci(
    statistic: Callable[[np.ndarray], np.ndarray],
    n: int,
    *,
    groups=None,
    n_boot: int = 1000,
    level: float = 0.95,
    random_state: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """(low, high) percentile bounds of ``statistic(rows)`` over bootstrap resamples.

    ``statistic`` maps an index array (rows of the resample, with repeats) to a 1-D array of
    values. Whole groups (patients) are resampled when ``groups`` is given. Resamples on which
    the statistic is undefined (raises ValueError or returns a non-finite value, e.g. a resample
    with one class) are redrawn; a warning says when more than 5 % had to be.
    """
    rng = np.random.default_rng(random_state)
    if groups is None:
        members = [np.array([i]) for i in range(n)]
    else:
        _, codes = np.unique(np.asarray(groups), return_inverse=True)
        members = [np.flatnonzero(codes == g) for g in range(codes.max() + 1)]
    values, failed = [], 0
    while len(values) < n_boot:
        if failed > 10 * n_boot:
            msg = f"bootstrap: the statistic is undefined on {failed} resamples; too few cases"
            raise ValueError(msg)
        draw = rng.integers(0, len(members), size=len(members))
        rows = np.concatenate([members[g] for g in draw]) if groups is not None else draw
        try:
            value = np.atleast_1d(np.asarray(statistic(rows), dtype=np.float64))
        except ValueError:
            failed += 1
            continue
        if not np.isfinite(value).all():
            failed += 1
            continue
        values.append(value)
    if failed > 0.05 * n_boot:
        warnings.warn(
            f"bootstrap: {failed} of {failed + n_boot} resamples were redrawn (statistic "
            "undefined on them); the interval may be too narrow",
            AnalysisWarning,
            stacklevel=2,
        )
    boot = np.vstack(values)
    alpha = (1 - level) / 2
    return np.quantile(boot, alpha, axis=0), np.quantile(boot, 1 - alpha, axis=0)
