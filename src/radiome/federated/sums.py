"""Sufficient statistics a site computes on its own rows, and what the server makes of their sums.

Every federated analysis here is exact: a site answers a request with arrays whose **sum over
sites** is all the server needs, so the result equals the same computation on the pooled table
(up to floating-point rounding, or the fixed-point bound of :mod:`radiome.federated.secure` under
secure aggregation). Nothing but these sums leaves a site.

- Moments: per-feature count, sum and missing count; then the sum of squares about the pooled
  mean, so the pooled SD has no cancellation.
- Logistic regression (L2 on the z-scored features, intercept unpenalised): Newton/IRLS from the
  summed gradient and Hessian. Sites work on features centred at the pooled mean and the server
  rescales by the pooled SD, so the first Newton step travels with the spread request.
- Cox proportional hazards with Efron's ties (lifelines' method): at every pooled event time the
  sites' risk-set sums ``sum exp(eta)``, ``sum exp(eta) x``, ``sum exp(eta) x x'`` and the same
  over the events at that time (WebDISCO, Lu et al., JAMIA 2015); the server forms the exact
  partial-likelihood gradient and Hessian.
- AUC from per-class histograms of the predicted probability.
- ComBat (d-ComBat, Chen et al., NeuroImage 2022): the grand mean, covariate effects and pooled
  variance from summed per-site sums; each site then estimates its own location/scale effects
  on its own rows.
- ANOVA F per feature (the default pipeline's top-k filter) from per-class sums.
- Harrell's C-index from per-site counts of events and comparable rows by risk bin.
"""

from __future__ import annotations

import numpy as np

from radiome.analysis._combat_eb import nonparametric_eb, parametric_eb
from radiome.errors import AnalysisError

__all__ = [
    "anova_f",
    "anova_sums",
    "auc_from_histograms",
    "combat_global",
    "combat_harmonise",
    "combat_sums",
    "concordance_from_sums",
    "concordance_sums",
    "cox_derivatives",
    "cox_sums",
    "exact_c_index",
    "logistic_derivatives",
    "logistic_sums",
    "moment_sums",
    "newton_step",
    "pooled_moments",
    "score_histograms",
    "spread_sums",
]

#: Bins of the predicted-probability histograms behind the pooled AUC.
AUC_BINS = 4096
#: Bins of the risk histograms behind the pooled C-index.
C_BINS = 1024


def moment_sums(x: np.ndarray) -> dict[str, np.ndarray]:
    """Per-feature count, sum and missing count of a site's ``(n, p)`` features (NaN = missing)."""
    present = ~np.isnan(x)
    return {"n": present.sum(axis=0).astype(float),
            "sum": np.where(present, x, 0.0).sum(axis=0),
            "missing": (~present).sum(axis=0).astype(float)}


def spread_sums(x: np.ndarray, mean: np.ndarray) -> dict[str, np.ndarray]:
    """Per-feature sum of squares about the pooled ``mean`` (missing values left out)."""
    centred = x - mean
    return {"ss": np.where(np.isnan(centred), 0.0, centred**2).sum(axis=0)}


def pooled_moments(sums: dict[str, np.ndarray], ss: np.ndarray | None = None):
    """Pooled ``(n, mean, sd)`` of each feature from summed moments (sd with ddof=1).

    Parameters
    ----------
    sums : dict
        Summed :func:`moment_sums` of every site.
    ss : (p,) ndarray, optional
        Summed :func:`spread_sums` about the returned mean; without it ``sd`` is NaN.

    Returns
    -------
    n, mean, sd : (p,) ndarray
    """
    n = sums["n"]
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = sums["sum"] / n
        sd = np.sqrt(ss / (n - 1)) if ss is not None else np.full_like(mean, np.nan)
    return n, mean, sd


def logistic_sums(centred: np.ndarray, y: np.ndarray, beta: np.ndarray) -> dict[str, np.ndarray]:
    """Log-likelihood, gradient and Hessian of one site's rows at ``beta`` (centred coordinates).

    Parameters
    ----------
    centred : (n, p) ndarray
        Complete-case features minus the pooled mean.
    y : (n,) ndarray of 0/1
    beta : (p + 1,) ndarray
        Intercept then coefficients of the centred features.

    Returns
    -------
    dict
        ``loglik`` (1,), ``gradient`` (p + 1,) of the log-likelihood, ``hessian`` (p + 1, p + 1)
        of the negative log-likelihood (``X' W X``).
    """
    design = np.hstack([np.ones((centred.shape[0], 1)), centred])
    eta = design @ beta
    prob = sigmoid(eta)
    loglik = np.sum(y * eta - np.logaddexp(0.0, eta))
    weights = prob * (1.0 - prob)
    return {"loglik": np.array([loglik]), "gradient": design.T @ (y - prob),
            "hessian": (design * weights[:, None]).T @ design}


def logistic_derivatives(sums: dict[str, np.ndarray], sd: np.ndarray):
    """Summed logistic ``(loglik, gradient, hessian)`` rescaled to z-scored features (sd ``sd``)."""
    scale = np.concatenate([[1.0], sd])
    return (float(sums["loglik"][0]), sums["gradient"] / scale,
            sums["hessian"] / np.outer(scale, scale))


def newton_step(beta: np.ndarray, gradient: np.ndarray, hessian: np.ndarray, l2: float,
                penalised: np.ndarray) -> np.ndarray:
    """Newton step of the penalised log-likelihood ``l(beta) - l2/2 sum(beta[penalised]^2)``.

    ``gradient`` is that of the log-likelihood and ``hessian`` that of its negative; ``penalised``
    is a boolean mask (False for the intercept). Returns the step to add to ``beta``.
    """
    ridge = l2 * penalised.astype(float)
    return np.linalg.solve(hessian + np.diag(ridge), gradient - ridge * beta)


def cox_sums(centred: np.ndarray, time: np.ndarray, event: np.ndarray, times: np.ndarray,
             beta: np.ndarray) -> dict[str, np.ndarray]:
    """Efron risk-set sums of one site's rows at the pooled event ``times`` (centred coordinates).

    Parameters
    ----------
    centred : (n, p) ndarray
        Complete-case features minus the pooled mean.
    time, event : (n,) ndarray
        Follow-up time and event indicator (1 = event).
    times : (K,) ndarray
        Distinct event times of all sites, sorted.
    beta : (p,) ndarray

    Returns
    -------
    dict
        Per time ``k``: ``risk0`` = sum over ``time >= t_k`` of ``w = exp(x beta)``, ``risk1``
        (K, p) of ``w x``, ``risk2`` (K, p, p) of ``w x x'``; ``tie0``, ``tie1``, ``tie2`` the
        same over the events at ``t_k``; ``deaths`` (K,) their count and ``xsum`` (K, p) their
        ``x``; ``eta_sum`` (1,) the sum of ``x beta`` over events.
    """
    w = np.exp(centred @ beta)
    at_risk = (time[:, None] >= times[None, :]).astype(float)
    tied = ((time[:, None] == times[None, :]) & (event[:, None] > 0)).astype(float)
    outer = centred[:, :, None] * centred[:, None, :]
    sums = {}
    for name, rows in (("risk", at_risk), ("tie", tied)):
        weighted = rows * w[:, None]
        sums[f"{name}0"] = weighted.sum(axis=0)
        sums[f"{name}1"] = weighted.T @ centred
        sums[f"{name}2"] = np.tensordot(weighted.T, outer, axes=1)
    sums["deaths"] = tied.sum(axis=0)
    sums["xsum"] = tied.T @ centred
    sums["eta_sum"] = np.array([np.sum((event > 0) * (centred @ beta))])
    return sums


def cox_derivatives(sums: dict[str, np.ndarray], sd: np.ndarray):
    """Efron partial ``(loglik, gradient, hessian)`` from summed :func:`cox_sums`, z-scored scale.

    The Hessian is that of the negative log partial likelihood. For ``d`` tied events at a time,
    ``phi_l = R - (l/d) E`` for ``l = 0..d-1`` (``R`` risk-set sums, ``E`` tied-event sums):
    ``loglik = sum eta_events - sum_l log phi0_l``, ``gradient = sum x_events - sum_l phi1_l /
    phi0_l``, ``hessian = sum_l phi2_l / phi0_l - phi1_l phi1_l' / phi0_l^2``.
    """
    deaths = np.rint(sums["deaths"]).astype(int)
    p = sd.size
    loglik, gradient = float(sums["eta_sum"][0]), sums["xsum"].sum(axis=0)
    hessian = np.zeros((p, p))
    for k in np.flatnonzero(deaths):
        frac = np.arange(deaths[k]) / deaths[k]
        phi0 = sums["risk0"][k] - frac * sums["tie0"][k]
        phi1 = sums["risk1"][k][None, :] - frac[:, None] * sums["tie1"][k][None, :]
        phi2 = sums["risk2"][k][None] - frac[:, None, None] * sums["tie2"][k][None]
        loglik -= float(np.log(phi0).sum())
        gradient = gradient - (phi1 / phi0[:, None]).sum(axis=0)
        mean1 = phi1 / phi0[:, None]
        hessian += (phi2 / phi0[:, None, None]).sum(axis=0) - mean1.T @ mean1
    return loglik, gradient / sd, hessian / np.outer(sd, sd)


def score_histograms(prob: np.ndarray, y: np.ndarray, bins: int = AUC_BINS) -> np.ndarray:
    """Counts ``(2, bins)`` of predicted probabilities in equal bins of [0, 1], per class 0/1."""
    index = np.minimum((prob * bins).astype(int), bins - 1)
    return np.stack([np.bincount(index[y == c], minlength=bins) for c in (0, 1)]).astype(float)


def auc_from_histograms(hist: np.ndarray) -> float:
    """AUC (Mann-Whitney) of summed :func:`score_histograms`; pairs in one bin count one half.

    The error against the exact AUC is at most half the share of (negative, positive) pairs that
    fall in the same bin.
    """
    neg, pos = hist
    below = np.cumsum(neg) - neg
    total = neg.sum() * pos.sum()
    return float(np.sum(pos * (below + 0.5 * neg)) / total) if total else float("nan")


def combat_sums(x: np.ndarray, z: np.ndarray) -> dict[str, np.ndarray]:
    """A site's ComBat sums over its rows: count, sums, and within-site centred cross-products.

    ``x`` (n, p) features and ``z`` (n, q) numeric covariates, both without missing values.
    Centring at the site's own means is what removes its batch intercept (the one-hot batch
    columns of ComBat's design), so the covariate effects and residual variance follow from the
    sums over sites alone (:func:`combat_global`).
    """
    xc, zc = x - x.mean(axis=0), z - z.mean(axis=0)
    return {"n": np.array([float(x.shape[0])]), "sum": x.sum(axis=0), "zsum": z.sum(axis=0),
            "xx": (xc**2).sum(axis=0), "zz": zc.T @ zc, "zx": zc.T @ xc}


def combat_global(sums: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """ComBat grand mean, pooled residual variance (divided by n) and covariate effects.

    ComBat's least squares on [one-hot site, covariates] by partitioned regression: the
    covariate effects ``B = (sum Zc'Zc)^-1 sum Zc'Xc`` from the within-site centred sums; the
    site intercepts are ``mean_s(X) - mean_s(Z) B``, so the size-weighted grand mean is
    ``(sum X - sum Z B) / n`` and the residual sum of squares ``sum Xc^2 - 2 B'Zc'Xc + B'Zc'Zc B``.

    Raises
    ------
    AnalysisError
        Covariates constant within every site (confounded with site).
    """
    n, zz, zx = sums["n"][0], sums["zz"], sums["zx"]
    if zz.size and np.linalg.matrix_rank(zz) < zz.shape[0]:
        msg = ("federated ComBat: the covariates are confounded with site (constant within "
               "every site, or collinear); drop one")
        raise AnalysisError(msg)
    coef = np.linalg.solve(zz, zx) if zz.size else np.zeros((0, sums["sum"].size))
    grand_mean = (sums["sum"] - sums["zsum"] @ coef) / n
    rss = sums["xx"] - 2 * (coef * zx).sum(axis=0) + (coef * (zz @ coef)).sum(axis=0)
    return grand_mean, np.maximum(rss, 0.0) / n, coef


def combat_harmonise(x: np.ndarray, z: np.ndarray, grand_mean: np.ndarray,
                     var_pooled: np.ndarray, coef: np.ndarray, *,
                     parametric: bool = True) -> np.ndarray:
    """One site's rows harmonised by ComBat with the federated :func:`combat_global` estimates.

    The site's additive and multiplicative effects and their empirical-Bayes shrinkage use only
    its own standardised rows, exactly as :class:`radiome.analysis.ComBat` does per batch, so the
    result equals ComBat on the pooled table with the same covariates.
    """
    sd = np.sqrt(var_pooled)
    varying = var_pooled > 0
    expected = grand_mean + z @ coef
    s = np.divide(x - expected, sd, out=np.zeros_like(x), where=sd > 0)
    sv = s[:, varying]
    g_hat, d_hat = sv.mean(axis=0), sv.var(axis=0, ddof=1)
    d_hat[d_hat == 0] = 1.0
    if varying.sum() == 1:
        g_star, d_star = g_hat, d_hat
    elif parametric:
        g_star, d_star, _ = parametric_eb(sv, g_hat, d_hat)
    else:
        g_star, d_star = nonparametric_eb(sv, g_hat, d_hat)
    s[:, varying] = (sv - g_star) / np.sqrt(d_star)
    return s * sd + expected


def anova_sums(centred: np.ndarray, y: np.ndarray) -> dict[str, np.ndarray]:
    """Per class 0/1 of ``y``: row count, sum and sum of squares of each centred feature."""
    return {"anova": np.stack([np.stack([np.full(centred.shape[1], float((y == c).sum())),
                                         centred[y == c].sum(axis=0),
                                         (centred[y == c] ** 2).sum(axis=0)])
                               for c in (0, 1)])}


def anova_f(anova: np.ndarray) -> np.ndarray:
    """ANOVA F statistic per feature from summed :func:`anova_sums` (``f_classif``'s value).

    ``F = (SS_between / (k - 1)) / (SS_within / (n - k))`` with k = 2 classes; shift-invariant,
    so the centring of the sums does not matter.
    """
    count, total, squares = anova[:, 0], anova[:, 1], anova[:, 2]
    n = count.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        within = (squares - total**2 / count).sum(axis=0)
        between = (total**2 / count).sum(axis=0) - total.sum(axis=0) ** 2 / n
        return between / (within / (n - 2))


def concordance_sums(time: np.ndarray, event: np.ndarray, risk: np.ndarray,
                     times: np.ndarray, bins: int = C_BINS) -> dict[str, np.ndarray]:
    """A site's counts behind the pooled Harrell C-index, on the pooled event ``times``.

    ``events[k, b]``: the site's events at ``times[k]`` whose risk falls in bin b;
    ``partners[k, b]``: its rows comparable to an event at ``times[k]`` (a later time, or
    censored at that time, as ``sksurv.metrics.concordance_index_censored``) in bin b. Risk bins
    are equal bins of ``sigmoid(risk)`` over [0, 1].
    """
    b = np.minimum((sigmoid(risk) * bins).astype(int), bins - 1)
    return _concordance_counts(time, event, b, bins, times)


def exact_c_index(time: np.ndarray, event: np.ndarray, risk: np.ndarray) -> float:
    """Harrell's C-index of one site's ``risk`` (equal risks count one half; NaN without a
    comparable pair): :func:`concordance_sums` with one bin per distinct risk value, which is
    ``sksurv.metrics.concordance_index_censored`` without its 1e-8 tolerance on risk ties."""
    values, b = np.unique(risk, return_inverse=True)
    counts = _concordance_counts(time, event, b, len(values), np.unique(time[event > 0]))
    return concordance_from_sums(**counts)


def _concordance_counts(time: np.ndarray, event: np.ndarray, b: np.ndarray, bins: int,
                        times: np.ndarray) -> dict[str, np.ndarray]:
    """:func:`concordance_sums` of rows whose risks are in the ordered bins ``b``."""
    k = len(times)
    at = np.searchsorted(times, time[event > 0])
    events = np.zeros((k, bins))
    np.add.at(events, (at, b[event > 0]), 1.0)
    limit = np.where(event > 0, np.searchsorted(times, time, side="left"),
                     np.searchsorted(times, time, side="right"))
    counts = np.zeros((k + 1, bins))
    np.add.at(counts, (limit, b), 1.0)
    partners = np.cumsum(counts[::-1], axis=0)[::-1][1:]
    return {"events": events, "partners": partners}


def concordance_from_sums(events: np.ndarray, partners: np.ndarray) -> float:
    """Harrell's C of summed :func:`concordance_sums`; pairs in one risk bin count one half."""
    below = np.cumsum(partners, axis=1) - partners
    comparable = float((events * partners.sum(axis=1, keepdims=True)).sum())
    concordant = float((events * (below + 0.5 * partners)).sum())
    return concordant / comparable if comparable else float("nan")


def exact_auc(y: np.ndarray, score: np.ndarray) -> float:
    """AUC (Mann-Whitney, ties one half) of ``score`` for 0/1 ``y``; NaN with one class."""
    neg, pos = np.sort(score[y == 0]), score[y == 1]
    if not neg.size or not pos.size:
        return float("nan")
    below = np.searchsorted(neg, pos, side="left")
    ties = np.searchsorted(neg, pos, side="right") - below
    return float((below.sum() + 0.5 * ties.sum()) / (neg.size * pos.size))


def sigmoid(eta: np.ndarray) -> np.ndarray:
    """Logistic function, stable for large ``|eta|``."""
    return np.exp(-np.logaddexp(0.0, -eta))
