"""The habitat model as an estimator: settings checked, persistence, applied unchanged."""

from __future__ import annotations

import hashlib
import subprocess
import sys

import joblib
import numpy as np
import pytest
from sklearn.exceptions import NotFittedError

from radiome.errors import MissingFileError, UnreadableFileError
from radiome.habitats import (
    HabitatError,
    HabitatModel,
    case_habitats,
    load_habitat_model,
    save_habitat_model,
)
from radiome.spec import default_spec


@pytest.mark.parametrize(("settings", "named"), [
    ({"n_habitats": 1}, "n_habitats"),
    ({"k_range": (5, 3)}, "k_range"),
    ({"method": "dbscan"}, "method"),
    ({"criterion": "aic"}, "criterion"),
    ({"criterion": "bic"}, "needs method 'gmm'"),
    ({"radius_voxels": None}, "radius"),
    ({"n_supervoxels": 0}, "n_supervoxels"),
    ({"spatial_weight": -1.0}, "spatial_weight"),
    ({"min_region_mm3": -2.0}, "min_region_mm3"),
    ({"smoothing": 1.5}, "smoothing"),
    ({"features": ()}, "features"),
])
def test_fit_refuses_each_setting_out_of_range_naming_it(settings, named, fitted, cohort_a,
                                                         load_case):
    volume, mask, _ = load_case(cohort_a.iloc[0])
    maps = fitted[0].case_maps(volume, mask)
    with pytest.raises(HabitatError, match=named):
        HabitatModel(**settings).fit([maps])


def test_every_setting_error_is_listed_at_once():
    with pytest.raises(HabitatError, match="n_habitats.*method.*n_supervoxels"):
        HabitatModel(n_habitats=0, method="x", n_supervoxels=0).fit([])


def test_predict_before_fit_raises_not_fitted():
    with pytest.raises(NotFittedError):
        HabitatModel().predict([])


def test_fitting_twice_gives_bit_identical_centres(fitted, cohort_a, load_case):
    model, _ = fitted
    again = HabitatModel(n_habitats=3)
    again.fit([again.case_maps(*load_case(row)[:2]) for row in cohort_a.to_dict("records")])
    np.testing.assert_array_equal(again.cluster_centers_, model.cluster_centers_)


def test_a_saved_model_loads_with_its_header_and_gives_the_same_label_maps(
        fitted, cohort_b, load_case):
    model, path = fitted
    loaded = load_habitat_model(path)
    volume, mask, _ = load_case(cohort_b.iloc[0])
    np.testing.assert_array_equal(case_habitats(loaded, volume, mask).labels,
                                  case_habitats(model, volume, mask).labels)
    assert loaded.provenance_["spec_hash"] == model.spec_.hash
    assert loaded.provenance_["software"]["radiome"] == loaded.provenance_["radiome"]
    assert loaded.file_hash_ == hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("content", ["table", "empty", "dict", "estimator"])
def test_loading_any_other_file_is_a_one_line_error(tmp_path, content):
    path = tmp_path / "model.joblib"
    if content == "table":
        path.write_text("case_id,value\na,1\n")
    elif content == "empty":
        path.write_bytes(b"")
    elif content == "dict":
        joblib.dump({"format": "radiome-model/2", "pipeline": None}, path)
    else:
        joblib.dump(HabitatModel(), path)
    with pytest.raises(UnreadableFileError, match="not a radiome habitat model file") as info:
        load_habitat_model(path)
    assert str(path) in str(info.value)
    assert "\n" not in str(info.value)


def test_loading_a_missing_file_names_it(tmp_path):
    with pytest.raises(MissingFileError, match="habitat model file not found"):
        load_habitat_model(tmp_path / "nothing.joblib")


def test_saving_an_unfitted_model_raises_not_fitted(tmp_path):
    with pytest.raises(NotFittedError):
        save_habitat_model(HabitatModel(), tmp_path / "m.joblib")


def test_maps_of_another_spec_are_refused_by_a_fitted_model(fitted, cohort_b, load_case):
    model, _ = fitted
    volume, mask, _ = load_case(cohort_b.iloc[0])
    other = HabitatModel(spec={"preprocessing": {
        "discretisation": {"method": "fixed_bin_size", "bin_width": 10}}})
    assert other.case_maps(volume, mask).spec.hash != model.spec_.hash == default_spec("CT").hash
    with pytest.raises(HabitatError, match="spec"):
        model.predict([other.case_maps(volume, mask)])


def test_maps_of_other_features_are_refused_by_a_fitted_model(fitted, cohort_b, load_case):
    model, _ = fitted
    volume, mask, _ = load_case(cohort_b.iloc[0])
    other = HabitatModel(features=("stat_mean",), spec=model.spec_)
    with pytest.raises(HabitatError, match="differ"):
        model.predict([other.case_maps(volume, mask)])


def test_a_model_is_applied_unchanged(fitted, cohort_b, load_case):
    model, path = fitted
    before = path.read_bytes()
    centres = model.cluster_centers_.copy()
    volume, mask, _ = load_case(cohort_b.iloc[1])
    case_habitats(model, volume, mask)
    np.testing.assert_array_equal(model.cluster_centers_, centres)
    assert joblib.load(path)["model"].n_training_cases_ == model.n_training_cases_ == 6
    assert path.read_bytes() == before


def test_importing_radiome_habitats_loads_no_scientific_stack():
    code = ("import sys, radiome.habitats; heavy = [m for m in ('pandas', 'scipy', 'sklearn', "
            "'numba', 'matplotlib', 'dask') if m in sys.modules]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"


def test_label_maps_of_a_resampling_spec_cover_exactly_the_roi_on_the_image_grid(cohort_a,
                                                                                 load_case):
    spec = {"preprocessing": {"resampling": {"spacing": [1.5, 1.5, 1.5]},
                              "discretisation": {"method": "fixed_bin_size", "bin_width": 25}}}
    model = HabitatModel(n_habitats=3, spec=spec, n_supervoxels=20)
    cases = [load_case(row) for row in cohort_a.iloc[:2].to_dict("records")]
    model.fit([model.case_maps(volume, mask) for volume, mask, _ in cases])
    volume, mask, _ = cases[0]
    maps = model.case_maps(volume, mask)
    assert maps.grid.shape != mask.grid.shape
    labels = case_habitats(model, volume, mask).labels
    assert labels.shape == mask.grid.shape
    assert (labels[mask.array] > 0).all()
    assert (labels[~mask.array] == 0).all()
