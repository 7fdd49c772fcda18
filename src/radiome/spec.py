"""The measurand spec: what is measured and exactly how (IBSI 1/2 processing + feature settings).

A spec is YAML validated by pydantic models with ``extra="forbid"``. Its :func:`spec_hash` is
a hash of the canonical JSON form of every value that affects a feature (``name`` and
``description`` do not), so key order and formatting never change it and any value does.

When no spec is given, :func:`default_spec` picks one by modality, as the physics asks:
CT keeps HU (absolute) and uses a fixed bin size of 25 HU from -1000 HU; MR intensities are
relative, so they are z-scored within the ROI and discretised to 32 bins; PET uses SUV with a
fixed bin size of 0.25 from 0.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from radiome.errors import MissingFileError, SpecError, UnreadableFileError
from radiome.filters.spec import FilterSpec

__all__ = [
    "DISCRETISED_FAMILIES",
    "FAMILIES",
    "AcquisitionProfile",
    "Discretisation",
    "Features",
    "IvhDiscretisation",
    "Normalisation",
    "Preprocessing",
    "Range",
    "Resampling",
    "Resegmentation",
    "RoiSelection",
    "Spec",
    "default_spec",
    "load_spec",
    "spec_hash",
]

Family = Literal["morph", "loc", "stat", "ih", "ivh", "cm", "rlm", "szm", "dzm", "ngt", "ngl"]
FAMILIES: tuple[str, ...] = ("morph", "loc", "stat", "ih", "ivh", "cm", "rlm", "szm", "dzm",
                             "ngt", "ngl")
Aggregation = Literal["2d_avg", "2d_smrg", "2_5d_dmrg", "2_5d_vmrg", "3d_avg", "3d_vmrg"]
Modality = Literal["CT", "MR", "PT"]
PositiveFloat = Annotated[float, Field(gt=0)]

#: Families computed on discretised grey levels (IBSI 1, table of feature families).
DISCRETISED_FAMILIES = frozenset({"ih", "cm", "rlm", "szm", "dzm", "ngt", "ngl"})

_AGGREGATIONS_BY_DIMENSIONS: dict[str, list[str]] = {
    "2d": ["2d_avg", "2d_smrg", "2_5d_dmrg", "2_5d_vmrg"],
    "3d": ["3d_avg", "3d_vmrg"],
}


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Range(_Model):
    """A closed interval; a missing bound is open (``[a, inf)``)."""

    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _ordered(self) -> Range:
        if self.min is not None and self.max is not None and self.min > self.max:
            msg = f"min ({self.min}) must not exceed max ({self.max})"
            raise ValueError(msg)
        return self

    def contains(self, value: float) -> bool:
        """True when ``value`` lies in the interval."""
        return (self.min is None or value >= self.min) and (self.max is None or value <= self.max)


class AcquisitionProfile(_Model):
    """What the biomarker demands of a scan; checked against DICOM metadata (conformance)."""

    modality: list[Modality] | None = None
    manufacturer: list[str] | None = None
    kvp: Range | None = None
    convolution_kernel: list[str] | None = None
    slice_thickness_mm: Range | None = None
    pixel_spacing_mm: Range | None = None
    contrast: bool | None = None
    tracer: list[str] | None = None
    uptake_time_min: Range | None = None


class RoiSelection(_Model):
    """Which region of the mask to use: a label value or a structure/segment name."""

    name: str | int | None = None


class Resampling(_Model):
    """Interpolation to a new grid with IBSI grid alignment (grid centres aligned, 3WE3)."""

    spacing: tuple[PositiveFloat | None, PositiveFloat | None, PositiveFloat | None] = Field(
        description="new voxel spacing in mm, (z, y, x); null keeps that axis (in-plane only)"
    )
    image_interpolator: Literal["nearest", "linear", "cubic"] = "linear"
    mask_interpolator: Literal["nearest", "linear"] = "linear"
    mask_threshold: float = Field(0.5, gt=0, le=1, description="partial-volume threshold")


class Resegmentation(_Model):
    """Re-segmentation of the intensity mask (IF9H): range (USB3) and outliers (7ACA)."""

    range: Range | None = None
    outlier_sigma: PositiveFloat | None = Field(
        None, description="remove intensities outside mean ± k·SD of the ROI (IBSI: k = 3)"
    )


class Normalisation(_Model):
    """Intensity normalisation within the ROI, for relative scales (MR)."""

    method: Literal["none", "zscore", "range"] = "none"


def _check_bins(method: str, bin_width: float | None, bin_count: int | None) -> None:
    """The parameter a discretisation method needs is there."""
    if method == "fixed_bin_size" and bin_width is None:
        msg = "fixed_bin_size needs bin_width"
        raise ValueError(msg)
    if method == "fixed_bin_number" and bin_count is None:
        msg = "fixed_bin_number needs bin_count"
        raise ValueError(msg)


class Discretisation(_Model):
    """Discretisation for the intensity histogram and texture (FBN K15C, FBS Q3RU)."""

    method: Literal["fixed_bin_size", "fixed_bin_number"]
    bin_width: PositiveFloat | None = None
    bin_count: Annotated[int, Field(gt=0)] | None = None

    @model_validator(mode="after")
    def _parameter(self) -> Discretisation:
        _check_bins(self.method, self.bin_width, self.bin_count)
        return self


class IvhDiscretisation(_Model):
    """Discretisation for the intensity-volume histogram; ``none`` uses the intensities as is."""

    method: Literal["none", "fixed_bin_size", "fixed_bin_number"] = "none"
    bin_width: PositiveFloat | None = None
    bin_count: Annotated[int, Field(gt=0)] | None = None

    @model_validator(mode="after")
    def _parameter(self) -> IvhDiscretisation:
        _check_bins(self.method, self.bin_width, self.bin_count)
        return self


class Preprocessing(_Model):
    """The IBSI 1 image-processing chain: interpolate, round, normalise, re-segment, discretise."""

    dimensions: Literal["2d", "3d"] = Field(
        "3d", description="2d: slice-wise processing (in-plane only); 3d: volumetric"
    )
    resampling: Resampling | None = None
    round_intensities: bool = False
    normalisation: Normalisation = Normalisation()
    resegmentation: Resegmentation = Resegmentation()
    discretisation: Discretisation | None = Field(
        None, description="for the intensity histogram and texture families (required by them)"
    )
    filtered_discretisation: Discretisation | None = Field(
        None, description="discretisation of filter response maps; default: as discretisation"
    )
    ivh: IvhDiscretisation = IvhDiscretisation()

    @model_validator(mode="after")
    def _in_plane(self) -> Preprocessing:
        if self.dimensions == "2d" and self.resampling is not None:
            if self.resampling.spacing[0] is not None:
                msg = (
                    "2d processing interpolates in-plane only: resampling.spacing must be "
                    f"[null, y, x], got {list(self.resampling.spacing)}"
                )
                raise ValueError(msg)
        return self


class Features(_Model):
    """Which feature families, texture aggregations and neighbourhood settings."""

    families: list[Family] = Field(default_factory=lambda: list(FAMILIES))
    original: bool = Field(True, description="compute the families on the unfiltered image")
    filtered_families: list[Family] | None = Field(
        None,
        description="families computed on each filter response; default: the families that "
        "depend on intensities (all but morphology and the intensity-volume histogram)",
    )
    aggregations: list[Aggregation] | None = Field(
        None, description="texture aggregation methods; default: those of the dimensions"
    )
    exclude: list[str] = Field(
        default_factory=list,
        description="feature names not to compute (e.g. morph_moran_i); the rest of their "
        "families is computed",
    )
    glcm_distance: Annotated[int, Field(ge=1)] = 1
    ngtdm_distance: Annotated[int, Field(ge=1)] = 1
    ngldm_distance: Annotated[int, Field(ge=1)] = 1
    ngldm_coarseness: Annotated[int, Field(ge=0)] = 0

    @model_validator(mode="after")
    def _unique(self) -> Features:
        for key in ("families", "filtered_families", "aggregations", "exclude"):
            values = getattr(self, key) or []
            if len(set(values)) != len(values):
                msg = f"{key} lists a value twice: {values}"
                raise ValueError(msg)
        return self


class Spec(_Model):
    """A complete measurand definition; see the module docstring and ``radiome spec show``."""

    name: str | None = None
    description: str | None = None
    acquisition: AcquisitionProfile = AcquisitionProfile()
    roi: RoiSelection = RoiSelection()
    preprocessing: Preprocessing
    features: Features = Features()
    filters: list[FilterSpec] = Field(
        default_factory=list, description="IBSI 2 filters; features of each response map"
    )

    @model_validator(mode="after")
    def _aggregations_match_dimensions(self) -> Spec:
        aggs = self.features.aggregations
        if aggs is not None and self.preprocessing.dimensions == "2d":
            bad = [a for a in aggs if a.startswith("3d")]
            if bad:
                msg = (
                    f"features.aggregations {bad} need 3d processing but "
                    "preprocessing.dimensions is 2d"
                )
                raise ValueError(msg)
        return self

    @model_validator(mode="after")
    def _something_to_compute(self) -> Spec:
        if not self.features.original and not self.filters:
            msg = "features.original is false and no filters are given: nothing to compute"
            raise ValueError(msg)
        wanted = set(self.features.families) | set(self.features.filtered_families or [])
        needing = sorted(wanted & DISCRETISED_FAMILIES)
        if needing and self.preprocessing.discretisation is None:
            msg = (f"preprocessing.discretisation is required for the families {needing} "
                   "(fixed_bin_size with bin_width, or fixed_bin_number with bin_count)")
            raise ValueError(msg)
        return self

    @property
    def aggregations(self) -> list[str]:
        """Texture aggregation methods in effect (explicit, or those of the dimensions)."""
        if self.features.aggregations is not None:
            return list(self.features.aggregations)
        return list(_AGGREGATIONS_BY_DIMENSIONS[self.preprocessing.dimensions])

    @property
    def hash(self) -> str:
        """Canonical hash of every value that affects a feature (see :func:`spec_hash`)."""
        return spec_hash(self)

    def to_yaml(self) -> str:
        """The resolved spec (defaults included) as YAML."""
        return yaml.safe_dump(self.model_dump(mode="json"), sort_keys=False, allow_unicode=True)


def spec_hash(spec: Spec) -> str:
    """16 hex digits of SHA-256 over the canonical JSON of the spec without name/description."""
    payload = spec.model_dump(mode="json", exclude={"name", "description"})
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def _format_errors(where: str, exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        key = ".".join(str(p) for p in err["loc"] if not str(p).startswith("function-after"))
        value = err.get("input")
        text = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            text = "unknown key (not part of the spec)"
        elif err["type"] == "missing":
            parts.append(f"{key or '<top>'}: required key is missing")
            continue
        shown = json.dumps(value, default=str) if not isinstance(value, dict) else "{...}"
        parts.append(f"{key or '<top>'}: {text} (got {shown})")
    return f"{where}: invalid spec: " + "; ".join(parts)


def spec_from_dict(data: Any, *, where: str = "<spec>") -> Spec:
    """Validate a mapping as a :class:`Spec`; errors name the key, the value and what is allowed."""
    if not isinstance(data, dict):
        msg = f"{where}: a spec must be a mapping of keys, got {type(data).__name__}"
        raise SpecError(msg)
    try:
        return Spec.model_validate(data)
    except ValidationError as exc:
        raise SpecError(_format_errors(where, exc)) from None


def _read_yaml(path: Path) -> Any:
    if not path.exists():
        msg = f"{path}: spec file does not exist"
        raise MissingFileError(msg)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        msg = f"{path}: cannot read spec: {exc}"
        raise UnreadableFileError(msg) from exc
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" at line {mark.line + 1}" if mark is not None else ""
        msg = f"{path}: spec is not valid YAML{line}: {getattr(exc, 'problem', exc)}"
        raise SpecError(msg) from None


_DEFAULTS_DIR = Path(__file__).parent / "data"


def default_spec(modality: str | None) -> Spec:
    """The documented default spec for a modality: CT, MR or PT (else a :class:`SpecError`)."""
    key = (modality or "").upper()
    files = {"CT": "default_ct.yaml", "MR": "default_mr.yaml", "PT": "default_pt.yaml"}
    if key not in files:
        msg = (
            f"no default spec for modality {modality!r}: pass --spec, or give the image a "
            "modality (CT, MR or PT; --modality on the command line)"
        )
        raise SpecError(msg)
    path = _DEFAULTS_DIR / files[key]
    return spec_from_dict(_read_yaml(path), where=str(path))


def load_spec(spec: str | Path | dict | Spec | None = None, *, modality: str | None = None) -> Spec:
    """A :class:`Spec` from a YAML path, a dict or a Spec; ``None`` gives the modality default."""
    if spec is None:
        return default_spec(modality)
    if isinstance(spec, Spec):
        return spec
    if isinstance(spec, dict):
        return spec_from_dict(spec)
    path = Path(spec)
    return spec_from_dict(_read_yaml(path), where=str(path))
