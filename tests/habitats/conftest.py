"""Two synthetic habitat cohorts (planted habitats known) and a model fitted on the first."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from radiome.habitats import HabitatModel, save_habitat_model
from radiome.synthetic import write_habitat_cohort

#: Small tumours (radius 12-15 mm at 1 mm) keep the tests fast.
SHAPE = (36, 44, 44)


@pytest.fixture(scope="session")
def cohort_a(tmp_path_factory) -> pd.DataFrame:
    """Training cohort: 6 tumours with planted habitats (manifest with a ``planted`` column)."""
    return write_habitat_cohort(tmp_path_factory.mktemp("cohort_a"), n_cases=6, seed=0,
                                shape=SHAPE)


@pytest.fixture(scope="session")
def cohort_b(tmp_path_factory) -> pd.DataFrame:
    """A second cohort from other seeds: new shapes, shares, positions and textures."""
    return write_habitat_cohort(tmp_path_factory.mktemp("cohort_b"), n_cases=4, seed=100,
                                shape=SHAPE)


def _load_case(row) -> tuple:
    """Volume, mask and planted labels of a manifest row."""
    from radiome import load_mask, load_volume

    volume = load_volume(row["image"], modality="CT")
    mask = load_mask(row["mask"], roi=1, reference=volume)
    planted = load_volume(row["planted"]).array.astype(np.int16)
    return volume, mask, planted


@pytest.fixture(scope="session")
def load_case():
    """``load_case(row)``: volume, mask and planted labels of a manifest row."""
    return _load_case


@pytest.fixture(scope="session")
def fitted(cohort_a, tmp_path_factory) -> tuple[HabitatModel, Path]:
    """A three-habitat model fitted on cohort A, and its saved file."""
    model = HabitatModel(n_habitats=3)
    maps = [model.case_maps(*_load_case(row)[:2]) for row in cohort_a.to_dict("records")]
    model.fit(maps)
    path = save_habitat_model(model, tmp_path_factory.mktemp("model") / "habitats.joblib")
    return model, path
