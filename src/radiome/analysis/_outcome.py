"""Outcome conventions shared by the analysis modules: binary labels and survival arrays."""

from __future__ import annotations

import numpy as np
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import column_or_1d

from radiome.errors import AnalysisError

__all__ = [
    "binary_labels",
    "continuous_outcome",
    "is_survival",
    "split_survival",
    "survival_array",
]


def survival_array(event, time) -> np.ndarray:
    """Structured survival outcome ``[("event", bool), ("time", float)]`` (scikit-survival's)."""
    event = np.asarray(event)
    time = np.asarray(time, dtype=np.float64)
    if event.shape != time.shape or event.ndim != 1:
        msg = (
            "survival outcome: event and time must be 1-D of equal length, "
            f"got {event.shape} and {time.shape}"
        )
        raise AnalysisError(msg)
    if np.isnan(time).any() or (time < 0).any():
        msg = "survival outcome: time has missing or negative values"
        raise AnalysisError(msg)
    values = set(np.unique(event).tolist())
    if not values <= {0, 1}:
        shown = sorted(values, key=str)[:5]
        msg = f"survival outcome: event must be 0/1 or True/False, got values {shown}"
        raise AnalysisError(msg)
    out = np.empty(event.shape[0], dtype=[("event", bool), ("time", np.float64)])
    out["event"] = event.astype(bool)
    out["time"] = time
    return out


def is_survival(y) -> bool:
    """True when ``y`` is a structured (event, time) array."""
    return isinstance(y, np.ndarray) and y.dtype.names is not None


def split_survival(y) -> tuple[np.ndarray, np.ndarray]:
    """(event bool, time float) of a structured survival array (first bool field is the event)."""
    names = y.dtype.names or ()
    if len(names) != 2:
        msg = f"survival outcome must have 2 fields (event, time), got {names}"
        raise AnalysisError(msg)
    first_is_event = y.dtype[names[0]] == np.bool_
    event_name, time_name = names if first_is_event else names[::-1]
    return np.asarray(y[event_name], dtype=bool), np.asarray(y[time_name], dtype=np.float64)


def continuous_outcome(y, n_bins: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """(float values, quantile-bin strata 0..n_bins-1) of a continuous outcome.

    The strata (bins between the quantiles) let stratified K-fold balance the folds over the
    range of the outcome, as the classes do for a binary one.
    """
    try:
        values = np.asarray(y, dtype=np.float64)
    except (TypeError, ValueError):
        msg = "continuous outcome must be numeric"
        raise AnalysisError(msg) from None
    if values.ndim != 1:
        msg = f"continuous outcome must be 1-D, got shape {values.shape}"
        raise AnalysisError(msg)
    if not np.isfinite(values).all():
        msg = "continuous outcome has missing or infinite values"
        raise AnalysisError(msg)
    if np.unique(values).size < 3:
        msg = f"continuous outcome has {np.unique(values).size} distinct values; needs at least 3"
        raise AnalysisError(msg)
    edges = np.quantile(values, np.linspace(0, 1, n_bins + 1)[1:-1])
    return values, np.searchsorted(edges, values, side="right")


def binary_labels(y) -> tuple[np.ndarray, np.ndarray]:
    """(classes, 0/1 int labels) of a binary outcome; the positive class is ``classes[1]``."""
    y = np.asarray(y)
    if y.ndim != 1 and not (y.ndim == 2 and y.shape[1] == 1):
        msg = f"binary outcome must be 1-D, got shape {y.shape}"
        raise AnalysisError(msg)
    y = column_or_1d(y, warn=True)
    if y.dtype.kind == "f" and np.isnan(y).any():
        msg = "binary outcome has missing values"
        raise AnalysisError(msg)
    check_classification_targets(y)
    classes = np.unique(y)
    if classes.size == 1:
        msg = f"binary outcome has only 1 class ({classes[0]!r}); needs 2 classes"
        raise AnalysisError(msg)
    if classes.size > 2:
        msg = f"Only binary classification is supported; the outcome has {classes.size} classes"
        raise AnalysisError(msg)
    return classes, (y == classes[1]).astype(int)
