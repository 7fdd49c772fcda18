"""Regression against PyRadiomics' own baseline values, one test per case, setting and feature.

Provenance: ``pyradiomics_cases/baseline/baseline_<class>.csv`` of the shared data, PyRadiomics'
regression values (repository snapshot 8ed5793; computed by PyRadiomics 1.3 to 2.1, see the
README there and each column's ``diagnostics_Versions_PyRadiomics``). Each column is a case
under one test setting, recorded in the row ``diagnostics_Configuration_Settings``. Every
PyRadiomics feature with an IBSI counterpart (``benchmarks/pyradiomics_pairs.py``, the mapping
``make bench`` uses) is one test per column, id ``<column>-<class>_<Feature>``; a column whose
settings radiome cannot reproduce is one skipped test, ``<column>-all``.

Settings: each column's PyRadiomics settings become a radiome spec, starting from the
benchmark's ``original`` spec (the families PyRadiomics has; GLCM and GLRLM 3D averaged, which is
what PyRadiomics computes): ``binWidth``/``binCount`` give fixed bin size/number, ``distances``
and ``gldm_a`` the texture distances and NGLDM coarseness, ``force2D`` 2.5D texture (slices
merged, directions averaged, as PyRadiomics does), ``weightingNorm: no_weighting`` merged
directions, ``resegmentRange`` a range (``absolute``) or outlier filtering (``sigma``). Fixed
bins start at floor(min / w)·w in PyRadiomics, at the re-segmentation minimum in IBSI: the spec
gets that minimum (``tool_radiome.pyradiomics_bins_spec``, which removes no voxel). Where the
origins still differ (outlier filtering that moves the minimum into another bin), the features
of the grey levels are skipped, saying so; PyRadiomics' ``voxelArrayShift`` (added before
energy and RMS) is converted in closed form.

Skipped, each saying why: pairs of kind ``differs`` (the mesh), columns whose settings radiome
cannot reproduce (normalisation over the whole image, PyRadiomics' resampling grid), and, in
an ROI of a single grey level, features that IBSI leaves undefined where PyRadiomics reports a
fixed value.

Tolerance: |radiome - PyRadiomics| <= 1e-6 max(|radiome|, |PyRadiomics|) + 1e-12. Both apply
the same definition in double precision to the same grey levels and the baselines print 16-17
significant digits, so they can differ by summation order only (at most 2.4e-10 relative on
these cases, in the first information correlation, a difference of close entropies). 1e-6 is
the benchmark's agreement threshold, far below what any change of definition does (one bin of
shift moves the features it touches by more than 1e-3). The 1e-12 floor absorbs PyRadiomics'
-3.2e-16 entropy of a single-bin histogram.
"""

from __future__ import annotations

import ast
import importlib.util
import math
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import numpy as np
import pandas as pd
import pytest
from tests.conftest import find_data_root

import radiome

_BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
_ABSOLUTE = 1e-12
#: radiome families computed from discretised grey levels.
_LEVEL_FAMILIES = ("ih", "cm", "rlm", "szm", "ngt", "ngl")
#: PyRadiomics settings that do not change feature values here (checks, logging, cropping).
_NEUTRAL = ("additionalInfo", "label", "minimumROIDimensions", "minimumROISize", "padDistance",
            "preCrop")


def _benchmark_module(name: str) -> ModuleType:
    """A module of ``benchmarks/`` (a folder of scripts, not a package), loaded from its file."""
    spec = importlib.util.spec_from_file_location(f"_benchmarks_{name}", _BENCHMARKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while it executes
    spec.loader.exec_module(module)
    return module


_PAIRS = _benchmark_module("pyradiomics_pairs")
_TOOL = _benchmark_module("tool_radiome")


@dataclass(frozen=True, eq=False)
class _Setting:
    """One baseline column as radiome runs it: case files, spec, shift, or why not."""

    column: str
    image: str
    mask: str
    roi: int
    spec: radiome.Spec | None
    shift: float
    not_comparable: str

    def aggregation(self, pair) -> str:
        """radiome's aggregation of a pair under this setting."""
        if not pair.aggregation:
            return ""
        methods = self.spec.features.aggregations
        if pair.aggregation == "3d_avg":  # GLCM and GLRLM
            return methods[0]
        return "2_5d" if self.spec.preprocessing.dimensions == "2d" else "3d"


@dataclass(frozen=True)
class _Check:
    """One PyRadiomics baseline value and the setting it was computed with.

    A setting radiome cannot reproduce is one check with no pair (its id ends in ``-all``).
    """

    setting: _Setting
    pair: object | None
    value: float

    @property
    def id(self) -> str:
        return f"{self.setting.column}-{self.pair.pyradiomics if self.pair else 'all'}"


def _spec(settings: dict) -> tuple[radiome.Spec | None, float, str]:
    """radiome spec, voxelArrayShift and '' for PyRadiomics settings, or None, 0, why not."""
    original = radiome.load_spec(_BENCHMARKS / "specs" / "original.yaml")
    data = original.model_dump(mode="json")
    pre, features = data["preprocessing"], data["features"]
    settings = {k: v for k, v in settings.items() if k not in _NEUTRAL}
    if settings.pop("normalize", False):
        return None, 0.0, ("PyRadiomics normalises over the whole image, IBSI (radiome) over "
                           "the ROI")
    if settings.pop("resampledPixelSpacing", None) is not None:
        return None, 0.0, ("PyRadiomics resamples on a grid that keeps the origin, IBSI "
                           "centres the new grid on the old one: other voxels")
    for unused in ("interpolator", "normalizeScale", "removeOutliers"):  # only act with those
        settings.pop(unused, None)
    if "binCount" in settings:
        pre["discretisation"] = {"method": "fixed_bin_number",
                                 "bin_count": settings.pop("binCount")}
    else:
        pre["discretisation"] = {"method": "fixed_bin_size",
                                 "bin_width": settings.pop("binWidth", 25)}
    distances = settings.pop("distances", [1])
    if len(distances) != 1:
        return None, 0.0, f"PyRadiomics averages over distances {distances}; radiome takes one"
    for key in ("glcm_distance", "ngtdm_distance", "ngldm_distance"):
        features[key] = distances[0]
    features["ngldm_coarseness"] = settings.pop("gldm_a", 0)
    merged = {None: False, "no_weighting": True}.get(settings.pop("weightingNorm", None))
    if merged is None:
        return None, 0.0, "distance-weighted direction merging has no IBSI counterpart"
    if settings.pop("force2D", False):
        if settings.pop("force2Ddimension", 0) != 0:
            return None, 0.0, "2D in a plane other than the axial one"
        pre["dimensions"] = "2d"
        features["aggregations"] = ["2_5d_vmrg" if merged else "2_5d_dmrg"]
    else:
        settings.pop("force2Ddimension", None)
        features["aggregations"] = ["3d_vmrg" if merged else "3d_avg"]
    bounds = settings.pop("resegmentRange", None)
    mode = settings.pop("resegmentMode", "absolute")
    if bounds and mode == "absolute":
        pre["resegmentation"] = {"range": {"min": bounds[0],
                                           "max": bounds[1] if len(bounds) > 1 else None}}
    elif bounds and mode == "sigma" and len(bounds) == 2 and bounds[0] == -bounds[1]:
        pre["resegmentation"] = {"outlier_sigma": bounds[1]}
    elif bounds:
        return None, 0.0, f"re-segmentation {mode} {bounds} has no IBSI counterpart"
    shift = float(settings.pop("voxelArrayShift", 0))
    if settings:
        return None, 0.0, f"settings {sorted(settings)} have no radiome counterpart here"
    return radiome.load_spec(data), shift, ""


def _checks(folder: Path) -> list[_Check]:
    """Every (column, mapped feature) of the baselines with a value."""
    cases = pd.read_csv(folder / "testCases.csv", index_col="ID")
    tables = {path.stem.removeprefix("baseline_"): pd.read_csv(path, index_col=0)
              for path in sorted((folder / "baseline").glob("baseline_*.csv"))}
    settings: dict[tuple[str, str], _Setting] = {}
    checks = []
    for pair in _PAIRS.PAIRS:
        table = tables.get(pair.pyradiomics.split("_")[0])
        row = f"original_{pair.pyradiomics}"
        if table is None or row not in table.index:
            continue
        for column in table.columns:
            raw = table.at["diagnostics_Configuration_Settings", column]
            case = column.split("_")[0]
            if (column, raw) not in settings:
                spec, shift, why = _spec(ast.literal_eval(raw))
                settings[column, raw] = _Setting(
                    column, Path(cases.at[case, "Image"]).name, Path(cases.at[case, "Mask"]).name,
                    ast.literal_eval(raw).get("label", 1), spec, shift, why)
                if why:
                    checks.append(_Check(settings[column, raw], None, math.nan))
            if not settings[column, raw].not_comparable:
                checks.append(_Check(settings[column, raw], pair, float(table.at[row, column])))
    return checks


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """One ``check`` per baseline column and mapped feature (``no-data`` without the data)."""
    if "check" not in metafunc.fixturenames:
        return
    root = find_data_root()
    if root is None:
        metafunc.parametrize("check", [None], ids=["no-data"])
        return
    checks = _checks(root / "pyradiomics_cases")
    metafunc.parametrize("check", checks, ids=[c.id for c in checks])


@dataclass(frozen=True)
class _Result:
    """radiome's values of one setting, with what the comparison needs besides."""

    values: dict[tuple[str, str], float]
    n_voxels: int
    bin_origins: tuple[float, float] | None  # (radiome, PyRadiomics) for a fixed bin size


@pytest.fixture(scope="module")
def radiome_values(shared_data: Path) -> dict[_Setting, _Result]:
    """radiome's features for each baseline setting, extracted on first use."""
    folder = shared_data / "pyradiomics_cases"
    inputs: dict[tuple[str, str, int], tuple[radiome.Volume, radiome.Mask]] = {}

    class _BySetting(dict):
        def __missing__(self, setting: _Setting) -> _Result:
            where = (setting.image, setting.mask, setting.roi)
            if where not in inputs:
                volume = radiome.load_volume(folder / setting.image)
                inputs[where] = volume, radiome.load_mask(folder / setting.mask,
                                                          roi=setting.roi, reference=volume)
            volume, mask = inputs[where]
            spec = setting.spec
            origins = None
            if spec.preprocessing.discretisation.method == "fixed_bin_size":
                if spec.preprocessing.resegmentation.range is None:
                    spec = _TOOL.pyradiomics_bins_spec(spec, volume, mask)
            table = radiome.extract(volume, mask, spec=spec)
            values = dict(zip(zip(table["feature"], table["aggregation"], strict=True),
                              table["value"], strict=True))
            if spec.preprocessing.discretisation.method == "fixed_bin_size":
                width = spec.preprocessing.discretisation.bin_width
                origins = (spec.preprocessing.resegmentation.range.min,
                           math.floor(values["stat_min", ""] / width) * width)
            self[setting] = _Result(values, int(np.count_nonzero(mask.array)), origins)
            return self[setting]

    return _BySetting()


def _shifted(feature: str, values: dict[tuple[str, str], float], shift: float) -> float:
    """Energy or RMS of the intensities plus ``shift`` (PyRadiomics' voxelArrayShift).

    sum (x + c)² = E + 2 c N x̄ + N c², so RMS_c² = RMS² + 2 c x̄ + c² and E_c = E RMS_c² / RMS².
    """
    rms, mean = values["stat_rms", ""], values["stat_mean", ""]
    rms_shifted = math.sqrt(rms**2 + 2 * shift * mean + shift**2)
    if feature == "stat_rms":
        return rms_shifted
    return values["stat_energy", ""] * (rms_shifted / rms) ** 2


def test_shared_feature_equals_pyradiomics_baseline(check, radiome_values, shared_data):
    setting, pair = check.setting, check.pair
    if setting.not_comparable:
        pytest.skip(f"{setting.column}, every feature: {setting.not_comparable}")
    if pair.kind == "differs":
        pytest.skip(f"{pair.pyradiomics} vs {pair.radiome}: {pair.note}")
    result = radiome_values[setting]
    key = (pair.radiome, setting.aggregation(pair))
    assert key in result.values, f"radiome computed no {key}"
    got = result.values[key]
    family = pair.radiome.split("_")[0]
    if family in _LEVEL_FAMILIES and result.bin_origins and len(set(result.bin_origins)) > 1:
        pytest.skip(f"fixed bins start at {result.bin_origins[0]:g} in radiome (IBSI: the "
                    f"re-segmentation minimum) but at {result.bin_origins[1]:g} in PyRadiomics "
                    "(floor(min / w) w after outlier filtering): other grey levels")
    if pair.kind == "converted":
        got = _PAIRS.converted(pair, got, result.n_voxels)
    if pair.radiome in ("stat_energy", "stat_rms") and setting.shift:
        got = _shifted(pair.radiome, result.values, setting.shift)
    if math.isnan(got) and not math.isnan(check.value) and result.values["ih_range", ""] == 0:
        pytest.skip(f"single grey level: IBSI leaves {pair.radiome} undefined (NaN), "
                    f"PyRadiomics reports {check.value:g}")
    both_nan = math.isnan(got) and math.isnan(check.value)
    allowed = _PAIRS.RELATIVE_TOLERANCE * max(abs(got), abs(check.value)) + _ABSOLUTE
    assert both_nan or abs(got - check.value) <= allowed, (
        f"{pair.pyradiomics} ({pair.radiome} {key[1]}): radiome {got!r}, "
        f"PyRadiomics {check.value!r}"
    )


def test_every_baseline_feature_is_mapped_or_explained(shared_data):
    """Completeness: each feature of the baselines is paired or listed with a reason."""
    known = {p.pyradiomics for p in _PAIRS.PAIRS} | set(_PAIRS.UNMATCHED)
    features = set()
    for path in (shared_data / "pyradiomics_cases" / "baseline").glob("baseline_*.csv"):
        index = pd.read_csv(path, usecols=[0]).iloc[:, 0]
        features |= {f.removeprefix("original_") for f in index if f.startswith("original_")}
    assert features, "no baseline features found"
    assert not sorted(features - known), f"unmapped PyRadiomics features: {features - known}"
