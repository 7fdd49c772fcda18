"""The measurand spec: validation messages, canonical hash, modality defaults."""

from __future__ import annotations

import pytest
import yaml

from radiome.errors import MissingFileError, SpecError
from radiome.spec import default_spec, load_spec

BASE = {
    "preprocessing": {
        "resampling": {"spacing": [2, 2, 2], "image_interpolator": "cubic"},
        "resegmentation": {"range": {"min": -1000, "max": 400}},
        "discretisation": {"method": "fixed_bin_number", "bin_count": 32},
    },
    "features": {"families": ["stat", "morph"]},
}


def test_hash_ignores_key_order_formatting_and_name(tmp_path):
    a = tmp_path / "a.yaml"
    a.write_text(yaml.safe_dump(BASE, sort_keys=True))
    b = tmp_path / "b.yaml"
    b.write_text(
        "# same spec, other order and style\n"
        "name: renamed\n"
        "features: {families: [stat, morph]}\n"
        "preprocessing:\n"
        "  discretisation: {bin_count: 32, method: fixed_bin_number}\n"
        "  resegmentation:\n    range: {max: 400.0, min: -1000}\n"
        "  resampling: {image_interpolator: cubic, spacing: [2.0, 2, 2.0]}\n"
    )
    assert load_spec(a).hash == load_spec(b).hash == load_spec(BASE).hash
    assert len(load_spec(a).hash) == 16


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("preprocessing", "discretisation", "bin_count"), 16),
        (("preprocessing", "resampling", "spacing"), [1, 1, 1]),
        (("preprocessing", "resegmentation", "range", "max"), 401),
        (("features", "families"), ["morph", "stat"]),
    ],
)
def test_hash_changes_with_any_value(path, value):
    import copy

    changed = copy.deepcopy(BASE)
    node = changed
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    assert load_spec(changed).hash != load_spec(BASE).hash


def test_error_names_key_value_and_what_is_allowed():
    bad = {"preprocessing": {"discretisation": {"method": "fixed_bin_size", "bin_width": -5}}}
    with pytest.raises(SpecError, match=r"preprocessing\.discretisation\.bin_width: .*greater than 0 \(got -5\)"):
        load_spec(bad)
    bad = {"preprocessing": {"discretisation": {"method": "fixed_bin_sizes", "bin_width": 5}}}
    with pytest.raises(SpecError, match=r"discretisation\.method: Input should be 'fixed_bin_size' or 'fixed_bin_number' \(got \"fixed_bin_sizes\"\)"):
        load_spec(bad)
    with pytest.raises(SpecError, match=r"preprocessing\.bins: unknown key"):
        load_spec({"preprocessing": {"bins": 3, **BASE["preprocessing"]}})
    with pytest.raises(SpecError, match=r"features\.families\.0: Input should be 'morph'"):
        load_spec({**BASE, "features": {"families": ["glcm"]}})
    with pytest.raises(SpecError, match="fixed_bin_number needs bin_count"):
        load_spec({"preprocessing": {"discretisation": {"method": "fixed_bin_number"}}})


def test_yaml_errors_name_the_file_and_line(tmp_path):
    broken = tmp_path / "broken.yaml"
    broken.write_text("preprocessing:\n  discretisation: [unclosed\n")
    with pytest.raises(SpecError, match=r"broken\.yaml: spec is not valid YAML at line 3"):
        load_spec(broken)
    with pytest.raises(MissingFileError, match="nope.yaml: spec file does not exist"):
        load_spec(tmp_path / "nope.yaml")


def test_2d_spec_resampling_across_slices_is_an_error():
    spec = {"preprocessing": {"dimensions": "2d", "resampling": {"spacing": [2, 2, 2]},
                              "discretisation": {"method": "fixed_bin_number", "bin_count": 8}}}
    with pytest.raises(SpecError, match=r"must be \[null, y, x\]"):
        load_spec(spec)


def test_default_spec_of_each_modality_holds_its_settings():
    ct, mr, pt = default_spec("CT"), default_spec("mr"), default_spec("PT")
    assert ct.preprocessing.discretisation.bin_width == 25
    assert ct.preprocessing.resegmentation.range.min == -1000
    assert ct.preprocessing.round_intensities
    assert mr.preprocessing.normalisation.method == "zscore"
    assert mr.preprocessing.discretisation.bin_count == 32
    assert pt.preprocessing.discretisation.bin_width == 0.25
    assert pt.preprocessing.resegmentation.range.min == 0
    assert len({ct.hash, mr.hash, pt.hash}) == 3
    assert ct.aggregations == ["3d_avg", "3d_vmrg"]
    with pytest.raises(SpecError, match="no default spec for modality 'OT'"):
        default_spec("OT")
