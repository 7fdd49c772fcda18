"""The biomarker pipeline: impute -> harmonise -> scale -> select -> model, tuned by an inner CV.

:class:`BiomarkerPipeline` is the unit that is fitted on training data only: every step
(imputer of missing values, ComBat, scaler, reliability filter, outcome-driven selection,
model), the hyper-parameters chosen by its inner cross-validation, the classification threshold
(binary) and the risk-group cut-off (survival) are all learned inside ``fit``.
:func:`~radiome.analysis.nested_cv` then clones and fits it once per outer training fold, so no
test sample ever reaches a fitted step.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, clone, is_regressor
from sklearn.model_selection import ParameterGrid, StratifiedGroupKFold, StratifiedKFold
from sklearn.utils.validation import _check_feature_names_in, check_is_fitted, validate_data
from threadpoolctl import threadpool_limits

from radiome.analysis._outcome import (
    binary_labels,
    continuous_outcome,
    is_survival,
    split_survival,
)
from radiome.analysis.diagnostic import fast_auc, youden_threshold
from radiome.errors import AnalysisError

__all__ = ["BiomarkerPipeline", "default_pipeline", "outer_splits"]

_TUNABLE = ("selector__", "model__")
_ESTIMATOR_KEYS = ("model",)


class BiomarkerPipeline(BaseEstimator):
    """Imputer, harmoniser, scaler, reliability filter, selector and model, tuned by inner CV.

    Parameters
    ----------
    imputer : transformer or None
        Fills missing values (NaN) from the training data, e.g.
        ``SimpleImputer(strategy="median", keep_empty_features=True)``; it must keep every
        column. None to skip: then ``X`` must be complete.
    harmonizer : ComBat or None
        Fitted with ``batch`` (and ``covariates``) on the training data; None to skip.
    scaler : transformer or None
        E.g. ``StandardScaler()``; None to skip.
    reliability : ReliabilityFilter or None
        Keeps the features a separate reliability study found stable; None to skip.
    selector : transformer or None
        Outcome-driven selection, e.g. ``SelectKBest(f_classif)`` or ``SelectFromModel``.
    model : estimator or None
        A binary classifier with ``predict_proba``, a scikit-survival model with ``predict``
        (risk score) or a regressor (continuous outcome, scored by R^2); None means
        ``LogisticRegression()``.
    param_grid : dict or list of dict, optional
        Grid over ``selector__*`` and ``model__*`` parameters, chosen by the inner CV; a
        ``model`` key replaces the model itself, so the inner CV can choose among model
        families (see :func:`~radiome.analysis.model_search_grid`).
    inner_splits : int, default 5
        Folds of the inner (stratified, grouped when ``groups`` is given) cross-validation that
        chooses the grid point and the threshold.
    random_state : int, default 0
        Seed of the inner splits.

    Attributes
    ----------
    task_ : {"binary", "survival", "regression"}
        Set by the outcome given to ``fit`` ("regression" when the model is a regressor).
    best_params_ : dict
        Chosen grid point.
    cv_results_ : DataFrame
        Inner-CV score (pooled out-of-fold AUC, or Harrell's C for survival) of every grid point;
        NaN for a point whose fit failed numerically in an inner fold.
    threshold_ : float
        Binary: Youden threshold on the inner out-of-fold probabilities of the chosen point.
    oof_risk_ : (n_samples,) ndarray
        Binary: those inner out-of-fold probabilities of the training rows (what a stacking
        model may be trained on; the in-fold probabilities of the refit would leak); None
        when ``inner_splits`` is 0.
    risk_cutoff_ : float
        Survival: median predicted risk of the training data (high risk if above).
    classes_ : (2,) ndarray
        Binary: the labels; the positive class is ``classes_[1]``.
    features_used_ : ndarray of str
        Names of the features left after the reliability filter.

    Notes
    -----
    The steps without hyper-parameters (imputer, harmoniser, scaler, reliability filter) are
    fitted once
    per inner training fold and shared by all grid points, which is the same as refitting them
    per grid point; this is why only ``selector__`` and ``model__`` parameters can be tuned.
    A selector ``k`` above the number of available features is lowered to that number.
    ``fit`` and ``risk_score`` run BLAS and OpenMP (gradient boosting) single-threaded: their
    many tiny fits are several times faster so, and parallelism belongs to the outer folds
    (``nested_cv(n_jobs=...)``).
    """

    def __init__(
        self,
        *,
        imputer=None,
        harmonizer=None,
        scaler=None,
        reliability=None,
        selector=None,
        model=None,
        param_grid=None,
        inner_splits: int = 5,
        random_state: int = 0,
    ):
        self.imputer = imputer
        self.harmonizer = harmonizer
        self.scaler = scaler
        self.reliability = reliability
        self.selector = selector
        self.model = model
        self.param_grid = param_grid
        self.inner_splits = inner_splits
        self.random_state = random_state

    def fit(self, X, y, *, batch=None, covariates=None, groups=None):
        """Tune on inner CV, then fit every step on all of ``X``; returns ``self``.

        Parameters
        ----------
        X : (n_samples, n_features) array-like or DataFrame
        y : (n_samples,) binary labels, or structured (event, time) survival array
        batch : (n_samples,) array-like, optional
            Site/scanner labels; required when ``harmonizer`` is set.
        covariates : DataFrame, optional
            Covariates preserved by the harmoniser.
        groups : (n_samples,) array-like, optional
            Patient of each row (rows = lesions): inner folds keep a patient's rows together.
        """
        if y is None:
            msg = f"{type(self).__name__} requires y to be passed, but the target y is None"
            raise AnalysisError(msg)
        X = validate_data(self, X, dtype=np.float64, ensure_all_finite=self._finite())
        self.task_ = ("survival" if is_survival(y)
                      else "regression" if is_regressor(self._model()) else "binary")
        if self.task_ == "survival":
            strata = split_survival(y)[0].astype(int)
        elif self.task_ == "regression":
            values, strata = continuous_outcome(y)
        else:
            self.classes_, strata = binary_labels(y)
        if len(strata) != X.shape[0]:
            msg = f"y has {len(strata)} values, X has {X.shape[0]} rows"
            raise AnalysisError(msg)
        names = np.asarray(_check_feature_names_in(self, None), dtype=object)
        target = (y if self.task_ == "survival" else values if self.task_ == "regression"
                  else strata)
        grid = self._grid()
        oof = None
        with threadpool_limits(limits=1):
            if self.inner_splits and (len(grid) > 1 or self.task_ == "binary"):
                scores, oof = self._inner_cv(
                    X, names, target, strata, grid, batch, covariates, groups
                )
            else:
                scores = np.full(len(grid), np.nan)
            best = int(np.nanargmax(scores)) if np.isfinite(scores).any() else 0  # none: 1 point
            self.front_, xt, self.features_used_ = _fit_front(
                self._front(), X, names, target, batch, covariates
            )
            self.selector_, self.model_ = _fit_tail(
                self.selector, self._model(), grid[best], xt, target
            )
        self.cv_results_ = pd.DataFrame({"params": grid, "score": scores})
        self.best_params_ = grid[best]
        if self.task_ == "survival":
            self.risk_cutoff_ = float(np.median(self.model_.predict(self._tail_input(xt))))
        elif self.task_ == "binary":
            self.oof_risk_ = None if oof is None else oof[best]
            train_scores = self._risk(xt) if oof is None else self.oof_risk_
            self.threshold_ = youden_threshold(strata, train_scores)
        return self

    def risk_score(self, X, *, batch=None, covariates=None) -> np.ndarray:
        """Binary: probability of ``classes_[1]``; survival: the model's risk score."""
        with threadpool_limits(limits=1):
            return self._risk(self._front_transform(X, batch, covariates))

    def predict_proba(self, X, *, batch=None, covariates=None) -> np.ndarray:
        """(n_samples, 2) class probabilities (binary models only)."""
        check_is_fitted(self)
        if self.task_ != "binary":
            msg = f"predict_proba: this pipeline was fitted to a {self.task_} outcome; use predict"
            raise AnalysisError(msg)
        p = self.risk_score(X, batch=batch, covariates=covariates)
        return np.column_stack([1 - p, p])

    def predict(self, X, *, batch=None, covariates=None) -> np.ndarray:
        """Binary: labels by the training threshold; survival: risk scores; regression: values."""
        score = self.risk_score(X, batch=batch, covariates=covariates)
        if self.task_ != "binary":
            return score
        return self.classes_[(score >= self.threshold_).astype(int)]

    def predict_survival(self, X, times, *, batch=None, covariates=None) -> np.ndarray:
        """(n_samples, n_times) survival probabilities at ``times`` (survival models only).

        Beyond the last training event time the Breslow estimate is flat, so later times take
        its last value.
        """
        check_is_fitted(self)
        xt = self._tail_input(self._front_transform(X, batch, covariates))
        functions = self.model_.predict_survival_function(xt)
        times = np.asarray(times, dtype=np.float64)
        return np.vstack([fn(np.clip(times, fn.domain[0], fn.domain[1])) for fn in functions])

    def score(self, X, y, *, batch=None, covariates=None) -> float:
        """AUC (binary), Harrell's C-index (survival) or R^2 (regression) of ``X`` against ``y``."""
        from sklearn.metrics import r2_score

        from radiome.analysis.survival import harrell_c

        risk = self.risk_score(X, batch=batch, covariates=covariates)
        if self.task_ == "survival":
            return harrell_c(y, risk)
        if self.task_ == "regression":
            return float(r2_score(y, risk))
        _, y01 = binary_labels(y)
        return fast_auc(y01, risk)

    def _finite(self) -> bool | str:
        """What ``validate_data`` demands of ``X``: finite, or NaN allowed with an imputer."""
        return True if self.imputer is None else "allow-nan"

    def _front(self) -> list[tuple[str, object]]:
        """The parameter-free steps in order, skipping None."""
        steps = (("imputer", self.imputer), ("harmonizer", self.harmonizer),
                 ("scaler", self.scaler))
        steps += (("reliability", self.reliability),)
        return [(name, step) for name, step in steps if step is not None]

    def _model(self):
        """The model, LogisticRegression when None."""
        if self.model is not None:
            return self.model
        from sklearn.linear_model import LogisticRegression

        return LogisticRegression()

    def _grid(self) -> list[dict]:
        """Grid points, checked to address only selector and model parameters."""
        grid = list(ParameterGrid(self.param_grid or {}))
        bad = sorted(
            {
                k
                for point in grid
                for k in point
                if not k.startswith(_TUNABLE) and k not in _ESTIMATOR_KEYS
            }
        )
        if bad:
            msg = f"param_grid: only model, selector__* and model__* can be tuned, got {bad}"
            raise AnalysisError(msg)
        return grid

    def _inner_cv(self, X, names, target, strata, grid, batch, covariates, groups):
        """(score per grid point, (n_points, n) out-of-fold risks) of the inner CV.

        A grid point whose fit fails numerically (``ArithmeticError``, e.g. an elastic-net Cox
        model with too small a penalty) or cannot run (``ValueError``, e.g. too few cases of a
        class for the SVM's internal split) in any inner fold gets no score and cannot be
        chosen, like scikit-learn's ``GridSearchCV(error_score=...)``.
        """
        from radiome.analysis.survival import harrell_c

        splitter = _splitter(self.inner_splits, strata, groups, self.random_state)
        oof = np.full((len(grid), X.shape[0]), np.nan)
        for train, test in splitter.split(X, strata, groups):
            front, xt, _ = _fit_front(
                self._front(),
                X[train],
                names,
                _take(target, train),
                _take(batch, train),
                _take(covariates, train),
            )
            xv, _ = _apply_front(front, X[test], names, _take(batch, test), _take(covariates, test))
            for g, point in enumerate(_feasible(grid, xt.shape[1])):
                try:
                    selector, model = _fit_tail(
                        self.selector, self._model(), point, xt, _take(target, train)
                    )
                except (ArithmeticError, ValueError):
                    continue
                oof[g, test] = _risk(selector, model, xv, self.task_ == "survival")
        ok = np.isfinite(oof).all(axis=1)
        if not ok.any():
            msg = f"every grid point failed numerically in inner CV ({grid}); use larger penalties"
            raise AnalysisError(msg)
        scores = np.full(len(grid), np.nan)
        if self.task_ == "survival":
            scores[ok] = [harrell_c(target, r) for r in oof[ok]]
        elif self.task_ == "regression":
            scores[ok] = [r2(target, r) for r in oof[ok]]
        else:
            scores[ok] = np.atleast_1d(fast_auc(strata, oof[ok]))
        return scores, oof

    def _front_transform(self, X, batch, covariates) -> np.ndarray:
        """Validated ``X`` through the fitted parameter-free steps."""
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, reset=False,
                          ensure_all_finite=self._finite())
        names = np.asarray(_check_feature_names_in(self, None), dtype=object)
        return _apply_front(self.front_, X, names, batch, covariates)[0]

    def _tail_input(self, xt: np.ndarray):
        """Features the model sees: after the fitted selector, if any."""
        return xt if self.selector_ is None else self.selector_.transform(xt)

    def _risk(self, xt: np.ndarray) -> np.ndarray:
        """Risk score of front-transformed data under the fitted selector and model."""
        return _risk(self.selector_, self.model_, xt, self.task_ == "survival")

    def __sklearn_tags__(self):
        from sklearn.utils import get_tags

        tags = super().__sklearn_tags__()
        model_tags = get_tags(self._model())
        tags.estimator_type = model_tags.estimator_type
        tags.classifier_tags = model_tags.classifier_tags
        if tags.classifier_tags is not None:
            tags.classifier_tags.multi_class = False
        tags.target_tags.required = True
        tags.input_tags.allow_nan = self.imputer is not None
        return tags


def _take(values, idx):
    """Rows ``idx`` of an array, Series or DataFrame (None stays None)."""
    if values is None:
        return None
    if isinstance(values, pd.DataFrame | pd.Series):
        return values.iloc[idx]
    return np.asarray(values)[idx]


def _splitter(n_splits: int, strata: np.ndarray, groups, seed: int):
    """Stratified (grouped when ``groups``) K-fold, with K lowered to the smallest class size."""
    smallest = int(np.bincount(strata).min())
    if smallest < 2:
        msg = f"cross-validation needs at least 2 samples of each class (or events), got {smallest}"
        raise AnalysisError(msg)
    k = min(n_splits, smallest)
    if groups is not None:
        return StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed)
    return StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)


def outer_splits(strata, groups, n_splits: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """(train, test) index pairs of one stratified (grouped) K-fold partition."""
    strata = np.asarray(strata)
    splitter = _splitter(n_splits, strata, groups, seed)
    return list(splitter.split(np.zeros((strata.size, 1)), strata, groups))


def _fit_front(steps, X: np.ndarray, names: np.ndarray, target, batch, covariates):
    """(fitted steps, transformed X, kept names) of the parameter-free steps on training rows."""
    fitted = []
    for name, step in steps:
        step = clone(step)
        if name == "harmonizer":
            _require_batch(batch)
            step.fit(X, batch=batch, covariates=covariates)
        elif name == "reliability":
            step.fit(pd.DataFrame(X, columns=names))
        else:
            step.fit(X)
        fitted.append((name, step))
        X, names = _apply_front([(name, step)], X, names, batch, covariates)
    return fitted, X, names


def _apply_front(steps, X: np.ndarray, names: np.ndarray, batch, covariates):
    """(X, names) through fitted parameter-free steps (arrays: no per-column pandas checks)."""
    for name, step in steps:
        if name == "harmonizer":
            _require_batch(batch)
            X = step.transform(X, batch=batch, covariates=covariates)
        elif name == "reliability":
            keep = step.get_support()
            X, names = X[:, keep], names[keep]
        else:
            X = step.transform(X)
    return np.asarray(X, dtype=np.float64), names


def _require_batch(batch) -> None:
    """Raise when a harmonizer has no batch labels."""
    if batch is None:
        msg = "the pipeline has a harmonizer: pass batch= (site of each row)"
        raise AnalysisError(msg)


def _feasible(grid: list[dict], n_features: int) -> list[dict]:
    """Grid points with ``selector__k`` lowered to ``n_features`` where needed."""
    return [
        {**p, "selector__k": n_features}
        if isinstance(p.get("selector__k"), int) and p["selector__k"] > n_features
        else p
        for p in grid
    ]


def _fit_tail(selector, model, point: dict, xt: np.ndarray, target):
    """(fitted selector or None, fitted model) at one grid point."""
    point = _feasible([point], xt.shape[1])[0]
    sel = None
    if selector is not None:
        sel = clone(selector).set_params(
            **{
                k.removeprefix("selector__"): v
                for k, v in point.items()
                if k.startswith("selector__")
            }
        )
        xt = sel.fit(xt, target).transform(xt)
    mdl = clone(point.get("model", model)).set_params(
        **{k.removeprefix("model__"): v for k, v in point.items() if k.startswith("model__")}
    )
    return sel, mdl.fit(xt, target)


def _risk(selector, model, xt, survival: bool) -> np.ndarray:
    """Probability of the positive class (binary), risk score (survival) or prediction."""
    if selector is not None:
        xt = selector.transform(xt)
    if survival or is_regressor(model):
        return model.predict(xt)
    return model.predict_proba(xt)[:, 1]


def r2(y: np.ndarray, predicted: np.ndarray) -> float:
    """Coefficient of determination 1 - SSE / SST of ``predicted`` against ``y``."""
    return float(1.0 - ((y - predicted) ** 2).sum() / ((y - y.mean()) ** 2).sum())


def default_pipeline(
    task: str,
    *,
    harmonize: bool = False,
    reliability=None,
    min_icc: float = 0.75,
    inner_splits: int = 5,
    random_state: int = 0,
    search: str = "ensemble",
) -> BiomarkerPipeline:
    """radiome's default leak-free pipeline for a binary or survival outcome.

    Parameters
    ----------
    task : {"binary", "survival"}
    harmonize : bool, default False
        Add ComBat (parametric); then ``fit`` needs ``batch``.
    reliability : list of str or ICC DataFrame, optional
        Stable features (see :class:`ReliabilityFilter`); None keeps all.
    min_icc : float, default 0.75
    inner_splits : int, default 5
    random_state : int, default 0
    search : {"ensemble", "models", "linear"}, default "ensemble"
        Binary: the average of an L2 logistic regression, a random forest and extra trees
        (:func:`~radiome.analysis.search.ensemble_grid`); or the inner CV chooses among model
        families and feature counts (``"models"``,
        :func:`~radiome.analysis.model_search_grid`); or only tunes an L2 logistic regression
        (``"linear"``, the default of the first versions).

    Returns
    -------
    BiomarkerPipeline
        Both start with a median imputer fitted on the training data (missing values of a
        feature become its training median; a no-op on complete data).
        Binary: ComBat? -> StandardScaler -> reliability? -> ANOVA-F top-k -> model: the
        three-family ensemble on every feature, the threshold chosen on inner out-of-fold
        probabilities (``search="models"``: the model family, its hyper-parameters and k
        chosen by inner AUC among the 22 points of :func:`~radiome.analysis.model_search_grid`;
        ``search="linear"``: L2 logistic regression, k in {8, 16, 32, 64, all} and C in
        {0.001, 0.01, 0.1, 1}).
        Survival: ComBat? -> StandardScaler -> reliability? -> univariate Cox score test top-k
        -> elastic-net Cox (``CoxnetSurvivalAnalysis``, l1_ratio 0.5), with k in {4, 8, 16, 32}
        and alpha in {0.1, 0.03, 0.01} chosen by inner Harrell's C.
    """
    from sklearn.impute import SimpleImputer
    from sklearn.preprocessing import StandardScaler

    from radiome.analysis.harmonize import ComBat
    from radiome.analysis.selection import ReliabilityFilter

    common = {
        "imputer": SimpleImputer(strategy="median", keep_empty_features=True),
        "harmonizer": ComBat() if harmonize else None,
        "scaler": StandardScaler(),
        "reliability": None
        if reliability is None
        else ReliabilityFilter(stable=reliability, min_icc=min_icc),
        "inner_splits": inner_splits,
        "random_state": random_state,
    }
    if task == "binary":
        from sklearn.feature_selection import SelectKBest
        from sklearn.linear_model import LogisticRegression

        from radiome.analysis.search import LINEAR_GRID, ensemble_grid, model_search_grid
        from radiome.analysis.selection import anova_f

        grids = {"ensemble": ensemble_grid, "models": model_search_grid,
                 "linear": lambda _: LINEAR_GRID}
        if search not in grids:
            msg = ("default_pipeline: search must be 'ensemble', 'models' or 'linear', "
                   f"got {search!r}")
            raise AnalysisError(msg)
        return BiomarkerPipeline(
            **common,
            selector=SelectKBest(anova_f),
            model=LogisticRegression(max_iter=1000),
            param_grid=grids[search](random_state),
        )
    if task == "survival":
        from sklearn.feature_selection import SelectKBest
        from sksurv.linear_model import CoxnetSurvivalAnalysis

        from radiome.analysis.selection import cox_score

        return BiomarkerPipeline(
            **common,
            selector=SelectKBest(cox_score),
            model=CoxnetSurvivalAnalysis(l1_ratio=0.5, fit_baseline_model=True),
            param_grid={"selector__k": [4, 8, 16, 32], "model__alphas": [[0.1], [0.03], [0.01]]},
        )
    msg = f"default_pipeline: task must be 'binary' or 'survival', got {task!r}"
    raise AnalysisError(msg)
