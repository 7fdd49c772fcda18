"""Readers on real files: NIfTI/NRRD, DICOM series, RTSTRUCT, DICOM SEG, label maps."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pydicom
import pytest

from radiome.errors import DicomError, DicomWarning, GeometryError, ROINotFoundError
from radiome.io import load_mask, load_volume
from radiome.io.dicom_write import PetDose, write_dicom_series, write_rtstruct
from radiome.synthetic import synthetic_case
from radiome.volume import Grid, Mask, Volume


@pytest.fixture(scope="module")
def ct_phantom(shared_data: Path) -> dict:
    """The IBSI CT phantom as NIfTI and as DICOM + RTSTRUCT."""
    base = shared_data / "ibsi1" / "ct_phantom"
    nifti = load_volume(base / "nifti" / "phantom.nii.gz", modality="CT")
    dicom = load_volume(base / "dicom" / "image")
    return {
        "nifti": nifti,
        "nifti_mask": load_mask(base / "nifti" / "mask.nii.gz", reference=nifti),
        "dicom": dicom,
        "dicom_mask": load_mask(base / "dicom" / "rtstruct" / "DCM_RS_00060.dcm", reference=dicom),
    }


def test_nifti_ct_phantom_geometry(ct_phantom):
    vol = ct_phantom["nifti"]
    assert vol.shape == (60, 201, 204)
    assert vol.spacing == pytest.approx((3.0, 0.977, 0.977), abs=1e-6)
    assert vol.grid.origin == pytest.approx((-174.3945, -79.6255, -100.4), abs=1e-3)
    assert vol.unit == "HU"
    assert vol.array.min() == -1000
    assert vol.array.max() == 3065


def test_dicom_image_equals_nifti_image(ct_phantom):
    dicom, nifti = ct_phantom["dicom"], ct_phantom["nifti"]
    assert dicom.grid.differences(nifti.grid) == []
    assert np.array_equal(dicom.array, nifti.array)
    assert dicom.modality == "CT"
    assert dicom.unit == "HU"


def test_rtstruct_equals_nifti_mask_voxel_for_voxel(ct_phantom):
    mask, reference = ct_phantom["dicom_mask"], ct_phantom["nifti_mask"]
    assert mask.roi == "GTV-1"
    assert mask.n_voxels == 125_256
    assert np.array_equal(mask.array, reference.array)


def test_rtstruct_matched_by_frame_of_reference(shared_data):
    """The RTSTRUCT references the original TCIA series UIDs; only the frame of reference fits."""
    base = shared_data / "dicom_rt_case" / "STS_001" / "CT"
    image = load_volume(base / "dicom" / "image")
    with pytest.warns(DicomWarning, match="matched by FrameOfReferenceUID"):
        mask = load_mask(base / "dicom" / "mask" / "RS.dcm", reference=image)
    nifti = load_volume(base / "nifti" / "image" / "image.nii.gz", modality="CT")
    nifti_mask = load_mask(base / "nifti" / "mask" / "mask.nii.gz", reference=nifti)
    assert image.grid.differences(nifti.grid) == []
    assert np.array_equal(image.array, nifti.array)
    assert mask.n_voxels == nifti_mask.n_voxels == 117_145
    assert np.array_equal(mask.array, nifti_mask.array)


def test_dicom_acquisition_metadata(shared_data):
    image = load_volume(shared_data / "dicom_rt_case" / "STS_001" / "CT" / "dicom" / "image")
    meta = image.metadata
    assert (meta.modality, meta.manufacturer, meta.model) == ("CT", "GE MEDICAL SYSTEMS",
                                                              "Discovery ST")
    assert meta.kvp == 140.0
    assert meta.convolution_kernel == "SOFT"
    assert meta.slice_thickness == pytest.approx(3.27)
    assert meta.pixel_spacing == pytest.approx((0.976562, 0.976562))
    assert meta.series_date == "20000907"


def test_rtstruct_unknown_structure_lists_names(ct_phantom, shared_data):
    path = shared_data / "ibsi1" / "ct_phantom" / "dicom" / "rtstruct" / "DCM_RS_00060.dcm"
    with pytest.raises(ROINotFoundError, match="'GTV-1'"):
        load_mask(path, roi="PTV", reference=ct_phantom["dicom"])


def test_pyradiomics_cases_load(shared_data):
    base = shared_data / "pyradiomics_cases"
    expected = {"brain1": 4137, "brain2": 453, "breast1": 143, "lung1": 837, "lung2": 24644}
    for case, n_voxels in expected.items():
        image = load_volume(base / f"{case}_image.nrrd")
        mask = load_mask(base / f"{case}_label.nrrd", roi=1, reference=image)
        assert mask.n_voxels == n_voxels, case


def test_label_map_with_several_labels(shared_data):
    base = shared_data / "pyradiomics_cases"
    image = load_volume(base / "prostate_phantom_subvolume.nrrd")
    label = base / "prostate_phantom_subvolume-label.nrrd"
    with pytest.raises(ROINotFoundError, match="4 labels \\(1, 7, 8, 9\\)"):
        load_mask(label, reference=image)
    assert load_mask(label, roi=8, reference=image).n_voxels == 2997
    assert load_mask(label, roi="9", reference=image).n_voxels == 9088
    with pytest.raises(ROINotFoundError, match="label 3 is not in the mask; labels present: 1, 7"):
        load_mask(label, roi=3, reference=image)


def test_mask_on_another_grid_names_the_numbers(shared_data):
    base = shared_data / "pyradiomics_cases"
    image = load_volume(base / "lung1_image.nrrd")
    with pytest.raises(GeometryError, match=r"size \(61, 512, 512\) vs \(48, 512, 512\)"):
        load_mask(base / "lung2_label.nrrd", roi=1, reference=image)


@pytest.fixture(scope="module")
def synthetic_series(tmp_path_factory) -> tuple[Volume, Mask, list[Path]]:
    """A synthetic CT written as a DICOM series."""
    volume, mask = synthetic_case(3, shape=(12, 48, 48))
    folder = tmp_path_factory.mktemp("series") / "ct"
    return volume, mask, write_dicom_series(volume, folder, patient_id="SYN")


def test_written_series_and_rtstruct_round_trip(synthetic_series, tmp_path):
    volume, mask, files = synthetic_series
    read = load_volume(files[0].parent)
    assert read.grid.differences(volume.grid) == []
    assert np.array_equal(read.array, volume.array)
    rtstruct = write_rtstruct(mask, files, tmp_path / "rs.dcm")
    assert np.array_equal(load_mask(rtstruct, reference=read).array, mask.array)


def test_several_series_is_an_error_that_lists_them(synthetic_series, tmp_path):
    volume, _, files = synthetic_series
    shutil.copytree(files[0].parent, tmp_path / "a")
    other = write_dicom_series(volume, tmp_path / "b", series_number=7, description="second")
    with pytest.raises(DicomError, match="2 image series found") as err:
        load_volume(tmp_path)
    assert "second" in str(err.value)
    chosen = load_volume(tmp_path, series=str(pydicom.dcmread(other[0]).SeriesInstanceUID))
    assert np.array_equal(chosen.array, volume.array)
    assert np.array_equal(load_volume(tmp_path, series="7").array, volume.array)


def test_irregular_slice_spacing_is_detected(synthetic_series, tmp_path):
    _, _, files = synthetic_series
    for path in files[:5] + files[6:]:  # drop one slice in the middle
        shutil.copy(path, tmp_path / path.name)
    expect = r"irregular slice spacing: most gaps are 2\.5 mm but 5 mm"
    with pytest.raises(DicomError, match=expect):
        load_volume(tmp_path)


def test_slices_sorted_along_the_normal_not_by_name(synthetic_series, tmp_path):
    volume, _, files = synthetic_series
    for i, path in enumerate(reversed(files)):
        shutil.copy(path, tmp_path / f"x{i:03d}.dcm")
    assert np.array_equal(load_volume(tmp_path).array, volume.array)


def test_pet_suv_body_weight(synthetic_series, tmp_path):
    volume, _, _ = synthetic_series
    suv = Volume(array=np.abs(volume.array) / 250.0, grid=volume.grid, modality="PT")
    dose = PetDose(weight_kg=80.0, dose_bq=3.5e8, half_life_s=6586.2, uptake_s=3600.0)
    files = write_dicom_series(suv, tmp_path / "pet", pet=dose)
    read = load_volume(tmp_path / "pet")
    assert read.unit == "SUVbw"
    # SUVbw = C (Bq/mL) * weight (g) / (dose * 2^(-t / T1/2)); stored as int16 with a slope.
    bqml_per_suv = 3.5e8 * 2 ** (-3600 / 6586.2) / 80_000.0
    resolution = np.abs(suv.array).max() / 32000
    assert np.abs(read.array - suv.array).max() <= resolution
    ds = pydicom.dcmread(files[0])
    stored = ds.pixel_array * float(ds.RescaleSlope)
    assert stored / bqml_per_suv == pytest.approx(read.array[0], abs=1e-9)
    assert read.metadata.tracer == "FDG"
    assert read.metadata.uptake_time_min == pytest.approx(60.0)


def test_pet_without_weight_names_the_tag(synthetic_series, tmp_path):
    volume, _, _ = synthetic_series
    suv = Volume(array=np.abs(volume.array) / 250.0, grid=volume.grid, modality="PT")
    files = write_dicom_series(suv, tmp_path / "pet", pet=PetDose(weight_kg=80.0, dose_bq=3.5e8))
    for path in files:
        ds = pydicom.dcmread(path)
        del ds.PatientWeight
        ds.save_as(path)
    with pytest.raises(DicomError, match="PatientWeight is missing"):
        load_volume(tmp_path / "pet")


def test_mr_is_kept_as_stored(synthetic_series, tmp_path):
    volume, _, _ = synthetic_series
    mr = Volume(array=volume.array + 1024, grid=volume.grid, modality="MR")
    read = load_volume(write_dicom_series(mr, tmp_path / "mr")[0].parent)
    assert read.modality == "MR"
    assert read.unit == "a.u."
    assert np.array_equal(read.array, mr.array)


@pytest.mark.parametrize("fractional", [False, True], ids=["binary", "fractional"])
def test_dicom_seg_round_trip(synthetic_series, tmp_path, fractional, write_seg):
    _, mask, files = synthetic_series
    image = load_volume(files[0].parent)
    seg = write_seg(files, mask.array, tmp_path / "seg.dcm", fractional)
    by_label = load_mask(seg, roi="lesion", reference=image)
    assert by_label.roi == "lesion"
    assert np.array_equal(by_label.array, mask.array)
    by_number = load_mask(seg, roi=2, reference=image)
    assert np.array_equal(by_number.array, mask.array ^ np.roll(mask.array, 1, axis=2))
    with pytest.raises(ROINotFoundError, match="'lesion' \\(#1\\), 'rim' \\(#2\\)"):
        load_mask(seg, reference=image)
    own_grid = load_mask(seg, roi="lesion")
    assert own_grid.n_voxels == mask.n_voxels


def test_grid_world_index_round_trip():
    grid = Grid(shape=(4, 5, 6), spacing=(3.0, 0.5, 0.7), origin=(10.0, -4.0, 2.5),
                direction=(0, 1, 0, -1, 0, 0, 0, 0, 1))
    index = np.array([[1.0, 2.0, 3.0], [0.0, 4.5, 5.0]])
    assert np.allclose(grid.world_to_index(grid.index_to_world(index)), index)
    assert np.allclose(grid.index_to_world(np.zeros(3)), grid.origin)


@pytest.mark.parametrize("suffix", [".mha", ".mhd", ".nrrd", ".nii.gz"])
def test_volume_formats_round_trip(tmp_path, suffix):
    from radiome.io import write_volume

    volume, mask = synthetic_case(1, shape=(6, 20, 24))
    image = load_volume(write_volume(volume, tmp_path / f"image{suffix}"), modality="CT")
    assert image.grid.differences(volume.grid) == []
    assert np.array_equal(image.array, volume.array)
    read = load_mask(write_volume(mask, tmp_path / f"mask{suffix}"), reference=image)
    assert np.array_equal(read.array, mask.array)
