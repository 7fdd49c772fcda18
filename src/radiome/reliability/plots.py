"""Reliability figures: per-feature ICC with confidence intervals, and a Bland–Altman plot (PNG)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from radiome.errors import ReliabilityError
from radiome.reliability.concordance import bland_altman

__all__ = ["plot_bland_altman", "plot_icc"]

_LABELLED_FEATURES = 120  # above this many features, the y axis shows ranks, not names


def plot_icc(
    icc_table: pd.DataFrame,
    path: str | Path,
    *,
    min_icc: float | None = 0.75,
    title: str | None = None,
) -> Path:
    """Write a PNG of every feature's ICC with its confidence interval, sorted by ICC.

    Parameters
    ----------
    icc_table : DataFrame
        Columns ``feature``, ``icc``, ``ci_low``, ``ci_high`` (as from
        :func:`~radiome.reliability.feature_icc`); features with an undefined ICC are left out.
    path : path
        Output file (``.png``).
    min_icc : float or None, default 0.75
        Threshold drawn as a vertical line; features whose lower bound reaches it are drawn in
        another colour. None draws neither.
    title : str, optional
        Figure title (default: the ICC form when the table has a ``form`` column).

    Returns
    -------
    Path
        The file written.
    """
    absent = [c for c in ("feature", "icc", "ci_low", "ci_high") if c not in icc_table.columns]
    if absent:
        msg = f"plot_icc: ICC table lacks column(s) {absent}"
        raise ReliabilityError(msg)
    rows = icc_table.dropna(subset=["icc"]).sort_values("icc", kind="stable")
    if rows.empty:
        msg = "plot_icc: no feature with a defined ICC to plot"
        raise ReliabilityError(msg)
    path = _png_path(path)
    from matplotlib.figure import Figure

    n = len(rows)
    y = np.arange(n)
    fig = Figure(figsize=(7.5, min(max(3.0, 0.18 * n + 1.2), 40.0)))
    ax = fig.subplots()
    stable = rows["ci_low"].to_numpy() >= min_icc if min_icc is not None else np.zeros(n, bool)
    for keep, colour, label in ((stable, "tab:green", "stable"), (~stable, "tab:grey", None)):
        ax.errorbar(
            rows["icc"].to_numpy()[keep],
            y[keep],
            xerr=np.vstack(
                [
                    (rows["icc"] - rows["ci_low"]).to_numpy()[keep],
                    (rows["ci_high"] - rows["icc"]).to_numpy()[keep],
                ]
            ),
            fmt="o",
            ms=3,
            lw=1,
            color=colour,
            label=label if keep.any() and min_icc is not None else None,
        )
    if min_icc is not None:
        ax.axvline(min_icc, color="tab:red", ls="--", lw=1, label=f"ICC = {min_icc:g}")
        ax.legend(loc="lower right", fontsize=8)
    if n <= _LABELLED_FEATURES:
        ax.set_yticks(y, rows["feature"].astype(str).tolist(), fontsize=6)
    else:
        ax.set_ylabel("feature (sorted by ICC)")
    ax.set_ylim(-1, n)
    ax.set_xlim(min(-0.05, float(np.nanmin(rows["ci_low"])) - 0.05), 1.02)
    form = icc_table["form"].iloc[0] if "form" in icc_table.columns else "ICC"
    ax.set_xlabel(f"{form} with confidence interval")
    ax.set_title(title or f"Feature reliability ({form}, {n} features)")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    return path


def plot_bland_altman(
    x: np.ndarray,
    y: np.ndarray,
    path: str | Path,
    *,
    feature: str = "feature",
    labels: tuple[str, str] = ("A", "B"),
) -> Path:
    """Write a Bland–Altman PNG of two paired measurements of one feature.

    Parameters
    ----------
    x, y : (n,) float array-like
        Paired measurements (e.g. test and retest); the difference is ``y - x``.
    path : path
        Output file (``.png``).
    feature : str
        Feature name for the title.
    labels : (str, str)
        Names of the two measurements (e.g. ``("test", "retest")``).

    Returns
    -------
    Path
        The file written.

    Notes
    -----
    Points are (mean, difference) per subject; lines are the bias and the 95 % limits of
    agreement, bias ± 1.96 SD (:func:`~radiome.reliability.bland_altman`).
    """
    stats = bland_altman(x, y)
    a, b = np.asarray(x, dtype=float).ravel(), np.asarray(y, dtype=float).ravel()
    path = _png_path(path)
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.0, 4.5))
    ax = fig.subplots()
    ax.scatter((a + b) / 2, b - a, s=14, color="tab:blue")
    ax.axhline(stats["bias"], color="black", lw=1, label=f"bias {stats['bias']:.4g}")
    for key in ("loa_low", "loa_high"):
        ax.axhline(stats[key], color="tab:red", ls="--", lw=1)
    ax.plot(
        [],
        [],
        color="tab:red",
        ls="--",
        lw=1,
        label=f"95 % limits {stats['loa_low']:.4g} to {stats['loa_high']:.4g}",
    )
    ax.set_xlabel(f"mean of {labels[0]} and {labels[1]}")
    ax.set_ylabel(f"{labels[1]} - {labels[0]}")
    ax.set_title(f"Bland-Altman: {feature} (n = {stats['n']})")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    return path


def _png_path(path: str | Path) -> Path:
    """The output path, checked to end in .png, with its folder created."""
    path = Path(path)
    if path.suffix.lower() != ".png":
        msg = f"{path}: plots are written as PNG; the file name must end in .png"
        raise ReliabilityError(msg)
    path.parent.mkdir(parents=True, exist_ok=True)
    return path
