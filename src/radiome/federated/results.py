"""The result files of a federated study: statistics.csv, model.json, summary.json."""

from __future__ import annotations

import json
import math
from pathlib import Path

from radiome._output import check_output, written
from radiome.federated.protocol import Study

__all__ = ["write_results"]


def write_results(out: Path, study: Study, summary: dict, error: str | None,
                  seconds: float) -> None:
    """Write the study's results to the folder ``out`` (only ``summary.json`` after an error).

    ``statistics.csv`` has ``feature, n, mean, sd, missing`` over all sites; ``model.json`` the
    logistic model on the federated z-scored features (``intercept``, ``coefficients``; with
    the ANOVA filter its ``selected`` features), its pooled AUC, the leave-one-site-out and
    per-site AUCs, with survival columns the Cox model and its pooled C-index, and with ComBat
    the federated estimates (``combat``: grand ``mean``, pooled ``var``, covariate ``coef``, in
    feature order); ``summary.json`` ``secagg``, ``epsilon``, ``delta``, ``rounds``, ``sites``,
    ``seconds``, ``dropouts`` (the rounds after which a SecAgg+ study went on without some
    sites, and why) and ``error`` (None when the study completed).
    """
    summary = {"epsilon": None, "delta": None, **summary, "rounds": study.rounds,
               "sites": study.sites or summary["sites"], "seconds": round(seconds, 3),
               "error": error}
    if error is None:
        result = study.result()
        with written(check_output(out / "statistics.csv", [".csv"], "statistics"), "statistics") \
                as tmp:
            result["statistics"].to_csv(tmp, index=False, float_format="%.17g")
        model = {**result["logistic"], "l2": study.l2, "auc": result["auc"],
                 "sites": result["sites"]}
        model.update({k: result[k] for k in ("cox", "combat") if k in result})
        _write_json(out / "model.json", model, "model")
        summary["auc"] = result["auc"]
    _write_json(out / "summary.json", summary, "summary")


def _write_json(path: Path, data: dict, what: str) -> None:
    """Write ``data`` as indented JSON (NaN as null)."""
    with written(check_output(path, [".json"], what), what) as tmp:
        tmp.write_text(json.dumps(_finite(data), indent=2) + "\n", encoding="utf-8")


def _finite(value):
    """``value`` with NaN/inf floats replaced by None, recursively."""
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
