"""radiome.extract end to end: every input form, real cases, DICOM and NIfTI agreeing."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import radiome
from radiome.errors import EmptyROIError, IntensityError
from radiome.table import COLUMNS, to_wide

SPEC = {
    "preprocessing": {"round_intensities": True,
                      "discretisation": {"method": "fixed_bin_size", "bin_width": 25}},
    "features": {"families": ["morph", "stat"]},
}


@pytest.mark.parametrize("case", ["brain1", "brain2", "breast1", "lung1", "lung2",
                                  "prostate_phantom"])
def test_pyradiomics_case_voxel_volume_and_mean_match_the_mask(shared_data, case):
    base = shared_data / "pyradiomics_cases"
    image = base / ("prostate_phantom_subvolume.nrrd" if case == "prostate_phantom"
                    else f"{case}_image.nrrd")
    mask = base / ("prostate_phantom_subvolume-label.nrrd" if case == "prostate_phantom"
                   else f"{case}_label.nrrd")
    table = radiome.extract(image, mask, spec=SPEC, roi=1)
    assert list(table.columns) == list(COLUMNS)
    values = table.set_index("feature")["value"]
    volume = radiome.load_volume(image)
    roi = radiome.load_mask(mask, roi=1, reference=volume)
    assert values["morph_vol_approx"] == pytest.approx(roi.n_voxels * np.prod(volume.spacing))
    assert values["stat_mean"] == pytest.approx(np.rint(volume.array[roi.array]).mean())
    assert table["spec_hash"].nunique() == 1
    assert (table["roi"] == "1").all()


def test_dicom_and_nifti_give_the_same_features(shared_data):
    base = shared_data / "ibsi1" / "ct_phantom"
    dicom = radiome.extract(base / "dicom" / "image",
                            base / "dicom" / "rtstruct" / "DCM_RS_00060.dcm", spec=SPEC)
    nifti = radiome.extract(base / "nifti" / "phantom.nii.gz", base / "nifti" / "mask.nii.gz",
                            spec=SPEC)
    pd.testing.assert_series_equal(dicom["value"], nifti["value"])
    assert (dicom["roi"] == "GTV-1").all()
    assert (nifti["roi"] == "1").all()


def test_objects_dicts_and_paths_are_the_same_call(shared_data, tmp_path):
    base = shared_data / "ibsi1" / "ct_phantom" / "nifti"
    volume = radiome.load_volume(base / "phantom.nii.gz", modality="CT")
    mask = radiome.load_mask(base / "mask.nii.gz", reference=volume)
    spec_path = tmp_path / "spec.yaml"
    spec_path.write_text(radiome.load_spec(SPEC).to_yaml())
    by_objects = radiome.extract(volume, mask, spec=radiome.load_spec(SPEC), case_id="x")
    by_paths = radiome.extract(base / "phantom.nii.gz", base / "mask.nii.gz", spec=spec_path,
                               case_id="x")
    same = [c for c in COLUMNS if c != "unit"]
    pd.testing.assert_frame_equal(by_objects[same], by_paths[same])
    # NIfTI records no modality: loaded by path, intensities are in arbitrary units.
    assert by_objects.set_index("feature").at["stat_mean", "unit"] == "HU"
    assert by_paths.set_index("feature").at["stat_mean", "unit"] == "a.u."
    wide = to_wide(by_objects)
    assert wide.loc["x", "stat_max"] == 723


def test_default_spec_follows_the_modality(shared_data):
    base = shared_data / "ibsi1" / "ct_phantom" / "nifti"
    volume = radiome.load_volume(base / "phantom.nii.gz", modality="CT")
    table = radiome.extract(volume, base / "mask.nii.gz")
    assert set(table["spec_hash"]) == {radiome.default_spec("CT").hash}
    assert {"morph", "stat"} <= set(table["family"])


def test_nan_intensities_are_refused():
    image = np.zeros((6, 6, 6))
    image[3, 3, 3] = np.nan
    mask = np.zeros((6, 6, 6), bool)
    mask[2:5, 2:5, 2:5] = True
    volume = radiome.Volume.from_array(image, modality="CT", source="nan.nii")
    with pytest.raises(IntensityError, match="nan.nii: 1 voxel"):
        radiome.extract(volume, radiome.Mask.from_array(mask), spec=SPEC)


def test_roi_emptied_by_resegmentation_is_an_error():
    image = np.full((6, 6, 6), -900.0)
    mask = np.zeros((6, 6, 6), bool)
    mask[2:5, 2:5, 2:5] = True
    spec = {**SPEC, "preprocessing": {**SPEC["preprocessing"],
                                      "resegmentation": {"range": {"min": -500, "max": 400}}}}
    volume = radiome.Volume.from_array(image, modality="CT")
    with pytest.raises(EmptyROIError, match="no voxel left after re-segmentation"):
        radiome.extract(volume, radiome.Mask.from_array(mask, source="m.nii"), spec=spec)


def test_excluded_features_are_neither_computed_nor_written(shared_data):
    base = shared_data / "ibsi1" / "ct_phantom" / "nifti"
    volume = radiome.load_volume(base / "phantom.nii.gz", modality="CT")
    spec = {**SPEC, "features": {"families": ["morph", "stat"],
                                 "exclude": ["morph_moran_i", "morph_geary_c", "stat_kurt"]}}
    table = radiome.extract(volume, base / "mask.nii.gz", spec=spec)
    assert len(table) == 29 + 18 - 3
    assert not {"morph_moran_i", "morph_geary_c", "stat_kurt"} & set(table["feature"])
    with pytest.raises(radiome.RadiomeError, match=r"unknown feature\(s\) \['stat_kurtosis'\]"):
        radiome.extract(volume, base / "mask.nii.gz",
                        spec={**SPEC, "features": {"families": ["stat"],
                                                   "exclude": ["stat_kurtosis"]}})


@pytest.mark.parametrize("sigmas", [(2.0,), (1.0, 2.0)], ids=["single", "bank"])
def test_local_intensity_of_a_filter_response_equals_the_whole_image_one(sigmas):
    """Peaks of a response read the response up to 1 cm around the ROI: the crop keeps the
    filter's margin beyond that sphere, so they equal those of the whole image's response."""
    rng = np.random.default_rng(11)
    image = rng.normal(100.0, 30.0, size=(30, 60, 60))
    mask = np.zeros(image.shape, bool)
    mask[12:18, 25:35, 24:36] = True
    volume = radiome.Volume.from_array(image, spacing=(2.0, 1.0, 1.0), modality="MR")
    roi = radiome.Mask.from_array(mask, spacing=(2.0, 1.0, 1.0))
    filters = [{"kind": "log", "sigma_mm": s} for s in sigmas]
    pre = {"discretisation": None}
    spec = {"preprocessing": pre, "features": {"families": ["loc"], "filtered_families": ["loc"]},
            "filters": filters}
    cropped = radiome.extract(volume, roi, spec=spec)
    responses = radiome.filter_responses(volume, spec)
    for name, response in responses.items():
        whole = radiome.extract(response, roi, spec={"preprocessing": pre,
                                                             "features": {"families": ["loc"]}})
        mine = cropped[cropped["filter"] == name]
        np.testing.assert_allclose(mine["value"].to_numpy(), whole["value"].to_numpy(),
                                   rtol=1e-10)
