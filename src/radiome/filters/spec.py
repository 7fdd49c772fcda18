"""The ``filters:`` section of a spec: one pydantic model per IBSI 2 filter, and canonical names.

Every model has ``kind`` (the discriminator of :data:`FilterSpec`), ``dimensions`` (``"3d"``,
or ``"2d"``: slice by slice in the axial plane, i.e. per index along array axis 0 of a
``(z, y, x)`` array) and ``boundary`` (padding at the image border: ``zero``, ``nearest``,
``periodic`` or ``mirror``; mirror repeats the edge voxel, numpy ``symmetric`` / scipy
``reflect``). Kernel combinations (Laws ``E5L5S5``, wavelet ``LLH``, Riesz orders) are written
in IBSI order ``x, y, z``: the first letter acts along array axis 2, the last along axis 0.
Lengths that IBSI gives in mm (LoG and Gabor sigma, Gabor wavelength) are in mm; the mean
filter support is in voxels.

Fields that only matter for rotation invariance (``pooling``, Gabor ``orientation_step_deg``)
must not be set when ``rotation_invariance`` is false, so that two valid specs that differ in
any field always filter differently, and :func:`canonical_name` can name every field that
matters.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import pywt
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = [
    "LAWS_KERNELS",
    "Boundary",
    "Dimensions",
    "FilterSpec",
    "GaborSpec",
    "LawsSpec",
    "LoGSpec",
    "MeanSpec",
    "Pooling",
    "RieszSpec",
    "SimoncelliSpec",
    "WaveletSpec",
    "canonical_name",
]

Boundary = Literal["zero", "nearest", "periodic", "mirror"]
Dimensions = Literal["2d", "3d"]
Pooling = Literal["average", "max"]

#: Laws 1D kernels (IBSI 2, JTXT), normalised to unit L2 norm: name -> integer weights.
LAWS_KERNELS: dict[str, tuple[int, ...]] = {
    "L3": (1, 2, 1),
    "E3": (-1, 0, 1),
    "S3": (-1, 2, -1),
    "L5": (1, 4, 6, 4, 1),
    "E5": (-1, -2, 0, 2, 1),
    "S5": (-1, 0, 2, 0, -1),
    "W5": (-1, 2, 0, -2, 1),
    "R5": (1, -4, 6, -4, 1),
}
_N_AXES = {"2d": 2, "3d": 3}


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class _Filter(_Model):
    dimensions: Dimensions = "3d"
    boundary: Boundary = "mirror"


class _Oriented(_Filter):
    """A filter whose rotation-invariant form pools the responses of rotated kernels."""

    rotation_invariance: bool = False
    pooling: Pooling = "average"

    @model_validator(mode="after")
    def _pooling_only_when_invariant(self) -> _Oriented:
        if not self.rotation_invariance and "pooling" in self.model_fields_set:
            msg = (f"pooling ({self.pooling!r}) is only allowed with rotation_invariance: true; "
                   "remove it or set rotation_invariance")
            raise ValueError(msg)
        return self


class MeanSpec(_Filter):
    """Mean filter (IBSI 2 S60F) over a cube (3d) or square (2d) of ``support`` voxels a side."""

    kind: Literal["mean"] = "mean"
    support: int = Field(gt=0)

    @field_validator("support")
    @classmethod
    def _odd(cls, value: int) -> int:
        if value % 2 == 0:
            msg = f"support must be an odd number of voxels, got {value}"
            raise ValueError(msg)
        return value


class LoGSpec(_Filter):
    """Laplacian of Gaussian (IBSI 2 L6PA): scale ``sigma_mm``, kernel cut at ``truncate`` sigma."""

    kind: Literal["log"] = "log"
    sigma_mm: float = Field(gt=0)
    truncate: float = Field(4.0, gt=0)


class LawsSpec(_Oriented):
    """Laws kernel product (IBSI 2 JTXT), e.g. ``E5L5S5`` (x, y, z), with optional energy map.

    ``energy_delta`` is the Chebyshev distance delta of the energy window (a window of
    ``2 delta + 1`` voxels a side over which the absolute response is averaged); ``None`` keeps
    the plain response. Rotation-invariant Laws filters pool with ``max`` in IBSI 2.
    """

    kind: Literal["laws"] = "laws"
    kernel: str
    energy_delta: int | None = Field(None, ge=0)
    pooling: Pooling = "max"

    @field_validator("kernel")
    @classmethod
    def _upper_kernel(cls, value: str) -> str:
        return value.upper()

    @model_validator(mode="after")
    def _kernel_matches_dimensions(self) -> LawsSpec:
        names = _split_laws(self.kernel)
        if names is None or len(names) != _N_AXES[self.dimensions]:
            msg = (f"kernel {self.kernel!r} must be {_N_AXES[self.dimensions]} Laws kernels for "
                   f"dimensions {self.dimensions!r}, each one of {', '.join(LAWS_KERNELS)} "
                   "(e.g. 'E5L5S5' in 3d, 'L5S5' in 2d)")
            raise ValueError(msg)
        return self

    @property
    def kernels(self) -> tuple[str, ...]:
        """The 1D kernel names in x, y, z order."""
        return _split_laws(self.kernel) or ()


class GaborSpec(_Oriented):
    """Gabor filter (IBSI 2 Q88H), modulus of the complex response.

    ``sigma_mm`` is the standard deviation of the Gaussian envelope along the wave, ``gamma``
    the spatial aspect ratio (the envelope's standard deviation across the wave is
    ``sigma_mm / gamma``), ``wavelength_mm`` the wavelength lambda, ``theta_deg`` the
    orientation (the first orientation when rotation invariant, then every
    ``orientation_step_deg`` around the circle). ``dimensions: 2d`` filters the axial plane of
    every slice; ``3d`` filters the three orthogonal planes and pools them with the
    orientations. The Gaussian envelope is cut at ``truncate`` times its largest standard
    deviation.
    """

    kind: Literal["gabor"] = "gabor"
    sigma_mm: float = Field(gt=0)
    wavelength_mm: float = Field(gt=0)
    gamma: float = Field(gt=0)
    theta_deg: float = 0.0
    orientation_step_deg: float | None = Field(None, gt=0, le=180)
    truncate: float = Field(4.0, gt=0)

    @model_validator(mode="after")
    def _step_with_invariance(self) -> GaborSpec:
        if self.rotation_invariance != (self.orientation_step_deg is not None):
            msg = ("orientation_step_deg must be given exactly when rotation_invariance is true, "
                   f"got rotation_invariance={self.rotation_invariance} and "
                   f"orientation_step_deg={self.orientation_step_deg}")
            raise ValueError(msg)
        if self.orientation_step_deg is not None:
            turns = 360.0 / self.orientation_step_deg
            if abs(turns - round(turns)) > 1e-9:
                msg = (f"orientation_step_deg must divide 360 degrees, got "
                       f"{self.orientation_step_deg}")
                raise ValueError(msg)
        return self


class WaveletSpec(_Oriented):
    """Separable wavelet sub-band (IBSI 2 25BO) from a PyWavelets filter bank.

    ``bands`` holds one letter per axis in x, y, z order (``L`` low-pass, ``H`` high-pass, e.g.
    ``LLH`` in 3d, ``LH`` in 2d) of decomposition ``level`` (a trous upsampling of the
    filters for levels > 1, after low-pass filtering at the lower levels). ``decimated: true``
    keeps only every ``2**level``-th coefficient along the filtered axes and holds it over its
    block (see :func:`radiome.filters.wavelets.wavelet_response`).
    """

    kind: Literal["wavelet"] = "wavelet"
    wavelet: str
    bands: str
    level: int = Field(1, ge=1)
    decimated: bool = False

    @field_validator("wavelet")
    @classmethod
    def _known_wavelet(cls, value: str) -> str:
        if value not in pywt.wavelist(kind="discrete"):
            msg = (f"wavelet {value!r} is not a discrete PyWavelets wavelet "
                   "(e.g. haar, db2, db3, coif1, sym4, bior1.3)")
            raise ValueError(msg)
        return value

    @field_validator("bands")
    @classmethod
    def _upper_bands(cls, value: str) -> str:
        return value.upper()

    @model_validator(mode="after")
    def _bands_match_dimensions(self) -> WaveletSpec:
        n = _N_AXES[self.dimensions]
        if len(self.bands) != n or set(self.bands) - {"L", "H"}:
            msg = (f"bands {self.bands!r} must be {n} letters L or H for dimensions "
                   f"{self.dimensions!r} (x, y, z order, e.g. {'LLH' if n == 3 else 'LH'!r})")
            raise ValueError(msg)
        return self


class SimoncelliSpec(_Filter):
    """Band-pass map of the isotropic Simoncelli wavelet (IBSI 2 LODD) at decomposition level."""

    kind: Literal["simoncelli"] = "simoncelli"
    level: int = Field(1, ge=1)


class RieszSpec(_Model):
    """Riesz transform (IBSI 2 AYRS) of order ``order`` (x, y, z) of a LoG or Simoncelli response.

    ``dimensions`` and ``boundary`` are those of ``base``.
    """

    kind: Literal["riesz"] = "riesz"
    order: tuple[int, ...]
    base: Annotated[LoGSpec | SimoncelliSpec, Field(discriminator="kind")]

    @model_validator(mode="after")
    def _order_matches_dimensions(self) -> RieszSpec:
        n = _N_AXES[self.base.dimensions]
        if len(self.order) != n or min(self.order) < 0 or sum(self.order) == 0:
            msg = (f"order {list(self.order)} must be {n} non-negative integers (x, y, z order) "
                   f"with a positive sum for base dimensions {self.base.dimensions!r}")
            raise ValueError(msg)
        return self

    @property
    def dimensions(self) -> Dimensions:
        """Dimensions of the base filter."""
        return self.base.dimensions

    @property
    def boundary(self) -> Boundary:
        """Boundary condition of the base filter."""
        return self.base.boundary


FilterSpec = Annotated[
    MeanSpec | LoGSpec | LawsSpec | GaborSpec | WaveletSpec | SimoncelliSpec | RieszSpec,
    Field(discriminator="kind"),
]
"""One filter of a spec's ``filters:`` list, told apart by its ``kind``."""


def canonical_name(spec: Any) -> str:
    """Return the short, stable, unique name of a filter for the ``filter`` column.

    Parameters
    ----------
    spec : FilterSpec
        A validated filter model.

    Returns
    -------
    str
        For example ``mean_m5``, ``log_s1.5mm``, ``laws_l5e5e5_e7_ri-max``,
        ``gabor_s5mm_l2mm_g1.5_t0_step22.5_ri-avg``, ``wavelet_db3_llh_l1_ri-avg``,
        ``simoncelli_l2``, ``riesz_o1-0-0_log_s3mm_zero``. ``dimensions`` and ``boundary``
        appear as suffixes (``_2d``, ``_zero``) only when they differ from their defaults
        ``3d`` and ``mirror``; every other field that affects the response is always named,
        numbers in their shortest exact form.

    Notes
    -----
    Different parameters give different names and equal parameters equal names, because
    every field that changes a response is written out (fields that must stay unset, see
    the module docstring, cannot differ). The defaults are therefore part of this contract.
    """
    if isinstance(spec, RieszSpec):
        return f"riesz_o{'-'.join(str(o) for o in spec.order)}_{canonical_name(spec.base)}"
    parts = _name_parts(spec)
    if isinstance(spec, _Oriented) and spec.rotation_invariance:
        parts.append(f"ri-{'avg' if spec.pooling == 'average' else 'max'}")
    if spec.dimensions != "3d":
        parts.append(spec.dimensions)
    if spec.boundary != "mirror":
        parts.append(spec.boundary)
    return "_".join(parts)


def _name_parts(spec: Any) -> list[str]:
    """Name parts of the filter-specific fields."""
    if isinstance(spec, MeanSpec):
        return ["mean", f"m{spec.support}"]
    if isinstance(spec, LoGSpec):
        return ["log", f"s{_num(spec.sigma_mm)}mm", *_truncate_part(spec.truncate)]
    if isinstance(spec, LawsSpec):
        energy = [] if spec.energy_delta is None else [f"e{spec.energy_delta}"]
        return ["laws", spec.kernel.lower(), *energy]
    if isinstance(spec, GaborSpec):
        step = [] if spec.orientation_step_deg is None else [
            f"step{_num(spec.orientation_step_deg)}"]
        return ["gabor", f"s{_num(spec.sigma_mm)}mm", f"l{_num(spec.wavelength_mm)}mm",
                f"g{_num(spec.gamma)}", f"t{_num(spec.theta_deg)}", *step,
                *_truncate_part(spec.truncate)]
    if isinstance(spec, WaveletSpec):
        return ["wavelet", spec.wavelet, spec.bands.lower(), f"l{spec.level}",
                *(["dec"] if spec.decimated else [])]
    if isinstance(spec, SimoncelliSpec):
        return ["simoncelli", f"l{spec.level}"]
    msg = f"canonical_name: not a filter spec: {type(spec).__name__}"
    raise TypeError(msg)


def _truncate_part(truncate: float) -> list[str]:
    """The truncation part of a name, empty for the default of 4 sigma."""
    return [] if truncate == 4.0 else [f"tr{_num(truncate)}"]


def _num(value: float) -> str:
    """Shortest exact text of a number: 5.0 -> '5', 1.5 -> '1.5'."""
    text = repr(float(value))
    return text[:-2] if text.endswith(".0") else text


def _split_laws(kernel: str) -> tuple[str, ...] | None:
    """Split 'E5L5S5' into ('E5', 'L5', 'S5'); None when it is not a Laws combination."""
    if len(kernel) % 2:
        return None
    names = tuple(kernel[i:i + 2] for i in range(0, len(kernel), 2))
    return names if all(name in LAWS_KERNELS for name in names) else None
