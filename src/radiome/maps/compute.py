"""Voxel-wise feature maps: the features of every ROI voxel's neighbourhood (its kernel).

The image is processed once as :func:`radiome.extract` processes it (interpolation,
rounding, normalisation, re-segmentation, discretisation on the whole ROI:
:func:`radiome.preprocess.process` and :func:`radiome.preprocess.discretised`), so a map
reads the very grey levels the ROI's own features read. The kernel of a centre voxel is a cube
or sphere around it; a masked kernel keeps the voxels of the ROI's intensity mask, an
unmasked one every re-segmented voxel. Each kernel's features are those of
:func:`radiome.extract` for a mask that is exactly that kernel, computed by sliding-window
engines (:mod:`radiome.maps._histogram`, :mod:`radiome.maps._cooccurrence`,
:mod:`radiome.maps._matrices`).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from radiome._progress import progress
from radiome.errors import FeatureError, FeatureWarning
from radiome.features import FAMILIES, REGISTRY, gldzm, glrlm, glszm, ngldm, unit_of
from radiome.features._directions import direction_vectors
from radiome.features._zones import dimensions_of, flat_steps, neighbour_offsets
from radiome.io import load_mask, load_volume
from radiome.maps import _cooccurrence, _histogram, _matrices
from radiome.maps._window import Window, kernel_offsets, make_window
from radiome.preprocess import discretised, process, resegment, target_mapping
from radiome.spec import Spec, load_spec
from radiome.volume import Grid, Mask, Volume

if TYPE_CHECKING:
    from radiome._progress import Advance

__all__ = ["MAP_FAMILIES", "REASONS", "FeatureMaps", "feature_maps"]

#: Families with voxel-wise maps, in IBSI order.
MAP_FAMILIES = ("stat", "ih", "cm", "rlm", "szm", "dzm", "ngt", "ngl")

#: Why a map value is undefined (NaN), by code; code 3 reads "equal intensities" for stat.
REASONS = {
    1: "empty kernel (no voxel of the intensity mask)",
    2: "single-voxel kernel",
    3: "single grey level",
    4: "no neighbouring voxels in the kernel",
    5: "zero denominator",
}
_EQUAL_INTENSITIES = "equal intensities"

#: Centres per call of a map kernel (progress steps; bounds the memory of matrix keys).
_CHUNK = 2048
#: Most matrix entries (runs, zones, voxels) one call of a map kernel may write.
_MAX_ENTRIES = 1 << 20
#: Largest co-occurrence state, in cells of the (matrices, G, G) count arrays.
_MAX_COOCCURRENCE_CELLS = 1 << 25


@dataclass(frozen=True, eq=False)
class FeatureMaps(Mapping):
    """Voxel-wise feature maps of one ROI: a mapping from map name to :class:`Volume`.

    Map names are feature names (``cm_joint_max``), with ``__<aggregation>`` appended when the
    spec gives a texture family several aggregations (``cm_joint_max__3d_avg``). A map is a
    Volume on ``grid`` (the image grid, or the spec's interpolation grid when it resamples),
    NaN outside the ROI; it is built on access from the ROI voxels' values.

    Attributes
    ----------
    voxel_values : (N, F) float64 ndarray
        Value of each map (column) at each ROI voxel (row); NaN where undefined.
    index : (N, 3) int64 ndarray
        (z, y, x) index of each ROI voxel on ``grid``.
    grid : Grid
        Grid of the maps.
    names, features, aggregations, units : tuple of str
        Per map: its name, feature, texture aggregation ('' for none) and unit.
    undefined : dict
        Map name -> {reason: number of ROI voxels where the map is NaN for that reason}
        (see :data:`REASONS`); maps defined everywhere are absent.
    resampled : bool
        True when the spec interpolates the image to another grid.
    kernel : str
        ``cube`` or ``sphere``.
    radius : (3,) int
        Kernel radius per axis (z, y, x), in voxels.
    n_kernel : int
        Voxels of the whole kernel shape.
    masked_kernel : bool
        True when kernels hold only voxels of the ROI's intensity mask.
    spec : Spec
        The spec the maps were computed with (``spec_hash``: its hash).
    roi : str
        The ROI's name (or label).
    modality, source : str
        Of the image.
    """

    voxel_values: np.ndarray
    index: np.ndarray
    grid: Grid
    names: tuple[str, ...]
    features: tuple[str, ...]
    aggregations: tuple[str, ...]
    units: tuple[str, ...]
    undefined: dict[str, dict[str, int]]
    resampled: bool
    kernel: str
    radius: tuple[int, int, int]
    n_kernel: int
    masked_kernel: bool
    spec: Spec
    roi: str
    modality: str
    source: str

    @property
    def spec_hash(self) -> str:
        """Hash of the spec."""
        return self.spec.hash

    def __getitem__(self, name: str) -> Volume:
        column = self.names.index(name) if name in self.names else None
        if column is None:
            raise KeyError(name)
        array = np.full(self.grid.shape, np.nan)
        array[tuple(self.index.T)] = self.voxel_values[:, column]
        return Volume(array=array, grid=self.grid, modality=self.modality,
                      unit=self.units[column], source=f"{self.source} [{name}]")

    def __iter__(self) -> Iterator[str]:
        return iter(self.names)

    def __len__(self) -> int:
        return len(self.names)


def feature_maps(
    volume: str | Path | Volume,
    mask: str | Path | Mask,
    *,
    spec: str | Path | dict | Spec | None = None,
    radius_mm: float | None = None,
    radius_voxels: int | None = None,
    features: Sequence[str] | str | None = None,
    kernel: str = "cube",
    masked_kernel: bool = True,
    roi: str | int | None = None,
) -> FeatureMaps:
    """Compute voxel-wise feature maps: the features of every ROI voxel's kernel.

    Parameters
    ----------
    volume : path or Volume
        The image (as for :func:`radiome.extract`).
    mask : path or Mask
        The ROI, on the image's grid.
    spec : path, dict or Spec, optional
        Processing and feature settings; default: the modality's default spec.
    radius_mm, radius_voxels : float or int
        Kernel radius, in mm (r_a = floor(R / s_a) voxels per axis) or in voxels; give one.
    features : sequence of str, optional
        Family prefixes (``cm``) and/or feature names (``stat_mean``); default: the spec's
        families that have maps (:data:`MAP_FAMILIES`). The spec's ``features.exclude`` holds.
    kernel : {"cube", "sphere"}
        Kernel shape: |o_a| <= r_a, or within the radius (Euclidean, in mm for ``radius_mm``).
        With 2D processing kernels stay in their slice.
    masked_kernel : bool
        True: a kernel holds the voxels of the ROI's intensity mask only. False: every voxel
        around the centre that passes the spec's re-segmentation (range, and the ROI's outlier
        bounds).
    roi : str or int, optional
        Label value or structure name; overrides the spec's ``roi.name``.

    Returns
    -------
    FeatureMaps
        A mapping of map name to Volume on the processed grid (NaN outside the ROI), with the
        values per ROI voxel and the count of undefined (NaN) values per map and reason.

    Raises
    ------
    RadiomeError
        Input problems as in :func:`radiome.extract`; a FeatureError for a radius or kernel
        that is not valid, or features without maps.

    Notes
    -----
    Exactness: the value of a map at a voxel is the value :func:`radiome.extract` gives for a
    mask that is exactly that voxel's kernel (∩ ROI when masked), given the grey levels of the
    whole ROI. Processing runs once on the whole ROI, as PyRadiomics' voxel mode does: grey
    levels, z-score normalisation and outlier re-segmentation come from the whole ROI, not from
    each kernel. So a map equals ``extract`` on the kernel mask outright when those steps do not
    depend on the region: a fixed bin size from the re-segmentation range's minimum (the CT
    default), no normalisation, no outlier filter, no interpolation. With a fixed bin number,
    or a fixed bin size from the ROI's lowest intensity, the kernel's grey levels are those of
    the whole ROI (``extract`` would bin the kernel on its own range). N_g of a kernel is the
    spec's bin count (fixed bin number) or the highest grey level in the kernel (fixed bin
    size), as ``extract`` sets it for that mask.

    Undefined values: a kernel with no voxel, one voxel, one grey level (equal intensities for
    the statistics), or no neighbouring voxels leaves some features undefined; they are NaN,
    never a fill value, and counted per reason in ``undefined``. IBSI's own defined values
    (NGTDM coarseness 10^6 when Σ p_i s_i = 0) stay as :func:`radiome.extract` gives them.
    Filters of the spec are not mapped (a FeatureWarning says so).
    """
    volume = volume if isinstance(volume, Volume) else load_volume(volume)
    spec = load_spec(spec, modality=volume.modality)
    if not isinstance(mask, Mask):
        mask = load_mask(mask, roi=roi if roi is not None else spec.roi.name, reference=volume)
    mask.check_matches(volume)
    mask.check_not_empty()
    chosen = _selection(spec, features)
    if spec.filters:
        warnings.warn(f"{mask.source}: feature maps are computed on the original image; the "
                      f"spec's {len(spec.filters)} filter(s) are not mapped", FeatureWarning,
                      stacklevel=2)
    target = target_mapping(volume.grid, spec).target
    planar = spec.preprocessing.dimensions == "2d"
    offsets, radius = kernel_offsets(target.spacing, radius_voxels=radius_voxels,
                                     radius_mm=radius_mm, shape=kernel, planar=planar)
    processed = process(volume, mask, spec, margin=(0, 0, 0) if masked_kernel else radius)
    held = processed.int_mask if masked_kernel else _resegmented(processed, spec)
    discretisation = spec.preprocessing.discretisation
    if discretisation is None:
        levels = held.astype(np.int64)
    else:
        levels = discretised(replace(processed, int_mask=held), discretisation).levels
    reach = max([1] + [_distance(spec, family) for family in chosen])
    morph = processed.morph_mask if masked_kernel else np.ones_like(held)
    window = make_window(levels, processed.image, held, morph, processed.morph_mask, offsets,
                         radius, reach)
    bin_count = (discretisation.bin_count if discretisation is not None
                 and discretisation.method == "fixed_bin_number" else 0)
    columns: list[tuple[str, str, np.ndarray, dict[str, int]]] = []
    with progress(f"feature maps of {Path(mask.source).name}",
                  window.centres.size * (1 + len(set(chosen) - {"ih"}))) as advance:
        counts, ih = _run_histograms(window, bin_count, "ih" in chosen, advance)
        n_levels = np.where(counts[:, _histogram.TOP] > 0,
                            bin_count or window.grey[counts[:, _histogram.TOP] - 1], 0)
        context = _Context(window, spec, n_levels.astype(np.int64), counts, advance)
        for family in chosen:
            advance(0, status=family)
            if family == "ih":
                results = {"": (ih, np.zeros(len(ih), dtype=bool))}
            else:
                results = _RUNNERS[family](context)
            columns += _columns(family, chosen[family], results, counts)
    index = np.argwhere(processed.morph_mask) + _offset(processed.grid, target)
    names = _map_names(columns)
    undefined = {name: reasons for name, (*_, reasons) in zip(names, columns, strict=True)
                 if reasons}
    return FeatureMaps(
        voxel_values=np.column_stack([values for _, _, values, _ in columns]) if columns
        else np.empty((len(index), 0)),
        index=index, grid=target, names=tuple(names),
        features=tuple(feature for feature, *_ in columns),
        aggregations=tuple(aggregation for _, aggregation, *_ in columns),
        units=tuple(unit_of(REGISTRY[feature], processed.unit) for feature, *_ in columns),
        undefined=undefined, resampled=spec.preprocessing.resampling is not None,
        kernel=kernel, radius=radius, n_kernel=window.n_kernel, masked_kernel=masked_kernel,
        spec=spec, roi=mask.roi, modality=volume.modality, source=volume.source,
    )


def _selection(spec: Spec, features: Sequence[str] | str | None) -> dict[str, list[str]]:
    """{family: its requested feature names in registry order}, in IBSI family order."""
    if features is None:
        wanted = [f for f in spec.features.families if f in MAP_FAMILIES]
        if not wanted:
            msg = (f"feature maps: the spec's families {spec.features.families} have no maps; "
                   f"pass features= (families {', '.join(MAP_FAMILIES)})")
            raise FeatureError(msg)
    else:
        wanted = [features] if isinstance(features, str) else list(features)
    names: set[str] = set()
    problems = []
    for item in wanted:
        family = item if item in FAMILIES else REGISTRY[item].family if item in REGISTRY \
            else None
        if family is None:
            problems.append(f"{item!r} is neither a feature family nor a feature")
        elif family not in MAP_FAMILIES:
            problems.append(f"{item!r}: family {family!r} has no voxel-wise maps")
        else:
            names |= {f.name for f in FAMILIES[family].features} if item in FAMILIES else {item}
    if problems:
        msg = ("feature maps: " + "; ".join(problems)
               + f" (families with maps: {', '.join(MAP_FAMILIES)})")
        raise FeatureError(msg)
    needing = sorted({REGISTRY[n].family for n in names} - {"stat"})
    if needing and spec.preprocessing.discretisation is None:
        msg = (f"feature maps: the families {needing} need preprocessing.discretisation in "
               "the spec")
        raise FeatureError(msg)
    names -= set(spec.features.exclude)
    if not names:
        msg = "feature maps: every requested feature is in the spec's features.exclude"
        raise FeatureError(msg)
    chosen = {family: [f.name for f in FAMILIES[family].features if f.name in names]
              for family in MAP_FAMILIES}
    return {family: found for family, found in chosen.items() if found}


def _distance(spec: Spec, family: str) -> int:
    """How far (voxels) a family looks from a kernel voxel for its neighbours."""
    return {"cm": spec.features.glcm_distance, "ngt": spec.features.ngtdm_distance,
            "ngl": spec.features.ngldm_distance}.get(family, 1)


def _resegmented(processed, spec: Spec) -> np.ndarray:
    """Every voxel of the crop that passes the range re-segmentation and the ROI's outlier
    bounds (μ ± kσ of the ROI's voxels within the range): what an unmasked kernel holds."""
    section = spec.preprocessing.resegmentation
    everywhere = np.ones(processed.image.shape, dtype=bool)
    held = resegment(processed.image, everywhere, intensity_range=processed.resegmentation_range)
    if section.outlier_sigma is not None:
        values = processed.image[processed.morph_mask & held]
        mu, sd = values.mean(), values.std()
        held &= np.abs(processed.image - mu) <= section.outlier_sigma * sd
    return held


def _offset(grid: Grid, target: Grid) -> np.ndarray:
    """Index (z, y, x) of a crop's first voxel on the full grid it was cut from."""
    return np.rint(target.world_to_index(np.asarray([grid.origin]))[0]).astype(np.int64)


@dataclass(frozen=True)
class _Context:
    """What every family runner reads: the window, the spec and the per-centre counts."""

    window: Window
    spec: Spec
    n_levels: np.ndarray
    counts: np.ndarray
    advance: Advance


def _chunks(n: int, entries_per_centre: int = 1) -> Iterator[tuple[int, int]]:
    """(first, last) of consecutive centres: _CHUNK of them, fewer when each may write more
    than a few entries (so that a chunk's keys stay within _MAX_ENTRIES)."""
    size = max(1, min(_CHUNK, _MAX_ENTRIES // entries_per_centre))
    for first in range(0, n, size):
        yield first, min(first + size, n)


def _row_chunks(row_starts: np.ndarray) -> Iterator[tuple[int, int, int]]:
    """(first row, last row, centres) of consecutive centre rows holding about _CHUNK centres."""
    first = 0
    n_rows = row_starts.size - 1
    while first < n_rows:
        last = int(np.searchsorted(row_starts, row_starts[first] + _CHUNK, side="right")) - 1
        last = min(max(last, first + 1), n_rows)
        yield first, last, int(row_starts[last] - row_starts[first])
        first = last


def _run_histograms(window: Window, bin_count: int, with_features: bool,
                    advance: Advance) -> tuple[np.ndarray, np.ndarray]:
    """Per centre: (voxels, distinct levels, top compact level), and the 23 ih features."""
    n = window.centres.size
    counts = np.zeros((n, 3), dtype=np.int64)
    ih = np.full((n, 23) if with_features else (0, 23), np.nan)
    for first, last, done in _row_chunks(window.row_starts):
        _histogram.histogram_maps(window.levels, window.grey, window.centres, window.row_starts,
                                  window.row_base, window.row_lo, window.row_hi, first, last,
                                  bin_count, with_features, counts, ih)
        advance(done)
    return counts, ih


def _run_stat(context: _Context) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    window = context.window
    n = window.centres.size
    out = np.empty((n, 18))
    equal = np.zeros(n, dtype=np.bool_)
    for first, last in _chunks(n):
        _histogram.statistics_maps(window.values, window.levels, window.centres,
                                   window.row_base, window.row_lo, window.row_hi,
                                   window.n_kernel, first, last, out, equal)
        context.advance(last - first)
    return {"": (out, equal)}


def _run_cm(context: _Context) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    window, spec = context.window, context.spec
    aggregations = spec.aggregations
    vectors = direction_vectors(False, spec.features.glcm_distance)
    matrix_of, starts = _cooccurrence.matrix_layout(aggregations, vectors[:, 0] == 0,
                                                    2 * window.radius[0] + 1)
    n_grey, n_matrices = window.grey.size, int(starts[-1])
    if n_matrices * n_grey * n_grey > _MAX_COOCCURRENCE_CELLS:
        msg = (f"GLCM maps: {n_grey} grey levels occur in the ROI, too many for co-occurrence "
               f"maps of {len(aggregations)} aggregation(s); use a coarser discretisation")
        raise FeatureError(msg)
    n = window.centres.size
    out = np.empty((n, len(aggregations), 25))
    paired = np.zeros((n, len(aggregations)), dtype=np.bool_)
    max_cells = min(n_grey * (n_grey + 1) // 2, vectors.shape[0] * window.n_kernel)
    state = (np.zeros((n_matrices, n_grey, n_grey), dtype=np.int32),
             np.zeros((n_matrices, n_grey, n_grey), dtype=np.int32),
             np.zeros((n_matrices, max_cells, 2), dtype=np.int64),
             np.zeros(n_matrices, dtype=np.int64), np.zeros(window.levels.size, dtype=np.bool_))
    steps = flat_steps(vectors, window.shape)
    for first, last, done in _row_chunks(window.row_starts):
        _cooccurrence.cooccurrence_maps(
            window.levels, window.grey, window.centres, window.row_starts, window.row_base,
            window.row_lo, window.row_hi, window.plane, window.radius[0], steps, matrix_of,
            starts, context.n_levels, first, last, *state, out, paired)
        context.advance(done)
    return {a: (out[:, k], ~paired[:, k]) for k, a in enumerate(aggregations)}


def _level_values(window: Window) -> np.ndarray:
    """The padded grid's grey levels themselves (not compact indices), 0 outside."""
    return np.where(window.levels > 0, window.grey[np.maximum(window.levels, 1) - 1], 0)


def _run_rlm(context: _Context) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    window, aggregations = context.window, context.spec.aggregations
    vectors = direction_vectors(False)
    n_slices = 2 * window.radius[0] + 1
    matrix_of, starts = _cooccurrence.matrix_layout(aggregations, vectors[:, 0] == 0, n_slices)
    local_base, local_shape = window.local_rows(1)
    steps = flat_steps(vectors, local_shape)
    n_grey, n_lengths, n_dirs = window.grey.size, max(local_shape), vectors.shape[0]
    weights = []  # per aggregation: directions of each (local slice, matrix), for N_v
    for a in range(len(aggregations)):
        counted = np.zeros((n_slices, int(starts[a + 1] - starts[a])))
        for s in range(n_slices):
            np.add.at(counted[s], matrix_of[s, :, a][matrix_of[s, :, a] >= 0] - starts[a], 1)
        weights.append(counted)
    n = window.centres.size
    generic = {a: np.empty((n, len(_GLRLM_GENERIC))) for a in aggregations}
    for first, last in _chunks(n, n_dirs * window.n_kernel):
        capacity = (last - first) * n_dirs * window.n_kernel
        keys = np.empty((len(aggregations), capacity), dtype=np.int64)
        counts, owner = np.empty_like(keys), np.empty_like(keys)
        n_entries = np.zeros(len(aggregations), dtype=np.int64)
        slice_counts = np.zeros((last - first, n_slices), dtype=np.int64)
        _matrices.run_entries(window.levels, window.centres, first, last, window.row_base,
                              window.row_lo, window.row_hi, local_base,
                              int(np.prod(local_shape)), local_shape[1] * local_shape[2], steps,
                              n_grey, n_lengths, matrix_of, starts, keys, counts, owner,
                              n_entries, slice_counts)
        for a, aggregation in enumerate(aggregations):
            used = n_entries[a]
            rest, length = np.divmod(keys[a, :used], n_lengths)
            matrix, grey_index = np.divmod(rest, n_grey)
            means = _matrices.count_feature_means(owner[a, :used], matrix,
                                                  window.grey[grey_index], length + 1,
                                                  counts[a, :used], slice_counts @ weights[a])
            generic[aggregation][first:last] = np.column_stack(
                [means[key] for key in _GLRLM_GENERIC])
        context.advance(last - first)
    empty = context.counts[:, _histogram.N_VOXELS] == 0
    return {a: (values, empty) for a, values in generic.items()}


def _run_szm(context: _Context) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    window = context.window
    dimensions = dimensions_of(context.spec.aggregations)
    local_base, local_shape = window.local_rows(1)
    n_slices = 2 * window.radius[0] + 1
    n = window.centres.size
    generic = {d: np.empty((n, len(_GLSZM_GENERIC))) for d in dimensions}
    for first, last in _chunks(n, window.n_kernel):
        for dimension in dimensions:
            capacity = (last - first) * window.n_kernel
            keys, counts, owner = (np.empty(capacity, dtype=np.int64) for _ in range(3))
            slice_counts = np.zeros((last - first, n_slices), dtype=np.int64)
            steps = flat_steps(neighbour_offsets(1, dimension != "3d", backward=True),
                               local_shape)
            used = _matrices.zone_entries(
                window.levels, window.centres, first, last, window.row_base, window.row_lo,
                window.row_hi, local_base, int(np.prod(local_shape)),
                local_shape[1] * local_shape[2], steps, dimension == "2d", window.grey.size,
                keys, counts, owner, slice_counts)
            rest, size = np.divmod(keys[:used], window.n_kernel)
            slice_index, grey_index = np.divmod(rest, window.grey.size)
            generic[dimension][first:last] = _slice_means(
                dimension, owner[:used], slice_index, window.grey[grey_index], size + 1,
                counts[:used], slice_counts, _GLSZM_GENERIC)
        context.advance(last - first)
    empty = context.counts[:, _histogram.N_VOXELS] == 0
    return {d: (values, empty) for d, values in generic.items()}


def _run_dzm(context: _Context) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    window = context.window
    dimensions = dimensions_of(context.spec.aggregations)
    local_base, local_shape = window.local_rows(1)
    n_slices = 2 * window.radius[0] + 1
    n = window.centres.size
    generic = {d: np.empty((n, len(_GLDZM_GENERIC))) for d in dimensions}
    for first, last in _chunks(n, window.n_kernel):
        for dimension in dimensions:
            planar = dimension != "3d"
            capacity = (last - first) * window.n_kernel
            keys, counts, owner = (np.empty(capacity, dtype=np.int64) for _ in range(3))
            slice_counts = np.zeros((last - first, n_slices), dtype=np.int64)
            faces = np.array([[0, 0, 1], [0, 1, 0], [1, 0, 0]])[:2 if planar else 3]
            used = _matrices.distance_entries(
                window.levels, window.morph, window.centres, first, last, window.row_base,
                window.row_lo, window.row_hi, local_base, int(np.prod(local_shape)),
                local_shape[1] * local_shape[2],
                flat_steps(neighbour_offsets(1, planar, backward=True), local_shape),
                flat_steps(np.concatenate([faces, -faces]), local_shape), dimension == "2d",
                window.grey.size, keys, counts, owner, slice_counts)
            rest, distance = np.divmod(keys[:used], window.n_kernel)
            slice_index, grey_index = np.divmod(rest, window.grey.size)
            generic[dimension][first:last] = _slice_means(
                dimension, owner[:used], slice_index, window.grey[grey_index], distance + 1,
                counts[:used], slice_counts, _GLDZM_GENERIC)
        context.advance(last - first)
    empty = context.counts[:, _histogram.N_VOXELS] == 0
    return {d: (values, empty) for d, values in generic.items()}


def _run_ngl(context: _Context) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    window, spec = context.window, context.spec
    distance = spec.features.ngldm_distance
    dimensions = dimensions_of(spec.aggregations)
    local_base, local_shape = window.local_rows(distance)
    n_slices = 2 * window.radius[0] + 1
    values = _level_values(window)
    n_values = int(window.grey[-1])
    n = window.centres.size
    generic = {d: np.empty((n, len(_NGLDM_GENERIC))) for d in dimensions}
    for first, last in _chunks(n, window.n_kernel):
        for dimension in dimensions:
            capacity = (last - first) * window.n_kernel
            keys, counts, owner = (np.empty(capacity, dtype=np.int64) for _ in range(3))
            slice_counts = np.zeros((last - first, n_slices), dtype=np.int64)
            steps = flat_steps(neighbour_offsets(distance, dimension != "3d"), local_shape)
            used = _matrices.dependence_entries(
                values, window.centres, first, last, window.row_base, window.row_lo,
                window.row_hi, local_base, int(np.prod(local_shape)),
                local_shape[1] * local_shape[2], distance, steps, dimension == "2d",
                spec.features.ngldm_coarseness, n_values, keys, counts, owner, slice_counts)
            rest, dependence = np.divmod(keys[:used], steps.size + 1)
            slice_index, level = np.divmod(rest, n_values + 1)
            generic[dimension][first:last] = _slice_means(
                dimension, owner[:used], slice_index, level, dependence + 1, counts[:used],
                slice_counts, _NGLDM_GENERIC)
        context.advance(last - first)
    empty = context.counts[:, _histogram.N_VOXELS] == 0
    return {d: (values, empty) for d, values in generic.items()}


def _slice_means(dimension: str, owner: np.ndarray, slice_index: np.ndarray,
                 level: np.ndarray, column: np.ndarray, count: np.ndarray,
                 slice_counts: np.ndarray, generic: tuple[str, ...]) -> np.ndarray:
    """Generic count-matrix features per kernel: one matrix per slice, averaged (2D), or one
    matrix of every cell with N_v of the whole kernel (2.5D, 3D)."""
    n_voxels = slice_counts if dimension == "2d" else slice_counts.sum(axis=1, keepdims=True)
    means = _matrices.count_feature_means(owner, slice_index, level, column, count, n_voxels)
    return np.column_stack([means[key] for key in generic])


def _run_ngt(context: _Context) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    window, spec = context.window, context.spec
    distance = spec.features.ngtdm_distance
    local_base, local_shape = window.local_rows(distance)
    values = _level_values(window)
    n = window.centres.size
    results = {}
    for dimension in dimensions_of(spec.aggregations):
        planar = dimension != "3d"
        steps = flat_steps(neighbour_offsets(distance, planar), local_shape)
        out = np.empty((n, 5))
        has_neighbours = np.zeros(n, dtype=np.bool_)
        for first, last in _chunks(n):
            _matrices.neighbourhood_maps(
                values, window.centres, first, last, window.row_base, window.row_lo,
                window.row_hi, local_base, int(np.prod(local_shape)),
                local_shape[1] * local_shape[2], distance, steps, planar, dimension == "2d",
                int(window.grey[-1]), out, has_neighbours)
            context.advance((last - first) / len(dimensions_of(spec.aggregations)))
        results[dimension] = (out, ~has_neighbours)
    return results


#: Generic count-matrix feature of each of a family's features, in the family's order.
_GLRLM_GENERIC = tuple(glrlm._GENERIC.values())
_GLSZM_GENERIC = tuple(glszm._GENERIC.values())
_GLDZM_GENERIC = tuple(gldzm._GENERIC.values())
_NGLDM_GENERIC = tuple(ngldm._GENERIC.values())

_RUNNERS = {"stat": _run_stat, "cm": _run_cm, "rlm": _run_rlm, "szm": _run_szm,
            "dzm": _run_dzm, "ngt": _run_ngt, "ngl": _run_ngl}


def _columns(family: str, wanted: list[str],
             results: dict[str, tuple[np.ndarray, np.ndarray]],
             counts: np.ndarray) -> list[tuple[str, str, np.ndarray, dict[str, int]]]:
    """(feature, aggregation, values per centre, {reason: count}) of a family's maps."""
    order = [f.name for f in FAMILIES[family].features]
    n_voxels = counts[:, _histogram.N_VOXELS]
    single = counts[:, _histogram.N_DISTINCT] == 1
    columns = []
    for aggregation, (table, degenerate) in results.items():
        if family == "stat":
            single = degenerate  # equal intensities
            degenerate = np.zeros_like(degenerate)
        for name in wanted:
            values = np.ascontiguousarray(table[:, order.index(name)])
            undefined = np.isnan(values)
            code = np.select([n_voxels == 0, n_voxels == 1, single, degenerate],
                             [1, 2, 3, 4], default=5)[undefined]
            reasons = {}
            for number, count in zip(*np.unique(code, return_counts=True), strict=True):
                text = _EQUAL_INTENSITIES if family == "stat" and number == 3 \
                    else REASONS[int(number)]
                reasons[text] = int(count)
            columns.append((name, aggregation, values, reasons))
    return columns


def _map_names(columns: list[tuple[str, str, np.ndarray, dict[str, int]]]) -> list[str]:
    """``feature``, or ``feature__aggregation`` where a feature has several aggregations."""
    per_feature: dict[str, int] = {}
    for feature, *_ in columns:
        per_feature[feature] = per_feature.get(feature, 0) + 1
    return [f"{feature}__{aggregation}" if per_feature[feature] > 1 else feature
            for feature, aggregation, *_ in columns]
