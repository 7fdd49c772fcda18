"""The server strategy's answer to sites lost in a round (no Flower processes)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from radiome.federated.app import _StudyStrategy
from radiome.federated.protocol import Study


def _strategy(n_sites: int, secagg: bool) -> _StudyStrategy:
    return _StudyStrategy(lambda: Study(["a", "b"]), n_sites, secagg, timeout=1.0)


def _answers(*cids: str) -> list:
    return [(SimpleNamespace(cid=cid), None) for cid in cids]


def test_secagg_study_restarts_on_the_sites_left_when_they_reach_the_threshold():
    strategy = _strategy(4, secagg=True)
    first = strategy.study
    strategy.study.stage = "newton"  # a study half done
    assert strategy.aggregate_fit(2, _answers("1", "2", "3"), []) == (None, {})
    assert strategy.error is None
    assert strategy.members == {"1", "2", "3"} and strategy.n_sites == 3
    assert strategy.study is not first and strategy.study.stage == "moments"
    assert strategy.dropouts == ["round 2 (newton): 3 of 4 sites answered"]
    strategy.halted({"1", "2"})  # a second loss: below SecAgg+'s threshold of 3
    assert strategy.error == "round 0 (moments): SecAgg+ halted with 2 of 3 sites answering"


@pytest.mark.parametrize(("n_sites", "secagg", "answered"), [(3, True, 2), (4, False, 3)])
def test_a_study_below_the_threshold_or_without_secagg_stops(n_sites, secagg, answered):
    strategy = _strategy(n_sites, secagg)
    cids = [str(i) for i in range(answered)]
    strategy.aggregate_fit(1, _answers(*cids), [RuntimeError("site x: no table")])
    assert strategy.error == (f"round 1 (moments): {answered} of {n_sites} sites answered: "
                              "site x: no table")
    assert strategy.dropouts == [] and strategy.members is None


def test_a_halted_round_that_lost_no_site_stops_the_study():
    strategy = _strategy(4, secagg=True)
    strategy.halted({"1", "2", "3", "4"})
    assert strategy.error.endswith("SecAgg+ halted with 4 of 4 sites answering")
