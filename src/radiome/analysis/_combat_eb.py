"""ComBat's empirical-Bayes estimates of one batch's effects (NumPy only).

Shared by :class:`radiome.analysis.ComBat` and the federated ComBat of
:mod:`radiome.federated.sums`, whose sites compute them without loading scikit-learn.
"""

from __future__ import annotations

import numpy as np

from radiome.errors import AnalysisError

__all__ = ["nonparametric_eb", "parametric_eb"]

_CONV = 1e-4  # stopping rule of the parametric EB iteration (sva::ComBat, neuroCombat)
_MAX_ITER = 10_000


def parametric_eb(s: np.ndarray, g_hat: np.ndarray, d_hat: np.ndarray):
    """Parametric EB estimates (gamma*, delta*, iterations) of one batch's standardised data."""
    n = s.shape[0]
    g_bar, t2 = g_hat.mean(), g_hat.var(ddof=1)
    m, v = d_hat.mean(), d_hat.var(ddof=1)
    a, b = (2 * v + m**2) / v, (m * v + m**3) / v
    g_old, d_old = g_hat, d_hat
    for it in range(1, _MAX_ITER + 1):
        g_new = (t2 * n * g_hat + d_old * g_bar) / (t2 * n + d_old)
        d_new = (0.5 * ((s - g_new) ** 2).sum(axis=0) + b) / (n / 2.0 + a - 1.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            change = max(
                np.max(np.abs(g_new - g_old) / g_old), np.max(np.abs(d_new - d_old) / d_old)
            )
        g_old, d_old = g_new, d_new
        if not change > _CONV:
            return g_new, d_new, it
    msg = f"ComBat: empirical-Bayes iteration did not converge in {_MAX_ITER} iterations"
    raise AnalysisError(msg)


def nonparametric_eb(s: np.ndarray, g_hat: np.ndarray, d_hat: np.ndarray):
    """Non-parametric EB estimates (gamma*, delta*) of one batch's standardised data."""
    n = s.shape[0]
    sum_x, sum_x2 = s.sum(axis=0), (s**2).sum(axis=0)
    # sum2[i, j] = sum_k (s_ki - g_j)^2 for feature i under feature j's estimates
    sum2 = sum_x2[:, None] - 2.0 * sum_x[:, None] * g_hat[None, :] + n * g_hat[None, :] ** 2
    loglik = -0.5 * n * np.log(2 * np.pi * d_hat)[None, :] - sum2 / (2 * d_hat[None, :])
    np.fill_diagonal(loglik, -np.inf)
    weights = np.exp(loglik - loglik.max(axis=1, keepdims=True))
    weights /= weights.sum(axis=1, keepdims=True)
    return weights @ g_hat, weights @ d_hat
