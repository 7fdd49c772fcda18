"""Planted habitats of synthetic tumours are recovered, and a model transfers to a new cohort.

The tumours of :func:`radiome.synthetic.habitat_case` hold three wedges of different mean
intensity and texture (:data:`radiome.synthetic.HABITAT_TYPES`). Habitats are numbered by
their centre's first map (the median intensity), which is also the planted numbering, so the
labels themselves (not only the partition) can be compared with the planted ones.
"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score

from radiome.habitats import HabitatModel, case_habitats


def _agreement(model, row, load_case) -> tuple[float, float]:
    """ARI and share of voxels whose habitat number is the planted one."""
    volume, mask, planted = load_case(row)
    found = case_habitats(model, volume, mask).labels
    inside = mask.array
    return (adjusted_rand_score(planted[inside], found[inside]),
            float(np.mean(planted[inside] == found[inside])))


def test_planted_habitats_of_the_training_cohort_are_recovered_with_ari_above_0_8(
        fitted, cohort_a, load_case):
    model, _ = fitted
    for row in cohort_a.to_dict("records"):
        ari, _ = _agreement(model, row, load_case)
        assert ari >= 0.8, f"{row['case_id']}: ARI {ari:.3f}"


def test_a_model_fitted_on_one_cohort_gives_the_planted_habitats_of_another(
        fitted, cohort_b, load_case):
    model, _ = fitted
    for row in cohort_b.to_dict("records"):
        ari, same = _agreement(model, row, load_case)
        assert ari >= 0.8, f"{row['case_id']}: ARI {ari:.3f}"
        assert same >= 0.9, f"{row['case_id']}: {same:.1%} of voxels carry the planted number"


def test_habitats_are_numbered_by_ascending_median_intensity(fitted):
    model, _ = fitted
    assert model.feature_names_in_[0] == "stat_median"
    assert np.all(np.diff(model.cluster_centers_[:, 0]) > 0)


def _fit(cohort, load_case, **settings) -> HabitatModel:
    model = HabitatModel(**settings)
    model.fit([model.case_maps(*load_case(row)[:2]) for row in cohort.to_dict("records")])
    return model


def test_the_number_of_habitats_chosen_by_silhouette_is_the_planted_three(cohort_a, cohort_b,
                                                                        load_case):
    model = _fit(cohort_a, load_case, k_range=(2, 6))
    assert model.n_habitats_ == 3, model.scores_
    assert sorted(model.scores_) == [2, 3, 4, 5, 6]
    for row in cohort_b.to_dict("records"):
        assert _agreement(model, row, load_case)[0] >= 0.8


def test_a_gaussian_mixture_with_three_habitats_recovers_the_planted_ones(cohort_a, cohort_b,
                                                                         load_case):
    model = _fit(cohort_a, load_case, n_habitats=3, method="gmm")
    for row in cohort_b.to_dict("records"):
        ari, same = _agreement(model, row, load_case)
        assert ari >= 0.8
        assert same >= 0.9


@pytest.mark.parametrize(("method", "criterion", "best"), [("kmeans", "calinski_harabasz", max),
                                                           ("gmm", "bic", min)])
def test_k_is_the_best_of_the_criterion_over_the_range(cohort_a, load_case, method, criterion,
                                                       best):
    model = _fit(cohort_a.iloc[:3], load_case, k_range=(2, 5), method=method,
                 criterion=criterion)
    assert sorted(model.scores_) == [2, 3, 4, 5]
    assert model.n_habitats_ == best(model.scores_, key=model.scores_.get)
