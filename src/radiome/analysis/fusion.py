"""Multi-modality fusion: each modality alone, early fusion and late fusion in one nested CV.

A modality is a group of feature columns (``CT_*``, ``PET_*``; T1, T2 and FLAIR sequences; the
phases of a contrast series). On every outer training fold :class:`FusionModel` fits

- one pipeline per modality, each seeing only its own columns (a ``ColumnTransformer`` picks
  them) with its own imputer, scaler, selection, model search and threshold;
- **early fusion**: one pipeline on the columns of all modalities together;
- **late fusion** by stacking: a logistic regression over the modalities' predictions (logits),
  trained on their *inner out-of-fold* probabilities of the training rows (the inner CV of each
  modality's pipeline; probabilities of rows a model was fitted on would reward overfitting),
  and by averaging the modalities' probabilities.

All variants share the outer folds (:func:`~radiome.analysis.validation.outer_plan`), so their
out-of-fold predictions are paired: :func:`fusion_summary` gives each AUC with the bootstrap CI
of :meth:`~radiome.analysis.CVResult.summary` and paired DeLong tests between every two of them.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from sklearn.base import BaseEstimator, clone

from radiome.analysis._outcome import binary_labels, is_survival
from radiome.analysis.diagnostic import delong_test, youden_threshold
from radiome.analysis.pipeline import _take
from radiome.analysis.validation import CVResult, _warn_small, outer_plan
from radiome.errors import AnalysisError

__all__ = [
    "FusionModel",
    "evaluate_fusion",
    "fusion_cv",
    "fusion_summary",
    "modality_columns",
    "read_modalities",
]

#: Names of the fused variants (a modality cannot take them).
FUSED = ("early", "late", "late_mean")
_CLIP = 1e-6


def read_modalities(text: str) -> dict[str, list[str]]:
    """Modality column patterns from ``"CT=CT_*,PET=PET_*"`` or a YAML file.

    Parameters
    ----------
    text : str
        Comma-separated ``NAME=PATTERN`` pairs (a name may repeat to add patterns), or the path
        of a YAML file mapping each name to a pattern or a list of patterns/column names.
        Patterns are shell-style (``fnmatch``, case-sensitive).

    Returns
    -------
    dict
        ``{name: [pattern, ...]}`` in the given order.
    """
    path = Path(text)
    if path.suffix.lower() in (".yaml", ".yml"):
        import yaml

        if not path.is_file():
            msg = f"{path}: modality file does not exist"
            raise AnalysisError(msg)
        mapping = yaml.safe_load(path.read_text())
        if not isinstance(mapping, dict) or not mapping:
            msg = f"{path}: expected a mapping of modality names to column patterns"
            raise AnalysisError(msg)
        return {str(k): [str(p) for p in (v if isinstance(v, list) else [v])]
                for k, v in mapping.items()}
    groups: dict[str, list[str]] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, sep, pattern = item.partition("=")
        if not sep or not name.strip() or not pattern.strip():
            msg = f"--modalities: {item!r} is not NAME=PATTERN (e.g. CT=CT_*,PET=PET_*)"
            raise AnalysisError(msg)
        groups.setdefault(name.strip(), []).append(pattern.strip())
    return groups


def modality_columns(modalities: dict, columns) -> dict[str, list[str]]:
    """The feature columns of each modality, in table order.

    Raises
    ------
    AnalysisError
        Fewer than two modalities, a reserved name (``early``, ``late``, ``late_mean``), a
        modality that matches no column, or a column claimed by two modalities.
    """
    columns = [str(c) for c in columns]
    if len(modalities) < 2:
        msg = f"fusion needs at least two modalities, got {list(modalities)}"
        raise AnalysisError(msg)
    owner: dict[str, str] = {}
    found: dict[str, list[str]] = {}
    for name, patterns in modalities.items():
        if name in FUSED:
            msg = f"modality name {name!r} is reserved for a fused model; rename it"
            raise AnalysisError(msg)
        patterns = [patterns] if isinstance(patterns, str) else list(patterns)
        found[name] = [c for c in columns if any(fnmatch.fnmatchcase(c, p) for p in patterns)]
        if not found[name]:
            msg = f"modality {name!r}: pattern(s) {patterns} match no feature column"
            raise AnalysisError(msg)
        for column in found[name]:
            if column in owner:
                msg = f"column {column!r} matches modalities {owner[column]!r} and {name!r}"
                raise AnalysisError(msg)
            owner[column] = name
    return found


class FusionModel(BaseEstimator):
    """One pipeline per modality, early fusion, and late fusion by stacking and by averaging.

    Parameters
    ----------
    modalities : dict
        ``{name: [column, ...]}`` (see :func:`modality_columns`).
    base : BiomarkerPipeline, optional
        Cloned for every modality and for early fusion (default: the binary
        :func:`~radiome.analysis.default_pipeline`). It must tune itself with an inner CV
        (``inner_splits`` > 0): stacking learns from its inner out-of-fold probabilities.
    random_state : int, default 0
        Seed given to every cloned pipeline.

    Attributes
    ----------
    pipelines_ : dict
        ``{variant: (ColumnTransformer, fitted pipeline)}`` for each modality and ``early``.
    stacker_ : LogisticRegression
        Late fusion: fitted on ``stack_input_``.
    stack_input_ : (n_train, n_modalities) ndarray
        Logits of the modalities' inner out-of-fold probabilities of the training rows.
    thresholds_ : dict
        Youden threshold of every variant on training-row out-of-fold scores.
    """

    def __init__(self, modalities=None, base=None, random_state: int = 0):
        self.modalities = modalities
        self.base = base
        self.random_state = random_state

    def fit(self, X: pd.DataFrame, y, *, batch=None, covariates=None, groups=None):
        """Fit every variant on the training rows ``X`` (a DataFrame); returns ``self``."""
        from sklearn.linear_model import LogisticRegression

        self.classes_, y01 = binary_labels(y)
        columns = {**self.modalities, "early": [c for cs in self.modalities.values() for c in cs]}
        kwargs = {"batch": batch, "covariates": covariates, "groups": groups}
        self.pipelines_ = {name: _fit_on_columns(self._base(), name, cols, X, y, kwargs)
                           for name, cols in columns.items()}
        oof = np.column_stack([self.pipelines_[m][1].oof_risk_ for m in self.modalities])
        self.stack_input_ = _logit(oof)
        self.stacker_ = LogisticRegression().fit(self.stack_input_, y01)
        self.thresholds_ = {name: pipe.threshold_ for name, (_, pipe) in self.pipelines_.items()}
        self.thresholds_["late"] = youden_threshold(
            y01, self.stacker_.predict_proba(self.stack_input_)[:, 1]
        )
        self.thresholds_["late_mean"] = youden_threshold(y01, oof.mean(axis=1))
        self.best_params_ = {name: pipe.best_params_ for name, (_, pipe) in self.pipelines_.items()}
        return self

    def risk_scores(self, X: pd.DataFrame, *, batch=None, covariates=None) -> pd.DataFrame:
        """Probability of ``classes_[1]`` by every variant: one column per modality and fused."""
        risks = {name: pipe.risk_score(select.transform(X), batch=batch, covariates=covariates)
                 for name, (select, pipe) in self.pipelines_.items()}
        single = np.column_stack([risks[m] for m in self.modalities])
        risks["late"] = self.stacker_.predict_proba(_logit(single))[:, 1]
        risks["late_mean"] = single.mean(axis=1)
        return pd.DataFrame(risks, index=X.index)

    def _base(self):
        """A fresh copy of the base pipeline, seeded."""
        if self.base is None:
            from radiome.analysis.pipeline import default_pipeline

            base = default_pipeline("binary")
        else:
            base = clone(self.base)
        if not base.inner_splits:
            msg = "FusionModel: the base pipeline needs an inner CV (inner_splits > 0) to stack"
            raise AnalysisError(msg)
        return base.set_params(random_state=self.random_state)


def _fit_on_columns(base, name: str, columns: list[str], X, y, kwargs):
    """(column selector, pipeline fitted on those columns of ``X``)."""
    from sklearn.compose import ColumnTransformer

    select = ColumnTransformer([(name, "passthrough", columns)], remainder="drop",
                               verbose_feature_names_out=False).set_output(transform="pandas")
    return select, base.fit(select.fit_transform(X), y, **kwargs)


def _logit(p: np.ndarray) -> np.ndarray:
    """Log-odds of probabilities clipped away from 0 and 1."""
    p = np.clip(p, _CLIP, 1 - _CLIP)
    return np.log(p / (1 - p))


def fusion_cv(
    X: pd.DataFrame,
    y,
    modalities: dict,
    *,
    base=None,
    batch=None,
    covariates=None,
    groups=None,
    n_splits: int = 5,
    n_repeats: int = 5,
    random_state: int = 0,
    n_jobs: int = 1,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, CVResult]:
    """Repeated nested CV of every modality alone, early fusion and late fusion, paired.

    Parameters
    ----------
    X : DataFrame
        Features of all modalities.
    y : (n,) binary labels
    modalities : dict
        ``{name: patterns}``, resolved against ``X``'s columns by :func:`modality_columns`.
    base : BiomarkerPipeline, optional
        See :class:`FusionModel`.
    batch, covariates, groups, n_splits, n_repeats, random_state, n_jobs, progress
        As :func:`~radiome.analysis.nested_cv` (same outer folds for the same seed).

    Returns
    -------
    dict
        ``{variant: CVResult}``: each modality, then ``early``, ``late`` (stacking) and
        ``late_mean`` (averaged probabilities).
    """
    if is_survival(y):
        msg = "fusion: the outcome must be binary (survival fusion is not supported)"
        raise AnalysisError(msg)
    if not isinstance(X, pd.DataFrame):
        msg = "fusion: X must be a DataFrame whose column names the modality patterns match"
        raise AnalysisError(msg)
    _, strata = binary_labels(y)
    if len(X) != strata.size:
        msg = f"X has {len(X)} rows, y has {strata.size}"
        raise AnalysisError(msg)
    model = FusionModel(modality_columns(modalities, X.columns), base)
    tasks = outer_plan(strata, groups, n_splits, n_repeats, random_state)
    _warn_small(strata, False, n_splits, len(tasks) // n_repeats)
    if progress is not None:
        progress(0, len(tasks))
    fitted = []
    for result in Parallel(n_jobs=n_jobs, return_as="generator")(
        delayed(_fit_fold)(model, X, strata, batch, covariates, groups, train, test, seed)
        for _, _, train, test, seed in tasks
    ):
        fitted.append(result)
        if progress is not None:
            progress(len(fitted), len(tasks))
    names = [*model.modalities, *FUSED]
    risk = {v: np.full((n_repeats, strata.size), np.nan) for v in names}
    predicted = {v: np.zeros((n_repeats, strata.size), dtype=bool) for v in names}
    fold = np.full((n_repeats, strata.size), -1)
    params: dict[str, list] = {v: [[] for _ in range(n_repeats)] for v in names}
    for (r, f, _, test, _), (scores, thresholds, best) in zip(tasks, fitted, strict=True):
        fold[r, test] = f
        for v in names:
            risk[v][r, test] = scores[v].to_numpy()
            predicted[v][r, test] = scores[v].to_numpy() >= thresholds[v]
            params[v][r].append(best.get(v, {}))
    group_array = None if groups is None else np.asarray(groups)
    return {v: CVResult("binary", strata, risk[v], predicted[v], fold, params[v], group_array)
            for v in names}


def _fit_fold(model, X, y, batch, covariates, groups, train, test, seed):
    """(test risk per variant, thresholds, chosen params) of one outer fold."""
    model = clone(model).set_params(random_state=seed)
    model.fit(_take(X, train), y[train], batch=_take(batch, train),
              covariates=_take(covariates, train), groups=_take(groups, train))
    scores = model.risk_scores(_take(X, test), batch=_take(batch, test),
                               covariates=_take(covariates, test))
    return scores, model.thresholds_, model.best_params_


def fusion_summary(results: dict[str, CVResult], *, n_boot: int = 1000,
                   random_state: int = 0) -> dict:
    """AUCs with CIs of every variant and paired DeLong tests between every two.

    Returns
    -------
    dict
        ``fusion``: ``{variant: {auc, auc_ci_low, auc_ci_high}}`` (each as
        :meth:`CVResult.summary`: mean over repeats of the pooled out-of-fold AUC, bootstrap CI
        over patients); ``delong``: one ``{a, b, auc_a, auc_b, diff, p}`` per pair, the paired
        DeLong test on each case's out-of-fold probability averaged over the repeats;
        ``ci_method`` and ``delong_method``.
    """
    fusion, method = {}, ""
    for name, result in results.items():
        summary = result.summary(n_boot=n_boot, random_state=random_state)
        fusion[name] = {k: summary[k] for k in ("auc", "auc_ci_low", "auc_ci_high")}
        method = summary["ci_method"]
    names = list(results)
    y = results[names[0]].y
    mean_risk = {name: result.risk.mean(axis=0) for name, result in results.items()}
    delong = []
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            test = delong_test(y, mean_risk[a], mean_risk[b])
            delong.append({"a": a, "b": b, "auc_a": test["auc_a"], "auc_b": test["auc_b"],
                           "diff": test["diff"], "p": test["p"]})
    return {
        "fusion": fusion,
        "delong": delong,
        "ci_method": method,
        "delong_method": "paired DeLong test of the out-of-fold probability averaged over "
                         "repeats (two-sided)",
    }


def evaluate_fusion(
    cohort,
    modalities: dict,
    *,
    n_splits: int = 5,
    n_repeats: int = 5,
    n_boot: int = 1000,
    random_state: int = 0,
    n_jobs: int = 1,
    search: str = "ensemble",
    progress: Callable[[int, int], None] | None = None,
) -> tuple[dict, dict[str, CVResult]]:
    """Fusion evaluation of a binary cohort with the default pipeline: (summary, results).

    The summary is :func:`fusion_summary` plus ``task``, ``n``, ``n_positive``, ``n_features``,
    ``n_repeats``, ``n_splits`` and ``modalities`` (columns per modality); ``search`` is the
    default pipeline's (see :func:`~radiome.analysis.default_pipeline`).
    """
    from radiome.analysis.pipeline import default_pipeline

    if cohort.task != "binary":
        msg = "fusion: the outcome must be binary (survival fusion is not supported)"
        raise AnalysisError(msg)
    columns = modality_columns(modalities, cohort.X.columns)
    base = default_pipeline("binary", harmonize=cohort.batch is not None,
                            random_state=random_state, search=search)
    results = fusion_cv(cohort.X, cohort.y, columns, base=base, batch=cohort.batch,
                        groups=cohort.groups, n_splits=n_splits, n_repeats=n_repeats,
                        random_state=random_state, n_jobs=n_jobs, progress=progress)
    first = next(iter(results.values()))
    summary = {
        "task": "binary",
        "n": int(first.y.size),
        "n_positive": int(first.y.sum()),
        "n_features": int(sum(len(c) for c in columns.values())),
        "n_repeats": n_repeats,
        "n_splits": int(first.fold.max()) + 1,
        "modalities": {name: len(cols) for name, cols in columns.items()},
        **fusion_summary(results, n_boot=n_boot, random_state=random_state),
    }
    return summary, results
