"""Voxel-wise GLCM maps (issue 14): radiome against PyRadiomics' voxel mode and flash-radiomics.

The same maps from the three tools: the 24 GLCM features PyRadiomics computes (3D, averaged
over the 13 directions, binWidth 25, masked kernel, Chebyshev distance 1), per case and kernel
radius. Each tool runs in a fresh process with its own interpreter (``.venv`` for radiome,
``.bench/pyradiomics`` for ``pyradiomics-bhklab==3.1.4``, ``.bench/flash`` for
``flash-radiomics==1.0.0``, CPU backend, one thread), with the image and mask already in memory:
radiome and flash-radiomics first compute the maps of another case as a warm-up (numba's
cache, libraries' first use), then each tool computes the case's maps once more, timed with
``time.process_time()`` (CPU time, one thread) and wall time; PyRadiomics runs once, untimed
warm-up skipped (it takes minutes). Peak memory is the process's peak resident memory during
that run (VmHWM, tracking restarted just before it), the images in memory included.

Values are compared where the definitions agree: radiome bins from floor(min / 25) * 25 as
PyRadiomics and flash-radiomics do, so the three see the same grey levels at every voxel; per
feature, the largest absolute and relative difference over the ROI voxels where both are
defined (agreeing when |a - b| <= 1e-6 max(|a|, |b|) + 1e-10 at every voxel), and the voxels
where only one is defined.

Run as ``benchmarks/maps.py`` (all of it) or, inside a tool's environment, ``maps.py --worker
TOOL CASE RADIUS OUT.npz`` (one map run, a JSON line on stdout).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from bench_config import BENCH_DIR, BENCHMARKS, BIN_WIDTH, CASES, SPECS_DIR, TOOLS

__all__ = ["MAP_CASES", "MAP_PAIRS", "MAP_RADII", "run_maps"]

#: Cases and kernel radii of the maps step (lung2: 24 644 ROI voxels; brain1: 4 137).
MAP_CASES = ("lung2", "brain1")
MAP_RADII = (1, 2)
#: The warm-up case of radiome and flash-radiomics (small: 453 ROI voxels).
WARMUP_CASE = "brain2"
MAP_TOOLS = ("radiome", "flash", "pyradiomics")
#: Agreement per voxel: |a - b| <= 1e-6 max(|a|, |b|) + 1e-10 (the absolute term for values
#: that are 0 in one tool and a rounding residue such as 1e-17 in another).
RELATIVE_TOLERANCE = 1e-6
ABSOLUTE_TOLERANCE = 1e-10
_TIMEOUT_S = 3600

_NG_NOTE = ("normalised by N_g: PyRadiomics (and flash-radiomics) take N_g of the whole ROI "
            "in voxel mode, radiome the kernel's own (its highest grey level), as extract on "
            "the kernel's mask does")
_UNDEFINED_NOTE = ("a direction matrix of one grey level leaves it undefined (IBSI): radiome "
                   "averages the directions that define it (NaN when none does), PyRadiomics "
                   "counts such a direction as {value}")

#: (PyRadiomics name, radiome name, kind, note); kinds as in pyradiomics_pairs.
MAP_PAIRS = (
    ("MaximumProbability", "cm_joint_max", "same", ""),
    ("JointAverage", "cm_joint_avg", "same",
     "PyRadiomics leaves it NaN wherever one of the 13 directions holds no voxel pair in the "
     "kernel (its mean over the directions is not NaN-aware; its other features are)"),
    ("SumSquares", "cm_joint_var", "same", ""),
    ("JointEntropy", "cm_joint_entr", "same", ""),
    ("DifferenceAverage", "cm_diff_avg", "same", ""),
    ("DifferenceVariance", "cm_diff_var", "same", ""),
    ("DifferenceEntropy", "cm_diff_entr", "same", ""),
    ("SumAverage", "cm_sum_avg", "same", ""),
    ("SumEntropy", "cm_sum_entr", "same", ""),
    ("JointEnergy", "cm_energy", "same", ""),
    ("Contrast", "cm_contrast", "same", ""),
    ("Id", "cm_inv_diff", "same", ""),
    ("Idn", "cm_inv_diff_norm", "differs", _NG_NOTE),
    ("Idm", "cm_inv_diff_mom", "same", ""),
    ("Idmn", "cm_inv_diff_mom_norm", "differs", _NG_NOTE),
    ("InverseVariance", "cm_inv_var", "same", ""),
    ("Correlation", "cm_corr", "differs", _UNDEFINED_NOTE.format(value="1")),
    ("Autocorrelation", "cm_auto_corr", "same", ""),
    ("ClusterTendency", "cm_clust_tend", "same", ""),
    ("ClusterShade", "cm_clust_shade", "same", ""),
    ("ClusterProminence", "cm_clust_prom", "same", ""),
    ("Imc1", "cm_info_corr1", "differs", _UNDEFINED_NOTE.format(value="0")),
    ("Imc2", "cm_info_corr2", "same", ""),
    ("MCC", None, "unmatched", "maximal correlation coefficient: not an IBSI feature"),
)


# --- worker side (runs inside each tool's environment; its imports stay inside) -----------

def _peak_rss() -> int:
    with open("/proc/self/status", encoding="ascii") as fh:
        return next(int(line.split()[1]) * 1024 for line in fh if line.startswith("VmHWM:"))


def _rss() -> int:
    with open("/proc/self/statm", encoding="ascii") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _reset_peak() -> None:
    with open("/proc/self/clear_refs", "w", encoding="ascii") as fh:
        fh.write("5")


class _Radiome:
    def __init__(self, radius: int) -> None:
        import radiome
        from tool_radiome import pyradiomics_bins_spec

        self.radiome, self.radius, self.bins = radiome, radius, pyradiomics_bins_spec

    def versions(self) -> dict:
        import numba
        import numpy

        return {"radiome": self.radiome.__version__, "numpy": numpy.__version__,
                "numba": numba.__version__}

    def load(self, case) -> None:
        self.volume = self.radiome.load_volume(case.image_path, modality=case.modality)
        self.mask = self.radiome.load_mask(case.mask_path, roi=case.label,
                                           reference=self.volume)
        spec = self.radiome.load_spec(SPECS_DIR / "maps_glcm.yaml")
        self.spec = self.bins(spec, self.volume, self.mask)

    def run(self) -> None:
        self.maps = self.radiome.feature_maps(self.volume, self.mask, spec=self.spec,
                                              radius_voxels=self.radius, features=["cm"])

    def values(self) -> dict:
        import numpy as np

        full = np.full(self.mask.array.shape, np.nan)
        out = {}
        for k, name in enumerate(self.maps.names):
            full[tuple(self.maps.index.T)] = self.maps.voxel_values[:, k]
            out[name] = full[self.mask.array]
        return out


class _PyRadiomics:
    def __init__(self, radius: int) -> None:
        import logging

        import radiomics

        radiomics.setVerbosity(logging.ERROR)
        self.radius = radius

    def versions(self) -> dict:
        import numpy
        import radiomics

        return {"pyradiomics": radiomics.__version__, "numpy": numpy.__version__}

    def load(self, case) -> None:
        import SimpleITK as sitk
        from radiomics import featureextractor

        self.image = sitk.ReadImage(str(case.image_path))
        self.mask = sitk.ReadImage(str(case.mask_path))
        self.label = case.label
        self.extractor = featureextractor.RadiomicsFeatureExtractor(
            binWidth=BIN_WIDTH, label=case.label, kernelRadius=self.radius, maskedKernel=True,
            force2D=False, additionalInfo=False)
        self.extractor.disableAllFeatures()
        self.extractor.enableFeatureClassByName("glcm")

    def run(self) -> None:
        self.result = self.extractor.execute(self.image, self.mask, label=self.label,
                                             voxelBased=True)

    def values(self) -> dict:
        return _on_roi(self.result, self.image, self.mask, self.label, "original_glcm_")


class _Flash:
    def __init__(self, radius: int) -> None:
        import tempfile

        self.radius = radius
        self.scratch = Path(tempfile.mkdtemp(prefix="flash_maps_"))

    def versions(self) -> dict:
        from importlib import metadata

        return {"flash-radiomics": metadata.version("flash-radiomics"),
                "numpy": metadata.version("numpy")}

    def load(self, case) -> None:
        import SimpleITK as sitk
        from flash_radiomics import RadiomicsFeatureExtractor

        self.image = sitk.ReadImage(str(case.image_path))
        self.mask = sitk.ReadImage(str(case.mask_path))
        self.label = case.label
        self.name = case.name
        self.extractor = RadiomicsFeatureExtractor(
            backend="cpu", num_threads=1, binWidth=BIN_WIDTH, label=case.label,
            kernelRadius=self.radius, maskedKernel=True, force2D=False, additionalInfo=False)
        self.extractor.disableAllFeatures()
        self.extractor.enableFeatureClassByName("glcm")

    def run(self) -> None:
        self.result = self.extractor.execute(
            self.image, self.mask, label=self.label, spatialMode=True,
            output_hdf5_path=str(self.scratch / f"{self.name}.h5"))

    def values(self) -> dict:
        return _on_roi(self.result, self.image, self.mask, self.label, "original_glcm_")


def _on_roi(result: dict, image, mask, label: int, prefix: str) -> dict:
    """Each map image of a result, on the image's grid, at the ROI voxels (C order)."""
    import numpy as np
    import SimpleITK as sitk

    roi = sitk.GetArrayFromImage(mask) == label
    out = {}
    for key, value in result.items():
        if not isinstance(value, sitk.Image) or not key.startswith(prefix):
            continue
        on_grid = sitk.Resample(sitk.Cast(value, sitk.sitkFloat64), image, sitk.Transform(),
                                sitk.sitkNearestNeighbor, float("nan"))
        out[key[len(prefix):]] = sitk.GetArrayFromImage(on_grid)[roi].astype(np.float64)
    return out


_ADAPTERS = {"radiome": _Radiome, "pyradiomics": _PyRadiomics, "flash": _Flash}


def _worker(tool: str, case_name: str, radius: int, out: Path) -> None:
    """One map run of one tool in this process; prints a JSON line, saves the values."""
    import numpy as np

    adapter = _ADAPTERS[tool](radius)
    warmup_s = None
    if tool != "pyradiomics":
        adapter.load(CASES[WARMUP_CASE])
        started = time.process_time()
        adapter.run()
        warmup_s = time.process_time() - started
    adapter.load(CASES[case_name])
    rss_before = _rss()
    _reset_peak()
    cpu, wall = time.process_time(), time.perf_counter()
    adapter.run()
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    peak = _peak_rss()
    values = adapter.values()
    np.savez(out, **values)
    print(json.dumps({"cpu_s": cpu, "wall_s": wall, "peak_rss": peak, "rss_before": rss_before,
                      "warmup_cpu_s": warmup_s, "n_maps": len(values),
                      "n_voxels": int(next(iter(values.values())).size) if values else 0,
                      "versions": adapter.versions()}))


# --- coordinator side -----------------------------------------------------------------------

def _run_tool(tool: str, case: str, radius: int, out: Path, log: Path) -> dict:
    command = [str(TOOLS[tool].python_path), str(BENCHMARKS / "maps.py"), "--worker", tool,
               case, str(radius), str(out)]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
           "MKL_NUM_THREADS": "1", "NUMBA_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}
    with log.open("w", encoding="utf-8") as errors:
        done = subprocess.run(command, stdout=subprocess.PIPE, stderr=errors, text=True,
                              env=env, timeout=_TIMEOUT_S, check=False)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        tail = (log.read_text(encoding="utf-8").strip().splitlines() or ["no output"])[-1]
        return {"status": "failed", "error": f"exit code {done.returncode}: {tail}"}
    return {"status": "ok", **json.loads(lines[-1])}


def _agreement(ours: dict, theirs: dict) -> list[dict]:
    """Per pair: voxels compared (both defined), the largest absolute difference, the largest
    relative one (where |a| or |b| > 1e-6), agreement, and one-sided NaNs."""
    import numpy as np

    rows = []
    for py_name, name, kind, note in MAP_PAIRS:
        row = {"pyradiomics": py_name, "radiome": name, "kind": kind, "note": note}
        if name is None or py_name not in theirs or name not in ours:
            rows.append({**row, "compared": 0, "missing": name is not None})
            continue
        a, b = ours[name], theirs[py_name]
        both = np.isfinite(a) & np.isfinite(b)
        difference = np.abs(a[both] - b[both])
        scale = np.maximum(np.abs(a[both]), np.abs(b[both]))
        significant = scale > 1e-6  # near 0, relative differences are rounding noise
        rel = difference[significant] / scale[significant]
        rows.append({**row, "compared": int(both.sum()),
                     "only_one_defined": int((np.isfinite(a) != np.isfinite(b)).sum()),
                     "max_abs": float(difference.max()) if both.any() else None,
                     "max_rel": float(rel.max()) if rel.size else 0.0,
                     "agree": bool(both.any() and np.all(
                         difference <= RELATIVE_TOLERANCE * scale + ABSOLUTE_TOLERANCE))})
    return rows


def run_maps(cases: tuple[str, ...] | list[str] = MAP_CASES,
             radii: tuple[int, ...] = MAP_RADII, progress=print) -> list[dict]:
    """Per case and radius: each tool's CPU and wall time, peak memory, and the agreement of
    its maps with radiome's (see the module docstring)."""
    import numpy as np

    results = []
    logs = BENCH_DIR / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    for case in cases:
        for radius in radii:
            record = {"case": case, "radius": radius, "tools": {}, "agreement": {}}
            values = {}
            for tool in MAP_TOOLS:
                out = BENCH_DIR / f"maps_{case}_r{radius}_{tool}.npz"
                found = _run_tool(tool, case, radius, out,
                                  logs / f"maps_{case}_r{radius}_{tool}.log")
                record["tools"][tool] = found
                if found["status"] == "ok":
                    with np.load(out) as data:
                        values[tool] = {k: data[k] for k in data.files}
                    progress(f"  {case} r={radius} {tool}: {found['cpu_s']:.2f} s CPU, "
                             f"peak {found['peak_rss'] / 2**20:.0f} MiB")
                else:
                    progress(f"  {case} r={radius} {tool}: failed: {found['error']}")
            for peer in ("pyradiomics", "flash"):
                if "radiome" in values and peer in values:
                    record["agreement"][peer] = _agreement(values["radiome"], values[peer])
            results.append(record)
    return results


def main(argv: list[str]) -> None:
    """``--worker TOOL CASE RADIUS OUT``, or the whole step printed as JSON."""
    if argv[:1] == ["--worker"]:
        tool, case, radius, out = argv[1:5]
        _worker(tool, case, int(radius), Path(out))
        return
    print(json.dumps(run_maps(progress=lambda line: print(line, file=sys.stderr)), indent=1))


if __name__ == "__main__":
    main(sys.argv[1:])
