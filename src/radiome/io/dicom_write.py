"""Writing DICOM: an image series from a Volume, and an RTSTRUCT from a Mask.

Used for the project's own synthetic cohorts and for exporting masks (e.g. perturbed contours)
to treatment-planning systems. Images are stored as int16 (CT: HU through RescaleIntercept;
PET: activity concentration in Bq/mL through a per-slice RescaleSlope); RTSTRUCT contours are
the iso-0.5 lines of each mask slice (marching squares), which rasterise back to the same mask
with the even-odd rule.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import (
    CTImageStorage,
    ExplicitVRLittleEndian,
    MRImageStorage,
    PositronEmissionTomographyImageStorage,
    RTStructureSetStorage,
    generate_uid,
)
from skimage.measure import find_contours

from radiome.volume import Mask, Volume

__all__ = ["PetDose", "write_dicom_series", "write_rtstruct"]

_SOP_CLASS = {"CT": CTImageStorage, "MR": MRImageStorage, "PT": PositronEmissionTomographyImageStorage}


class PetDose:
    """Radiopharmaceutical data of a synthetic PET series (for SUVbw)."""

    def __init__(self, *, weight_kg: float, dose_bq: float, half_life_s: float = 6586.2,
                 uptake_s: float = 3600.0, tracer: str = "FDG") -> None:
        self.weight_kg = weight_kg
        self.dose_bq = dose_bq
        self.half_life_s = half_life_s
        self.uptake_s = uptake_s
        self.tracer = tracer

    def suv_to_bqml(self) -> float:
        """Activity concentration (Bq/mL) of 1 SUVbw at the series start."""
        decayed = self.dose_bq * 2.0 ** (-self.uptake_s / self.half_life_s)
        return decayed / (self.weight_kg * 1000.0)


def _file_meta(sop_class: str, sop_uid: str) -> FileMetaDataset:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = sop_uid
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    return meta


def _patient_study(ds: Dataset, patient_id: str, study_uid: str) -> None:
    ds.PatientName = f"Synthetic^{patient_id}"
    ds.PatientID = patient_id
    ds.PatientBirthDate = ""
    ds.PatientSex = ""
    ds.StudyInstanceUID = study_uid
    ds.StudyDate = "20260101"
    ds.StudyTime = "090000"
    ds.StudyID = "1"
    ds.AccessionNumber = ""
    ds.ReferringPhysicianName = ""


def write_dicom_series(
    volume: Volume,
    folder: str | Path,
    *,
    patient_id: str = "ANON",
    study_uid: str | None = None,
    series_uid: str | None = None,
    frame_of_reference_uid: str | None = None,
    series_number: int = 1,
    description: str = "radiome synthetic",
    pet: PetDose | None = None,
) -> list[Path]:
    """Write a volume as one single-frame DICOM file per slice; returns the file paths.

    CT and MR intensities are stored as int16 (CT with RescaleIntercept 0, slope 1); PET
    volumes in SUVbw need ``pet`` and are stored as activity concentration (Bq/mL, Units BQML,
    decay-corrected to the series start).
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    modality = volume.modality if volume.modality in _SOP_CLASS else "CT"
    if modality == "PT" and pet is None:
        msg = "writing a PET series needs its radiopharmaceutical data (pet=PetDose(...))"
        raise ValueError(msg)
    study_uid = study_uid or generate_uid()
    series_uid = series_uid or generate_uid()
    frame_uid = frame_of_reference_uid or generate_uid()
    grid = volume.grid
    direction = grid.direction_matrix
    meta = volume.metadata
    start = dt.datetime(2026, 1, 1, 10, 0, 0)
    paths = []
    for k in range(grid.shape[0]):
        values = volume.array[k]
        sop_uid = generate_uid()
        ds = Dataset()
        ds.file_meta = _file_meta(_SOP_CLASS[modality], sop_uid)
        ds.SOPClassUID = _SOP_CLASS[modality]
        ds.SOPInstanceUID = sop_uid
        _patient_study(ds, patient_id, study_uid)
        ds.FrameOfReferenceUID = frame_uid
        ds.Modality = modality
        ds.SeriesInstanceUID = series_uid
        ds.SeriesNumber = series_number
        ds.SeriesDescription = description
        ds.SeriesDate = start.strftime("%Y%m%d")
        ds.SeriesTime = start.strftime("%H%M%S")
        ds.InstanceNumber = k + 1
        ds.Manufacturer = meta.manufacturer or "radiome"
        ds.ManufacturerModelName = meta.model or "synthetic"
        if meta.kvp is not None:
            ds.KVP = meta.kvp
        if meta.convolution_kernel:
            ds.ConvolutionKernel = meta.convolution_kernel
        if meta.contrast_agent:
            ds.ContrastBolusAgent = meta.contrast_agent
        ds.SliceThickness = meta.slice_thickness or grid.spacing[0]
        ds.ImageOrientationPatient = [float(v) for v in np.r_[direction[:, 0], direction[:, 1]]]
        ds.ImagePositionPatient = [float(v) for v in grid.index_to_world(np.array([k, 0, 0]))]
        ds.PixelSpacing = [grid.spacing[1], grid.spacing[2]]
        ds.Rows, ds.Columns = values.shape
        ds.SamplesPerPixel = 1
        ds.PhotometricInterpretation = "MONOCHROME2"
        ds.BitsAllocated = ds.BitsStored = 16
        ds.HighBit = 15
        ds.PixelRepresentation = 1
        if modality == "PT":
            bqml = values * pet.suv_to_bqml()
            peak = float(np.abs(bqml).max()) or 1.0
            slope = peak / 32000.0
            stored = np.rint(bqml / slope).astype(np.int16)
            ds.RescaleSlope, ds.RescaleIntercept = f"{slope:.10g}", "0"
            ds.Units = "BQML"
            ds.DecayCorrection = "START"
            ds.PatientWeight = pet.weight_kg
            radio = Dataset()
            radio.Radiopharmaceutical = pet.tracer
            radio.RadionuclideTotalDose = pet.dose_bq
            radio.RadionuclideHalfLife = pet.half_life_s
            radio.RadiopharmaceuticalStartTime = (
                start - dt.timedelta(seconds=pet.uptake_s)
            ).strftime("%H%M%S")
            ds.RadiopharmaceuticalInformationSequence = Sequence([radio])
        else:
            stored = np.rint(values).astype(np.int16)
            ds.RescaleSlope, ds.RescaleIntercept = "1", "0"
        ds.PixelData = stored.tobytes()
        path = folder / f"{k:04d}.dcm"
        ds.save_as(path, enforce_file_format=True)
        paths.append(path)
    return paths


def _slice_contours(mask_slice: np.ndarray) -> list[np.ndarray]:
    """Closed iso-0.5 polygons (row, col) of a binary slice, padded so every contour closes."""
    padded = np.pad(mask_slice.astype(np.float64), 1)
    return [c - 1.0 for c in find_contours(padded, 0.5, fully_connected="high")]


def write_rtstruct(
    mask: Mask,
    image_files: list[Path],
    path: str | Path,
    *,
    roi_name: str | None = None,
) -> Path:
    """Write ``mask`` as a one-structure RTSTRUCT referencing the DICOM series ``image_files``.

    The image files give the patient, study, frame of reference and instance UIDs; each mask
    slice becomes CLOSED_PLANAR contours at the slice's position.
    """
    import pydicom

    headers = [pydicom.dcmread(p, stop_before_pixels=True) for p in image_files]
    by_position = {
        round(float(np.dot(np.asarray(h.ImagePositionPatient, float), mask.grid.direction_matrix[:, 2])), 3): h
        for h in headers
    }
    first = headers[0]
    sop_uid = generate_uid()
    ds = Dataset()
    ds.file_meta = _file_meta(RTStructureSetStorage, sop_uid)
    ds.SOPClassUID = RTStructureSetStorage
    ds.SOPInstanceUID = sop_uid
    _patient_study(ds, str(first.PatientID), str(first.StudyInstanceUID))
    ds.Modality = "RTSTRUCT"
    ds.SeriesInstanceUID = generate_uid()
    ds.SeriesNumber = 99
    ds.StructureSetLabel = "radiome"
    ds.StructureSetDate = "20260101"
    ds.StructureSetTime = "100000"
    ds.Manufacturer = "radiome"
    contour_images = Sequence()
    for h in headers:
        ref = Dataset()
        ref.ReferencedSOPClassUID = h.SOPClassUID
        ref.ReferencedSOPInstanceUID = h.SOPInstanceUID
        contour_images.append(ref)
    series = Dataset()
    series.SeriesInstanceUID = first.SeriesInstanceUID
    series.ContourImageSequence = contour_images
    study = Dataset()
    study.ReferencedSOPClassUID = "1.2.840.10008.3.1.2.3.1"
    study.ReferencedSOPInstanceUID = first.StudyInstanceUID
    study.RTReferencedSeriesSequence = Sequence([series])
    frame = Dataset()
    frame.FrameOfReferenceUID = first.FrameOfReferenceUID
    frame.RTReferencedStudySequence = Sequence([study])
    ds.ReferencedFrameOfReferenceSequence = Sequence([frame])
    name = roi_name or mask.roi
    roi = Dataset()
    roi.ROINumber = 1
    roi.ReferencedFrameOfReferenceUID = first.FrameOfReferenceUID
    roi.ROIName = name
    roi.ROIGenerationAlgorithm = "AUTOMATIC"
    ds.StructureSetROISequence = Sequence([roi])
    contours = Sequence()
    grid = mask.grid
    for k in range(grid.shape[0]):
        if not mask.array[k].any():
            continue
        world_z = grid.index_to_world(np.array([k, 0, 0]))
        header = by_position.get(round(float(np.dot(world_z, grid.direction_matrix[:, 2])), 3))
        for polygon in _slice_contours(mask.array[k]):
            index = np.column_stack([np.full(len(polygon) - 1, k), polygon[:-1]])
            points = grid.index_to_world(index)
            item = Dataset()
            item.ContourGeometricType = "CLOSED_PLANAR"
            item.NumberOfContourPoints = len(points)
            item.ContourData = [f"{v:.4f}" for v in points.ravel()]
            if header is not None:
                ref = Dataset()
                ref.ReferencedSOPClassUID = header.SOPClassUID
                ref.ReferencedSOPInstanceUID = header.SOPInstanceUID
                item.ContourImageSequence = Sequence([ref])
            contours.append(item)
    roi_contour = Dataset()
    roi_contour.ReferencedROINumber = 1
    roi_contour.ROIDisplayColor = [255, 0, 0]
    roi_contour.ContourSequence = contours
    ds.ROIContourSequence = Sequence([roi_contour])
    observation = Dataset()
    observation.ObservationNumber = 1
    observation.ReferencedROINumber = 1
    observation.RTROIInterpretedType = "GTV"
    observation.ROIInterpreter = ""
    ds.RTROIObservationsSequence = Sequence([observation])
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(path, enforce_file_format=True)
    return path
