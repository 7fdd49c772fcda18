"""The feature table: the long format every layer exchanges, and its wide view.

Long format (the contract in ARCHITECTURE.md): one row per feature value, columns
``case_id, roi, filter, family, feature, ibsi_code, aggregation, value, unit, spec_hash``.
The wide view (one row per case) is derived from it, never stored as a second truth.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from radiome.errors import RadiomeError, UnreadableFileError

__all__ = ["COLUMNS", "empty_table", "feature_key", "read_table", "to_wide", "write_table"]

COLUMNS = (
    "case_id",
    "roi",
    "filter",
    "family",
    "feature",
    "ibsi_code",
    "aggregation",
    "value",
    "unit",
    "spec_hash",
)

_STRING_COLUMNS = tuple(c for c in COLUMNS if c != "value")


def empty_table() -> pd.DataFrame:
    """A long feature table with no rows and the contract's columns and dtypes."""
    df = pd.DataFrame({c: pd.Series(dtype=object) for c in _STRING_COLUMNS})
    df["value"] = pd.Series(dtype=float)
    return df[list(COLUMNS)]


def feature_key(feature: str, aggregation: str = "", filter_name: str = "") -> str:
    """Wide-table column name: ``feature[_aggregation][__filter]`` (e.g. ``cm_joint_max_3d_avg``)."""
    key = feature
    if aggregation:
        key += f"_{aggregation}"
    if filter_name:
        key += f"__{filter_name}"
    return key


def to_wide(long: pd.DataFrame, *, index: str | list[str] = "case_id") -> pd.DataFrame:
    """One row per case (and ROI when several), one column per feature key.

    Columns are named by :func:`feature_key`; rows are indexed by ``index`` (default
    ``case_id``; pass ``["case_id", "roi"]`` when a case has several ROIs).
    """
    missing = [c for c in ("feature", "aggregation", "filter", "value") if c not in long.columns]
    if missing:
        msg = f"not a long feature table: missing column(s) {', '.join(missing)}"
        raise RadiomeError(msg)
    keys = [
        feature_key(f, a or "", flt or "")
        for f, a, flt in zip(
            long["feature"],
            long["aggregation"].fillna(""),
            long["filter"].fillna(""),
            strict=True,
        )
    ]
    frame = long.assign(_key=keys)
    index_cols = [index] if isinstance(index, str) else list(index)
    dup = frame.duplicated([*index_cols, "_key"])
    if dup.any():
        first = frame.loc[dup, [*index_cols, "_key"]].iloc[0].tolist()
        msg = f"several values for the same case and feature (e.g. {first}); pass index=[..., 'roi']"
        raise RadiomeError(msg)
    wide = frame.pivot(index=index_cols, columns="_key", values="value")
    wide.columns.name = None
    return wide[sorted(wide.columns)]


def write_table(table: pd.DataFrame, path: str | Path) -> Path:
    """Write a feature table as CSV or Parquet, chosen by the file's extension."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".parquet"):
        msg = f"{path}: output must end in .csv or .parquet, got {suffix or 'no extension'!r}"
        raise RadiomeError(msg)
    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".csv":
        table.to_csv(path, index=False, float_format="%.17g")
    else:
        table.to_parquet(path, index=False)
    return path


def read_table(path: str | Path) -> pd.DataFrame:
    """Read a long feature table written by :func:`write_table` (CSV or Parquet)."""
    path = Path(path)
    try:
        if path.suffix.lower() == ".parquet":
            df = pd.read_parquet(path)
        else:
            df = pd.read_csv(path, dtype={c: str for c in _STRING_COLUMNS}, keep_default_na=False)
            df["value"] = df["value"].replace("", "nan").astype(float)  # "" and "nan": NaN
    except (OSError, ValueError) as exc:
        msg = f"{path}: cannot read feature table: {exc}"
        raise UnreadableFileError(msg) from exc
    return df
