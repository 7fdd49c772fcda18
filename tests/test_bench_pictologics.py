"""The pictologics comparison's pairing by IBSI code and its splice into results.md."""

from pathlib import Path

import pytest

_BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.fixture
def vs_pictologics(monkeypatch):
    monkeypatch.syspath_prepend(str(_BENCHMARKS))  # a folder of scripts importing each other
    import vs_pictologics

    return vs_pictologics


@pytest.mark.parametrize(("key", "name"), [
    ("mean_intensity_Q4LE", "stat_mean"),
    ("10th_discretised_intensity_percentile_1PR", "ih_p10"),
    ("90th_discretised_intensity_percentile_GPMT", "ih_p90"),
    ("small_zone_emphasis_P001", "szm_sze"),
    ("volume_at_intensity_fraction_0.10_BC2M_10", "ivh_v10"),
    ("intensity_at_volume_fraction_0.90_GBPN_90", "ivh_i90"),
    ("joint_maximum_GYBY", "cm_joint_max"),
    ("grey_level_non_uniformity_VFT7", "dzm_glnu"),
    ("morans_i_index_N365", "morph_moran_i"),
    ("no_code_here", None),
])
def test_pictologics_keys_pair_with_the_radiome_feature_of_their_ibsi_code(
        vs_pictologics, key, name):
    assert vs_pictologics.radiome_name(key, vs_pictologics._codes()) == name


def test_splice_replaces_only_the_pictologics_section_and_appends_it_when_absent(vs_pictologics):
    heading = vs_pictologics.HEADING
    text = f"# results\n\n## Speed\n\nold speed\n\n{heading}\n\nold\n\n## Maps\n\nmaps\n"
    spliced = vs_pictologics.splice(text, [heading, "", "new", ""])
    assert spliced == f"# results\n\n## Speed\n\nold speed\n\n{heading}\n\nnew\n\n## Maps\n\nmaps\n"
    assert vs_pictologics.splice("# results\n", [heading, "", "new"]) == (
        f"# results\n\n{heading}\n\nnew\n")
