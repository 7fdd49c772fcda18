"""Agreement between repeated measurements: ICC (six Shrout–Fleiss forms), Lin's CCC, Bland–Altman.

Symbols (Shrout & Fleiss 1979): ``n`` subjects (targets) each rated by the same ``k`` raters
(judges, timepoints, perturbations); ``x_ij`` the rating of subject i by rater j. From the
two-way ANOVA without replication:

- ``MSR`` (BMS) between subjects, ``k Σ_i (x̄_i. - x̄)² / (n - 1)``;
- ``MSC`` (JMS) between raters, ``n Σ_j (x̄_.j - x̄)² / (k - 1)``;
- ``MSE`` (EMS) residual, ``SSE / ((n - 1)(k - 1))`` with ``SSE = SST - SSR - SSC``;
- ``MSW`` (WMS) within subjects (one-way ANOVA), ``(SSC + SSE) / (n (k - 1))``.
"""

from __future__ import annotations

import warnings
from typing import Literal, NamedTuple, TypedDict

import numpy as np
import pandas as pd
from scipy import stats

from radiome.errors import ReliabilityError, ReliabilityWarning

__all__ = [
    "ICC_COLUMNS",
    "ICC_FORMS",
    "BlandAltman",
    "Concordance",
    "MeanSquares",
    "bland_altman",
    "ccc",
    "icc",
    "icc_form",
    "icc_matrix",
    "mean_squares",
]

ICC_FORMS = ("ICC1", "ICC2", "ICC3", "ICC1k", "ICC2k", "ICC3k")

# form -> (McGraw & Wong 1996 name, model, type of agreement, unit)
_DESCRIPTIONS = {
    "ICC1": ("ICC(1)", "one-way random", "absolute agreement", "single rater"),
    "ICC2": ("ICC(A,1)", "two-way random", "absolute agreement", "single rater"),
    "ICC3": ("ICC(C,1)", "two-way mixed", "consistency", "single rater"),
    "ICC1k": ("ICC(k)", "one-way random", "absolute agreement", "mean of k raters"),
    "ICC2k": ("ICC(A,k)", "two-way random", "absolute agreement", "mean of k raters"),
    "ICC3k": ("ICC(C,k)", "two-way mixed", "consistency", "mean of k raters"),
}

ICC_COLUMNS = (
    "form",
    "mcgraw_wong",
    "model",
    "agreement",
    "unit",
    "icc",
    "f",
    "df1",
    "df2",
    "p_value",
    "ci_low",
    "ci_high",
    "n_subjects",
    "n_raters",
)


class MeanSquares(NamedTuple):
    """Mean squares of the two-way ANOVA without replication (module docstring)."""

    msr: float
    msc: float
    mse: float
    msw: float
    n: int
    k: int


def icc(
    data: pd.DataFrame,
    *,
    subject: str,
    rater: str,
    value: str,
    missing: Literal["raise", "drop"] = "raise",
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Intraclass correlation coefficients of a long table of ratings, in all six forms.

    Parameters
    ----------
    data : DataFrame
        One row per rating.
    subject, rater, value : str
        Columns naming the subject (target), the rater (judge, timepoint, ...) and the rating.
    missing : {"raise", "drop"}, default "raise"
        What to do with subjects lacking a rating from some rater (or whose rating is NaN):
        raise an :class:`~radiome.errors.ReliabilityError` naming them, or drop them (listwise
        deletion; ``n_subjects`` tells how many remain).
    confidence : float, default 0.95
        Level of the confidence intervals.

    Returns
    -------
    DataFrame
        One row per form, in the order ``ICC1, ICC2, ICC3, ICC1k, ICC2k, ICC3k``, with columns
        ``form`` (Shrout–Fleiss), ``mcgraw_wong`` (``ICC(1)``, ``ICC(A,1)``, ``ICC(C,1)``,
        ``ICC(k)``, ``ICC(A,k)``, ``ICC(C,k)``), ``model`` (one-way random, two-way random,
        two-way mixed), ``agreement`` (absolute agreement or consistency), ``unit`` (single
        rater or mean of k raters), ``icc``, the F-test of ICC = 0 (``f``, ``df1``, ``df2``,
        ``p_value``), the confidence interval (``ci_low``, ``ci_high``), ``n_subjects`` and
        ``n_raters``.

    Raises
    ------
    ReliabilityError
        Missing columns, duplicated (subject, rater) pairs, non-numeric or missing ratings
        (with ``missing="raise"``), fewer than 2 subjects or 2 raters.

    Notes
    -----
    ``ICC1 = (MSR - MSW) / (MSR + (k-1) MSW)``;
    ``ICC2 = (MSR - MSE) / (MSR + (k-1) MSE + k (MSC - MSE) / n)``;
    ``ICC3 = (MSR - MSE) / (MSR + (k-1) MSE)``; ``ICC1k = (MSR - MSW) / MSR``;
    ``ICC2k = (MSR - MSE) / (MSR + (MSC - MSE) / n)``; ``ICC3k = (MSR - MSE) / MSR``.
    F-tests: ``MSR/MSW`` on (n-1, n(k-1)) degrees of freedom for the one-way forms, ``MSR/MSE``
    on (n-1, (n-1)(k-1)) for the two-way forms. Confidence intervals are the exact F-based ones
    for ICC1, ICC3 (and their k forms) and Satterthwaite's approximation for ICC2 and ICC2k
    (McGraw & Wong 1996, Table 7), as in R's ``psych::ICC`` and pingouin.

    References
    ----------
    Shrout PE, Fleiss JL. Intraclass correlations: uses in assessing rater reliability.
    Psychol Bull 1979;86:420-8. McGraw KO, Wong SP. Forming inferences about some intraclass
    correlation coefficients. Psychol Methods 1996;1:30-46.
    """
    matrix = _ratings_matrix(data, subject=subject, rater=rater, value=value, missing=missing)
    return icc_matrix(matrix, confidence=confidence)


def icc_matrix(ratings: np.ndarray, *, confidence: float = 0.95) -> pd.DataFrame:
    """The six ICC forms of a complete (n subjects, k raters) matrix; see :func:`icc`."""
    y = _check_matrix(ratings, confidence)
    ms = mean_squares(y)
    rows = [_icc_form(form, ms, confidence) for form in ICC_FORMS]
    if all(np.isnan(row["icc"]) for row in rows):
        msg = f"ICC: all {y.size} ratings are equal, so every ICC form is undefined (NaN)"
        warnings.warn(msg, ReliabilityWarning, stacklevel=2)
    return pd.DataFrame(rows, columns=list(ICC_COLUMNS))


def icc_form(ratings: np.ndarray, form: str, *, confidence: float = 0.95) -> dict:
    """One ICC form of a complete (n, k) matrix as a dict of the :func:`icc` table's columns."""
    y = _check_matrix(ratings, confidence)
    if form not in ICC_FORMS:
        msg = f"ICC: form must be one of {list(ICC_FORMS)}, got {form!r}"
        raise ReliabilityError(msg)
    return _icc_form(form, mean_squares(y), confidence)


def _check_matrix(ratings: np.ndarray, confidence: float) -> np.ndarray:
    """The ratings as a float (n >= 2, k >= 2) finite matrix (ReliabilityError otherwise)."""
    y = np.asarray(ratings, dtype=float)
    if y.ndim != 2 or y.shape[0] < 2 or y.shape[1] < 2:
        msg = f"ICC: ratings must be an (n subjects >= 2, k raters >= 2) matrix, got {y.shape}"
        raise ReliabilityError(msg)
    if not np.isfinite(y).all():
        msg = "ICC: ratings matrix has NaN or infinite values; drop incomplete subjects first"
        raise ReliabilityError(msg)
    if not 0 < confidence < 1:
        msg = f"ICC: confidence must be in (0, 1), got {confidence!r}"
        raise ReliabilityError(msg)
    return y


def mean_squares(y: np.ndarray) -> MeanSquares:
    """ANOVA mean squares of a complete (n, k) ratings matrix."""
    n, k = y.shape
    grand = y.mean()
    ss_rows = k * np.sum((y.mean(axis=1) - grand) ** 2)
    ss_cols = n * np.sum((y.mean(axis=0) - grand) ** 2)
    ss_total = np.sum((y - grand) ** 2)
    ss_error = max(ss_total - ss_rows - ss_cols, 0.0)
    return MeanSquares(
        msr=float(ss_rows / (n - 1)),
        msc=float(ss_cols / (k - 1)),
        mse=float(ss_error / ((n - 1) * (k - 1))),
        msw=float((ss_cols + ss_error) / (n * (k - 1))),
        n=n,
        k=k,
    )


def _icc_form(form: str, ms: MeanSquares, confidence: float) -> dict:
    """One row of the ICC table: estimate, F-test and confidence interval of ``form``."""
    msr, msc, mse, msw, n, k = ms
    q = 1 - (1 - confidence) / 2
    error = msw if form in ("ICC1", "ICC1k") else mse
    df1, df2 = n - 1, (n * (k - 1) if form in ("ICC1", "ICC1k") else (n - 1) * (k - 1))
    f = _ratio(msr, error)
    if form in ("ICC2", "ICC2k"):
        icc2 = _ratio(msr - mse, msr + (k - 1) * mse + k * (msc - mse) / n)
        low, high = _icc2_interval(ms, icc2, q)
        value = icc2 if form == "ICC2" else _ratio(msr - mse, msr + (msc - mse) / n)
        if form == "ICC2k":
            low, high = _spearman_brown(low, k), _spearman_brown(high, k)
    else:
        f_low = f / stats.f.ppf(q, df1, df2)
        f_high = f * stats.f.ppf(q, df2, df1)
        m = 1 if form.endswith("k") else k
        value = _ratio(msr - error, msr + (m - 1) * error)
        low, high = _icc_from_f(f_low, m), _icc_from_f(f_high, m)
    mcgraw_wong, model, agreement, unit = _DESCRIPTIONS[form]
    return {
        "form": form,
        "mcgraw_wong": mcgraw_wong,
        "model": model,
        "agreement": agreement,
        "unit": unit,
        "icc": value,
        "f": f,
        "df1": float(df1),
        "df2": float(df2),
        "p_value": float(stats.f.sf(f, df1, df2)),
        "ci_low": low,
        "ci_high": high,
        "n_subjects": n,
        "n_raters": k,
    }


def _icc_from_f(f: float, m: int) -> float:
    """ICC bound (F - 1) / (F + m - 1) for an F bound; m = k (single) or 1 (mean of k)."""
    return 1.0 if np.isposinf(f) else _ratio(f - 1, f + m - 1)


def _icc2_interval(ms: MeanSquares, icc2: float, q: float) -> tuple[float, float]:
    """Satterthwaite confidence interval of ICC(A,1) (McGraw & Wong 1996, Table 7, case 2A)."""
    msr, msc, mse, _, n, k = ms
    if icc2 >= 1:
        return 1.0, 1.0
    a = k * icc2 / (n * (1 - icc2))
    b = 1 + k * icc2 * (n - 1) / (n * (1 - icc2))
    v = _ratio(
        (a * msc + b * mse) ** 2, (a * msc) ** 2 / (k - 1) + (b * mse) ** 2 / ((n - 1) * (k - 1))
    )
    f_star = stats.f.ppf(q, n - 1, v)
    f_star_inv = stats.f.ppf(q, v, n - 1)
    c = k * msc + (k * n - k - n) * mse
    low = _ratio(n * (msr - f_star * mse), f_star * c + n * msr)
    high = _ratio(n * (f_star_inv * msr - mse), c + n * f_star_inv * msr)
    return low, high


def _spearman_brown(r: float, k: int) -> float:
    """Reliability of the mean of k ratings from that of one (Spearman–Brown)."""
    return _ratio(k * r, 1 + (k - 1) * r)


def _ratio(num: float, den: float) -> float:
    """num / den as a float: NaN for 0/0 (undefined), ±inf for x/0."""
    if den == 0:
        return float("nan") if num == 0 or np.isnan(num) else float(np.copysign(np.inf, num))
    return float(num / den)


def _ratings_matrix(
    data: pd.DataFrame, *, subject: str, rater: str, value: str, missing: str
) -> np.ndarray:
    """Subjects x raters matrix of a long table (checked; incomplete subjects per policy)."""
    absent = [c for c in (subject, rater, value) if c not in data.columns]
    if absent:
        msg = f"ICC: missing column(s) {absent}; the table has {list(data.columns)}"
        raise ReliabilityError(msg)
    if missing not in ("raise", "drop"):
        msg = f"ICC: missing must be 'raise' or 'drop', got {missing!r}"
        raise ReliabilityError(msg)
    try:
        values = pd.to_numeric(data[value])
    except (TypeError, ValueError) as exc:
        msg = f"ICC: column {value!r} must hold numbers: {exc}"
        raise ReliabilityError(msg) from exc
    frame = pd.DataFrame({"s": data[subject], "r": data[rater], "v": values})
    dup = frame.duplicated(["s", "r"])
    if dup.any():
        s, r = frame.loc[dup, "s"].tolist()[0], frame.loc[dup, "r"].tolist()[0]
        msg = (
            f"ICC: {int(dup.sum())} duplicated ({subject}, {rater}) pair(s), e.g. ({s!r}, {r!r}); "
            "each subject needs one rating per rater"
        )
        raise ReliabilityError(msg)
    wide = frame.pivot(index="s", columns="r", values="v")
    wide = wide.replace([np.inf, -np.inf], np.nan)
    incomplete = wide.index[wide.isna().any(axis=1)]
    if len(incomplete) and missing == "raise":
        msg = (
            f"ICC: {len(incomplete)} {subject}(s) lack a finite {value!r} from some {rater} "
            f"(e.g. {list(incomplete[:3])}); pass missing='drop' to leave them out"
        )
        raise ReliabilityError(msg)
    wide = wide.drop(index=incomplete)
    if wide.shape[0] < 2 or wide.shape[1] < 2:
        msg = (
            f"ICC: need >= 2 complete {subject}s and >= 2 {rater}s, got {wide.shape[0]} and "
            f"{wide.shape[1]}"
        )
        raise ReliabilityError(msg)
    return wide.to_numpy(dtype=float)


class Concordance(TypedDict):
    """Lin's concordance correlation coefficient with its confidence interval."""

    ccc: float
    ci_low: float
    ci_high: float
    pearson_r: float
    bias_correction: float
    n: int


def ccc(x: np.ndarray, y: np.ndarray, *, confidence: float = 0.95) -> Concordance:
    """Lin's concordance correlation coefficient of two paired measurements, with its CI.

    Parameters
    ----------
    x, y : (n,) float array-like
        Paired measurements (e.g. test and retest of one feature), n >= 3, finite.
    confidence : float, default 0.95
        Level of the confidence interval.

    Returns
    -------
    dict
        ``ccc`` = 2 s_xy / (s_x² + s_y² + (x̄ - ȳ)²) with moments over n (Lin 1989);
        ``ci_low``, ``ci_high`` from the asymptotic normality of Fisher's z = atanh(ccc);
        ``pearson_r`` (precision); ``bias_correction`` C_b = ccc / r (accuracy); ``n``.

    Notes
    -----
    The variance of z is Lin's (1989, corrected 2000):
    ``[(1-r²) ρc² / ((1-ρc²) r²) + 2 ρc³ (1-ρc) u² / (r (1-ρc²)²) - ρc⁴ u⁴ / (2 r² (1-ρc²)²)]
    / (n-2)`` with ``u = (x̄ - ȳ) / sqrt(s_x s_y)`` and r Pearson's correlation.

    References
    ----------
    Lin LI. A concordance correlation coefficient to evaluate reproducibility. Biometrics
    1989;45:255-68; correction Biometrics 2000;56:324-5.
    """
    a, b = np.asarray(x, dtype=float).ravel(), np.asarray(y, dtype=float).ravel()
    if a.shape != b.shape or a.size < 3:
        msg = f"CCC: need two paired samples of the same length >= 3, got {a.size} and {b.size}"
        raise ReliabilityError(msg)
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        msg = "CCC: measurements must be finite (drop unpaired or missing values first)"
        raise ReliabilityError(msg)
    n = a.size
    mx, my = a.mean(), b.mean()
    sx2, sy2 = a.var(), b.var()
    sxy = np.mean((a - mx) * (b - my))
    if sx2 == 0 or sy2 == 0:
        msg = "CCC: a measurement is constant; the concordance correlation is undefined"
        raise ReliabilityError(msg)
    rc = 2 * sxy / (sx2 + sy2 + (mx - my) ** 2)
    r = sxy / np.sqrt(sx2 * sy2)
    u2 = (mx - my) ** 2 / np.sqrt(sx2 * sy2)
    if abs(rc) < 1:
        var_z = (
            (1 - r**2) * rc**2 / ((1 - rc**2) * r**2)
            + 2 * rc**3 * (1 - rc) * u2 / (r * (1 - rc**2) ** 2)
            - rc**4 * u2**2 / (2 * r**2 * (1 - rc**2) ** 2)
        ) / (n - 2)
        half = stats.norm.ppf(1 - (1 - confidence) / 2) * np.sqrt(var_z)
        low, high = np.tanh(np.arctanh(rc) - half), np.tanh(np.arctanh(rc) + half)
    else:
        low = high = rc
    return Concordance(
        ccc=float(rc),
        ci_low=float(low),
        ci_high=float(high),
        pearson_r=float(r),
        bias_correction=float(rc / r),
        n=int(n),
    )


class BlandAltman(TypedDict):
    """Bland–Altman bias and 95 % limits of agreement of two paired measurements."""

    bias: float
    sd: float
    loa_low: float
    loa_high: float
    n: int


def bland_altman(x: np.ndarray, y: np.ndarray) -> BlandAltman:
    """Mean difference (y - x) and 95 % limits of agreement, bias ± 1.96 SD (Bland & Altman 1986).

    ``sd`` is the sample standard deviation (n - 1) of the differences y - x.
    """
    a, b = np.asarray(x, dtype=float).ravel(), np.asarray(y, dtype=float).ravel()
    if a.shape != b.shape or a.size < 2 or not (np.isfinite(a).all() and np.isfinite(b).all()):
        msg = f"Bland-Altman: need two finite paired samples of length >= 2, got {a.size}, {b.size}"
        raise ReliabilityError(msg)
    diff = b - a
    bias, sd = float(diff.mean()), float(diff.std(ddof=1))
    return BlandAltman(
        bias=bias, sd=sd, loa_low=bias - 1.96 * sd, loa_high=bias + 1.96 * sd, n=a.size
    )
