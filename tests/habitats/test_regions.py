"""Habitat label maps: regularisation, connected regions, fractions and matched Dice, by hand."""

from __future__ import annotations

import numpy as np
import pytest

from radiome.habitats import count_regions, habitat_fractions, matched_dice, regularise


def _block(shape=(5, 5, 5), value=1) -> np.ndarray:
    return np.full(shape, value, dtype=np.int16)


def test_matched_dice_equals_hand_computed_values():
    reference = np.array([1, 1, 1, 2, 2, 2]).reshape(1, 1, 6)
    other = np.array([1, 1, 2, 2, 2, 2]).reshape(1, 1, 6)
    # overlaps: (1,1) = 2, (1,2) = 1, (2,2) = 3; Dice 2*2/(3+2) and 2*3/(3+4)
    np.testing.assert_allclose(matched_dice(reference, other, 2), [0.8, 6 / 7])


def test_matched_dice_is_one_for_the_same_map_with_habitats_renumbered():
    rng = np.random.default_rng(0)
    reference = rng.integers(1, 4, size=(4, 5, 6))
    renumbered = np.array([0, 3, 1, 2])[reference]
    np.testing.assert_allclose(matched_dice(reference, renumbered, 3), [1.0, 1.0, 1.0])


def test_matched_dice_counts_only_voxels_inside_both_rois_and_leaves_absent_habitats_nan():
    reference = np.array([1, 1, 2, 2, 0]).reshape(1, 1, 5)
    other = np.array([0, 1, 2, 2, 1]).reshape(1, 1, 5)
    dice = matched_dice(reference, other, 3)
    np.testing.assert_allclose(dice[:2], [1.0, 1.0])
    assert np.isnan(dice[2])


def test_a_region_below_the_minimum_volume_joins_the_surrounding_habitat():
    labels = _block()
    labels[2, 2, 2] = 2
    out = regularise(labels, spacing=(1.0, 1.0, 1.0), min_region_mm3=2.0)
    assert (out == 1).all()


def test_the_minimum_region_size_is_in_cubic_millimetres_not_voxels():
    labels = _block()
    labels[2, 2, 2] = 2  # one voxel of 8 mm3 at 2 mm spacing
    kept = regularise(labels, spacing=(2.0, 2.0, 2.0), min_region_mm3=5.0)
    merged = regularise(labels, spacing=(2.0, 2.0, 2.0), min_region_mm3=9.0)
    assert kept[2, 2, 2] == 2
    assert (merged == 1).all()


def test_a_small_region_joins_the_habitat_most_of_its_neighbours_belong_to():
    labels = _block((3, 3, 7))
    labels[:, :, 4:] = 3  # habitat 1 on x < 4 (27 voxels), habitat 3 on x >= 4
    labels[1, 1, 3] = 2  # one voxel: 17 of its neighbours are 1, 9 are 3
    out = regularise(labels, spacing=(1.0, 1.0, 1.0), min_region_mm3=2.0)
    assert out[1, 1, 3] == 1
    assert (out[:, :, 4:] == 3).all()


def test_a_small_region_with_no_other_habitat_next_to_it_stays():
    labels = np.zeros((5, 5, 5), dtype=np.int16)
    labels[:2] = 1
    labels[4, 4, 4] = 2  # alone, outside habitat 1's reach
    out = regularise(labels, spacing=(1.0, 1.0, 1.0), min_region_mm3=10.0)
    np.testing.assert_array_equal(out, labels)


def test_majority_smoothing_removes_a_one_voxel_thick_sheet_and_keeps_outside_zero():
    labels = np.zeros((7, 7, 7), dtype=np.int16)
    labels[1:6, 1:6, 1:6] = 1
    labels[1:6, 1:6, 3] = 2
    out = regularise(labels, spacing=(1.0, 1.0, 1.0), smoothing=1)
    assert (out[1:6, 1:6, 1:6] == 1).all()
    assert (out[labels == 0] == 0).all()


def test_majority_smoothing_keeps_the_own_habitat_on_a_tie():
    labels = np.array([1, 2], dtype=np.int16).reshape(1, 1, 2)
    np.testing.assert_array_equal(regularise(labels, spacing=(1.0, 1.0, 1.0), smoothing=3),
                                  labels)


def test_regions_are_26_connected():
    labels = np.zeros((3, 3, 3), dtype=np.int16)
    labels[0, 0, 0] = labels[1, 1, 1] = 1  # touching by a corner: one region
    labels[2, 0, 2] = 2
    labels[0, 2, 2] = 2  # two separate regions of habitat 2
    np.testing.assert_array_equal(count_regions(labels, 3), [1, 2, 0])


def test_fractions_are_the_habitats_shares_of_the_roi():
    labels = np.array([0, 1, 1, 1, 2, 0, 3, 3]).reshape(2, 2, 2)
    np.testing.assert_allclose(habitat_fractions(labels, 4), [3 / 6, 1 / 6, 2 / 6, 0.0])


@pytest.mark.parametrize("smoothing", [0, 2])
def test_regularisation_only_relabels_roi_voxels(smoothing):
    rng = np.random.default_rng(3)
    labels = rng.integers(0, 4, size=(8, 9, 10)).astype(np.int16)
    out = regularise(labels, spacing=(1.0, 0.8, 0.8), min_region_mm3=3.0, smoothing=smoothing)
    np.testing.assert_array_equal(out == 0, labels == 0)
    assert set(np.unique(out[out > 0])) <= {1, 2, 3}
