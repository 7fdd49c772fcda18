"""The fixed-point encoding gives exact sums through Flower's own SecAgg+ arithmetic."""

from __future__ import annotations

import numpy as np
import pytest
from flwr.common.secure_aggregation.ndarrays_arithmetic import (
    factor_combine,
    factor_extract,
    parameters_mod,
)
from flwr.common.secure_aggregation.quantization import dequantize, quantize

from radiome.errors import AnalysisError
from radiome.federated import secure


def _secaggplus_mean(site_arrays: list[np.ndarray], params: dict) -> np.ndarray:
    """What SecAggPlusWorkflow hands the strategy: the client and server arithmetic, unmasked."""
    q_ratio = round(1 / params["max_weight"] * params["quantization_range"])
    quantised = [factor_combine(q_ratio, quantize([a], params["clipping_range"],
                                                  params["quantization_range"]))
                 for a in site_arrays]
    summed = parameters_mod([sum(q[i].astype(np.int64) for q in quantised) for i in range(2)],
                            params["modulus_range"])
    total_ratio, vector = factor_extract(summed)
    mean = dequantize(vector, params["clipping_range"], params["quantization_range"])[0]
    mean += -(len(site_arrays) - 1) * params["clipping_range"]
    return mean * (params["quantization_range"] / total_ratio)


def test_encoded_sums_through_secaggplus_arithmetic_are_exact_within_the_bound():
    rng = np.random.default_rng(3)
    values = [rng.normal(0, 1, 50) * 10.0 ** rng.integers(-6, 12, 50) for _ in range(3)]
    params = secure.secagg_parameters(3, timeout=10.0)
    pieces = _secaggplus_mean([secure.encode(v) for v in values], params)
    got = secure.decode(pieces, 3)
    exact = [sum(np.longdouble(v[i]) for v in values) for i in range(50)]
    assert np.max(np.abs(got - np.array(exact, dtype=float))) <= (
        secure.quantisation_bound(3) + 1e-15 * np.max(np.abs(exact)))


def test_plain_floats_through_default_secaggplus_ranges_lose_precision():
    rng = np.random.default_rng(4)
    values = [rng.uniform(-1, 1, 200) for _ in range(3)]
    params = {"max_weight": 1.0, "clipping_range": 8.0, "quantization_range": 2**22,
              "modulus_range": 2**32}
    mean = _secaggplus_mean(values, params)
    assert np.max(np.abs(mean * 3 - sum(values))) > 1e-7


def test_encoding_refuses_values_beyond_its_range_naming_them():
    with pytest.raises(AnalysisError, match=r"site 'a': hessian: .* max \|x\| = 1e\+17"):
        secure.encode(np.array([1.0, 1e17]), "site 'a': hessian")


def test_secagg_needs_three_sites():
    with pytest.raises(AnalysisError, match="at least 3 sites, got 2"):
        secure.secagg_parameters(2, timeout=10.0)


def test_secagg_threshold_is_two_thirds_of_the_sites():
    assert secure.secagg_parameters(3, timeout=1.0)["reconstruction_threshold"] == 2
    assert secure.secagg_parameters(10, timeout=1.0)["reconstruction_threshold"] == 7


def test_a_secagg_study_goes_on_with_its_threshold_of_sites_and_never_fewer_than_3():
    assert [secure.min_survivors(n) for n in (3, 4, 5, 6, 10)] == [3, 3, 4, 4, 7]
    assert secure.min_survivors(5, secagg=False) == 5
