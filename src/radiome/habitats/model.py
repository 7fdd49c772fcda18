"""The two-stage habitat model (Wu et al. 2016; Prior et al. 2024), fitted once, applied unchanged.

Stage 1, per case: the voxels' feature maps (:func:`~radiome.habitats.case_maps`), robustly
scaled within the case (median and IQR), and optionally their positions, are clustered by
k-means into supervoxels (about ``n_supervoxels`` per ROI). Stage 2, over the population: the
supervoxels' mean map values of the training cases are scaled by their median and IQR (learned
from the training supervoxels) and clustered by k-means or a Gaussian mixture into K habitats,
K given or chosen in a range by the silhouette, Calinski–Harabasz or BIC criterion. Habitats
are numbered 1..K by their centre's map values in ``feature_names_in_`` order (ascending:
habitat 1 has the lowest mean intensity with the default maps), so numbers mean the same in
every case the model is applied to.

Applying the model to a case repeats stage 1 on it, assigns each supervoxel its habitat with
the frozen stage-2 scaler and clusterer, brings the labels to the image grid and regularises
them (:func:`~radiome.habitats.regularise`). Nothing is refitted on the cases it is applied to.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from radiome.errors import UnreadableFileError
from radiome.habitats.regions import regularise
from radiome.habitats.voxels import (
    DEFAULT_MAP_FEATURES,
    CaseMaps,
    HabitatError,
    case_maps,
    to_image_grid,
)
from radiome.spec import Spec, load_spec
from radiome.volume import Mask, Volume

__all__ = ["HabitatModel", "load_habitat_model", "save_habitat_model"]

_FORMAT = "radiome-habitat-model/1"
_CRITERIA = {"silhouette": "max", "calinski_harabasz": "max", "bic": "min"}
_METHODS = ("kmeans", "gmm")


class HabitatModel(BaseEstimator):
    """Habitats from voxel-wise feature maps: per-case supervoxels, population clusters.

    Parameters
    ----------
    n_habitats : int, optional
        Number of habitats K (>= 2); None chooses it in ``k_range`` by ``criterion``.
    k_range : (2,) int, default (2, 8)
        Smallest and largest K tried when ``n_habitats`` is None.
    method : {"kmeans", "gmm"}, default "kmeans"
        Population clustering: k-means, or a Gaussian mixture (full covariances).
    criterion : {"silhouette", "calinski_harabasz", "bic"}, optional
        How K is chosen (highest silhouette or Calinski–Harabasz index, lowest BIC; BIC needs
        ``method="gmm"``). Default: silhouette for k-means, BIC for a Gaussian mixture.
    spec : Spec, dict or path, optional
        Processing of the feature maps; default: the training images' modality default.
    features : sequence of str
        Feature maps clustered (default :data:`~radiome.habitats.DEFAULT_MAP_FEATURES`).
    radius_voxels : int, optional, default 1
        Kernel radius of the maps in voxels (or give ``radius_mm``).
    radius_mm : float, optional
        Kernel radius of the maps in mm (then set ``radius_voxels=None``).
    kernel : {"sphere", "cube"}, default "sphere"
        Kernel shape of the maps (masked: only ROI voxels count). The sphere of radius 1
        voxel (a voxel and its 6 face neighbours) straddles fewer sub-region edges than the
        3 x 3 x 3 cube: on 20 synthetic habitat tumours (:func:`radiome.synthetic.habitat_case`,
        seeds 100-119, model fitted on seeds 0-5) it recovers the planted habitats with an
        adjusted Rand index of 0.85-0.98 (mean 0.91), the cube 0.81-0.88 (mean 0.85).
    n_supervoxels : int, default 50
        Supervoxels per ROI (fewer when the ROI has fewer voxels).
    spatial_weight : float, default 1.0
        Weight of the voxel positions in the supervoxel k-means: positions are in units of the
        mean supervoxel size (the cube root of ROI volume / ``n_supervoxels``) times this
        weight, map values in units of their within-case IQR. 0 ignores positions.
    min_region_mm3 : float, default 0
        Connected regions of a habitat smaller than this join the habitat most of their
        neighbouring voxels belong to (0: off).
    smoothing : int, default 0
        Passes of 3 x 3 x 3 majority smoothing of the label map (0: off).
    random_state : int, default 0
        Seed of every k-means and mixture fit.

    Attributes
    ----------
    spec_ : Spec
        The resolved spec of the maps.
    feature_names_in_ : ndarray of str
        The maps, in column order.
    n_features_in_ : int
    n_habitats_ : int
        K.
    scores_ : dict
        ``{K: criterion value}`` of every K tried (empty when K was given).
    center_, scale_ : (F,) ndarray
        Median and IQR of the training supervoxels' map values (the stage-2 scaler).
    estimator_ : KMeans or GaussianMixture
        The fitted population clusterer (on scaled values).
    order_ : (K,) int ndarray
        Habitat number (1..K) of each cluster of ``estimator_``.
    cluster_centers_ : (K, F) ndarray
        Centre of each habitat (row k - 1: habitat k) in the maps' units.
    n_training_cases_, n_training_supervoxels_ : int
    """

    def __init__(
        self,
        *,
        n_habitats: int | None = None,
        k_range: tuple[int, int] = (2, 8),
        method: str = "kmeans",
        criterion: str | None = None,
        spec: Spec | dict | str | Path | None = None,
        features: Sequence[str] = DEFAULT_MAP_FEATURES,
        radius_voxels: int | None = 1,
        radius_mm: float | None = None,
        kernel: str = "sphere",
        n_supervoxels: int = 50,
        spatial_weight: float = 1.0,
        min_region_mm3: float = 0.0,
        smoothing: int = 0,
        random_state: int = 0,
    ) -> None:
        self.n_habitats = n_habitats
        self.k_range = k_range
        self.method = method
        self.criterion = criterion
        self.spec = spec
        self.features = features
        self.radius_voxels = radius_voxels
        self.radius_mm = radius_mm
        self.kernel = kernel
        self.n_supervoxels = n_supervoxels
        self.spatial_weight = spatial_weight
        self.min_region_mm3 = min_region_mm3
        self.smoothing = smoothing
        self.random_state = random_state

    # -- maps --------------------------------------------------------------------------------
    def case_maps(self, volume: Volume, mask: Mask) -> CaseMaps:
        """The feature maps of one case with this model's settings (fitted: with its spec)."""
        spec = self.spec_ if hasattr(self, "spec_") else load_spec(self.spec,
                                                                   modality=volume.modality)
        return case_maps(volume, mask, spec=spec, features=list(self.features),
                         radius_voxels=self.radius_voxels, radius_mm=self.radius_mm,
                         kernel=self.kernel)

    # -- fit and apply ------------------------------------------------------------------------
    def fit(self, X: Sequence[CaseMaps], y: None = None) -> HabitatModel:
        """Fit the habitats on the training cases' maps (from :meth:`case_maps`).

        Parameters
        ----------
        X : sequence of CaseMaps
            One per training case, computed with this model's settings.
        y : None
            Ignored.

        Returns
        -------
        HabitatModel
            ``self``.

        Raises
        ------
        HabitatError
            A setting is out of range, no case is given, the cases' maps differ (features or
            spec), or there are too few training supervoxels for the habitats asked.
        """
        self._check_params()
        cases = list(X)
        if not cases:
            msg = "HabitatModel.fit: no training case"
            raise HabitatError(msg)
        _check_same_maps(cases, cases[0].names, cases[0].spec, "the first training case")
        with _one_thread():
            means = np.vstack([self._supervoxels(case)[1] for case in cases])
            self.center_ = np.median(means, axis=0)
            self.scale_ = _spread(means, self.center_)
            self.n_habitats_, self.scores_, self.estimator_ = self._choose(
                (means - self.center_) / self.scale_)
        centres = _centres(self.estimator_) * self.scale_ + self.center_
        order = np.lexsort(centres.T[::-1])
        self.order_ = np.empty(len(order), dtype=np.int64)
        self.order_[order] = np.arange(1, len(order) + 1)
        self.cluster_centers_ = centres[order]
        self.spec_ = cases[0].spec
        self.feature_names_in_ = np.asarray(cases[0].names, dtype=object)
        self.n_features_in_ = len(cases[0].names)
        self.n_training_cases_ = len(cases)
        self.n_training_supervoxels_ = len(means)
        return self

    def predict(self, X: Sequence[CaseMaps]) -> list[np.ndarray]:
        """The habitat label map of each case, on its image grid.

        Parameters
        ----------
        X : sequence of CaseMaps
            Computed with :meth:`case_maps` of this fitted model.

        Returns
        -------
        list of (Z, Y, X) int16 ndarray
            Per case: 0 outside the ROI, the habitat number 1..K inside, regularised as the
            model says.

        Raises
        ------
        HabitatError
            A case's maps are not those the model was fitted on (features or spec).
        """
        check_is_fitted(self)
        cases = list(X)
        _check_same_maps(cases, tuple(self.feature_names_in_), self.spec_, "the habitat model")
        with _one_thread():
            return [self._predict_case(case) for case in cases]

    def _predict_case(self, case: CaseMaps) -> np.ndarray:
        """Habitat labels of one case on its image grid (stage 1, frozen stage 2, regularised)."""
        members, means = self._supervoxels(case)
        habitat = self.order_[self.estimator_.predict((means - self.center_) / self.scale_)]
        on_maps = np.where(members >= 0, habitat[np.maximum(members, 0)], 0)
        labels = to_image_grid(case, on_maps)
        return regularise(labels, spacing=case.mask.spacing, min_region_mm3=self.min_region_mm3,
                          smoothing=int(self.smoothing))

    def _supervoxels(self, case: CaseMaps) -> tuple[np.ndarray, np.ndarray]:
        """Stage 1 of one case: supervoxel of each voxel (-1: undefined maps) and their means."""
        from sklearn.cluster import KMeans

        valid = np.isfinite(case.values).all(axis=1)
        if not valid.any():
            msg = (f"{case.mask.source}: ROI {case.mask.roi!r}: no voxel has every map "
                   f"({', '.join(case.names)}) defined")
            raise HabitatError(msg)
        values = case.values[valid]
        centre = np.median(values, axis=0)
        scaled = (values - centre) / _spread(values, centre)
        positions = case.coordinates[valid]
        size = (len(values) * case.grid.voxel_volume / self.n_supervoxels) ** (1 / 3)
        points = np.hstack([scaled, (positions - positions.mean(axis=0)) / size
                            * self.spatial_weight])
        n = min(int(self.n_supervoxels), len(np.unique(points, axis=0)))
        found = KMeans(n_clusters=n, n_init=1, random_state=self.random_state).fit_predict(points)
        used, members = np.unique(found, return_inverse=True)
        counts = np.bincount(members, minlength=len(used))
        means = np.stack([np.bincount(members, weights=column, minlength=len(used))
                          for column in values.T], axis=1) / counts[:, None]
        labels = np.full(len(case.values), -1, dtype=np.int64)
        labels[valid] = members
        return labels, means

    def _choose(self, scaled: np.ndarray) -> tuple[int, dict[int, float], Any]:
        """K, the criterion of every K tried, and the clusterer fitted with K."""
        low, high = (self.n_habitats, self.n_habitats) if self.n_habitats else self.k_range
        tried = [k for k in range(int(low), int(high) + 1) if k < len(scaled)]
        if not tried:
            msg = (f"HabitatModel.fit: {len(scaled)} training supervoxel(s) cannot make "
                   f"{low} habitats or more; add training cases or raise n_supervoxels")
            raise HabitatError(msg)
        if self.n_habitats:
            return int(self.n_habitats), {}, self._clusterer(int(self.n_habitats), scaled)
        criterion = self.criterion or ("silhouette" if self.method == "kmeans" else "bic")
        sign = 1.0 if _CRITERIA[criterion] == "max" else -1.0
        scores, best = {}, None
        for k in tried:
            fitted = self._clusterer(k, scaled)
            scores[k] = _score(criterion, fitted, scaled)
            better = best is None or sign * scores[k] > sign * scores[best[0]]
            if np.isfinite(scores[k]) and better:
                best = (k, fitted)
        if best is None:
            msg = f"HabitatModel.fit: {criterion} is undefined for every K in {tried}"
            raise HabitatError(msg)
        return best[0], scores, best[1]

    def _clusterer(self, k: int, scaled: np.ndarray) -> Any:
        """K-means (10 starts) or a full-covariance Gaussian mixture (5 starts) with k clusters."""
        if self.method == "kmeans":
            from sklearn.cluster import KMeans

            return KMeans(n_clusters=k, n_init=10, random_state=self.random_state).fit(scaled)
        from sklearn.mixture import GaussianMixture

        return GaussianMixture(n_components=k, covariance_type="full", n_init=5,
                               random_state=self.random_state).fit(scaled)

    def _check_params(self) -> None:
        """Raise HabitatError naming every hyper-parameter out of range."""
        problems = []
        if self.n_habitats is not None and (int(self.n_habitats) != self.n_habitats
                                            or self.n_habitats < 2):
            problems.append(f"n_habitats must be an integer >= 2 or None, got {self.n_habitats!r}")
        low, high = tuple(self.k_range)
        if self.n_habitats is None and not 2 <= low <= high:
            problems.append(f"k_range must be (low, high) with 2 <= low <= high, got "
                            f"{tuple(self.k_range)}")
        if self.method not in _METHODS:
            problems.append(f"method must be one of {', '.join(_METHODS)}, got {self.method!r}")
        if self.criterion is not None and self.criterion not in _CRITERIA:
            problems.append(f"criterion must be one of {', '.join(_CRITERIA)}, got "
                            f"{self.criterion!r}")
        if self.criterion == "bic" and self.method != "gmm":
            problems.append("criterion 'bic' needs method 'gmm' (a likelihood)")
        if (self.radius_voxels is None) == (self.radius_mm is None):
            problems.append("give one of radius_voxels and radius_mm")
        if int(self.n_supervoxels) != self.n_supervoxels or self.n_supervoxels < 1:
            problems.append(f"n_supervoxels must be an integer >= 1, got {self.n_supervoxels!r}")
        if not self.spatial_weight >= 0:
            problems.append(f"spatial_weight must be >= 0, got {self.spatial_weight!r}")
        if not self.min_region_mm3 >= 0:
            problems.append(f"min_region_mm3 must be >= 0, got {self.min_region_mm3!r}")
        if int(self.smoothing) != self.smoothing or self.smoothing < 0:
            problems.append(f"smoothing must be an integer >= 0, got {self.smoothing!r}")
        if not list(self.features):
            problems.append("features must name at least one feature map")
        if self.kernel not in ("sphere", "cube"):
            problems.append(f"kernel must be sphere or cube, got {self.kernel!r}")
        if problems:
            msg = "HabitatModel: " + "; ".join(problems)
            raise HabitatError(msg)


def _one_thread():
    """Clustering on one OpenMP thread: the same result, and far faster on a busy machine.

    Measured on 2 shared cores: k-means of 10 000 voxels into 50 supervoxels took 1.4 s with
    two OpenMP threads and 0.08 s with one.
    """
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1, user_api="openmp")


def _check_same_maps(cases: Sequence[CaseMaps], names: tuple[str, ...], spec: Spec,
                     what: str) -> None:
    """Raise HabitatError naming the first case whose maps differ from ``names`` and ``spec``."""
    for case in cases:
        if tuple(case.names) != tuple(names):
            msg = (f"{case.mask.source}: maps {list(case.names)} differ from those of {what} "
                   f"({list(names)})")
            raise HabitatError(msg)
        if case.spec.hash != spec.hash:
            msg = (f"{case.mask.source}: maps computed with spec {case.spec.hash}, but {what} "
                   f"uses spec {spec.hash}; compute them with the model's case_maps")
            raise HabitatError(msg)


def _spread(values: np.ndarray, centre: np.ndarray) -> np.ndarray:
    """Per column: the IQR, else the mean absolute deviation from ``centre``, else 1."""
    q75, q25 = np.percentile(values, [75, 25], axis=0)
    spread = q75 - q25
    deviation = np.mean(np.abs(values - centre), axis=0)
    spread = np.where(spread > 0, spread, deviation)
    return np.where(spread > 0, spread, 1.0)


def _centres(estimator: Any) -> np.ndarray:
    """Cluster centres of a fitted KMeans or GaussianMixture."""
    if hasattr(estimator, "cluster_centers_"):
        return np.asarray(estimator.cluster_centers_)
    return np.asarray(estimator.means_)


def _score(criterion: str, estimator: Any, scaled: np.ndarray) -> float:
    """The criterion of one fitted clusterer (NaN when it is undefined: a single cluster)."""
    if criterion == "bic":
        return float(estimator.bic(scaled))
    from sklearn.metrics import calinski_harabasz_score, silhouette_score

    labels = estimator.predict(scaled)
    if len(np.unique(labels)) < 2:
        return float("nan")
    if criterion == "silhouette":
        return float(silhouette_score(scaled, labels))
    return float(calinski_harabasz_score(scaled, labels))


def save_habitat_model(model: HabitatModel, path: str | Path, *,
                       training: dict[str, Any] | None = None) -> Path:
    """Write a fitted habitat model with a provenance header (joblib).

    Parameters
    ----------
    model : HabitatModel
        Fitted.
    path : path
        The file to write (``.joblib``).
    training : dict, optional
        What the model was fitted on (e.g. the manifest and its case ids), kept in the header.

    Returns
    -------
    Path
        ``path``.
    """
    import joblib

    from radiome import __version__
    from radiome.provenance import software_versions

    check_is_fitted(model)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    joblib.dump({"format": _FORMAT, "model": model, "radiome": __version__,
                 "software": software_versions(), "spec_hash": model.spec_.hash,
                 "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                 "training": dict(training or {})}, path)
    return path


def load_habitat_model(path: str | Path) -> HabitatModel:
    """Read a habitat model written by :func:`save_habitat_model`.

    The file is unpickled (joblib): load only model files you trust. The header (radiome and
    library versions, creation time, training cases) becomes the model's ``provenance_`` and
    the file's SHA-256 its ``file_hash_``.

    Raises
    ------
    MissingFileError
        No such file.
    UnreadableFileError
        The file is not a radiome habitat model of this format (any other file).
    """
    from radiome._saved import read_saved
    from radiome.cohort.runner import file_hash

    path = Path(path)
    payload = read_saved(path, "habitat model")
    found = payload.get("format") if isinstance(payload, dict) else None
    if found != _FORMAT or not isinstance(payload.get("model"), HabitatModel):
        what = f"format {found}" if isinstance(found, str) else f"a {type(payload).__name__}"
        msg = f"{path}: not a radiome habitat model file ({what}, expected format {_FORMAT})"
        raise UnreadableFileError(msg)
    model = payload["model"]
    model.provenance_ = {k: payload[k] for k in ("radiome", "software", "spec_hash", "created",
                                                 "training")}
    model.file_hash_ = file_hash(path)
    return model
