"""What the speed benchmark runs: cases, modes, tools and their shared settings.

Standard library only: the workers import this module in the PyRadiomics and MIRP virtual
environments too, where radiome is not installed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "BENCHMARKS",
    "BENCH_DIR",
    "BIN_WIDTH",
    "CASES",
    "CASES_DIR",
    "LOG_SIGMAS_MM",
    "MODES",
    "PICTOLOGICS_MODES",
    "REPO",
    "SPECS_DIR",
    "TOOLS",
    "WAVELET",
    "WAVELET_BANDS",
    "Case",
    "Mode",
    "Tool",
]

BENCHMARKS = Path(__file__).resolve().parent
REPO = BENCHMARKS.parent
BENCH_DIR = REPO / ".bench"
SPECS_DIR = BENCHMARKS / "specs"
CASES_DIR = REPO.parent / "shared" / "data" / "pyradiomics_cases"

#: Fixed bin size of every mode (HU for CT, raw units for MR), as PyRadiomics' binWidth.
BIN_WIDTH = 25.0
#: Laplacian-of-Gaussian scales of the filtered modes, mm.
LOG_SIGMAS_MM = (1.0, 2.0, 3.0)
#: First-level undecimated wavelet of the filtered modes, all 8 sub-bands (x, y, z letters).
WAVELET = "coif1"
WAVELET_BANDS = ("LLL", "LLH", "LHL", "LHH", "HLL", "HLH", "HHL", "HHH")


@dataclass(frozen=True)
class Case:
    """One PyRadiomics test case: image and label map files, modality and ROI label."""

    name: str
    image: str
    mask: str
    modality: str
    label: int = 1

    @property
    def image_path(self) -> Path:
        """Image file in the shared data folder."""
        return CASES_DIR / self.image

    @property
    def mask_path(self) -> Path:
        """Label map file in the shared data folder."""
        return CASES_DIR / self.mask


CASES: dict[str, Case] = {
    c.name: c
    for c in (
        Case("brain1", "brain1_image.nrrd", "brain1_label.nrrd", "MR"),
        Case("brain2", "brain2_image.nrrd", "brain2_label.nrrd", "MR"),
        Case("breast1", "breast1_image.nrrd", "breast1_label.nrrd", "MR"),
        Case("lung1", "lung1_image.nrrd", "lung1_label.nrrd", "CT"),
        Case("lung2", "lung2_image.nrrd", "lung2_label.nrrd", "CT"),
        Case("prostate_phantom", "prostate_phantom_subvolume.nrrd",
             "prostate_phantom_subvolume-label.nrrd", "MR"),
    )
}


@dataclass(frozen=True)
class Tool:
    """A tool under test: its interpreter (relative to the repository) and pip requirement."""

    name: str
    python: str
    requirement: str | None  # None: radiome itself, from the project's .venv; else pip
    # requirement(s), separated by spaces
    #: pyenv version whose interpreter creates the environment (None: the benchmark's own)
    pyenv_version: str | None = None
    #: a module imported once after installing, to fill the numba cache (first import JIT)
    warm_import: str | None = None

    @property
    def numba_cache(self) -> Path | None:
        """NUMBA_CACHE_DIR of the tool's workers (kept between runs), or None."""
        return BENCH_DIR / "numba_cache" / self.name if self.warm_import else None

    @property
    def python_path(self) -> Path:
        """Absolute path of the tool's interpreter."""
        return REPO / self.python


TOOLS: dict[str, Tool] = {
    t.name: t
    for t in (
        Tool("radiome", ".venv/bin/python", None),
        Tool("pyradiomics", ".bench/pyradiomics/bin/python", "pyradiomics-bhklab==3.1.4"),
        Tool("mirp", ".bench/mirp/bin/python", "mirp==2.7.0"),
        # The wheel declares no dependencies; these are its README's (voxel maps step only).
        Tool("flash", ".bench/flash/bin/python",
             "flash-radiomics==1.0.0 numpy h5py SimpleITK pykwalify PyWavelets scipy "
             "scikit-image scikit-learn trimesh"),
        # Needs Python >= 3.12; its first import compiles numba kernels for minutes.
        Tool("pictologics", ".bench/pictologics/bin/python", "pictologics==0.9.0",
             pyenv_version="3.12.1", warm_import="pictologics"),
    )
}


@dataclass(frozen=True)
class Mode:
    """A benchmark mode: radiome's spec file and the tool it is compared with."""

    name: str
    spec: str
    other: str
    filtered: bool
    title: str

    @property
    def spec_path(self) -> Path:
        """radiome's committed spec of this mode."""
        return SPECS_DIR / self.spec


MODES: dict[str, Mode] = {
    m.name: m
    for m in (
        Mode("original", "original.yaml", "pyradiomics", False,
             "shared families, original image"),
        Mode("filtered", "filtered.yaml", "pyradiomics", True,
             "shared families, original + LoG 1/2/3 mm + 8 coif1 sub-bands"),
        Mode("full_ibsi", "full_ibsi.yaml", "mirp", False,
             "complete IBSI 1 set, original image"),
        Mode("full_ibsi_filtered", "full_ibsi_filtered.yaml", "mirp", True,
             "complete IBSI 1 set, original + LoG 1/2/3 mm + 8 coif1 sub-bands"),
    )
}

#: The comparison with pictologics (its own step of ``make bench``, see ``vs_pictologics.py``):
#: radiome's measurands matched to what pictologics computes.
PICTOLOGICS_MODES: dict[str, Mode] = {
    m.name: m
    for m in (
        Mode("pictologics_shared", "pictologics_shared.yaml", "pictologics", False,
             "shared families, GLCM and GLRLM 3D merged, original image"),
        Mode("pictologics_full", "pictologics_full.yaml", "pictologics", False,
             "complete IBSI 1 set, GLCM and GLRLM 3D merged, original image"),
    )
}
