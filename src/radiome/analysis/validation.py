"""Leak-free validation: nested, repeated, stratified (grouped) cross-validation of a pipeline.

The outer loop splits the cases K ways, R times (stratified on the outcome or the event; grouped
by patient when rows are lesions). On every outer training fold a clone of the whole
:class:`~radiome.analysis.BiomarkerPipeline` is fitted: its harmoniser, scaler, selectors, model,
its inner-CV choice of hyper-parameters, threshold and risk cut-off. The outer test fold is only
predicted. Out-of-fold predictions of each repeat are pooled; a metric is computed per repeat and
averaged over repeats, and its 95 % interval comes from a bootstrap over patients of that
repeat-averaged metric (sampling uncertainty, not only the spread between repeats).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from joblib import Parallel, delayed
from sklearn.base import clone, is_regressor

from radiome.analysis._bootstrap import bootstrap_ci
from radiome.analysis._outcome import (
    binary_labels,
    continuous_outcome,
    is_survival,
    split_survival,
    survival_array,
)
from radiome.analysis.calibration import calibration_summary
from radiome.analysis.diagnostic import fast_auc
from radiome.analysis.pipeline import _take, outer_splits, r2
from radiome.errors import AnalysisError, AnalysisWarning

__all__ = ["CVResult", "default_times", "nested_cv", "outer_plan"]

#: Fewer cases than this in the smaller class (or events, or censored cases) make
#: :func:`nested_cv` warn that the sample is small.
SMALL_CLASS = 10


@dataclass(frozen=True)
class CVResult:
    """Out-of-fold predictions of a repeated nested cross-validation.

    Attributes
    ----------
    task : {"binary", "survival", "regression"}
    y : (n,) 0/1 int array, structured (event, time) array, or float array (regression)
    risk : (R, n) ndarray
        Out-of-fold probability of the positive class (binary) or risk score (survival).
    predicted : (R, n) bool ndarray
        Positive by the fold's training threshold (binary), or above the fold's training
        median risk (survival: "high-risk group").
    fold : (R, n) int ndarray
        Outer fold of each case in each repeat.
    params : list of list of dict
        Hyper-parameters chosen by the inner CV, per repeat and fold.
    groups : (n,) ndarray or None
        Patient of each row, if rows are lesions.
    times : (T,) ndarray or None
        Survival: evaluation times of ``survival``.
    survival : (R, n, T) ndarray or None
        Survival: out-of-fold predicted event-free probability at ``times``.
    estimators : list of list of BiomarkerPipeline or None
        The pipeline fitted on each outer training fold, per repeat and fold
        (``nested_cv(return_estimator=True)``).
    """

    task: str
    y: np.ndarray
    risk: np.ndarray
    predicted: np.ndarray
    fold: np.ndarray
    params: list
    groups: np.ndarray | None = None
    times: np.ndarray | None = None
    survival: np.ndarray | None = None
    estimators: list | None = None

    def summary(self, *, n_boot: int = 1000, level: float = 0.95, random_state: int = 0) -> dict:
        """Metrics with bootstrap CIs, as a flat dict (JSON-ready).

        Binary: ``auc, auc_ci_low, auc_ci_high`` and ``sensitivity``, ``specificity``, ``ppv``,
        ``npv`` with their ``_ci_low``/``_ci_high`` (each the mean over repeats of the pooled
        out-of-fold value), ``auc_sd_repeats``.
        Binary also: ``calibration_intercept``, ``calibration_slope``, ``brier`` with CIs and
        the decision curve ``net_benefit`` (see :func:`~radiome.analysis.calibration_summary`).
        Regression (a pipeline whose model is a regressor): ``r2`` (1 - SSE/SST of the pooled
        out-of-fold predictions) with CI and ``r2_sd_repeats``.
        Survival: ``c_index`` (Harrell) and ``uno_c`` with CIs, ``td_auc`` (mean
        cumulative/dynamic AUC over ``times``), ``ibs`` (integrated Brier score), and the
        log-rank test of the high/low-risk groups of the first repeat (``logrank_p``).
        Both: ``n``, ``n_repeats``, ``n_splits`` (the outer folds that ran, which can be fewer
        than asked for when a class is small) and ``ci_method``, which says how every interval
        was obtained.
        """
        n_repeats = int(self.risk.shape[0])
        over = "patients" if self.groups is not None else "cases"
        base = {
            "n": int(self.risk.shape[1]),
            "n_repeats": n_repeats,
            "n_splits": int(self.fold.max()) + 1,
            "ci_method": (
                f"{level:.0%} CI: percentile bootstrap over {over} ({n_boot} resamples) of the "
                f"mean over {n_repeats} repeat{'s' if n_repeats > 1 else ''}"
            ),
        }
        if self.task == "survival":
            return {**base, **self._survival_summary(n_boot, level, random_state)}
        if self.task == "regression":
            return {**base, **self._regression_summary(n_boot, level, random_state)}
        return {**base, **self._binary_summary(n_boot, level, random_state)}

    def _regression_summary(self, n_boot: int, level: float, seed: int) -> dict:
        """Regression: R^2 of the pooled out-of-fold predictions, mean over repeats, with CI."""

        def stat(rows: np.ndarray) -> np.ndarray:
            return np.array([np.mean([r2(self.y[rows], risk[rows]) for risk in self.risk])])

        point = stat(np.arange(self.y.size))
        low, high = bootstrap_ci(
            stat, self.y.size, groups=self.groups, n_boot=n_boot, level=level, random_state=seed
        )
        return {"r2": float(point[0]), "r2_ci_low": float(low[0]), "r2_ci_high": float(high[0]),
                "r2_sd_repeats": float(np.std([r2(self.y, risk) for risk in self.risk]))}

    def _binary_summary(self, n_boot: int, level: float, seed: int) -> dict:
        """Binary metrics: AUC and threshold metrics, averaged over repeats, with CIs."""
        names = ("auc", "sensitivity", "specificity", "ppv", "npv")

        def stat(rows: np.ndarray) -> np.ndarray:
            y, pred = self.y[rows], self.predicted[:, rows]
            pos = y == 1
            aucs = np.atleast_1d(fast_auc(y, self.risk[:, rows]))
            with np.errstate(invalid="ignore", divide="ignore"):
                sens = (pred & pos).sum(1) / pos.sum()
                spec = (~pred & ~pos).sum(1) / (~pos).sum()
                ppv = (pred & pos).sum(1) / pred.sum(1)
                npv = (~pred & ~pos).sum(1) / (~pred).sum(1)
            return np.array([v.mean() for v in (aucs, sens, spec, ppv, npv)])

        point = stat(np.arange(self.y.size))
        low, high = bootstrap_ci(
            stat, self.y.size, groups=self.groups, n_boot=n_boot, level=level, random_state=seed
        )
        out: dict = {"n_positive": int(self.y.sum())}
        for i, name in enumerate(names):
            out[name], out[f"{name}_ci_low"], out[f"{name}_ci_high"] = (
                float(point[i]),
                float(low[i]),
                float(high[i]),
            )
        out["auc_sd_repeats"] = float(np.std(np.atleast_1d(fast_auc(self.y, self.risk)), ddof=0))
        return out | calibration_summary(
            self.y, self.risk, groups=self.groups, n_boot=n_boot, level=level,
            random_state=seed
        )

    def _survival_summary(self, n_boot: int, level: float, seed: int) -> dict:
        """Survival metrics: C-indices with CIs, td-AUC, IBS, log-rank of the risk groups."""
        from radiome.analysis.survival import (
            concordance,
            integrated_brier,
            logrank,
            time_dependent_auc,
        )

        tau = float(self.times[-1])
        out = {"n_events": int(self.y["event"].sum())}
        out |= concordance(
            self.y,
            self.risk,
            tau=tau,
            groups=self.groups,
            n_boot=n_boot,
            level=level,
            random_state=seed,
        )
        out["td_auc"] = time_dependent_auc(self.y, self.risk, self.times)[1]
        out["ibs"] = integrated_brier(self.y, self.survival, self.times)
        out["uno_tau"] = tau
        test = logrank(self.y, self.predicted[0])
        out["logrank_statistic"], out["logrank_p"] = test["statistic"], test["p"]
        return out


def default_times(y, *, quantiles=(0.1, 0.8), n_times: int = 8) -> np.ndarray:
    """Evaluation times: ``n_times`` quantiles of the event times between ``quantiles``.

    Kept strictly inside the follow-up (scikit-survival's time-dependent metrics require it).
    """
    event, time = split_survival(y)
    if event.sum() < 2:
        msg = f"survival outcome has {int(event.sum())} event(s); at least 2 are needed"
        raise AnalysisError(msg)
    grid = np.unique(np.quantile(time[event], np.linspace(*quantiles, n_times)))
    grid = grid[(grid >= time.min()) & (grid < time.max())]
    if grid.size < 2:
        msg = "survival outcome: fewer than 2 distinct evaluation times inside the follow-up"
        raise AnalysisError(msg)
    return grid


def nested_cv(
    pipeline,
    X,
    y,
    *,
    batch=None,
    covariates=None,
    groups=None,
    n_splits: int = 5,
    n_repeats: int = 5,
    times=None,
    random_state: int = 0,
    n_jobs: int = 1,
    progress: Callable[[int, int], None] | None = None,
    return_estimator: bool = False,
) -> CVResult:
    """Repeated, stratified (grouped) K-fold CV of a pipeline that tunes itself on inner CV.

    Parameters
    ----------
    pipeline : BiomarkerPipeline
        Cloned and fitted on every outer training fold (all of its steps, tuning included).
    X : (n, n_features) DataFrame or array
    y : (n,) binary labels, or structured (event, time) survival array
    batch : (n,) array-like, optional
        Site/scanner of each row (for the pipeline's harmoniser).
    covariates : DataFrame, optional
        Covariates preserved by the harmoniser.
    groups : (n,) array-like, optional
        Patient of each row when rows are lesions: a patient's rows stay in one fold, inner
        folds too, and bootstrap CIs resample patients.
    n_splits, n_repeats : int, default 5, 5
        Outer folds and repeats.
    times : array-like, optional
        Survival: evaluation times (default :func:`default_times`).
    random_state : int, default 0
        Seeds every split (outer and inner); the result is reproducible bit for bit, whatever
        ``n_jobs``.
    n_jobs : int, default 1
        Outer folds fitted in parallel (joblib).
    progress : callable, optional
        Called as ``progress(done, total)`` before the first outer fold (``done`` = 0) and
        after each one (in fold order).
    return_estimator : bool, default False
        Keep the pipeline fitted on each outer training fold in ``CVResult.estimators``
        (scikit-learn's ``cross_validate(return_estimator=True)``).

    Returns
    -------
    CVResult

    Warns
    -----
    AnalysisWarning
        Once, when the smaller class (binary) or the events or censored cases (survival)
        number fewer than ``SMALL_CLASS`` (10), or when fewer outer folds than ``n_splits`` could
        run (K is lowered to the size of the smaller class).
    """
    survival = is_survival(y)
    if survival:
        target = survival_array(*split_survival(y))
        strata = target["event"].astype(int)
        times = default_times(target) if times is None else np.asarray(times, dtype=np.float64)
    elif is_regressor(pipeline):
        target, strata = continuous_outcome(y)
    else:
        _, strata = binary_labels(y)
        target = strata
    n = strata.size
    if len(X) != n:
        msg = f"X has {len(X)} rows, y has {n}"
        raise AnalysisError(msg)
    tasks = outer_plan(strata, groups, n_splits, n_repeats, random_state)
    _warn_small(strata, survival, n_splits, len(tasks) // n_repeats)
    if progress is not None:
        progress(0, len(tasks))
    fitted = []
    for result in Parallel(n_jobs=n_jobs, return_as="generator")(
        delayed(_fit_fold)(pipeline, X, target, batch, covariates, groups, train, test, seed, times)
        for _, _, train, test, seed in tasks
    ):
        fitted.append(result)
        if progress is not None:
            progress(len(fitted), len(tasks))
    risk = np.full((n_repeats, n), np.nan)
    predicted = np.zeros((n_repeats, n), dtype=bool)
    fold = np.full((n_repeats, n), -1)
    surv = np.full((n_repeats, n, len(times)), np.nan) if survival else None
    params: list[list[dict]] = [[] for _ in range(n_repeats)]
    estimators: list[list] = [[] for _ in range(n_repeats)]
    for (r, f, _, test, _), (fold_risk, fold_pred, fold_surv, best, model) in zip(
        tasks, fitted, strict=True
    ):
        risk[r, test], predicted[r, test], fold[r, test] = fold_risk, fold_pred, f
        params[r].append(best)
        estimators[r].append(model)
        if survival:
            surv[r, test] = fold_surv
    return CVResult(
        task="survival" if survival else "regression" if is_regressor(pipeline) else "binary",
        y=target,
        risk=risk,
        predicted=predicted,
        fold=fold,
        params=params,
        groups=None if groups is None else np.asarray(groups),
        times=times if survival else None,
        survival=surv,
        estimators=estimators if return_estimator else None,
    )


def outer_plan(strata, groups, n_splits: int, n_repeats: int, random_state: int) -> list[tuple]:
    """``(repeat, fold, train, test, seed)`` of every outer fold of :func:`nested_cv`.

    Any analysis built on the same plan (e.g. :func:`~radiome.analysis.fusion_cv`) uses the
    same outer folds for the same ``random_state``, so its predictions are paired with
    :func:`nested_cv`'s; ``seed`` seeds the pipeline fitted on that fold.
    """
    seeds = np.random.default_rng(random_state).integers(
        0, 2**31 - 1, size=(n_repeats, n_splits + 1)
    )
    return [
        (r, f, train, test, int(seeds[r, f + 1]))
        for r in range(n_repeats)
        for f, (train, test) in enumerate(outer_splits(strata, groups, n_splits, int(seeds[r, 0])))
    ]


def _warn_small(strata: np.ndarray, survival: bool, asked: int, ran: int) -> None:
    """Warn once when the smaller class is small or fewer outer folds ran than were asked for."""
    smallest = int(np.bincount(strata, minlength=2).min())
    if smallest >= SMALL_CLASS and ran == asked:
        return
    kind = "of events and censored cases" if survival else "class"
    folds = f"; outer CV ran {ran} folds instead of {asked}" if ran != asked else ""
    warnings.warn(
        f"small sample: {strata.size} cases, {smallest} in the smaller {kind}{folds}; the "
        "estimates and "
        "their intervals are unstable",
        AnalysisWarning,
        stacklevel=3,
    )


def _fit_fold(pipeline, X, target, batch, covariates, groups, train, test, seed, times):
    """(test risk, predicted class/group, survival probs, chosen params, fitted model) of a fold."""
    model = clone(pipeline)
    if "random_state" in model.get_params():
        model.set_params(random_state=seed)
    model.fit(
        _take(X, train),
        _take(target, train),
        batch=_take(batch, train),
        covariates=_take(covariates, train),
        groups=_take(groups, train),
    )
    kwargs = {"batch": _take(batch, test), "covariates": _take(covariates, test)}
    risk = model.risk_score(_take(X, test), **kwargs)
    if model.task_ == "regression":
        return risk, np.zeros(risk.shape, dtype=bool), None, model.best_params_, model
    if times is None:
        return risk, risk >= model.threshold_, None, model.best_params_, model
    surv = model.predict_survival(_take(X, test), times, **kwargs)
    return risk, risk > model.risk_cutoff_, surv, model.best_params_, model
