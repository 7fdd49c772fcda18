"""Acquisition conformance: does a scan meet the acquisition profile the biomarker demands?

Each field of the spec's ``acquisition`` profile is checked against the series' metadata:
a value outside the profile fails, a value the metadata does not record warns, and a case
passes when every checked field is present and allowed.
"""

from __future__ import annotations

from dataclasses import dataclass

from radiome.spec import AcquisitionProfile, Range
from radiome.volume import AcquisitionMetadata

__all__ = ["Conformance", "check_conformance"]


@dataclass(frozen=True)
class Conformance:
    """``status`` is ``pass``, ``warn`` (metadata missing) or ``fail``; ``reasons`` say why."""

    status: str
    reasons: tuple[str, ...] = ()

    def text(self) -> str:
        """The reasons as one line."""
        return "; ".join(self.reasons)


def _in(value: str | None, allowed: list[str]) -> bool:
    return value is not None and value.strip().lower() in {a.strip().lower() for a in allowed}


def check_conformance(profile: AcquisitionProfile, meta: AcquisitionMetadata) -> Conformance:
    """Check acquisition metadata against a profile; every problem is listed, not just the first."""
    fails: list[str] = []
    warns: list[str] = []

    def listed(name: str, value: str | None, allowed: list[str] | None) -> None:
        if allowed is None:
            return
        if value is None:
            warns.append(f"{name} not recorded (allowed: {', '.join(allowed)})")
        elif not _in(value, allowed):
            fails.append(f"{name} {value!r} not in {', '.join(allowed)}")

    def ranged(name: str, value: float | None, allowed: Range | None, unit: str) -> None:
        if allowed is None:
            return
        bounds = f"[{allowed.min if allowed.min is not None else '-inf'}, " \
                 f"{allowed.max if allowed.max is not None else 'inf'}] {unit}"
        if value is None:
            warns.append(f"{name} not recorded (allowed: {bounds})")
        elif not allowed.contains(value):
            fails.append(f"{name} {value:g} {unit} outside {bounds}")

    listed("modality", meta.modality, profile.modality)
    listed("manufacturer", meta.manufacturer, profile.manufacturer)
    ranged("kVp", meta.kvp, profile.kvp, "kV")
    listed("convolution kernel", meta.convolution_kernel, profile.convolution_kernel)
    ranged("slice thickness", meta.slice_thickness, profile.slice_thickness_mm, "mm")
    if profile.pixel_spacing_mm is not None:
        spacing = max(meta.pixel_spacing) if meta.pixel_spacing else None
        ranged("pixel spacing", spacing, profile.pixel_spacing_mm, "mm")
    if profile.contrast is not None:
        agent = (meta.contrast_agent or "").strip()
        given = agent.upper() not in ("", "NONE", "NO", "N")
        if not agent and profile.contrast:
            warns.append("contrast agent not recorded (profile wants contrast)")
        elif given != profile.contrast:
            fails.append(
                f"contrast {'given (' + agent + ')' if given else 'not given'}, profile wants "
                f"{'contrast' if profile.contrast else 'no contrast'}"
            )
    listed("tracer", meta.tracer, profile.tracer)
    ranged("uptake time", meta.uptake_time_min, profile.uptake_time_min, "min")
    if fails:
        return Conformance("fail", tuple(fails + warns))
    if warns:
        return Conformance("warn", tuple(warns))
    return Conformance("pass")
