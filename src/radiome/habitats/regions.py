"""Habitat label maps: spatial regularisation, connected regions, fractions, matched Dice.

Label maps are (Z, Y, X) integer arrays: 0 outside the ROI, habitats 1..K inside. Regions are
26-connected (voxels touching by a face, an edge or a corner belong to one region).
"""

from __future__ import annotations

import numpy as np

__all__ = ["count_regions", "habitat_fractions", "matched_dice", "regularise"]

_FULL = np.ones((3, 3, 3), dtype=bool)
_MAX_PASSES = 20  # of small-region relabelling; each pass merges regions, so few are needed


def _neighbour_counts(labels: np.ndarray, n_labels: int) -> np.ndarray:
    """(K, Z, Y, X): how many voxels of each habitat are in each voxel's 3 x 3 x 3 block."""
    from scipy import ndimage

    return np.stack([ndimage.correlate((labels == k).astype(np.int32), _FULL.astype(np.int32),
                                       mode="constant")
                     for k in range(1, n_labels + 1)])


def regularise(labels: np.ndarray, *, spacing: tuple[float, float, float],
               min_region_mm3: float = 0.0, smoothing: int = 0) -> np.ndarray:
    """A habitat label map with small regions merged away and majority smoothing applied.

    Parameters
    ----------
    labels : (Z, Y, X) int ndarray
        0 outside the ROI, habitats 1..K inside.
    spacing : (3,) float, mm, (z, y, x)
        Voxel size.
    min_region_mm3 : float, default 0
        A connected region of a habitat smaller than this takes the habitat most of the ROI
        voxels next to it belong to (repeated until no region is smaller, or none can merge:
        a small region with no other habitat next to it stays).
    smoothing : int, default 0
        Passes of majority smoothing: each ROI voxel takes the habitat most frequent in its
        3 x 3 x 3 block (ROI voxels only; on a tie it keeps its own).

    Returns
    -------
    (Z, Y, X) int16 ndarray
        The regularised labels (0 outside the ROI as before). Smoothing comes after merging.
    """
    full = np.asarray(labels).astype(np.int16)
    box = _roi_box(full)
    out = full[box].copy()
    n_labels = int(out.max(initial=0))
    if min_region_mm3 > 0 and n_labels > 1:
        min_voxels = min_region_mm3 / float(np.prod(spacing))
        for _ in range(_MAX_PASSES):
            if not _merge_small(out, n_labels, min_voxels):
                break
    roi = out > 0
    for _ in range(int(smoothing)):
        counts = _neighbour_counts(out, n_labels).astype(np.float64)
        own = np.arange(1, n_labels + 1)[:, None, None, None] == out[None]
        smoothed = (np.argmax(counts + 0.5 * own, axis=0) + 1).astype(np.int16)
        out = np.where(roi, smoothed, 0).astype(np.int16)
    full[box] = out
    return full


def _roi_box(labels: np.ndarray) -> tuple[slice, ...]:
    """The bounding box of the labelled voxels grown by one voxel (clipped to the array)."""
    where = np.argwhere(labels > 0)
    if not len(where):
        return tuple(slice(0, 0) for _ in labels.shape)
    lower, upper = where.min(axis=0) - 1, where.max(axis=0) + 2
    return tuple(slice(max(int(lo), 0), min(int(up), n))
                 for lo, up, n in zip(lower, upper, labels.shape, strict=True))


def _merge_small(labels: np.ndarray, n_labels: int, min_voxels: float) -> bool:
    """One pass: relabel (in place) every region below ``min_voxels`` that can merge."""
    from scipy import ndimage

    counts = _neighbour_counts(labels, n_labels)
    changes = []
    for habitat in range(1, n_labels + 1):
        regions, n = ndimage.label(labels == habitat, structure=_FULL)
        if n == 0:
            continue
        sizes = np.bincount(regions.ravel(), minlength=n + 1)[1:]
        small = np.flatnonzero(sizes < min_voxels) + 1
        if not small.size:
            continue
        votes = np.stack([ndimage.sum_labels(counts[k - 1], regions, index=small)
                          if k != habitat else np.zeros(small.size)
                          for k in range(1, n_labels + 1)], axis=1)
        movable = votes.max(axis=1) > 0
        target = np.zeros(n + 1, dtype=np.int16)
        target[small[movable]] = np.argmax(votes[movable], axis=1) + 1
        changes.append(target[regions])
    if not changes:
        return False
    moved = np.max(changes, axis=0)
    if not moved.any():
        return False
    labels[moved > 0] = moved[moved > 0]
    return True


def count_regions(labels: np.ndarray, n_habitats: int) -> np.ndarray:
    """(K,) int: the number of connected regions of each habitat 1..K (0 when absent)."""
    from scipy import ndimage

    labels = labels[_roi_box(labels)]
    return np.array([ndimage.label(labels == k, structure=_FULL)[1]
                     for k in range(1, n_habitats + 1)], dtype=np.int64)


def habitat_fractions(labels: np.ndarray, n_habitats: int) -> np.ndarray:
    """(K,) float: the share of the ROI's volume in each habitat 1..K (they sum to 1)."""
    counts = np.bincount(labels[labels > 0].ravel(), minlength=n_habitats + 1)[1:n_habitats + 1]
    return counts / max(int(counts.sum()), 1)


def matched_dice(reference: np.ndarray, other: np.ndarray, n_habitats: int) -> np.ndarray:
    """(K,) float: Dice of each reference habitat with its match in ``other``.

    Habitats of the two label maps are paired one to one by the Hungarian method
    (:func:`scipy.optimize.linear_sum_assignment`) to maximise the summed Dice, over the voxels
    inside both ROIs; a habitat absent from both there has NaN.

    Parameters
    ----------
    reference, other : (Z, Y, X) int ndarray
        Label maps on one grid (0 outside the ROI, 1..K inside).
    n_habitats : int
        K.

    Returns
    -------
    (K,) float ndarray
        Entry k - 1: Dice of reference habitat k with the habitat of ``other`` paired to it.
    """
    from scipy.optimize import linear_sum_assignment

    both = (reference > 0) & (other > 0)
    a, b = reference[both].astype(np.int64) - 1, other[both].astype(np.int64) - 1
    overlap = np.bincount(a * n_habitats + b, minlength=n_habitats**2).reshape(
        n_habitats, n_habitats).astype(np.float64)
    sizes_a, sizes_b = overlap.sum(axis=1), overlap.sum(axis=0)
    total = sizes_a[:, None] + sizes_b[None, :]
    dice = np.divide(2 * overlap, total, out=np.zeros_like(overlap), where=total > 0)
    rows, cols = linear_sum_assignment(dice, maximize=True)
    matched = np.full(n_habitats, np.nan)
    matched[rows] = dice[rows, cols]
    matched[rows[(sizes_a[rows] == 0) & (sizes_b[cols] == 0)]] = np.nan
    return matched
