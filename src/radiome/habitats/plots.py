"""The habitat figure: central slices of the ROI with the habitats overlaid, and their fractions."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from radiome.habitats.case import CaseHabitats
from radiome.habitats.voxels import HabitatError
from radiome.volume import Volume

__all__ = ["plot_habitats"]

_MARGIN = 4  # voxels of image shown around the ROI's box


def plot_habitats(volume: Volume, habitats: CaseHabitats, path: str | Path, *,
                  title: str | None = None) -> Path:
    """Write a PNG of the habitats over the image's central slices, with a fractions bar.

    Three panels show the axial, coronal and sagittal slices through the centre of the ROI's
    box (a margin of image around it, pixels in proportion to their size in mm), the image in
    grey (window: 1st to 99th percentile of the ROI) and each habitat in its colour; a fourth
    is the bar of the habitats' volume fractions.

    Parameters
    ----------
    volume : Volume
        The image (on the grid of ``habitats``).
    habitats : CaseHabitats
        Its habitat label map.
    path : path
        Output file (``.png``).
    title : str, optional
        Figure title (default: the habitats' source).

    Returns
    -------
    Path
        The file written.

    Raises
    ------
    HabitatError
        ``path`` does not end in ``.png``, or the label map is empty.
    """
    from matplotlib.colors import ListedColormap
    from matplotlib.figure import Figure

    path = Path(path)
    if path.suffix.lower() != ".png":
        msg = f"{path}: the habitat figure is a PNG; give a file name ending in .png"
        raise HabitatError(msg)
    labels = habitats.labels
    inside = np.argwhere(labels > 0)
    if not len(inside):
        msg = f"{habitats.source}: the habitat label map is empty; nothing to draw"
        raise HabitatError(msg)
    lower = np.maximum(inside.min(axis=0) - _MARGIN, 0)
    upper = np.minimum(inside.max(axis=0) + 1 + _MARGIN, labels.shape)
    centre = (inside.min(axis=0) + inside.max(axis=0)) // 2
    k = habitats.n_habitats
    colours = ListedColormap([_colour(i) for i in range(k)])
    low, high = np.percentile(volume.array[labels > 0], [1, 99])
    spacing = volume.spacing
    fig = Figure(figsize=(12.0, 3.6))
    # fixed margins and title positions: measuring every tick label cost most of the time
    axes = fig.subplots(1, 4, gridspec_kw={"width_ratios": [1, 1, 1, 0.6], "left": 0.01,
                                           "right": 0.99, "bottom": 0.04, "top": 0.84,
                                           "wspace": 0.12})
    views = (("axial", 0, (1, 2)), ("coronal", 1, (0, 2)), ("sagittal", 2, (0, 1)))
    for ax, (name, axis, (rows, cols)) in zip(axes[:3], views, strict=True):
        box = [slice(lo, up) for lo, up in zip(lower, upper, strict=True)]
        box[axis] = slice(int(centre[axis]), int(centre[axis]) + 1)
        image = np.squeeze(volume.array[tuple(box)], axis=axis)
        found = np.squeeze(labels[tuple(box)], axis=axis).astype(np.float64)
        aspect = spacing[rows] / spacing[cols]
        ax.imshow(image, cmap="gray", vmin=low, vmax=max(high, low + 1e-9), aspect=aspect,
                  interpolation="nearest")
        ax.imshow(np.ma.masked_equal(found, 0), cmap=colours, vmin=0.5, vmax=k + 0.5,
                  alpha=0.55, aspect=aspect, interpolation="nearest")
        ax.set_title(f"{name} slice {int(centre[axis])}", fontsize=9, y=1.01)
        ax.set_axis_off()
    bar = axes[3]
    fractions = habitats.fractions
    start = 0.0
    for i, share in enumerate(fractions):
        bar.bar(0, share, bottom=start, color=_colour(i), width=0.6)
        if share > 0.04:
            bar.text(0, start + share / 2, f"h{i + 1} {share:.0%}", ha="center", va="center",
                     fontsize=8)
        start += share
    bar.set_xlim(-0.5, 0.5)
    bar.set_ylim(0, 1)
    bar.set_xticks([])
    bar.set_ylabel("volume fraction")
    bar.set_title("habitats", fontsize=9, y=1.01)
    fig.suptitle(title or habitats.source, fontsize=10)
    fig.savefig(path, dpi=110)
    return path


def _colour(index: int) -> tuple[float, float, float, float]:
    """The colour of habitat ``index + 1`` (tab10, then tab20 beyond ten habitats)."""
    from matplotlib import colormaps

    return colormaps["tab10" if index < 10 else "tab20"](index % 20)
