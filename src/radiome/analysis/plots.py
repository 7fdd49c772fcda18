"""PNG figures: ROC curves, calibration, Kaplan-Meier curves by risk group, forest plot.

Figures are drawn on ``matplotlib.figure.Figure`` objects with the Agg canvas (no pyplot, no
global state) and written to the given path, which is returned.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pandas as pd

from radiome.analysis._outcome import binary_labels
from radiome.errors import AnalysisError

__all__ = ["calibration_plot", "forest_plot", "km_plot", "roc_plot"]


def _figure(width: float = 5.0, height: float = 4.5):
    """A new Agg-backed figure and its axes."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=120)
    FigureCanvasAgg(fig)
    return fig, fig.add_subplot(1, 1, 1)


def _save(fig, path) -> Path:
    """Write ``fig`` as PNG to ``path`` (parents created)."""
    path = Path(path)
    if path.suffix.lower() != ".png":
        msg = f"{path}: figures are written as PNG, the path must end in .png"
        raise AnalysisError(msg)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, format="png")
    return path


def roc_plot(y, scores, path, *, title: str = "ROC", ci=None) -> Path:
    """ROC curve(s) of ``scores`` (n,) or (k, n), e.g. the out-of-fold scores of k CV repeats.

    The title gives the AUC and its interval: ``ci`` = (auc, low, high, method) when given
    (e.g. the bootstrap interval a summary reports, so figure and numbers agree), else the
    DeLong 95 % CI for one row, or the mean AUC without an interval for several rows.
    """
    from sklearn.metrics import roc_curve

    from radiome.analysis.diagnostic import auc_delong, fast_auc

    _, y01 = binary_labels(y)
    rows = np.atleast_2d(np.asarray(scores, dtype=np.float64))
    fig, ax = _figure()
    for i, row in enumerate(rows):
        fpr, tpr, _ = roc_curve(y01, row)
        ax.plot(
            fpr,
            tpr,
            color="C0",
            alpha=1.0 if rows.shape[0] == 1 else 0.35,
            lw=1.5,
            label=None if i else "out-of-fold ROC",
        )
    if ci is not None:
        auc, low, high, method = ci
        text = f"AUC {auc:.3f} ({low:.3f}-{high:.3f})\n{textwrap.fill(method, 64)}"
    elif rows.shape[0] == 1:
        d = auc_delong(y01, rows[0])
        text = f"AUC {d['auc']:.3f} ({d['ci_low']:.3f}-{d['ci_high']:.3f})\n95% CI: DeLong"
    else:
        text = f"AUC {np.mean(fast_auc(y01, rows)):.3f} (mean of {rows.shape[0]} repeats)"
    ax.plot([0, 1], [0, 1], ls="--", color="grey", lw=1)
    ax.set(
        xlabel="1 - specificity",
        ylabel="sensitivity",
        xlim=(0, 1),
        ylim=(0, 1.01),
    )
    ax.set_title(f"{title}\n{text}", fontsize=8)
    ax.legend(loc="lower right")
    return _save(fig, path)


def calibration_plot(y, probability, path, *, n_bins: int = 10, title: str = "Calibration") -> Path:
    """Observed event rate against mean predicted probability in quantile bins.

    ``probability`` (n,) or (k, n); k rows are averaged per case first (each row being
    out-of-fold, so is the average). Bins by ``sklearn.calibration.calibration_curve``
    (strategy "quantile").
    """
    from sklearn.calibration import calibration_curve

    _, y01 = binary_labels(y)
    prob = np.atleast_2d(np.asarray(probability, dtype=np.float64)).mean(axis=0)
    observed, predicted = calibration_curve(y01, prob, n_bins=n_bins, strategy="quantile")
    fig, ax = _figure()
    ax.plot([0, 1], [0, 1], ls="--", color="grey", lw=1, label="perfect")
    ax.plot(predicted, observed, marker="o", color="C0", label="model")
    ax.set(
        xlabel="predicted probability",
        ylabel="observed frequency",
        title=title,
        xlim=(0, 1),
        ylim=(0, 1),
    )
    ax.legend(loc="upper left")
    return _save(fig, path)


def km_plot(y, group, path, *, title: str = "Kaplan-Meier by risk group") -> Path:
    """Kaplan-Meier curves per group with the log-rank p-value in the title."""
    from radiome.analysis.survival import kaplan_meier, logrank

    fig, ax = _figure()
    for label, (time, surv) in kaplan_meier(y, group).items():
        ax.step(np.r_[0.0, time], np.r_[1.0, surv], where="post", label=str(label))
    p = logrank(y, group)["p"]
    ax.set(
        xlabel="time",
        ylabel="event-free probability",
        title=f"{title}\nlog-rank p = {p:.3g}",
        ylim=(0, 1.02),
    )
    ax.legend(loc="lower left")
    return _save(fig, path)


def forest_plot(table: pd.DataFrame, path, *, measure: str = "ratio", title: str = "") -> Path:
    """Forest plot of ratios with CIs (log scale), one row per line of ``table``.

    ``table`` needs columns ``stratum``, ``ratio``, ``ratio_ci_low``, ``ratio_ci_high`` (as
    :func:`~radiome.analysis.predictive_value` returns in ``"strata"``).
    """
    from matplotlib.ticker import NullFormatter

    needed = ["stratum", "ratio", "ratio_ci_low", "ratio_ci_high"]
    missing = [c for c in needed if c not in table.columns]
    if missing:
        msg = f"forest_plot: table lacks column(s) {missing}"
        raise AnalysisError(msg)
    fig, ax = _figure(7.0, 1.2 + 0.5 * len(table))
    pos = np.arange(len(table))[::-1]
    err = np.vstack(
        [table["ratio"] - table["ratio_ci_low"], table["ratio_ci_high"] - table["ratio"]]
    )
    ax.errorbar(table["ratio"], pos, xerr=err, fmt="s", color="C0", capsize=3)
    ax.axvline(1.0, ls="--", color="grey", lw=1)
    ax.set_xscale("log")
    low, high = float(table["ratio_ci_low"].min()), float(table["ratio_ci_high"].max())
    ticks = 2.0 ** np.arange(np.floor(np.log2(min(low, 1.0))), np.ceil(np.log2(max(high, 1.0))) + 1)
    ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_yticks(pos, table["stratum"].astype(str))
    for y_pos, row in zip(pos, table.itertuples(index=False), strict=True):
        ax.annotate(
            f"{row.ratio:.2f} ({row.ratio_ci_low:.2f}-{row.ratio_ci_high:.2f})",
            (1.02, y_pos),
            xycoords=("axes fraction", "data"),
            va="center",
            fontsize=8,
        )
    ax.set(xlabel=f"{measure} (95% CI)", title=title)
    return _save(fig, path)
