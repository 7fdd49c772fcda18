"""Synthetic multi-site feature tables with site effects, for tests and demonstrations."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["FEATURES", "multisite_tables"]

#: Feature columns of :func:`multisite_tables`.
FEATURES = ("volume", "sphericity", "mean_hu", "entropy", "glcm_contrast", "scanner_b")

_TRUE_COEF = np.array([0.9, -0.6, 0.0, 0.7, 0.3, 0.0])  # logit of high grade per SD of each feature
_COX_COEF = np.array([0.6, -0.4, 0.2, 0.5, 0.0, 0.0])


def multisite_tables(seed: int = 0, sizes: tuple[int, ...] = (140, 90, 170), *,
                     missing: float = 0.02) -> dict[str, pd.DataFrame]:
    """Wide feature tables of three (or ``len(sizes)``) hospitals with site effects.

    Each site has its own scanner mix (``scanner_b`` is 1 for the second scanner type), its own
    share of high-grade tumours and additive and multiplicative site effects on every feature, as
    ComBat models them. The outcome ``grade`` (1 = high grade) follows a logistic model of the
    biological (pre-site-effect) features; ``time``/``event`` follow a proportional-hazards model
    with random censoring. ``age`` (older patients at later sites) raises the first three
    features, a biological effect that ComBat with ``age`` as covariate preserves. A few feature
    values are missing.

    Parameters
    ----------
    seed : int
    sizes : tuple of int
        Patients per site; sites are named ``site_a``, ``site_b``, ...
    missing : float
        Share of feature values (of the first four features) set to NaN.

    Returns
    -------
    dict
        Site name -> DataFrame with columns ``case_id, grade, time, event``, :data:`FEATURES`
        and ``age``.
    """
    rng = np.random.default_rng(seed)
    age_rng = np.random.default_rng([seed, 1])
    tables = {}
    for s, n in enumerate(sizes):
        name = f"site_{chr(ord('a') + s)}"
        bio = rng.standard_normal((n, len(FEATURES) - 1))
        scanner = (rng.random(n) < (0.2 + 0.3 * s)).astype(float)
        prevalence_shift = (s - 1) * 0.6
        logit = prevalence_shift + bio @ _TRUE_COEF[:-1]
        grade = (rng.random(n) < 1.0 / (1.0 + np.exp(-logit))).astype(int)
        hazard = 0.05 * np.exp(bio @ _COX_COEF[:-1])
        time = rng.exponential(1.0 / hazard)
        censor = rng.exponential(30.0, n)
        shift = rng.normal(0.0, 0.5, bio.shape[1]) + 0.4 * scanner[:, None]
        scale = np.exp(rng.normal(0.0, 0.2, bio.shape[1]))
        age = np.round(age_rng.normal(55.0 + 6.0 * s, 10.0, n))
        ageing = 0.04 * (age - 60.0)[:, None] * [1.0, 1.0, 1.0, 0.0, 0.0]
        observed = (bio + ageing + shift) * scale
        features = observed * [800.0, 0.1, 40.0, 0.5, 12.0] + [4000.0, 0.7, 30.0, 5.0, 60.0]
        features[:, :4][rng.random((n, 4)) < missing] = np.nan
        table = pd.DataFrame(features, columns=list(FEATURES[:-1]))
        table["scanner_b"] = scanner
        table["age"] = age
        table.insert(0, "case_id", [f"{name}_{i:04d}" for i in range(n)])
        table.insert(1, "grade", grade)
        table.insert(2, "time", np.round(np.minimum(time, censor), 1))
        table.insert(3, "event", (time <= censor).astype(int))
        tables[name] = table
    return tables
