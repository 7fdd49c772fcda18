"""IBSI 2 phase 2: every configuration spec runs on the CT phantom and gives the 18 statistics.

The reference values of phase 2 are not in this repository (they are checked elsewhere); here
each spec must produce the 18 intensity-based statistics of its response map, finite, under
the filter's canonical name, and the two baseline specs must equal the IBSI 1 statistics of the
same processing.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import radiome
from radiome.features.stats import FEATURES as STATS

SPECS = sorted((Path(__file__).resolve().parents[1] / "specs" / "ibsi2").glob("phase2_*.yaml"))


@pytest.fixture(scope="module")
def ct_phantom(shared_data):
    base = shared_data / "ibsi1" / "ct_phantom" / "nifti"
    volume = radiome.load_volume(base / "phantom.nii.gz", modality="CT")
    return volume, radiome.load_mask(base / "mask.nii.gz", reference=volume)


def test_there_are_18_phase2_specs():
    assert [p.stem for p in SPECS] == [f"phase2_{i}{c}" for i in range(1, 10) for c in "AB"]


@pytest.mark.parametrize("spec", SPECS, ids=[p.stem for p in SPECS])
def test_phase2_spec_gives_the_18_statistics(spec, ct_phantom):
    table = radiome.extract(*ct_phantom, spec=spec)
    assert sorted(table["feature"]) == sorted(f.name for f in STATS)
    assert np.isfinite(table["value"]).all()
    filters = set(table["filter"])
    assert len(filters) == 1
    if spec.stem.startswith("phase2_1"):
        assert filters == {""}
    else:
        assert "" not in filters
        name = radiome.load_spec(spec).filters[0]
        assert filters == {radiome.filters.canonical_name(name)}
