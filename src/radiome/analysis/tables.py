"""Cohort tables for modelling: features (wide CSV or long radiome table) plus clinical data.

A wide table has one row per patient (or lesion), an ID column and feature columns; ``radiome
export --wide`` writes one (``case_id, roi, spec_hash``, provenance columns, then one column per
feature). A long radiome table (columns ``case_id, feature, value, spec_hash``, ...) is pivoted
with :func:`radiome.table.to_wide`. Either way the table's single spec hash identifies the
features a model expects, and its software columns the software that computed them.
Clinical columns (outcome, time, event, site, patient group) come from the feature table or from a
separate clinical CSV joined on the ID.

Columns that are never features: identifiers (``case_id``, ``roi``, ``spec_hash``, ``run_id``,
``perturbation``, ``filter``), case labels (``patient``, ``timepoint``, ``rater``, ``site``,
``modality``; usable as ``site=``/``group=``) and provenance (``*_hash``, ``*_sha256``,
``*_digest``, ``radiome*``, ``software*``, ``provenance*``, ``*_version(s)``, ``python``, the
numerical libraries' names, ``acquisition``, ``conformance*``, ``seconds``, timestamps).
Missing values (empty cells, NaN, infinite values) follow :func:`load_cohort`'s policy.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from radiome.analysis._outcome import survival_array
from radiome.errors import AnalysisError, AnalysisWarning, MissingFileError, UnreadableFileError

__all__ = [
    "Cohort",
    "FeatureData",
    "infinite_as_missing",
    "load_cohort",
    "load_features",
    "read_features",
    "read_icc",
    "software_column",
    "software_difference",
]

_LONG_COLUMNS = ("case_id", "feature", "value", "spec_hash")
_TRUE = {"1", "true", "yes", "1.0"}
_FALSE = {"0", "false", "no", "0.0"}
#: Columns that identify a row of a radiome table: never features.
_IDENTIFIERS = frozenset({"case_id", "roi", "spec_hash", "run_id", "perturbation", "filter"})
#: Case labels of a manifest or store export: usable as --site/--group, else not features.
_LABELS = frozenset({"patient", "timepoint", "rater", "site", "modality"})
#: Per-case provenance a store export may add (inputs, acquisition, timing): never features.
_CASE_PROVENANCE = frozenset({
    "acquisition", "conformance", "conformance_reasons", "seconds", "host", "stored_at",
    "extracted_at", "computed_at", "started_at", "finished_at", "occurred_at",
})
_HASH_SUFFIXES = ("_hash", "_sha256", "_digest")
_SOFTWARE_PREFIXES = ("radiome", "software", "provenance")
_SOFTWARE_SUFFIXES = ("_version", "_versions")


def software_column(name: str) -> bool:
    """True for a column recording the software that computed the features.

    ``radiome*``, ``software*``, ``provenance*``, ``*_version(s)``, ``python`` and the
    numerical libraries of :data:`radiome.provenance.VALUE_LIBRARIES` (any case).
    """
    from radiome.provenance import VALUE_LIBRARIES

    low = str(name).lower()
    return (low.startswith(_SOFTWARE_PREFIXES) or low.endswith(_SOFTWARE_SUFFIXES)
            or low in {"python", *(lib.lower() for lib in VALUE_LIBRARIES)})


def _not_feature(name: str) -> bool:
    """True for an identifier, case label or provenance column (see :func:`load_cohort`)."""
    low = str(name).lower()
    return (low in _IDENTIFIERS or low in _LABELS or low in _CASE_PROVENANCE
            or low.endswith(_HASH_SUFFIXES) or software_column(low))


@dataclass(frozen=True)
class Cohort:
    """Features and outcome of a cohort, aligned row by row.

    Attributes
    ----------
    X : DataFrame
        Numeric features, indexed by ID; NaN where a value is missing (imputed inside the
        pipeline, fold by fold).
    y : ndarray
        0/1 labels (binary) or structured (event, time) array (survival).
    task : {"binary", "survival"}
    batch, groups : ndarray or None
        Site of each row; patient of each row (rows = lesions).
    spec_hash : str or None
        Spec hash of the features (long radiome table, or the ``spec_hash`` column of a wide one).
    software : dict
        The software that computed the features, ``{name: version}`` (see
        :attr:`FeatureData.software`); empty when the table does not record it.
    dropped : tuple of str
        Feature columns left out for missing in more than ``max_missing`` of the rows.
    n_missing : int
        Missing values left in ``X`` (infinite values included), imputed inside the pipeline.
    """

    X: pd.DataFrame
    y: np.ndarray
    task: str
    batch: np.ndarray | None = None
    groups: np.ndarray | None = None
    spec_hash: str | None = None
    software: dict = field(default_factory=dict)
    dropped: tuple = ()
    n_missing: int = 0


@dataclass(frozen=True)
class FeatureData:
    """A feature table read for modelling: rows by ID, and where its values come from.

    Attributes
    ----------
    table : DataFrame
        Indexed by ID; identifier and provenance columns removed (case labels and clinical
        columns kept).
    spec_hash : str or None
        The single spec hash of the table, when it records one.
    software : dict
        ``{name: version}`` of the software that computed the features, from the table's
        software columns (:func:`software_column`; a JSON object such as the store's
        ``software`` key is expanded into its entries); several values of one entry are joined
        by `` | ``.
    """

    table: pd.DataFrame
    spec_hash: str | None = None
    software: dict = field(default_factory=dict)


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


def read_features(path, *, id_col: str) -> FeatureData:
    """A wide CSV/Parquet or a long radiome feature table, one row per ID.

    A long table (it has columns ``case_id, feature, value, spec_hash``) is pivoted to one row
    per ``case_id`` (the ID), with its case label columns (``site``, ``patient``, ...) kept;
    it must hold one ROI per case. A wide table (e.g. ``radiome export --wide``) must have
    ``id_col``. Either must hold a single spec hash if it records one. Identifier columns
    (``case_id`` when it is not the ID, ``roi``, ``spec_hash``, ``run_id``, ...) and provenance
    columns (``*_hash``, ``radiome_version``, ``software``, library versions, timestamps) are
    removed from the table; software columns become :attr:`FeatureData.software`.
    """
    path = Path(path)
    if all(c in _read(path, nrows=0).columns for c in _LONG_COLUMNS):
        return _read_long(path, id_col)
    table = _read(path)
    if id_col not in table.columns:
        msg = f"{path}: no ID column {id_col!r} (columns: {_preview(table.columns)})"
        raise AnalysisError(msg)
    table[id_col] = table[id_col].astype(str).str.strip()
    if table[id_col].duplicated().any():
        dup = table.loc[table[id_col].duplicated(), id_col].iloc[0]
        hint = "; keep one ROI per case" if "roi" in table.columns else "; one row per case"
        msg = f"{path}: ID column {id_col!r} has duplicates (e.g. {dup!r}){hint}"
        raise AnalysisError(msg)
    spec_hash = _single_hash(path, table["spec_hash"]) if "spec_hash" in table.columns else None
    software = _software(table)
    drop = [c for c in table.columns if c != id_col and _provenance(c)]
    return FeatureData(table.drop(columns=drop).set_index(id_col), spec_hash, software)


def _provenance(name: str) -> bool:
    """True for identifier and provenance columns (case labels are not provenance)."""
    return _not_feature(name) and str(name).lower() not in _LABELS


def _read_long(path: Path, id_col: str) -> FeatureData:
    """A long radiome table pivoted to one row per case, with its case labels."""
    from radiome.table import read_table, to_wide

    long = read_table(path)
    spec_hash = _single_hash(path, long["spec_hash"])
    rois = long.groupby("case_id")["roi"].unique() if "roi" in long.columns else None
    if rois is not None and (several := rois[rois.map(len) > 1]).size:
        shown = ", ".join(sorted(map(str, several.iloc[0])))
        msg = (f"{path}: case {several.index[0]!r} has several ROIs ({shown}); a model needs one "
               "row per case: keep one ROI (filter the table on its roi column)")
        raise AnalysisError(msg)
    wide = to_wide(long)
    labels = [c for c in long.columns if str(c).lower() in _LABELS]
    if labels:
        per_case = long.groupby("case_id")[labels]
        if (per_case.nunique(dropna=False) > 1).any().any():
            msg = f"{path}: label column(s) {labels} differ within a case"
            raise AnalysisError(msg)
        wide = wide.join(per_case.first())
    wide.index = wide.index.astype(str)
    wide.index.name = id_col
    return FeatureData(wide, spec_hash, _software(long))


def _single_hash(path: Path, hashes: pd.Series) -> str | None:
    """The one spec hash of a table (None if it records none); raises if several."""
    found = sorted({str(h).strip() for h in hashes.dropna()} - {"", "nan"})
    if len(found) > 1:
        msg = f"{path}: a model needs features of one spec, found spec hashes {found}"
        raise AnalysisError(msg)
    return found[0] if found else None


def _software(table: pd.DataFrame) -> dict[str, str]:
    """``{name: version}`` from the software columns of a table (JSON objects expanded)."""
    found: dict[str, set[str]] = {}
    for column in (c for c in table.columns if software_column(c)):
        for value in table[column].dropna().astype(str).str.strip().unique():
            for name, version in _entries(str(column), value).items():
                found.setdefault(name, set()).add(version)
    return {name: " | ".join(sorted(versions)) for name, versions in found.items()}


def _entries(column: str, value: str) -> dict[str, str]:
    """A software value as ``{name: version}``: a JSON object's items, else ``{column: value}``."""
    if value.startswith("{"):
        try:
            parsed = json.loads(value)
        except ValueError:
            parsed = None
        if isinstance(parsed, dict):
            return {str(k): str(v) for k, v in parsed.items()}
    return {column: value} if value else {}


def software_difference(trained: dict, given: dict) -> str:
    """The entries that differ between two :attr:`FeatureData.software`, in one phrase.

    Only names both record are compared; ``""`` when none differs.
    """
    common = [name for name in trained if name in given]
    return ", ".join(f"{name} {given[name]} vs {trained[name]}" for name in common
                     if given[name] != trained[name])


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


def load_features(features, *, id_col: str, clinical=None) -> FeatureData:
    """A feature table joined (inner, on ``id_col``) with an optional clinical CSV.

    IDs found in only one of the two files are left out with one :class:`AnalysisWarning`
    that counts them. See :func:`read_features` for the feature table.

    Raises
    ------
    AnalysisError
        A column is in both files, or no ID is in both.
    """
    data = read_features(features, id_col=id_col)
    if clinical is None:
        return data
    clin = read_features(clinical, id_col=id_col).table
    clash = sorted(set(clin.columns) & set(data.table.columns))
    if clash:
        msg = f"{clinical}: column(s) {clash} are also in {features}; rename one of them"
        raise AnalysisError(msg)
    table = data.table.join(clin, how="inner")
    if table.empty:
        msg = f"{clinical}: no ID in common with {features} (column {id_col!r})"
        raise AnalysisError(msg)
    only_features = data.table.index.difference(clin.index)
    only_clinical = clin.index.difference(data.table.index)
    if len(only_features) or len(only_clinical):
        parts = [f"{len(ids)} ID(s) only in {where} (e.g. {ids[0]!r})"
                 for ids, where in ((only_features, features), (only_clinical, clinical))
                 if len(ids)]
        warnings.warn(f"{'; '.join(parts)}: left out", AnalysisWarning, stacklevel=2)
    return FeatureData(table, data.spec_hash, data.software)


def infinite_as_missing(X: pd.DataFrame, where: str) -> pd.DataFrame:
    """``X`` with +-inf replaced by NaN; an :class:`AnalysisWarning` names the first of them."""
    infinite = np.isinf(X.to_numpy(dtype=np.float64))
    if not infinite.any():
        return X
    row, col = np.argwhere(infinite)[0]
    warnings.warn(
        f"{where}: {int(infinite.sum())} infinite feature value(s) treated as missing (e.g. "
        f"column {X.columns[col]!r}, case {X.index[row]!r})",
        AnalysisWarning,
        stacklevel=2,
    )
    return X.mask(infinite)


def _drop_sparse(X: pd.DataFrame, max_missing: float, where: str) -> pd.DataFrame:
    """``X`` without the columns missing in more than ``max_missing`` of the rows (warned)."""
    share = X.isna().mean()
    sparse = share.index[share > max_missing].tolist()
    if sparse:
        warnings.warn(
            f"{where}: {len(sparse)} feature column(s) missing in more than {max_missing:.0%} "
            f"of the {len(X)} cases dropped (e.g. {sparse[:3]})",
            AnalysisWarning,
            stacklevel=3,
        )
    if len(sparse) == X.shape[1]:
        msg = f"{where}: every feature column is missing in more than {max_missing:.0%} of cases"
        raise AnalysisError(msg)
    return X.drop(columns=sparse)


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
    max_missing: float = 0.2,
) -> Cohort:
    """Features and outcome of a cohort from a feature table and an optional clinical CSV.

    Parameters
    ----------
    features : path
        Wide CSV (one row per case, with ``id_col``; e.g. ``radiome export --wide``) or long
        radiome feature table.
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
    max_missing : float, default 0.2
        A feature column missing (empty, NaN or infinite) in more than this share of the rows
        is dropped.

    Returns
    -------
    Cohort
        Every column named above is removed from the features, and so are identifier, case
        label and provenance columns (see :func:`read_features`); the remaining columns must be
        numeric.

    Notes
    -----
    Missing values: an infinite value counts as missing (with a warning naming it); a column
    missing in more than ``max_missing`` of the rows is dropped (warned, listed in
    ``Cohort.dropped``); the other missing values stay NaN and the default pipeline imputes
    them with the training median inside every fold, so no test row informs the imputation.
    Missing outcome, time, event, site or group values are an error.
    """
    data = load_features(features, id_col=id_col, clinical=clinical)
    table = data.table
    where = str(features) if clinical is None else f"{features} + {clinical}"
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
    X = table.drop(columns=[*used, *(c for c in table.columns
                                     if c not in used and _not_feature(c))])
    non_numeric = [c for c in X.columns if not pd.api.types.is_numeric_dtype(X[c])]
    if non_numeric:
        msg = (
            f"{where}: non-numeric feature column(s) {non_numeric[:5]}; drop them or name them "
            "as clinical columns"
        )
        raise AnalysisError(msg)
    if X.shape[1] == 0:
        msg = f"{where}: no feature column left (columns: {_preview(table.columns)})"
        raise AnalysisError(msg)
    X = infinite_as_missing(X.astype(np.float64), where)
    kept = _drop_sparse(X, max_missing, where)
    return Cohort(
        X=kept,
        y=y,
        task=task,
        batch=None if site is None else table[site].astype(str).to_numpy(),
        groups=None if group is None else table[group].astype(str).to_numpy(),
        spec_hash=data.spec_hash,
        software=data.software,
        dropped=tuple(str(c) for c in X.columns.difference(kept.columns, sort=False)),
        n_missing=int(kept.isna().to_numpy().sum()),
    )
