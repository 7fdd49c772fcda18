"""The software that makes a value: radiome's version, its value code and the numerical libraries.

A stored feature value is traceable to its spec (the spec hash), its inputs (file hashes) and
the software that computed it (this module). Two runs give the same values only when all three
agree, so the cohort runner's resume decision and a saved model's check compare
:func:`software_key` as well as the spec and input hashes.
"""

from __future__ import annotations

import functools
import hashlib
import json
from importlib import metadata
from pathlib import Path

__all__ = ["VALUE_LIBRARIES", "software_difference", "software_key", "software_versions"]

#: Distributions whose version can change a feature value (reading, resampling, filtering,
#: counting, rounding, clustering habitats), in the order they are reported.
VALUE_LIBRARIES = (
    "numpy",
    "scipy",
    "SimpleITK",
    "PyWavelets",
    "scikit-image",
    "scikit-learn",
    "numba",
    "pydicom",
    "highdicom",
)

#: The parts of radiome whose code computes values (readers, preprocessing, filters, features,
#: voxel maps, habitats).
_VALUE_CODE = ("io", "preprocess", "filters", "features", "maps", "habitats", "data",
               "extraction.py", "volume.py", "spec.py")


@functools.cache
def software_versions() -> dict[str, str]:
    """``{name: version}`` of radiome, a digest of its value code, and :data:`VALUE_LIBRARIES`.

    ``radiome_code`` is the SHA-256 (first 16 hex digits) of the source files that compute
    values, so a development install whose version number did not change still tells two codes
    apart. A library that is not installed is reported as ``"absent"``.
    """
    from radiome import __version__

    versions = {"radiome": __version__, "radiome_code": _code_digest()}
    for name in VALUE_LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "absent"
    return versions


def software_key(versions: dict[str, str] | None = None) -> str:
    """Canonical one-line form of :func:`software_versions` (or of a stored ``versions``)."""
    return json.dumps(versions or software_versions(), sort_keys=True, separators=(",", ":"))


def _code_digest() -> str:
    """SHA-256 (16 hex digits) of radiome's value code, file by file in a fixed order."""
    root = Path(__file__).parent
    digest = hashlib.sha256()
    for part in _VALUE_CODE:
        path = root / part
        files = ([*sorted(path.rglob("*.py")), *sorted(path.rglob("*.yaml"))] if path.is_dir()
                 else [path])
        for file in files:
            digest.update(file.relative_to(root).as_posix().encode())
            digest.update(file.read_bytes())
    return digest.hexdigest()[:16]


def software_difference(stored: str | None, current: dict[str, str] | None = None) -> str:
    """What a stored software key says where it differs from ``current``, in one phrase.

    Parameters
    ----------
    stored : str or None
        A :func:`software_key` as stored with a case; None or empty for a case stored before
        radiome recorded its software.
    current : dict, optional
        :func:`software_versions` to compare with (default: this process's).

    Returns
    -------
    str
        The stored side of every differing entry, in the order of :func:`software_versions`
        (``"radiome 0.1.0, radiome_code 1a2b3c4d5e6f7a8b"``), ``"unrecorded software"``, or
        ``"the same software"``.
    """
    if not stored:
        return "unrecorded software"
    old, new = json.loads(stored), current or software_versions()
    names = [*new, *(name for name in old if name not in new)]
    differing = [f"{name} {old.get(name, 'absent')}" for name in names
                 if old.get(name) != new.get(name)]
    return ", ".join(differing) or "the same software"
