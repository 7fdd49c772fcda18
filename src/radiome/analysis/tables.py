"""Cohort tables for modelling: features (wide CSV or long radiome table) plus clinical data.

A wide table has one row per patient (or lesion), an ID column and feature columns. A long radiome
table (columns ``case_id, feature, value, spec_hash``, ...) is pivoted with
:func:`radiome.table.to_wide`; its single spec hash identifies the features a model expects.
Clinical columns (outcome, time, event, site, patient group) come from the feature table or from a
separate clinical CSV joined on the ID.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from radiome.analysis._outcome import survival_array
from radiome.errors import AnalysisError, MissingFileError, UnreadableFileError

__all__ = ["Cohort", "load_cohort", "read_features", "read_icc"]

_LONG_COLUMNS = ("case_id", "feature", "value", "spec_hash")
_TRUE = {"1", "true", "yes", "1.0"}
_FALSE = {"0", "false", "no", "0.0"}


@dataclass(frozen=True)
class Cohort:
    """Features and outcome of a cohort, aligned row by row.

    Attributes
    ----------
    X : DataFrame
        Numeric features, indexed by ID.
    y : ndarray
        0/1 labels (binary) or structured (event, time) array (survival).
    task : {"binary", "survival"}
    batch, groups : ndarray or None
        Site of each row; patient of each row (rows = lesions).
    spec_hash : str or None
        Spec hash of a long radiome feature table.
    """

    X: pd.DataFrame
    y: np.ndarray
    task: str
    batch: np.ndarray | None = None
    groups: np.ndarray | None = None
    spec_hash: str | None = None


def _read(path: Path, nrows: int | None = None) -> pd.DataFrame:
    """A CSV (plain or compressed, by extension) or Parquet file, with radiome errors."""
    if not path.exists():
        msg = f"{path}: file not found"
        raise MissingFileError(msg)
    try:
        if path.suffix.lower() == ".parquet":
            return pd.read_parquet(path)
        return pd.read_csv(path, nrows=nrows)
    except (OSError, ValueError) as exc:
        msg = f"{path}: cannot read as a table: {exc}"
        raise UnreadableFileError(msg) from exc


def read_features(path, *, id_col: str) -> tuple[pd.DataFrame, str | None]:
    """(table indexed by ID, spec hash or None) of a wide CSV or a long radiome feature table.

    A long table (it has columns ``case_id, feature, value, spec_hash``) is pivoted to one row
    per ``case_id`` (the ID); it must hold a single spec hash. A wide table must have ``id_col``.
    """
    from radiome.table import read_table, to_wide

    path = Path(path)
    if all(c in _read(path, nrows=0).columns for c in _LONG_COLUMNS):
        long = read_table(path)
        hashes = sorted(set(long["spec_hash"].astype(str)))
        if len(hashes) != 1:
            msg = f"{path}: a model needs features of one spec, found spec hashes {hashes}"
            raise AnalysisError(msg)
        wide = to_wide(long)
        wide.index = wide.index.astype(str)
        wide.index.name = id_col
        return wide, hashes[0]
    table = _read(path)
    if id_col not in table.columns:
        msg = f"{path}: no ID column {id_col!r} (columns: {_preview(table.columns)})"
        raise AnalysisError(msg)
    table[id_col] = table[id_col].astype(str).str.strip()
    if table[id_col].duplicated().any():
        dup = table.loc[table[id_col].duplicated(), id_col].iloc[0]
        msg = f"{path}: ID column {id_col!r} has duplicates (e.g. {dup!r}); one row per case"
        raise AnalysisError(msg)
    return table.set_index(id_col), None


def read_icc(path) -> pd.DataFrame:
    """An ICC table (CSV or Parquet with columns ``feature, icc, ci_low, ci_high``)."""
    path = Path(path)
    table = _read(path)
    missing = [c for c in ("feature", "icc", "ci_low", "ci_high") if c not in table.columns]
    if missing:
        msg = f"{path}: ICC table lacks column(s) {missing}"
        raise AnalysisError(msg)
    return table


def _preview(columns, k: int = 6) -> str:
    """The first ``k`` column names, for messages."""
    cols = [str(c) for c in columns]
    return ", ".join(cols[:k]) + (", ..." if len(cols) > k else "")


def _binary(values: pd.Series, where: str) -> np.ndarray:
    """0/1 from 0/1, True/False or yes/no values (any case)."""
    text = values.astype(str).str.strip().str.lower()
    bad = sorted(set(text) - _TRUE - _FALSE)
    if bad:
        msg = f"{where}: expected 0/1 or True/False, got {bad[:5]}"
        raise AnalysisError(msg)
    return text.isin(_TRUE).to_numpy().astype(int)


def load_cohort(
    features,
    *,
    id_col: str,
    outcome: str | None = None,
    time: str | None = None,
    event: str | None = None,
    site: str | None = None,
    group: str | None = None,
    clinical=None,
) -> Cohort:
    """Features and outcome of a cohort from a feature table and an optional clinical CSV.

    Parameters
    ----------
    features : path
        Wide CSV (one row per case, with ``id_col``) or long radiome feature table.
    id_col : str
        ID column (of the wide table and of the clinical CSV).
    outcome : str, optional
        Binary outcome column (0/1 or True/False). Either this or ``time`` and ``event``.
    time, event : str, optional
        Survival: follow-up time and event indicator (1 = event).
    site : str, optional
        Site/scanner column (enables ComBat in the default pipeline).
    group : str, optional
        Patient column when rows are lesions (grouped CV).
    clinical : path, optional
        Clinical CSV with ``id_col``; its columns are joined to the features (inner join).

    Returns
    -------
    Cohort
        Every column named above is removed from the features; the remaining columns must be
        numeric and complete.
    """
    table, spec_hash = read_features(features, id_col=id_col)
    where = str(features)
    if clinical is not None:
        clin, _ = read_features(clinical, id_col=id_col)
        clash = sorted(set(clin.columns) & set(table.columns))
        if clash:
            msg = f"{clinical}: column(s) {clash} are also in {features}; rename one of them"
            raise AnalysisError(msg)
        table = table.join(clin, how="inner")
        where = f"{features} + {clinical}"
        if table.empty:
            msg = f"{clinical}: no ID in common with {features} (column {id_col!r})"
            raise AnalysisError(msg)
    if (outcome is None) == (time is None or event is None):
        msg = "give either outcome= (binary) or both time= and event= (survival)"
        raise AnalysisError(msg)
    used = [c for c in (outcome, time, event, site, group) if c is not None]
    missing = [c for c in used if c not in table.columns]
    if missing:
        msg = f"{where}: column(s) {missing} not found (columns: {_preview(table.columns)})"
        raise AnalysisError(msg)
    if table[used].isna().any().any():
        bad = [c for c in used if table[c].isna().any()]
        msg = f"{where}: column(s) {bad} have missing values"
        raise AnalysisError(msg)
    if outcome is not None:
        y, task = _binary(table[outcome], f"{where}: outcome {outcome!r}"), "binary"
    else:
        times = pd.to_numeric(table[time], errors="coerce")
        if times.isna().any():
            msg = f"{where}: time column {time!r} is not numeric"
            raise AnalysisError(msg)
        y = survival_array(_binary(table[event], f"{where}: event {event!r}"), times.to_numpy())
        task = "survival"
    X = table.drop(columns=used)
    non_numeric = [c for c in X.columns if not pd.api.types.is_numeric_dtype(X[c])]
    if non_numeric:
        msg = (
            f"{where}: non-numeric feature column(s) {non_numeric[:5]}; drop them or name them "
            "as clinical columns"
        )
        raise AnalysisError(msg)
    if X.isna().any().any():
        bad = X.columns[X.isna().any()].tolist()
        msg = (
            f"{where}: {len(bad)} feature column(s) have missing values (e.g. {bad[:3]}); "
            "impute or drop them"
        )
        raise AnalysisError(msg)
    return Cohort(
        X=X.astype(np.float64),
        y=y,
        task=task,
        batch=None if site is None else table[site].astype(str).to_numpy(),
        groups=None if group is None else table[group].astype(str).to_numpy(),
        spec_hash=spec_hash,
    )
