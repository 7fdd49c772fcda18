"""Reliability, harmonisation, models, delta-radiomics and habitats of a study report.

Each function turns what the store or an analysis output holds into the facts and figures of
one report section; a section whose inputs are absent returns None and the page says so.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd

from radiome.report import figures

__all__ = ["delta_facts", "habitat_facts", "harmonisation_facts", "load_evaluation",
           "model_facts", "reliability_facts"]

#: Features shown by site when present (else those with the strongest site effect).
_REPRESENTATIVE = ("stat_mean", "morph_volume", "cm_contrast_3d_vmrg", "szm_zs_entr_3d")
#: Inner folds of the default pipeline's nested CV (:func:`radiome.analysis.nested_cv`).
_INNER_FOLDS = 5
#: Legend labels of the curves' series (as the evaluate JSON names them).
_CURVE_LABELS = {"values": "model", "treat_all": "treat all", "treat_none": "treat none"}
#: Keys of the evaluate JSON that are labels, not numbers.
_TEXT_KEYS = ("task", "ci_method", "spec_hash")


def reliability_facts(icc: pd.DataFrame) -> dict | None:
    """ICC table, plot and the features kept by the reliability filter (None: no ICCs)."""
    if icc.empty:
        return None
    icc = icc.sort_values(["by", "form", "icc"], ascending=[True, True, False])
    studies = []
    for (by, form), rows in icc.groupby(["by", "form"], sort=True):
        min_icc = float(rows["min_icc"].iloc[0])
        studies.append({
            "by": by, "form": form, "min_icc": min_icc, "n_features": len(rows),
            "n_kept": int(rows["passes"].sum()),
            "median_icc": float(rows["icc"].median()),
            "rows": rows[["filter", "family", "feature", "aggregation", "icc", "ci_low",
                          "ci_high", "n_subjects", "passes"]].to_dict("records"),
            "plot": figures.icc_plot(rows, min_icc),
        })
    return {"studies": studies}


def harmonisation_facts(wide: pd.DataFrame, site: pd.Series, n_shown: int = 3) -> dict | None:
    """Site distributions before and after ComBat, and batch-effect tests (None: < 2 sites).

    ``wide`` holds one row per case (feature columns); ``site`` its site labels. Every feature
    complete and varying in every site is harmonised by :class:`radiome.analysis.ComBat`; the
    site effect on each is tested with the Kruskal–Wallis H test before and after.
    """
    from scipy.stats import kruskal

    from radiome.analysis import ComBat

    known = site.notna() & (site.astype(str) != "")
    wide, site = wide[known.to_numpy()], site[known].astype(str)
    counts = site.value_counts()
    if len(counts) < 2 or counts.min() < 2:
        return None
    columns = [c for c in wide.columns if wide[c].notna().all()
               and all(wide[c][(site == s).to_numpy()].nunique() > 1 for s in counts.index)]
    if not columns:
        return None
    before = wide[columns].astype(float)
    after = pd.DataFrame(ComBat().fit_transform(before.to_numpy(), batch=site.to_numpy()),
                         index=before.index, columns=columns)
    groups = [(site == s).to_numpy() for s in counts.index]
    tests = []
    for column in columns:
        h0, p0 = kruskal(*(before[column].to_numpy()[g] for g in groups))
        h1, p1 = kruskal(*(after[column].to_numpy()[g] for g in groups))
        tests.append({"feature": column, "h_before": float(h0), "p_before": float(p0),
                      "h_after": float(h1), "p_after": float(p1)})
    tests = pd.DataFrame(tests).sort_values("h_before", ascending=False)
    shown = [c for c in _REPRESENTATIVE if c in columns][:n_shown]
    shown += [c for c in tests["feature"] if c not in shown][: n_shown - len(shown)]
    plain_site = pd.Series(site.to_numpy())
    return {
        "n_sites": len(counts), "n_features": len(columns),
        "n_significant_before": int((tests["p_before"] < 0.05).sum()),
        "n_significant_after": int((tests["p_after"] < 0.05).sum()),
        "shown": [{"feature": c, "plot": figures.site_boxes(
            pd.Series(before[c].to_numpy()), pd.Series(after[c].to_numpy()), plain_site, c),
            **tests.set_index("feature").loc[c].to_dict()} for c in shown],
        "tests": tests.head(20).to_dict("records"),
    }


def load_evaluation(path: str | Path) -> dict:
    """The JSON written by ``radiome model evaluate --json``, checked.

    Raises
    ------
    MissingFileError
        No such file.
    UnreadableFileError
        The file is not JSON, or not an evaluation (no ``task`` and headline metric).
    """
    from radiome.errors import MissingFileError, UnreadableFileError

    path = Path(path)
    if not path.is_file():
        msg = f"{path}: model evaluation JSON not found"
        raise MissingFileError(msg)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        msg = f"{path}: not readable as JSON ({' '.join(str(exc).split())})"
        raise UnreadableFileError(msg) from None
    headline = {"binary": "auc", "survival": "c_index"}.get(
        data.get("task") if isinstance(data, dict) else None)
    if headline is None or not isinstance(data.get(headline), int | float | None):
        msg = (f"{path}: not the JSON of `radiome model evaluate --json` (needs 'task' binary or "
               "survival and its 'auc' or 'c_index')")
        raise UnreadableFileError(msg)
    return data


def _is_number(value) -> bool:
    """True for a finite int or float (not a bool)."""
    return (isinstance(value, int | float) and not isinstance(value, bool)
            and math.isfinite(value))


def _series(value) -> pd.DataFrame | None:
    """A curve stored in the JSON (dict of equal-length lists, or list of dicts) as a table."""
    if isinstance(value, dict) and value and all(isinstance(v, list) for v in value.values()):
        lengths = {len(v) for v in value.values()}
        return pd.DataFrame(value) if len(lengths) == 1 and lengths != {0} else None
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        return pd.DataFrame(value)
    return None


def _x_column(table: pd.DataFrame, *names: str) -> str | None:
    """The first column of ``table`` whose name contains one of ``names``."""
    return next((c for n in names for c in table.columns if n in c), None)


def _curves(data: dict) -> list[dict]:
    """Curve figures of one evaluation: ROC, calibration and decision curves when present."""
    found = []
    specs = (("roc", "ROC curve", ("fpr", "false"), "1 - specificity", "sensitivity", True),
             ("calibration", "Calibration", ("predicted", "mean_pred", "prob_pred"),
              "predicted probability", "observed proportion", True),
             ("net_benefit", "Decision curve", ("threshold",), "threshold probability",
              "net benefit", False),
             ("decision_curve", "Decision curve", ("threshold",), "threshold probability",
              "net benefit", False),
             ("km", "Kaplan–Meier by risk group", ("time",), "time", "survival", False))
    for key, title, x_names, xlabel, ylabel, diagonal in specs:
        table = _series(data.get(key))
        if table is None:
            continue
        x = _x_column(table, *x_names) or table.columns[0]
        lines = [(_CURVE_LABELS.get(c, c), table[x], table[c]) for c in table.columns
                 if c != x and pd.api.types.is_numeric_dtype(table[c])
                 and not c.endswith(("_low", "_high"))]
        low = next((c for c in table.columns if c.endswith("_low")), None)
        high = next((c for c in table.columns if c.endswith("_high")), None)
        band = (table[x], table[low], table[high]) if low and high else None
        found.append({"key": key, "title": title, "alt": title, "numbers": [],
                      "plot": figures.curve_plot(lines, xlabel=xlabel, ylabel=ylabel,
                                                 diagonal=diagonal, band=band)})
    return found


def _emitted_curves(curves: dict) -> list[dict]:
    """Figures of the ``curves`` object of ``radiome model evaluate --json`` (out of fold).

    Each figure carries its alt text and ``numbers``: ``(label, value, key)`` shown traced
    under it (``key`` relative to the model, as in the JSON).
    """
    found = []
    roc = curves.get("roc")
    if isinstance(_series(roc), pd.DataFrame):
        found.append({"key": "roc", "title": "ROC curve (out of fold)", "plot": figures.curve_plot(
            [("mean ROC over repeats", roc["fpr"], roc["tpr"])], xlabel="1 - specificity",
            ylabel="sensitivity", diagonal=True,
            band=(roc["fpr"], roc["tpr_ci_low"], roc["tpr_ci_high"])),
            "alt": "Out-of-fold ROC curve, mean over the CV repeats, shaded 95 % bootstrap CI",
            "numbers": [("points", len(roc["fpr"]), "curves.roc.points")]})
    calibration = curves.get("calibration")
    if isinstance(_series(calibration), pd.DataFrame):
        found.append({"key": "calibration", "title": "Calibration (out of fold)",
                      "plot": figures.curve_plot(
                          [("quantile bins", calibration["predicted"], calibration["observed"])],
                          xlabel="predicted probability", ylabel="observed proportion",
                          diagonal=True, markers=True),
                      "alt": "Observed event rate against mean predicted probability of "
                             "quantile bins of the out-of-fold probability; diagonal: perfect",
                      "numbers": [("bins", len(calibration["count"]), "curves.calibration.bins"),
                                  ("cases", sum(calibration["count"]),
                                   "curves.calibration.count")]})
    km = curves.get("km")
    if isinstance(km, dict) and km.get("groups"):
        groups = km["groups"]
        found.append({"key": "km", "title": "Kaplan–Meier by risk group (out of fold)",
                      "plot": figures.km_plot(groups),
                      "alt": "Kaplan–Meier event-free probability of the high- and low-risk "
                             "groups of the out-of-fold risk (first CV repeat)",
                      "numbers": [("log-rank p", km["logrank_p"], "curves.km.logrank_p")]
                      + [(f"{g['label']}: n", g["n"], f"curves.km.{g['label']}.n")
                         for g in groups]
                      + [(f"{g['label']}: events", g["n_events"],
                          f"curves.km.{g['label']}.n_events") for g in groups]})
    return found


def model_facts(paths: list[Path]) -> dict | None:
    """Metrics, curves and the nested-CV design of each evaluation JSON (None: none given)."""
    if not paths:
        return None
    models = []
    for i, path in enumerate(paths):
        data = load_evaluation(path)
        headline = "auc" if data["task"] == "binary" else "c_index"
        metrics = [(k, v) for k, v in data.items() if k not in _TEXT_KEYS and _is_number(v)]
        lists = [(k, v) for k, v in data.items()
                 if isinstance(v, list) and all(isinstance(x, str) for x in v)]
        models.append({
            "index": i, "label": Path(path).stem, "path": str(path), "task": data["task"],
            "headline": headline, "data": data, "metrics": metrics, "lists": lists,
            "text": [(k, data[k]) for k in _TEXT_KEYS if data.get(k)],
            "curves": _emitted_curves(data.get("curves") or {}) + _curves(data),
            "design": {"repeats": int(data.get("n_repeats") or 1),
                       "outer": int(data.get("n_splits") or 0), "inner": _INNER_FOLDS},
        })
    shown = [m for m in models if _is_number(m["data"].get(m["headline"]))
             and _is_number(m["data"].get(m["headline"] + "_ci_low"))]
    forest = None
    if shown:
        metric = " / ".join(sorted({m["headline"].replace("_", "-").upper() for m in shown}))
        forest = figures.auc_forest(
            [m["label"] for m in shown], [m["data"][m["headline"]] for m in shown],
            [m["data"][m["headline"] + "_ci_low"] for m in shown],
            [m["data"][m["headline"] + "_ci_high"] for m in shown], metric)
    return {"models": models, "forest": forest}


def delta_facts(table: pd.DataFrame) -> dict | None:
    """A representative feature over time per patient (None: no patient has 2 time points).

    ``table`` is the long feature table with ``patient`` and ``timepoint`` labels.
    """
    labelled = table.dropna(subset=["patient", "timepoint"])
    labelled = labelled[(labelled["patient"] != "") & (labelled["timepoint"] != "")]
    points = labelled.groupby("patient")["timepoint"].nunique()
    if not (points >= 2).any():
        return None
    keep = labelled[labelled["patient"].isin(points[points >= 2].index)
                    & (labelled["filter"].fillna("") == "")]
    available = set(keep["feature"])
    feature = next((f for f in ("morph_volume", "stat_mean") if f in available),
                   sorted(available)[0])
    rows = keep[keep["feature"] == feature][["patient", "timepoint", "value"]]
    return {"feature": feature, "n_patients": int((points >= 2).sum()),
            "n_timepoints": int(labelled["timepoint"].nunique()),
            "plot": figures.timepoint_lines(rows, feature)}


def habitat_facts(table: pd.DataFrame) -> dict | None:
    """Habitat fractions per case from the ``<roi>#h<k>`` parts (None: no habitats stored)."""
    parts = table[table["roi"].str.contains("#h", regex=False)
                  & (table["feature"] == "hab_fraction")]
    if parts.empty:
        return None
    parts = parts.assign(habitat=parts["roi"].str.split("#").str[-1],
                         case=parts["case_id"] + " " + parts["roi"].str.split("#").str[0])
    fractions = parts.pivot_table(index="case", columns="habitat", values="value",
                                  aggfunc="first")
    fractions = fractions[sorted(fractions.columns, key=figures.natural_key)]
    return {"n_cases": len(fractions), "n_habitats": fractions.shape[1],
            "mean_fraction": {h: float(np.nanmean(fractions[h])) for h in fractions.columns},
            "plot": figures.habitat_bars(fractions)}
