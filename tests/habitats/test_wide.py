"""Habitat ROIs in the wide view: columns ``<feature>#h<k>`` of their ROI's row."""

from __future__ import annotations

import numpy as np
import pandas as pd

from radiome.habitats import habitats_as_columns

INDEX = ["case_id", "roi", "spec_hash", "run_id"]


def _wide() -> pd.DataFrame:
    return pd.DataFrame({
        "case_id": ["a", "a", "a", "b", "b"],
        "roi": ["1", "1#h1", "1#h2", "1#h2", "1#h1"],
        "spec_hash": ["s"] * 5,
        "run_id": [1, 2, 2, 3, 3],
        "stat_mean": [10.0, 5.0, 20.0, 21.0, 4.0],
        "hab_fraction": [np.nan, 0.25, 0.75, 0.5, 0.5],
    })


def test_habitat_rows_become_columns_of_their_roi_row():
    out = habitats_as_columns(_wide(), index=INDEX)
    assert list(out["case_id"]) == ["a", "b"]
    assert list(out["roi"]) == ["1", "1"]
    row = out.set_index("case_id").loc["a"]
    assert row["stat_mean"] == 10.0
    assert row["stat_mean#h1"] == 5.0
    assert row["stat_mean#h2"] == 20.0
    assert row["hab_fraction#h2"] == 0.75


def test_columns_empty_for_every_plain_roi_are_left_out():
    out = habitats_as_columns(_wide(), index=INDEX)
    assert "hab_fraction" not in out.columns
    assert list(out.columns) == ["case_id", "roi", "spec_hash", "run_id", "stat_mean",
                                 "stat_mean#h1", "hab_fraction#h1", "stat_mean#h2",
                                 "hab_fraction#h2"]


def test_a_roi_stored_only_through_its_habitats_takes_its_first_habitats_provenance():
    out = habitats_as_columns(_wide(), index=INDEX).set_index("case_id")
    assert out.loc["a", "run_id"] == 1
    assert out.loc["b", "run_id"] == 3
    assert np.isnan(out.loc["b", "stat_mean"])
    assert out.loc["b", "stat_mean#h1"] == 4.0


def test_a_table_without_habitats_is_returned_unchanged():
    plain = _wide().iloc[:1]
    pd.testing.assert_frame_equal(habitats_as_columns(plain, index=INDEX), plain)


def test_habitats_are_ordered_by_number_not_as_text():
    wide = pd.DataFrame({"case_id": ["a", "a"], "roi": ["1#h10", "1#h2"], "spec_hash": ["s", "s"],
                         "stat_mean": [1.0, 2.0]})
    out = habitats_as_columns(wide, index=["case_id", "roi", "spec_hash"])
    assert list(out.columns[3:]) == ["stat_mean#h2", "stat_mean#h10"]
