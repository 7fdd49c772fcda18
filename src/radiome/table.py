"""The feature table: the long format every layer exchanges, and its wide view.

Long format (the contract in ARCHITECTURE.md): one row per feature value, columns
``case_id, roi, filter, family, feature, ibsi_code, aggregation, value, unit, spec_hash``.
The wide view (one row per case) is derived from it, never stored as a second truth.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING

from radiome.errors import RadiomeError, UnreadableFileError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["COLUMNS", "empty_table", "feature_key", "read_table", "to_wide", "write_rows",
           "write_table"]

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
    import pandas as pd

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


def _output(path: str | Path) -> tuple[Path, str]:
    """The output path (its folder created) and its format, ``.csv`` or ``.parquet``."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".parquet"):
        msg = f"{path}: output must end in .csv or .parquet, got {suffix or 'no extension'!r}"
        raise RadiomeError(msg)
    path.parent.mkdir(parents=True, exist_ok=True)
    return path, suffix


def write_table(table: pd.DataFrame, path: str | Path) -> Path:
    """Write a feature table as CSV or Parquet, chosen by the file's extension."""
    path, suffix = _output(path)
    if suffix == ".csv":
        table.to_csv(path, index=False, float_format="%.17g")
    else:
        table.to_parquet(path, index=False)
    return path


def write_rows(rows: Sequence[tuple], path: str | Path | IO[str]) -> Path | None:
    """Write long-table rows (tuples in :data:`COLUMNS` order) without pandas.

    The file is the one :func:`write_table` writes for the same table (CSV: floats as
    ``%.17g``, NaN as an empty cell; Parquet through pyarrow). ``path`` may be an open text
    stream (CSV), such as ``sys.stdout``.
    """
    if not isinstance(path, str | Path):
        _write_csv(rows, path)
        return None
    path, suffix = _output(path)
    if suffix == ".csv":
        with path.open("w", newline="", encoding="utf-8") as fh:
            _write_csv(rows, fh)
    else:
        import pyarrow as pa
        import pyarrow.parquet as pq

        columns = list(zip(*rows, strict=True)) if rows else [()] * len(COLUMNS)
        arrays = {name: pa.array(values, type=pa.float64() if name == "value" else pa.string())
                  for name, values in zip(COLUMNS, columns, strict=True)}
        pq.write_table(pa.table(arrays), path)
    return path


def _write_csv(rows: Sequence[tuple], fh: IO[str]) -> None:
    """CSV of long-table rows, cell for cell as pandas' ``to_csv(float_format="%.17g")``."""
    value = COLUMNS.index("value")
    writer = csv.writer(fh, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in rows:
        x = row[value]
        writer.writerow((*row[:value], "" if math.isnan(x) else "%.17g" % x, *row[value + 1:]))


def read_table(path: str | Path) -> pd.DataFrame:
    """Read a long feature table written by :func:`write_table` (CSV or Parquet)."""
    import pandas as pd

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
