"""The default workflow behind ``radiome model``: evaluate, fit, save, load and predict.

Each CLI command is one call of a function here, over a :class:`~radiome.analysis.Cohort`.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from radiome.analysis.curves import evaluation_curves, risk_groups
from radiome.analysis.pipeline import BiomarkerPipeline, default_pipeline
from radiome.analysis.tables import Cohort, infinite_as_missing, software_difference
from radiome.analysis.validation import CVResult, nested_cv
from radiome.errors import AnalysisError, AnalysisWarning, UnreadableFileError

__all__ = ["SavedModel", "evaluate", "fit_model", "load_model", "predict", "save_model"]

_FORMAT = "radiome-model/2"


def evaluate(
    cohort: Cohort,
    *,
    reliability=None,
    min_icc: float = 0.75,
    n_splits: int = 5,
    n_repeats: int = 5,
    n_boot: int = 1000,
    random_state: int = 0,
    n_jobs: int = 1,
    search: str = "ensemble",
    plots=None,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[dict, CVResult]:
    """Nested-CV evaluation of the default pipeline on a cohort: (summary dict, CVResult).

    Parameters
    ----------
    cohort : Cohort
    reliability : list of str or ICC DataFrame, optional
        Stable features (see :class:`~radiome.analysis.ReliabilityFilter`).
    min_icc : float, default 0.75
    n_splits, n_repeats : int, default 5, 5
        Outer folds and repeats (inner: 5 folds).
    n_boot : int, default 1000
        Bootstrap resamples of the CIs.
    random_state : int, default 0
    n_jobs : int, default 1
    search : {"ensemble", "models", "linear"}, default "ensemble"
        The default pipeline's binary search (see :func:`default_pipeline`).
    plots : path, optional
        Folder for PNG figures: ``roc.png``, ``calibration.png`` and ``decision_curve.png``
        (binary) or
        ``km_risk_groups.png`` (survival, first repeat's groups). The ROC plot shows the same
        AUC and interval as the summary.
    progress : callable, optional
        ``progress(done, total)`` after each outer fold (see :func:`nested_cv`).

    Returns
    -------
    (dict, CVResult)
        The summary (see :meth:`CVResult.summary`) plus ``task``, ``n_features``, ``harmonized``,
        ``spec_hash``, ``curves`` (:func:`~radiome.analysis.curves.evaluation_curves`),
        ``chosen_models`` (grid point -> outer folds that chose it), ``dropped_features`` (too
        often missing, see
        :func:`~radiome.analysis.load_cohort`) and ``n_missing_values`` (imputed inside the
        folds); and the out-of-fold predictions.
    """
    pipeline = default_pipeline(
        cohort.task,
        harmonize=cohort.batch is not None,
        reliability=reliability,
        min_icc=min_icc,
        random_state=random_state,
        search=search,
    )
    result = nested_cv(
        pipeline,
        cohort.X,
        cohort.y,
        batch=cohort.batch,
        groups=cohort.groups,
        n_splits=n_splits,
        n_repeats=n_repeats,
        random_state=random_state,
        n_jobs=n_jobs,
        progress=progress,
    )
    summary = {
        "task": cohort.task,
        "n_features": int(cohort.X.shape[1]),
        "harmonized": cohort.batch is not None,
        "spec_hash": cohort.spec_hash,
        "dropped_features": list(cohort.dropped),
        "n_missing_values": cohort.n_missing,
        **result.summary(n_boot=n_boot, random_state=random_state),
        "curves": evaluation_curves(result, n_boot=n_boot, random_state=random_state),
        "chosen_models": _chosen(result),
    }
    if plots is not None:
        _plots(result, summary, Path(plots))
    return summary, result


def _chosen(result: CVResult) -> dict[str, int]:
    """How often the inner CV chose each grid point (model, hyper-parameters, k) over the outer
    folds, most chosen first."""
    from collections import Counter

    from radiome.analysis.search import model_label

    return dict(Counter(model_label(p) for fold in result.params for p in fold).most_common())


def _plots(result: CVResult, summary: dict, folder: Path) -> None:
    """Write the evaluation figures of ``result`` (with ``summary``'s AUC CI) into ``folder``."""
    from radiome.analysis.plots import calibration_plot, decision_curve_plot, km_plot, roc_plot

    if result.task == "binary":
        ci = (summary["auc"], summary["auc_ci_low"], summary["auc_ci_high"], summary["ci_method"])
        roc_plot(result.y, result.risk, folder / "roc.png", title="Nested CV, out-of-fold", ci=ci,
                 band=summary["curves"]["roc"])
        calibration_plot(result.y, result.risk, folder / "calibration.png", stats=summary)
        decision_curve_plot(summary["net_benefit"], folder / "decision_curve.png")
    else:
        km_plot(result.y, risk_groups(result), folder / "km_risk_groups.png")


def fit_model(
    cohort: Cohort,
    *,
    reliability=None,
    min_icc: float = 0.75,
    random_state: int = 0,
    search: str = "ensemble",
) -> BiomarkerPipeline:
    """The default pipeline (``search`` as in :func:`default_pipeline`) tuned (inner CV) and
    fitted on the whole cohort."""
    pipeline = default_pipeline(
        cohort.task,
        harmonize=cohort.batch is not None,
        reliability=reliability,
        min_icc=min_icc,
        random_state=random_state,
        search=search,
    )
    return pipeline.fit(cohort.X, cohort.y, batch=cohort.batch, groups=cohort.groups)


@dataclass(frozen=True)
class SavedModel:
    """A fitted pipeline with what it expects: feature columns, spec hash, task, software."""

    pipeline: BiomarkerPipeline
    features: list[str]
    spec_hash: str | None
    task: str
    software: dict = field(default_factory=dict)


def save_model(
    pipeline: BiomarkerPipeline,
    path,
    *,
    spec_hash: str | None = None,
    software: dict | None = None,
) -> Path:
    """Write a fitted pipeline with its feature names, task, spec hash and software (joblib).

    ``software`` is the ``{name: version}`` of the software that computed the training
    features (:attr:`~radiome.analysis.Cohort.software`); :func:`predict` compares it.
    """
    import joblib

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    joblib.dump(
        {
            "format": _FORMAT,
            "pipeline": pipeline,
            "features": [str(f) for f in pipeline.feature_names_in_],
            "spec_hash": spec_hash,
            "task": pipeline.task_,
            "software": dict(software or {}),
        },
        path,
    )
    return path


def load_model(path) -> SavedModel:
    """Read a model written by :func:`save_model`.

    The file is unpickled (joblib): load only model files you trust.

    Raises
    ------
    MissingFileError
        No such file.
    UnreadableFileError
        The file is not a radiome model of this version (any other file: a table, an empty
        file, another pickled object, a model of an older format).
    """
    from radiome._saved import read_saved

    path = Path(path)
    payload = read_saved(path, "model")
    found = payload.get("format") if isinstance(payload, dict) else None
    if found != _FORMAT or not isinstance(payload.get("pipeline"), BiomarkerPipeline):
        what = (f"format {found}, from an older radiome: refit it with `radiome model fit`"
                if isinstance(found, str) and found.startswith("radiome-model/")
                else f"a {type(payload).__name__}, expected format {_FORMAT}")
        msg = f"{path}: not a radiome model file of this version ({what})"
        raise UnreadableFileError(msg)
    return SavedModel(payload["pipeline"], payload["features"], payload["spec_hash"],
                      payload["task"], payload["software"])


def predict(
    model: SavedModel,
    X: pd.DataFrame,
    *,
    spec_hash: str | None = None,
    software: dict | None = None,
    batch=None,
) -> pd.DataFrame:
    """Predictions of a saved model for the rows of ``X``: ``risk`` and ``predicted``.

    Binary: ``risk`` is the probability of the positive class, ``predicted`` 1 at or above the
    training threshold. Survival: ``risk`` the risk score, ``predicted`` 1 in the high-risk group
    (above the training median).

    Missing values (NaN, infinite) are imputed with the training medians of the model's
    imputer.

    Raises
    ------
    AnalysisError
        The features' spec hash differs from the model's, or feature columns are missing.

    Warns
    -----
    AnalysisWarning
        The table carries no spec hash, or ``software`` (the software that computed ``X``)
        differs from the software that computed the training features.
    """
    if model.spec_hash is not None:
        if spec_hash is None:
            warnings.warn(
                f"the model expects features of spec {model.spec_hash}; the table carries no "
                "spec hash (wide CSV), so this cannot be checked",
                AnalysisWarning,
                stacklevel=2,
            )
        elif spec_hash != model.spec_hash:
            msg = (
                f"features were computed with spec {spec_hash}, the model expects spec "
                f"{model.spec_hash}; re-extract the features with the model's spec"
            )
            raise AnalysisError(msg)
    differs = software_difference(model.software, software or {})
    if differs:
        warnings.warn(
            f"the features to predict were computed by other software than the model's "
            f"training features ({differs}); values may differ",
            AnalysisWarning,
            stacklevel=2,
        )
    missing = [f for f in model.features if f not in X.columns]
    if missing:
        msg = f"{len(missing)} feature column(s) the model needs are missing (e.g. {missing[:3]})"
        raise AnalysisError(msg)
    text = [f for f in model.features if not pd.api.types.is_numeric_dtype(X[f])]
    if text:
        msg = f"features to predict: column(s) {text[:3]} are not numeric"
        raise AnalysisError(msg)
    pipeline = model.pipeline
    features = infinite_as_missing(X[model.features].astype(np.float64), "features to predict")
    if pipeline.imputer is None and features.isna().any().any():
        bad = features.columns[features.isna().any()].tolist()
        msg = f"features to predict: missing values in {bad[:3]} and the model has no imputer"
        raise AnalysisError(msg)
    risk = pipeline.risk_score(features, batch=batch)
    if model.task == "binary":
        predicted = risk >= pipeline.threshold_
    else:
        predicted = risk > pipeline.risk_cutoff_
    return pd.DataFrame({"risk": risk, "predicted": predicted.astype(int)}, index=X.index)
