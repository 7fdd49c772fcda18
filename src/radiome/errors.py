"""The radiome exception and warning hierarchy.

Every error raised on purpose by radiome derives from :class:`RadiomeError` and also from the
builtin exception it specialises, so ``except ValueError`` keeps working. Messages are one
sentence: where (file, spec key, case, feature), what was expected, what was found.
"""

from __future__ import annotations

__all__ = [
    "AnalysisError",
    "AnalysisWarning",
    "AssumptionWarning",
    "DicomError",
    "DicomWarning",
    "EmptyROIError",
    "FeatureError",
    "FeatureWarning",
    "GeometryError",
    "IntensityError",
    "MissingFileError",
    "ROINotFoundError",
    "RadiomeError",
    "RadiomeWarning",
    "ReliabilityError",
    "ReliabilityWarning",
    "SpecError",
    "UnreadableFileError",
    "UnwritableFileError",
    "UnsupportedModalityError",
]


class RadiomeError(Exception):
    """Base class of every error radiome raises on purpose."""


class MissingFileError(RadiomeError, FileNotFoundError):
    """An input path does not exist."""


class UnreadableFileError(RadiomeError, OSError):
    """A file exists but cannot be read as what it should be (image, mask, DICOM, spec)."""


class UnwritableFileError(RadiomeError, OSError):
    """An output cannot be written there (unsupported extension, not a folder, read-only)."""


class UnsupportedModalityError(RadiomeError, ValueError):
    """An image of a modality radiome does not process (it reads CT, MR and PET)."""


class DicomError(RadiomeError, ValueError):
    """A DICOM input is inconsistent or lacks what is needed (series, tags, geometry)."""


class GeometryError(RadiomeError, ValueError):
    """Two grids that must match do not (spacing, origin, direction or size)."""


class EmptyROIError(RadiomeError, ValueError):
    """A region of interest has no voxel (before or after processing)."""


class ROINotFoundError(RadiomeError, LookupError):
    """The requested ROI label or structure name is not in the mask."""

    def __str__(self) -> str:  # LookupError would quote the message like a KeyError
        return str(self.args[0]) if self.args else ""


class IntensityError(RadiomeError, ValueError):
    """Image intensities are unusable (NaN, infinite)."""


class SpecError(RadiomeError, ValueError):
    """A spec is invalid: the message names the key, the value and what is allowed."""


class FeatureError(RadiomeError, ValueError):
    """A feature cannot be computed with the given settings."""


class AnalysisError(RadiomeError, ValueError):
    """Data given to a model or statistic cannot be used (missing column, unseen batch, too few cases)."""


class ReliabilityError(RadiomeError, ValueError):
    """A reliability study cannot be computed (missing or duplicated ratings, bad settings)."""


class RadiomeWarning(UserWarning):
    """Base class of radiome warnings: something the caller should act on."""


class DicomWarning(RadiomeWarning):
    """A DICOM input was accepted with a workaround (e.g. matched by frame of reference)."""


class AssumptionWarning(RadiomeWarning):
    """A value was computed under an assumption the message states (a missing tag's default)."""


class FeatureWarning(RadiomeWarning):
    """Some feature values are undefined (NaN) for this ROI: too small, flat or uniform."""


class AnalysisWarning(RadiomeWarning):
    """A model or statistic ran, but with a caveat the caller should act on."""


class ReliabilityWarning(RadiomeWarning):
    """A reliability statistic ran, but some values are undefined or rest on few subjects."""
