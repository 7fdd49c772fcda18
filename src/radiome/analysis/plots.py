"""PNG figures: ROC curves, calibration, decision curve, Kaplan-Meier curves by risk group,
forest plot, delta waterfall, radiogenomic volcano plot and clustered heat map.

Figures are drawn on ``matplotlib.figure.Figure`` objects with the Agg canvas (no pyplot, no
global state) and written to the given path, which is returned.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pandas as pd

from radiome.analysis._outcome import binary_labels
from radiome.analysis.curves import calibration_bins
from radiome.errors import AnalysisError

__all__ = [
    "association_heatmap",
    "calibration_plot",
    "decision_curve_plot",
    "delta_waterfall",
    "forest_plot",
    "km_plot",
    "roc_plot",
    "volcano_plot",
]


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


def roc_plot(y, scores, path, *, title: str = "ROC", ci=None, band: dict | None = None) -> Path:
    """ROC curve(s) of ``scores`` (n,) or (k, n), e.g. the out-of-fold scores of k CV repeats.

    ``band`` (:func:`~radiome.analysis.curves.roc_band`'s dict) adds the mean curve and its CI.

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
    if band is not None:
        ax.fill_between(band["fpr"], band["tpr_ci_low"], band["tpr_ci_high"], color="C0",
                        alpha=0.15, lw=0, label="95% CI of the mean")
        ax.plot(band["fpr"], band["tpr"], color="C1", lw=1.5, label="mean ROC")
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


def calibration_plot(y, probability, path, *, n_bins: int = 10, title: str = "Calibration",
                     stats: dict | None = None) -> Path:
    """Observed event rate against predicted probability: quantile bins and a lowess curve.

    ``probability`` (n,) or (k, n); k rows are averaged per case first (each row being
    out-of-fold, so is the average). Quantile bins of
    :func:`~radiome.analysis.curves.calibration_bins`; the smooth curve is statsmodels' lowess
    of the 0/1 outcome on the probability (frac 2/3). ``stats`` (e.g. a summary with ``calibration_intercept``,
    ``calibration_slope``, ``brier`` and their ``_ci_low``/``_ci_high``) goes in the title.
    """
    from statsmodels.nonparametric.smoothers_lowess import lowess

    _, y01 = binary_labels(y)
    prob = np.atleast_2d(np.asarray(probability, dtype=np.float64)).mean(axis=0)
    bins = calibration_bins(y01, prob, n_bins=n_bins)
    predicted, observed = bins["predicted"], bins["observed"]
    smooth = lowess(y01, prob, frac=2 / 3, it=0, return_sorted=True)
    fig, ax = _figure()
    ax.plot([0, 1], [0, 1], ls="--", color="grey", lw=1, label="perfect")
    ax.plot(predicted, observed, "o", color="C0", label=f"{n_bins} quantile bins")
    ax.plot(smooth[:, 0], np.clip(smooth[:, 1], 0, 1), color="C1", label="lowess")
    if stats is not None:
        title += "\n" + ", ".join(
            f"{label} {stats[key]:.2f} ({stats[key + '_ci_low']:.2f}-{stats[key + '_ci_high']:.2f})"
            for key, label in (("calibration_intercept", "intercept"),
                               ("calibration_slope", "slope"), ("brier", "Brier")))
    ax.set(
        xlabel="predicted probability",
        ylabel="observed frequency",
        xlim=(0, 1),
        ylim=(0, 1),
    )
    ax.set_title(title, fontsize=8)
    ax.legend(loc="upper left")
    return _save(fig, path)


def decision_curve_plot(curve: dict, path, *, title: str = "Decision curve") -> Path:
    """Net benefit of the model, treat-all and treat-none over the threshold probabilities.

    ``curve`` is :func:`~radiome.analysis.net_benefit`'s dict (or the ``net_benefit`` entry of
    a summary): ``thresholds``, ``values``, ``treat_all``, ``treat_none``.
    """
    pt = np.asarray(curve["thresholds"], dtype=np.float64)
    model = np.asarray(curve["values"], dtype=np.float64)
    treat_all = np.asarray(curve["treat_all"], dtype=np.float64)
    fig, ax = _figure()
    ax.plot(pt, model, color="C0", label="model")
    ax.plot(pt, treat_all, color="C2", lw=1, label="treat all")
    ax.plot(pt, np.asarray(curve["treat_none"], dtype=np.float64), color="black", lw=1,
            label="treat none")
    top = max(float(np.nanmax(model)), float(treat_all[0]), 0.01)
    ax.set(xlabel="threshold probability", ylabel="net benefit", xlim=(0, 1),
           ylim=(-0.1 * top, 1.1 * top))
    ax.set_title(title, fontsize=8)
    ax.legend(loc="upper right")
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


def delta_waterfall(deltas: pd.DataFrame, path, *, feature: str = "morph_volume",
                    kind: str = "relative", title: str = "") -> Path:
    """Waterfall plot of one delta feature: one bar per patient, sorted, with the RC band.

    ``deltas`` is a table of :func:`~radiome.analysis.delta_features`; ``feature`` a feature
    key (:func:`radiome.table.feature_key`: name, ``_aggregation``, ``__filter``) and ``kind``
    a ``delta_kind``. Bars beyond the patient's ``rc`` (``exceeds_rc``) are coloured by
    direction; bars within measurement noise are grey. The grey band behind each bar spans
    ±rc (one band across the plot when every patient has the same rc); without an RC there is
    no band, and the title says so.
    """
    from matplotlib.patches import Patch

    from radiome.table import feature_key

    keys = [feature_key(f, a or "", flt or "") for f, a, flt in zip(
        deltas["feature"], deltas["aggregation"].fillna(""), deltas["filter"].fillna(""),
        strict=True)]
    rows = deltas.loc[(np.asarray(keys) == feature) & (deltas["delta_kind"] == kind)]
    rows = rows.loc[np.isfinite(rows["value"].to_numpy(dtype=float))]
    if rows.empty:
        msg = f"delta_waterfall: no finite {kind} delta of feature {feature!r} in the table"
        raise AnalysisError(msg)
    rows = rows.sort_values("value", ascending=False, kind="stable")
    value, rc = rows["value"].to_numpy(dtype=float), rows["rc"].to_numpy(dtype=float)
    beyond = rows["exceeds_rc"].fillna(False).to_numpy(dtype=bool)
    fig, ax = _figure(max(5.0, 0.22 * len(rows) + 2.0), 4.0)
    pos = np.arange(len(rows))
    if np.isfinite(rc).any():
        ax.bar(pos, 2 * rc, bottom=-rc, width=1.0, color="0.88", zorder=0)
    colours = np.where(beyond, np.where(value > 0, "C3", "C0"), "0.6")
    ax.bar(pos, value, color=colours, width=0.8, zorder=2)
    ax.axhline(0.0, color="black", lw=0.8)
    several = rows["roi"].nunique() > 1
    labels = [f"{p}/{r}" if several else str(p) for p, r in zip(rows["patient"], rows["roi"],
                                                                 strict=True)]
    ax.set_xticks(pos, labels, rotation=90, fontsize=6 if len(rows) > 30 else 8)
    n_beyond = int(beyond.sum())
    note = (f"{n_beyond} of {len(rows)} beyond the RC band" if np.isfinite(rc).any()
            else "no RC: no test-retest scans")
    ax.set(ylabel=f"{kind} change", title=f"{title or feature} ({kind})\n{note}")
    ax.title.set_fontsize(9)
    ax.legend(handles=[Patch(color="C3", label="rise beyond RC"),
                       Patch(color="C0", label="fall beyond RC"),
                       Patch(color="0.6", label="within noise"),
                       Patch(color="0.88", label="±RC")], fontsize=7, loc="upper right")
    return _save(fig, path)


def volcano_plot(table: pd.DataFrame, path, *, fdr: float = 0.05, n_labels: int = 8,
                 title: str = "Radiogenomic associations") -> Path:
    """Effect against -log10 p of every pair of an association screen, significant ones coloured.

    ``table`` is :func:`~radiome.analysis.association_screen`'s (``feature, genomic, effect,
    p, q``); pairs with q <= ``fdr`` are red and the ``n_labels`` smallest p are named.
    """
    rows = table.loc[np.isfinite(table["p"]) & np.isfinite(table["effect"])]
    significant = (rows["q"] <= fdr).to_numpy()
    height = -np.log10(np.maximum(rows["p"].to_numpy(dtype=float), 1e-300))
    fig, ax = _figure(6.0, 4.8)
    ax.scatter(rows["effect"][~significant], height[~significant], s=8, color="0.6",
               label=f"q > {fdr:g}")
    ax.scatter(rows["effect"][significant], height[significant], s=10, color="C3",
               label=f"q <= {fdr:g} ({int(significant.sum())})")
    for row, y_pos in zip(rows.head(n_labels).itertuples(index=False), height[:n_labels],
                          strict=False):
        if row.q <= fdr:
            ax.annotate(f"{row.feature} ~ {row.genomic}", (row.effect, y_pos), fontsize=6,
                        xytext=(3, 2), textcoords="offset points")
    ax.axvline(0.0, color="black", lw=0.6)
    ax.set(xlabel="effect per SD of the feature (SD of expression, or log odds ratio)",
           ylabel="-log10 p", title=f"{title}\n{len(rows)} pairs, BH over all of them")
    ax.title.set_fontsize(9)
    ax.legend(fontsize=7, loc="upper left")
    return _save(fig, path)


def association_heatmap(table: pd.DataFrame, path, *, fdr: float = 0.05,
                        title: str = "Significant radiogenomic effects") -> Path:
    """Clustered heat map of the effects of the features and genomic variables with a q <= fdr pair.

    Rows (features) and columns (genomic variables) are ordered by average-linkage
    hierarchical clustering (scipy) of their effect profiles; significant cells carry a dot.
    Without a significant pair the figure says so.
    """
    from scipy.cluster.hierarchy import leaves_list, linkage

    hits = table.loc[table["q"] <= fdr]
    effects = (table.loc[table["feature"].isin(hits["feature"])
                         & table["genomic"].isin(hits["genomic"])]
               .pivot(index="feature", columns="genomic", values="effect"))
    fig, ax = _figure(max(4.0, 1.5 + 0.35 * effects.shape[1]),
                      max(3.0, 1.5 + 0.22 * effects.shape[0]))
    if hits.empty:
        ax.text(0.5, 0.5, f"no pair with q <= {fdr:g}", ha="center", va="center")
        ax.set_axis_off()
        ax.set_title(title, fontsize=9)
        return _save(fig, path)
    values = effects.fillna(0.0).to_numpy()
    rows = leaves_list(linkage(values, "average")) if values.shape[0] > 1 else [0]
    cols = leaves_list(linkage(values.T, "average")) if values.shape[1] > 1 else [0]
    effects = effects.iloc[rows, cols]
    limit = float(np.nanmax(np.abs(effects.to_numpy()))) or 1.0
    image = ax.imshow(effects.to_numpy(), cmap="RdBu_r", vmin=-limit, vmax=limit, aspect="auto")
    marked = set(zip(hits["feature"], hits["genomic"], strict=True))
    for i, feature in enumerate(effects.index):
        for j, genomic in enumerate(effects.columns):
            if (feature, genomic) in marked:
                ax.plot(j, i, ".", color="black", ms=4)
    ax.set_xticks(range(effects.shape[1]), effects.columns, rotation=90, fontsize=7)
    ax.set_yticks(range(effects.shape[0]), effects.index, fontsize=7)
    fig.colorbar(image, ax=ax, label="effect")
    ax.set_title(title, fontsize=9)
    return _save(fig, path)
