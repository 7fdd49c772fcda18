"""The Flower app without Flower processes: the client's mod chain on one message, and the
server strategy's answer to sites lost in a round."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pytest
from flwr.common import Context, FitIns, Message, MessageType, Metadata, RecordDict
from flwr.common import ndarrays_to_parameters
from flwr.common import parameters_to_ndarrays
from flwr.compat.common import recorddict_compat as compat

from radiome.federated import multisite_tables
from radiome.federated.app import _StudyStrategy, client_app
from radiome.federated.demo import FEATURES
from radiome.federated.protocol import Study, answer, dp_reference, load_site, private_answer


@pytest.fixture(scope="module")
def site_a(tmp_path_factory):
    path = tmp_path_factory.mktemp("site") / "site_a.csv"
    multisite_tables(0)["site_a"].to_csv(path, index=False)
    return path


def _ask(site_a, request: dict, parameters: list) -> tuple[list[str], np.ndarray]:
    """The ClientApp's reply to one fit message: its keys and its arrays as one vector."""
    content = compat.fitins_to_recorddict(FitIns(ndarrays_to_parameters(parameters),
                                                 {"request": json.dumps(request)}), keep_input=True)
    message = Message(content, metadata=Metadata(
        run_id=1, message_id="m", src_node_id=0, dst_node_id=1, reply_to_message_id="",
        group_id="", created_at=0.0, ttl=3600.0, message_type=MessageType.TRAIN))
    run = {"features": ",".join(FEATURES), "id": "case_id", "outcome": "grade", "time": "",
           "event": "", "covariates": ""}
    reply = client_app(message, Context(run_id=1, node_id=1, state=RecordDict(), run_config=run,
                                        node_config={"data": str(site_a), "site": "site_a"}))
    res = compat.recorddict_to_fitres(reply.content, keep_input=False)
    return (str(res.metrics["keys"]).split(","),
            np.concatenate([a.ravel() for a in parameters_to_ndarrays(res.parameters)]))


def _site(site_a):
    return load_site(site_a, "site_a", features=list(FEATURES), id_col="case_id",
                     outcome="grade")


def test_client_app_clips_and_noises_a_private_round_by_flowers_local_dp_mod(site_a):
    site, study = _site(site_a), Study(list(FEATURES), epsilon=1e3)
    while "dp" not in (request := study.request()):
        arrays, metrics = private_answer(request, site)
        study.absorb(arrays, [metrics])
    request["dp"]["clip"] = clip = 5.0
    raw = answer(request, site)[0]
    np.random.seed(0)  # LocalDpMod draws from NumPy's global generator
    keys, got = _ask(site_a, request, dp_reference(request))
    assert keys == sorted(raw) == ["logistic0.gradient", "logistic0.hessian", "logistic0.loglik"]
    want = np.concatenate([raw[k].ravel() for k in keys])
    assert np.linalg.norm(want) > 10 * clip  # the clip is active
    noise = got - want * clip / np.linalg.norm(want)
    sd = request["dp"]["sigma"] * clip
    assert np.std(noise) == pytest.approx(sd, rel=0.2)
    assert abs(np.mean(noise)) < 4 * sd / np.sqrt(noise.size)


def test_client_app_answers_a_plain_round_unchanged(site_a):
    request = Study(list(FEATURES)).request()
    raw = answer(request, _site(site_a))[0]
    keys, got = _ask(site_a, request, [np.zeros(1)])
    np.testing.assert_array_equal(got, np.concatenate([raw[k].ravel() for k in keys]))


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
