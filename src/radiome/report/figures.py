"""Figures of the study report, drawn with matplotlib and returned as SVG data URIs.

Every figure uses the colour-blind-safe ``tableau-colorblind10`` style; text stays text in the
SVG (smaller, searchable) and the files carry no date, so the same study gives the same page.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence

import numpy as np
import pandas as pd

__all__ = ["PALETTE", "auc_forest", "curve_plot", "habitat_bars", "icc_plot", "km_plot",
           "natural_key", "site_boxes", "svg_uri", "timepoint_lines"]

#: Okabe–Ito colours (distinguishable with every common colour-vision deficiency).
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442",
           "#000000")
_RC = {"svg.fonttype": "none", "svg.hashsalt": "radiome-report", "font.size": 9,
       "axes.spines.top": False, "axes.spines.right": False, "figure.dpi": 96}


def _figure(width: float, height: float, ncols: int = 1):
    """A new (figure, axes) pair in the report's style."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    with plt.style.context("tableau-colorblind10"), plt.rc_context(_RC):
        return plt.subplots(1, ncols, figsize=(width, height), layout="constrained")


def svg_uri(fig) -> str:
    """The figure as an SVG ``data:`` URI (the figure is closed)."""
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    with plt.rc_context(_RC):
        fig.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    plt.close(fig)
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def icc_plot(icc: pd.DataFrame, min_icc: float) -> str:
    """ICC with its 95 % CI of every feature, sorted, with the stability threshold."""
    ordered = icc.sort_values("icc").reset_index(drop=True)
    fig, ax = _figure(7.0, 3.0)
    x = np.arange(len(ordered))
    ax.fill_between(x, ordered["ci_low"], ordered["ci_high"], color=PALETTE[4], alpha=0.5,
                    linewidth=0, label="95 % CI")
    ax.plot(x, ordered["icc"], color=PALETTE[0], linewidth=1.2, label="ICC")
    ax.axhline(min_icc, color=PALETTE[5], linestyle="--", linewidth=1,
               label=f"threshold {min_icc:g} (lower bound)")
    ax.set_xlabel("features, sorted by ICC")
    ax.set_ylabel("ICC")
    ax.set_ylim(min(0.0, float(np.nanmin(ordered["ci_low"]))), 1.0)
    ax.legend(loc="lower right", frameon=False)
    return svg_uri(fig)


def site_boxes(before: pd.Series, after: pd.Series, site: pd.Series, title: str) -> str:
    """Distributions of one feature by site, before and after ComBat, side by side."""
    sites = sorted(site.unique())
    fig, axes = _figure(6.0, 2.4, ncols=2)
    for ax, values, label in ((axes[0], before, "before ComBat"), (axes[1], after, "after ComBat")):
        groups = [values[site == s].to_numpy(float) for s in sites]
        parts = ax.boxplot(groups, patch_artist=True, widths=0.6,
                           medianprops={"color": PALETTE[7]})
        for patch, colour in zip(parts["boxes"], PALETTE, strict=False):
            patch.set_facecolor(colour)
            patch.set_alpha(0.7)
        ax.set_xticks(range(1, len(sites) + 1), sites, rotation=30, ha="right")
        ax.set_title(label)
    fig.suptitle(title)
    return svg_uri(fig)


def auc_forest(labels: Sequence[str], point: Sequence[float], low: Sequence[float],
               high: Sequence[float], metric: str) -> str:
    """Each model's headline metric with its 95 % CI (a forest plot), chance level at 0.5."""
    fig, ax = _figure(6.0, 0.6 + 0.45 * len(labels))
    y = np.arange(len(labels))[::-1]
    point, low, high = (np.asarray(v, float) for v in (point, low, high))
    ax.errorbar(point, y, xerr=[point - low, high - point], fmt="o", color=PALETTE[0],
                ecolor=PALETTE[0], capsize=3)
    ax.axvline(0.5, color=PALETTE[7], linestyle=":", linewidth=1)
    ax.set_yticks(y, labels)
    ax.set_xlim(0.0, 1.0)
    ax.set_xlabel(f"{metric} (95 % CI)")
    return svg_uri(fig)


def curve_plot(curves: Sequence[tuple[str, Sequence[float], Sequence[float]]], *, xlabel: str,
               ylabel: str, diagonal: bool = False, band: tuple | None = None,
               markers: bool = False) -> str:
    """Line curves (ROC, calibration, decision curve): ``(label, x, y)`` each.

    ``diagonal`` draws the identity line; ``band`` is ``(x, low, high)`` shaded as a 95 % CI;
    ``markers`` marks each point.
    """
    fig, ax = _figure(4.2, 3.4)
    if band is not None:
        ax.fill_between(band[0], band[1], band[2], color=PALETTE[4], alpha=0.4, linewidth=0,
                        label="95 % CI")
    for (label, x, y), colour in zip(curves, PALETTE, strict=False):
        ax.plot(x, y, color=colour, linewidth=1.5, label=label, marker="o" if markers else None,
                markersize=4)
    if diagonal:
        ax.plot([0, 1], [0, 1], color=PALETTE[7], linestyle=":", linewidth=1)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend(frameon=False, loc="best")
    return svg_uri(fig)


def km_plot(groups: Sequence[dict]) -> str:
    """Kaplan–Meier steps of each group (``label, n, time, survival`` as the evaluate JSON)."""
    fig, ax = _figure(4.2, 3.4)
    for group, colour in zip(groups, PALETTE, strict=False):
        ax.step(np.r_[0.0, group["time"]], np.r_[1.0, group["survival"]], where="post",
                color=colour, linewidth=1.5, label=f"{group['label']} (n = {group['n']})")
    ax.set_ylim(0.0, 1.02)
    ax.set_xlabel("time")
    ax.set_ylabel("event-free probability")
    ax.legend(frameon=False, loc="lower left")
    return svg_uri(fig)


def timepoint_lines(table: pd.DataFrame, feature: str) -> str:
    """A feature over the time points, one line per patient (``patient, timepoint, value``)."""
    order = sorted(table["timepoint"].unique(), key=natural_key)
    fig, ax = _figure(5.0, 2.8)
    for (_, rows), colour in zip(table.groupby("patient"), _cycle(), strict=False):
        rows = rows.assign(rank=rows["timepoint"].map(order.index)).sort_values("rank")
        ax.plot(rows["rank"], rows["value"], marker="o", markersize=3, linewidth=1,
                color=colour, alpha=0.8)
    ax.set_xticks(range(len(order)), order)
    ax.set_xlabel("time point")
    ax.set_ylabel(feature)
    return svg_uri(fig)


def habitat_bars(fractions: pd.DataFrame) -> str:
    """Stacked habitat fractions per case (rows: cases, columns: habitats)."""
    fig, ax = _figure(6.5, 2.8)
    bottom = np.zeros(len(fractions))
    x = np.arange(len(fractions))
    for column, colour in zip(fractions.columns, PALETTE, strict=False):
        values = fractions[column].to_numpy(float)
        ax.bar(x, values, bottom=bottom, color=colour, label=column, width=0.85)
        bottom += np.nan_to_num(values)
    ax.set_xticks(x, fractions.index, rotation=90, fontsize=6)
    ax.set_ylabel("fraction of the ROI")
    ax.legend(frameon=False, ncols=min(4, len(fractions.columns)), loc="upper right")
    return svg_uri(fig)


def _cycle():
    """The palette, repeated forever."""
    while True:
        yield from PALETTE


def natural_key(label: str) -> list:
    """Sort key putting ``T2`` before ``T10``."""
    import re

    return [int(p) if p.isdigit() else p for p in re.split(r"(\d+)", str(label))]
