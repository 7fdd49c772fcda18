"""PET SUVbw: every default taken for a missing or ambiguous tag is an AssumptionWarning.

The series are written by the test (80 kg, 350 MBq of F-18, half-life 6586.2 s, injected
3600 s before the series start); the expected SUVbw factor is computed here by hand.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pydicom
import pytest

from radiome.errors import AssumptionWarning, DicomError, RadiomeWarning
from radiome.io import load_volume
from radiome.io.dicom_write import PetDose, write_dicom_series
from radiome.synthetic import synthetic_case
from radiome.volume import Volume

WEIGHT_G, DOSE_BQ, HALF_LIFE_S, UPTAKE_S = 80_000.0, 3.5e8, 6586.2, 3600.0


@pytest.fixture(scope="module")
def suv() -> Volume:
    volume, _ = synthetic_case(11, shape=(4, 24, 24))
    return Volume(array=np.abs(volume.array) / 250.0, grid=volume.grid, modality="PT")


def _pet(suv: Volume, folder: Path, edit: Callable[[pydicom.Dataset], None]) -> Path:
    """The series written, then each file edited."""
    dose = PetDose(weight_kg=WEIGHT_G / 1000, dose_bq=DOSE_BQ, half_life_s=HALF_LIFE_S,
                   uptake_s=UPTAKE_S)
    for path in write_dicom_series(suv, folder, pet=dose):
        ds = pydicom.dcmread(path)
        edit(ds)
        ds.save_as(path)
    return folder


def _bqml(folder: Path) -> np.ndarray:
    """Stored activity concentration (Bq/mL) of the first slice."""
    ds = pydicom.dcmread(sorted(folder.iterdir())[0])
    return ds.pixel_array * float(ds.RescaleSlope)


def _suv_per_bqml(elapsed_s: float) -> float:
    return WEIGHT_G / (DOSE_BQ * 2.0 ** (-elapsed_s / HALF_LIFE_S))


def test_complete_pet_series_reads_without_warning(suv, tmp_path):
    folder = _pet(suv, tmp_path / "pet", lambda ds: None)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RadiomeWarning)
        read = load_volume(folder)
    assert read.array[0] == pytest.approx(_bqml(folder) * _suv_per_bqml(UPTAKE_S), abs=1e-9)


def test_missing_decay_correction_warns_and_assumes_start(suv, tmp_path):
    folder = _pet(suv, tmp_path / "pet", lambda ds: delattr(ds, "DecayCorrection"))
    with pytest.warns(AssumptionWarning, match="DecayCorrection is missing; SUVbw assumes the "
                                               r"image is decay-corrected to the series start"):
        read = load_volume(folder)
    assert read.array[0] == pytest.approx(_bqml(folder) * _suv_per_bqml(UPTAKE_S), abs=1e-9)


def test_missing_units_warns_and_assumes_bqml(suv, tmp_path):
    folder = _pet(suv, tmp_path / "pet", lambda ds: delattr(ds, "Units"))
    with pytest.warns(AssumptionWarning, match=r"Units is missing; .* in Bq/mL \(BQML\)") as got:
        read = load_volume(folder)
    assert str(sorted(folder.iterdir())[0]) in str(got[0].message)
    assert read.array[0] == pytest.approx(_bqml(folder) * _suv_per_bqml(UPTAKE_S), abs=1e-9)


def test_injection_time_after_series_start_is_taken_as_the_day_before(suv, tmp_path):
    def late_injection(ds: pydicom.Dataset) -> None:
        ds.SeriesTime = "003000"  # 00:30; injection at 23:30 the day before
        ds.RadiopharmaceuticalInformationSequence[0].RadiopharmaceuticalStartTime = "233000"

    folder = _pet(suv, tmp_path / "pet", late_injection)
    with pytest.warns(AssumptionWarning, match="injection to be on the day before the series"):
        read = load_volume(folder)
    assert read.metadata.uptake_time_min == pytest.approx(60.0)
    assert read.array[0] == pytest.approx(_bqml(folder) * _suv_per_bqml(3600.0), abs=1e-9)


def test_series_time_after_acquisition_time_warns(suv, tmp_path):
    def acquired_earlier(ds: pydicom.Dataset) -> None:
        ds.AcquisitionDate, ds.AcquisitionTime = ds.SeriesDate, "094500"  # series at 10:00

    folder = _pet(suv, tmp_path / "pet", acquired_earlier)
    with pytest.warns(AssumptionWarning, match="SeriesTime 10:00:00 is after AcquisitionTime "
                                               "09:45:00"):
        read = load_volume(folder)
    assert read.array[0] == pytest.approx(_bqml(folder) * _suv_per_bqml(UPTAKE_S), abs=1e-9)


def test_decay_correction_date_time_is_the_reference_when_given(suv, tmp_path):
    def corrected_later(ds: pydicom.Dataset) -> None:
        ds.DecayCorrectionDateTime = f"{ds.SeriesDate}103000"  # 30 min after the series start

    folder = _pet(suv, tmp_path / "pet", corrected_later)
    read = load_volume(folder)
    assert read.array[0] == pytest.approx(_bqml(folder) * _suv_per_bqml(UPTAKE_S + 1800),
                                          abs=1e-9)


def test_several_radiopharmaceuticals_warn_that_the_first_is_used(suv, tmp_path):
    def two(ds: pydicom.Dataset) -> None:
        seq = ds.RadiopharmaceuticalInformationSequence
        seq.append(pydicom.Dataset(seq[0]))

    with pytest.warns(AssumptionWarning, match="has 2 items; SUVbw uses .* of the first"):
        load_volume(_pet(suv, tmp_path / "pet", two))


@pytest.mark.parametrize(
    ("edit", "expect"),
    [
        (lambda ds: setattr(ds, "DecayCorrection", "NONE"), "DecayCorrection is 'NONE'"),
        (lambda ds: setattr(ds, "Units", "CNTS"), "Units is 'CNTS'"),
        (lambda ds: setattr(ds.RadiopharmaceuticalInformationSequence[0],
                            "RadiopharmaceuticalStartDateTime", "20260102090000"),
         r"the injection \(2026-01-02 09:00:00\) is after the decay-correction reference"),
    ],
    ids=["decay-none", "units-counts", "injection-after-reference"],
)
def test_what_cannot_be_assumed_is_an_error(suv, tmp_path, edit, expect):
    with pytest.raises(DicomError, match=expect):
        load_volume(_pet(suv, tmp_path / "pet", edit))
