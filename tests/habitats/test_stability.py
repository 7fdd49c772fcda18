"""Habitat stability: matched Dice between a case's habitats and its perturbed versions'."""

from __future__ import annotations

import numpy as np
import pandas as pd

from radiome.habitats import case_habitats, habitat_stability


def test_planted_habitats_are_stable_under_the_reliability_perturbations(fitted, cohort_b,
                                                                         load_case):
    model, _ = fitted
    volume, mask, _ = load_case(cohort_b.iloc[0])
    table = habitat_stability(model, volume, mask, n=3, seed=1)
    assert list(table.columns) == ["perturbation", "habitat", "dice"]
    assert list(table["perturbation"]) == ["p000"] * 3 + ["p001"] * 3 + ["p002"] * 3
    assert list(table["habitat"]) == [1, 2, 3] * 3
    assert table["dice"].min() >= 0.75
    assert table["dice"].max() < 1.0  # the versions did change the habitats a little


def test_stability_is_reproducible_from_its_seed(fitted, cohort_b, load_case):
    model, _ = fitted
    volume, mask, _ = load_case(cohort_b.iloc[1])
    reference = case_habitats(model, volume, mask)
    first = habitat_stability(model, volume, mask, n=2, seed=5, reference=reference)
    second = habitat_stability(model, volume, mask, n=2, seed=5)
    pd.testing.assert_frame_equal(first, second)
    third = habitat_stability(model, volume, mask, n=2, seed=6)
    assert not np.array_equal(first["dice"], third["dice"])
