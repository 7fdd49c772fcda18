"""Predictive value: does the biomarker modify the effect of a treatment?

A predictive biomarker shows a treatment x biomarker interaction: the treatment effect differs
between biomarker levels. Tested in a logistic model (binary outcome, statsmodels) or a Cox model
(survival, lifelines, Efron ties):

    outcome ~ treatment + biomarker + treatment:biomarker (+ covariates)

and shown as the treatment effect (odds or hazard ratio) within biomarker strata, in a forest plot
(:func:`radiome.analysis.forest_plot`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from radiome.analysis._outcome import binary_labels, is_survival, split_survival
from radiome.errors import AnalysisError

__all__ = ["predictive_value", "treatment_effect"]

_COLUMNS = ["term", "coef", "se", "ratio", "ratio_ci_low", "ratio_ci_high", "p"]


def _fit(y, X: pd.DataFrame) -> pd.DataFrame:
    """Coefficient table (``_COLUMNS``) of a logistic (binary) or Cox (survival) model."""
    if is_survival(y):
        from lifelines import CoxPHFitter

        event, time = split_survival(y)
        data = X.astype(float).assign(_time=time, _event=event.astype(int)).reset_index(drop=True)
        s = CoxPHFitter().fit(data, "_time", "_event").summary
        table = pd.DataFrame(
            {
                "term": s.index,
                "coef": s["coef"],
                "se": s["se(coef)"],
                "ratio": s["exp(coef)"],
                "ratio_ci_low": s["exp(coef) lower 95%"],
                "ratio_ci_high": s["exp(coef) upper 95%"],
                "p": s["p"],
            }
        )
        return table.reset_index(drop=True)
    import statsmodels.api as sm

    _, y01 = binary_labels(y)
    design = sm.add_constant(X.astype(float).reset_index(drop=True), has_constant="add")
    res = sm.Logit(y01, design).fit(disp=0)
    ci = res.conf_int()
    table = pd.DataFrame(
        {
            "term": res.params.index,
            "coef": res.params,
            "se": res.bse,
            "ratio": np.exp(res.params),
            "ratio_ci_low": np.exp(ci[0]),
            "ratio_ci_high": np.exp(ci[1]),
            "p": res.pvalues,
        }
    )
    return table[table["term"] != "const"].reset_index(drop=True)


def _treated(treatment) -> np.ndarray:
    """Treatment as 0/1 (the larger of two labels is 'treated')."""
    treatment = np.asarray(treatment)
    levels = np.unique(treatment)
    if levels.size != 2:
        msg = f"treatment must have exactly 2 arms, got {levels.tolist()[:5]}"
        raise AnalysisError(msg)
    return (treatment == levels[1]).astype(float)


def treatment_effect(y, treatment, *, covariates: pd.DataFrame | None = None) -> dict[str, float]:
    """Treatment odds ratio (binary) or hazard ratio (survival) with 95 % CI and p.

    Returns ``ratio``, ``ratio_ci_low``, ``ratio_ci_high``, ``coef``, ``se``, ``p``, ``n``.
    """
    X = pd.DataFrame({"treatment": _treated(treatment)})
    if covariates is not None:
        X = pd.concat([X, pd.DataFrame(covariates).reset_index(drop=True)], axis=1)
    row = _fit(y, X).set_index("term").loc["treatment"]
    return {**{k: float(row[k]) for k in _COLUMNS[1:]}, "n": len(X)}


def predictive_value(
    y,
    treatment,
    biomarker,
    *,
    cutoff: float | None = None,
    covariates: pd.DataFrame | None = None,
) -> dict:
    """Treatment x biomarker interaction and the treatment effect within biomarker strata.

    Parameters
    ----------
    y : (n,) binary labels, or structured (event, time) survival array
    treatment : (n,) array-like
        Two arms; the larger label is "treated".
    biomarker : (n,) array-like of float
        Continuous (or 0/1) biomarker, entered as is in the interaction model.
    cutoff : float, optional
        Strata "low" (< cutoff) and "high" (>= cutoff). Default: the median of ``biomarker``.
        When the biomarker is validated in new data, use the cut-off learned on training data.
    covariates : DataFrame, optional
        Adjustment covariates, in every model.

    Returns
    -------
    dict
        ``interaction``: dict with ``coef``, ``se``, ``ratio`` (ratio of odds/hazard ratios per
        biomarker unit), ``ratio_ci_low``, ``ratio_ci_high``, ``p`` (Wald) of the
        ``treatment:biomarker`` term; ``model``: the full coefficient table; ``strata``:
        DataFrame with one row per stratum (``stratum``, ``n``, ``ratio``, CI, ``p``) and the
        overall effect, ready for :func:`~radiome.analysis.forest_plot`; ``cutoff``; ``measure``
        ("odds ratio" or "hazard ratio").
    """
    treated = _treated(treatment)
    marker = np.asarray(biomarker, dtype=np.float64)
    if marker.shape != treated.shape or not np.isfinite(marker).all():
        msg = f"biomarker must be {treated.size} finite values"
        raise AnalysisError(msg)
    X = pd.DataFrame(
        {"treatment": treated, "biomarker": marker, "treatment:biomarker": treated * marker}
    )
    cov = None if covariates is None else pd.DataFrame(covariates).reset_index(drop=True)
    if cov is not None:
        X = pd.concat([X, cov], axis=1)
    model = _fit(y, X)
    term = model.set_index("term").loc["treatment:biomarker"]
    cutoff = float(np.median(marker)) if cutoff is None else float(cutoff)
    high = marker >= cutoff
    rows = []
    for label, mask in (
        ("overall", np.ones_like(high)),
        (f"biomarker < {cutoff:.4g}", ~high),
        (f"biomarker >= {cutoff:.4g}", high),
    ):
        y_sub = y[mask] if is_survival(y) else np.asarray(y)[mask]
        effect = treatment_effect(
            y_sub, treated[mask], covariates=None if cov is None else cov[mask]
        )
        rows.append({"stratum": label, **effect})
    return {
        "interaction": {k: float(term[k]) for k in _COLUMNS[1:]},
        "model": model,
        "strata": pd.DataFrame(rows),
        "cutoff": cutoff,
        "measure": "hazard ratio" if is_survival(y) else "odds ratio",
    }
