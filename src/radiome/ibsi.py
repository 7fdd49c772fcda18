"""IBSI compliance: compare a feature table with an IBSI reference-value table.

Reference tables are the IBSI 1 CSVs (``family, feature, ibsi_code, aggregation_code,
feature_tag, value, tolerance, tolerance_given, ...``). A value matches when
``|got - value| <= tolerance``; where the manual prints no tolerance (``tolerance_given`` is
``no``) the value is printed to 3 significant digits, so the result must round to it:
``|got - value| <= half a unit of the third significant digit of the reference``.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from radiome.errors import MissingFileError, UnreadableFileError

__all__ = ["AGGREGATION_BY_CODE", "compare", "load_reference", "matches", "summarise"]

#: IBSI aggregation codes and radiome's ``aggregation`` column values.
AGGREGATION_BY_CODE = {
    "DHQ4": "",
    "BTW3": "2d_avg",
    "SUJT": "2d_smrg",
    "JJUI": "2_5d_dmrg",
    "ZW7Z": "2_5d_vmrg",
    "ITBB": "3d_avg",
    "IAZD": "3d_vmrg",
    "8QNN": "2d",
    "62GR": "2_5d",
    "KOBO": "3d",
}
_TAG_SUFFIXES = ("_2_5D_avg", "_2_5D_comb", "_2D_avg", "_2D_comb", "_3D_avg", "_3D_comb",
                 "_2_5D", "_2D", "_3D")
_REQUIRED = ("feature_tag", "aggregation_code", "value", "tolerance")


def load_reference(path: str | Path) -> pd.DataFrame:
    """An IBSI reference table with radiome's ``feature`` and ``aggregation`` columns added."""
    path = Path(path)
    if not path.exists():
        msg = f"{path}: reference table does not exist"
        raise MissingFileError(msg)
    try:
        ref = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, ValueError) as exc:
        msg = f"{path}: cannot read reference table: {exc}"
        raise UnreadableFileError(msg) from exc
    missing = [c for c in _REQUIRED if c not in ref.columns]
    if missing:
        msg = f"{path}: not an IBSI reference table, missing column(s) {', '.join(missing)}"
        raise UnreadableFileError(msg)
    unknown = sorted(set(ref["aggregation_code"]) - set(AGGREGATION_BY_CODE))
    if unknown:
        msg = f"{path}: unknown aggregation code(s) {unknown}"
        raise UnreadableFileError(msg)
    ref["feature"] = [_strip_suffix(tag) for tag in ref["feature_tag"]]
    ref["aggregation"] = ref["aggregation_code"].map(AGGREGATION_BY_CODE)
    ref["tolerance_given"] = ref.get("tolerance_given", "yes")
    return ref


def _strip_suffix(tag: str) -> str:
    for suffix in _TAG_SUFFIXES:
        if tag.endswith(suffix):
            return tag[: -len(suffix)]
    return tag


def matches(got: float, value: float, tolerance: float, tolerance_given: bool = True) -> bool:
    """True when ``got`` agrees with a reference ``value`` (see the module docstring)."""
    if not np.isfinite(got):
        return False
    if tolerance_given or tolerance > 0:
        return abs(got - value) <= tolerance * (1 + 1e-9) + 1e-12
    if value == 0:
        return abs(got) < 5e-4
    half_unit = 0.5 * 10.0 ** (math.floor(math.log10(abs(value))) - 2)
    return abs(got - value) <= half_unit * (1 + 1e-9)


def compare(table: pd.DataFrame, reference: pd.DataFrame) -> pd.DataFrame:
    """Every reference row with radiome's value and whether it matches.

    Parameters
    ----------
    table : DataFrame
        A long feature table (unfiltered rows are compared).
    reference : DataFrame
        From :func:`load_reference`.

    Returns
    -------
    DataFrame
        ``family, feature, aggregation, ibsi_code, value, tolerance, got, status`` where status
        is ``match``, ``mismatch``, ``missing`` (radiome produced no value) or ``no reference``.
    """
    own = table[table["filter"].fillna("") == ""]
    got = {(f, a or ""): v for f, a, v in zip(own["feature"], own["aggregation"], own["value"],
                                               strict=True)}
    out = []
    for row in reference.itertuples(index=False):
        key = (row.feature, row.aggregation)
        value = float(row.value) if row.value != "" else math.nan
        tol = float(row.tolerance) if row.tolerance != "" else 0.0
        mine = got.get(key, math.nan)
        if math.isnan(value):
            status = "no reference"
        elif key not in got:
            status = "missing"
        else:
            status = "match" if matches(mine, value, tol, row.tolerance_given != "no") else "mismatch"
        out.append((row.family, row.feature, row.aggregation, row.ibsi_code, value, tol, mine,
                    status))
    return pd.DataFrame(out, columns=["family", "feature", "aggregation", "ibsi_code", "value",
                                      "tolerance", "got", "status"])


def summarise(comparison: pd.DataFrame) -> pd.DataFrame:
    """Matched / total per family (rows without a reference value are not counted)."""
    scored = comparison[comparison["status"] != "no reference"]
    grouped = scored.groupby("family", sort=False)["status"]
    return pd.DataFrame({
        "matched": grouped.apply(lambda s: int((s == "match").sum())),
        "total": grouped.size(),
    }).reset_index()
