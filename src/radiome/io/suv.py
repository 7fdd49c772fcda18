"""PET standardised uptake value (SUVbw) from the DICOM radiopharmaceutical tags.

SUVbw = C x weight (g) / dose decayed to the time the image is decay-corrected to, with C the
activity concentration (Bq/mL, Units BQML). The dose decays from the injection
(RadiopharmaceuticalStartDateTime, else RadiopharmaceuticalStartTime on the series date) to the
decay-correction reference: DecayCorrectionDateTime when present, else the series start
(SeriesDate/SeriesTime) for DecayCorrection START; for ADMIN the image is already corrected to
the injection. Every default taken for a missing or ambiguous tag is stated in an
:class:`~radiome.errors.AssumptionWarning` (Units taken as BQML, DecayCorrection as START, an
injection time after the series start read as the day before, a series time later than the
acquisition time, several radiopharmaceuticals); what cannot be assumed is a
:class:`~radiome.errors.DicomError` naming the tag.
"""

from __future__ import annotations

import datetime as dt
import warnings
from pathlib import Path
from typing import Any

from pydicom.dataset import Dataset

from radiome.errors import AssumptionWarning, DicomError

__all__ = ["suv_factor", "uptake_minutes"]

_DAY = dt.timedelta(days=1)


def _dicom_datetime(date: Any, time: Any) -> dt.datetime | None:
    """A DICOM DA + TM pair as a datetime (None when missing or unparseable)."""
    if not date or not time:
        return None
    text = f"{str(date).strip()}{str(time).strip()}"
    for fmt in ("%Y%m%d%H%M%S.%f", "%Y%m%d%H%M%S", "%Y%m%d%H%M"):
        try:
            return dt.datetime.strptime(text, fmt)
        except ValueError:
            continue
    return None


def _from_dt(value: Any) -> dt.datetime | None:
    """A DICOM DT value (YYYYMMDDHHMMSS.FFFFFF, an offset ignored) as a datetime."""
    raw = str(value or "").strip().split("+")[0].split("-")[0]
    return _dicom_datetime(raw[:8], raw[8:]) if len(raw) >= 12 else None


def _series_start(ds: Dataset) -> dt.datetime | None:
    return _dicom_datetime(ds.get("SeriesDate"), ds.get("SeriesTime"))


def _injection(ds: Dataset, radio: Dataset) -> tuple[dt.datetime | None, bool]:
    """Injection date-time and whether its date was moved to the day before the series (only
    a start time is given and it is later in the day than the series start)."""
    given = _from_dt(radio.get("RadiopharmaceuticalStartDateTime"))
    if given is not None:
        return given, False
    start = _dicom_datetime(ds.get("SeriesDate") or ds.get("AcquisitionDate"),
                            radio.get("RadiopharmaceuticalStartTime"))
    series = _series_start(ds)
    if start is not None and series is not None and start > series:
        return start - _DAY, True
    return start, False


def uptake_minutes(ds: Dataset) -> float | None:
    """Minutes from injection to the series start (None when the tags are missing)."""
    seq = ds.get("RadiopharmaceuticalInformationSequence")
    series = _series_start(ds)
    if not seq or series is None:
        return None
    start, _ = _injection(ds, seq[0])
    return None if start is None else (series - start).total_seconds() / 60.0


def _need(path: Path, owner: Dataset, keyword: str, why: str) -> Any:
    value = owner.get(keyword)
    if value is None or value == "":
        msg = f"{path}: PET tag {keyword} is missing; it is needed {why}"
        raise DicomError(msg)
    return value


def _assume(path: Path, sentence: str) -> None:
    warnings.warn(f"{path}: {sentence}", AssumptionWarning, stacklevel=3)


def _reference_time(path: Path, ds: Dataset) -> dt.datetime:
    """The time the image is decay-corrected to (DecayCorrection START)."""
    reference = _from_dt(ds.get("DecayCorrectionDateTime"))
    if reference is not None:
        return reference
    _need(path, ds, "SeriesDate", "to decay-correct the dose")
    _need(path, ds, "SeriesTime", "to decay-correct the dose")
    series = _series_start(ds)
    if series is None:
        msg = f"{path}: cannot parse SeriesDate/SeriesTime for decay correction"
        raise DicomError(msg)
    acquired = _dicom_datetime(ds.get("AcquisitionDate") or ds.get("SeriesDate"),
                               ds.get("AcquisitionTime"))
    if acquired is not None and (series - acquired).total_seconds() > 1:
        _assume(path, f"SeriesTime {series:%H:%M:%S} is after AcquisitionTime "
                      f"{acquired:%H:%M:%S} (the series may have been re-created); SUVbw "
                      "decay-corrects the dose to SeriesTime, the DICOM reference for START")
    return series


def suv_factor(path: Path, ds: Dataset) -> float:
    """Multiplier from Bq/mL to SUVbw: weight (g) / (injected dose decayed to the reference).

    Parameters
    ----------
    path : Path
        The file whose header ``ds`` is, named in errors and warnings.
    ds : pydicom Dataset
        The header of a PET image.

    Returns
    -------
    float
        1.0 for images already in SUVbw (Units GML).

    Raises
    ------
    DicomError
        Units or DecayCorrection of a kind SUVbw cannot come from; a tag needed is missing;
        the injection is after the decay-correction reference; dose or weight not positive.

    Warns
    -----
    AssumptionWarning
        For each default taken (see the module docstring), in one sentence with the file.
    """
    if "Units" not in ds:
        _assume(path, "PET tag Units is missing; SUVbw assumes the pixel values are activity "
                      "concentration in Bq/mL (BQML)")
    units = str(ds.get("Units", "BQML")).upper()
    if units == "GML":
        return 1.0
    if units != "BQML":
        msg = f"{path}: PET Units is {units!r}; SUVbw needs activity concentration (BQML)"
        raise DicomError(msg)
    weight_kg = float(_need(path, ds, "PatientWeight", "for SUVbw (body weight)"))
    seq = _need(path, ds, "RadiopharmaceuticalInformationSequence", "for the injected dose")
    if len(seq) > 1:
        _assume(path, f"RadiopharmaceuticalInformationSequence has {len(seq)} items; SUVbw uses "
                      "the dose, half-life and injection time of the first")
    radio = seq[0]
    dose = float(_need(path, radio, "RadionuclideTotalDose", "for SUVbw (injected dose)"))
    half_life = float(_need(path, radio, "RadionuclideHalfLife", "to decay-correct the dose"))
    if "DecayCorrection" not in ds:
        _assume(path, "PET tag DecayCorrection is missing; SUVbw assumes the image is "
                      "decay-corrected to the series start (START)")
    correction = str(ds.get("DecayCorrection", "START")).upper()
    if correction == "ADMIN":
        decayed = dose
    elif correction == "START":
        reference = _reference_time(path, ds)
        if not radio.get("RadiopharmaceuticalStartDateTime"):
            _need(path, radio, "RadiopharmaceuticalStartTime", "to decay-correct the dose")
        start, day_before = _injection(ds, radio)
        if start is None:
            msg = f"{path}: cannot parse the injection date/time for decay correction"
            raise DicomError(msg)
        if day_before:
            _assume(path, f"RadiopharmaceuticalStartTime {start:%H:%M:%S} is later in the day "
                          "than the series start and no injection date is given; SUVbw takes "
                          "the injection to be on the day before the series")
        elapsed = (reference - start).total_seconds()
        if elapsed < 0:
            msg = (f"{path}: the injection ({start:%Y-%m-%d %H:%M:%S}) is after the "
                   f"decay-correction reference ({reference:%Y-%m-%d %H:%M:%S})")
            raise DicomError(msg)
        decayed = dose * 2.0 ** (-elapsed / half_life)
    else:
        msg = (f"{path}: PET DecayCorrection is {correction!r}; SUVbw is computed for images "
               "decay-corrected to the series start (START) or to the injection (ADMIN)")
        raise DicomError(msg)
    if decayed <= 0 or weight_kg <= 0:
        msg = f"{path}: injected dose ({dose} Bq) and weight ({weight_kg} kg) must be positive"
        raise DicomError(msg)
    return weight_kg * 1000.0 / decayed
