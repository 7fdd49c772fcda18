"""The radiome Flower app: a ServerApp that runs a :class:`~radiome.federated.Study` and a
ClientApp that answers it from the site's own table.

Flower's compat stack carries the study (``NumPyClient``, ``LegacyContext``, ``DefaultWorkflow``)
because SecAgg+ exists only there: every request is a fit round whose instructions hold the JSON
request and whose results are the site's arrays. With secure aggregation the fit rounds run
through ``SecAggPlusWorkflow``; the client applies ``secaggplus_mod`` only to messages of a
SecAgg+ round, to the answer in an exact encoding (:mod:`.secure`). With differential privacy
Flower's ``LocalDpMod`` clips and noises the answer of each private round first
(:func:`.privacy.local_dp_mod`; the server sends zeros as that round's parameters, so the mod
clips the answer itself): client mods, outermost first, are SecAgg+ (with the encoding), then
``LocalDpMod``. The server waits for every site in every round (``timeout`` seconds at most).
When a site fails or refuses its table it stops the study, with the reason in
``summary.json``; under SecAgg+, while enough sites are left to unmask a round, it runs the
study again from its first request on those sites instead.

Run configuration (``flwr run --run-config``): ``features`` (comma-separated), ``id``,
``outcome``, ``time``, ``event``, ``l2``, ``loso``, ``secagg``, ``epsilon`` (0: no
differential privacy), ``max_newton``, ``combat`` (federated ComBat first), ``covariates``
(comma-separated, ComBat's), ``top_k`` (0: every feature), ``sites`` (expected number),
``timeout``, ``out`` (folder of the results on the server side). Node configuration of each
SuperNode: ``data`` (the site's CSV or Parquet table) and ``site`` (its name).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from flwr.client import ClientApp, NumPyClient
from flwr.client.mod import secaggplus_mod
from flwr.common import Context, FitIns, Message, MessageType, ndarrays_to_parameters
from flwr.common import parameters_to_ndarrays as _to_arrays
from flwr.common.secure_aggregation.secaggplus_constants import RECORD_KEY_CONFIGS
from flwr.compat.common import recorddict_compat as compat
from flwr.server import LegacyContext, ServerApp, ServerConfig
from flwr.server.strategy import Strategy
from flwr.server.workflow import DefaultWorkflow, SecAggPlusWorkflow
from flwr.server.workflow.secure_aggregation.secaggplus_workflow import WorkflowState
from flwr.server.workflow.default_workflows import default_fit_workflow

from radiome.federated import privacy, secure
from radiome.federated.protocol import Study, answer, dp_reference, load_site, round_budget
from radiome.federated.results import write_results

__all__ = ["client_app", "server_app"]


class _SiteClient(NumPyClient):
    """A site: answers each request from its own rows."""

    def __init__(self, context: Context):
        self.context = context

    def fit(self, parameters, config):
        """The site's arrays for the request in ``config``, in the order of their keys."""
        run, node = self.context.run_config, self.context.node_config
        site = load_site(node["data"], str(node["site"]), features=_names(run, "features"),
                         id_col=str(run["id"]), outcome=str(run["outcome"]),
                         time=str(run["time"]) or None, event=str(run["event"]) or None,
                         covariates=_names(run, "covariates"))
        arrays, metrics = answer(json.loads(str(config["request"])), site)
        keys = sorted(arrays)
        return [arrays[k] for k in keys], 1, {**metrics, "keys": ",".join(keys)}


def _client_fn(context: Context):
    """The site client of this SuperNode."""
    return _SiteClient(context).to_client()


def _secagg_when_asked(msg: Message, context: Context, call_next) -> Message:
    """``secaggplus_mod`` over the encoded answer in a SecAgg+ round, the plain chain otherwise."""
    if (msg.metadata.message_type == MessageType.TRAIN
            and RECORD_KEY_CONFIGS in msg.content.config_records):
        return secaggplus_mod(msg, context, lambda m, c: _encoded(call_next(m, c), c))
    return call_next(msg, context)


def _encoded(reply: Message, context: Context) -> Message:
    """A fit reply with its arrays in the exact fixed-point encoding SecAgg+ sums without loss."""
    if reply.has_error():
        return reply
    res = compat.recorddict_to_fitres(reply.content, keep_input=True)
    site = context.node_config["site"]
    res.parameters = ndarrays_to_parameters([
        secure.encode(a, f"site {site!r}: {k}") for k, a in zip(
            str(res.metrics["keys"]).split(","), _to_arrays(res.parameters), strict=True)])
    reply.content = compat.fitres_to_recorddict(res, keep_input=True)
    return reply


def _private_when_asked(msg: Message, context: Context, call_next) -> Message:
    """Flower's ``LocalDpMod`` in a differentially private round, the plain client otherwise."""
    if msg.metadata.message_type == MessageType.TRAIN:
        request = json.loads(str(compat.recorddict_to_fitins(msg.content, keep_input=True)
                                 .config["request"]))
        if request.get("dp"):
            dp = privacy.local_dp_mod(request["dp"]["sigma"], request["dp"]["clip"])
            return dp(msg, context, call_next)
    return call_next(msg, context)


client_app = ClientApp(client_fn=_client_fn, mods=[_secagg_when_asked, _private_when_asked])


class _StudyStrategy(Strategy):
    """A Flower strategy that issues the study's requests and feeds it the summed answers.

    Under SecAgg+ a round that some sites do not answer (dead, timed out, or refusing their
    table) is dropped, and while at least :func:`~radiome.federated.secure.min_survivors` sites
    are left the study starts again from its first request on those sites only (``dropouts``
    says when and why); otherwise, and always without SecAgg+, it stops with the reason.
    """

    def __init__(self, new_study: Callable[[], Study], n_sites: int, secagg: bool,
                 timeout: float):
        self.new_study, self.n_sites, self.secagg = new_study, n_sites, secagg
        self.timeout = timeout
        self.min_sites = secure.min_survivors(n_sites, secagg)
        self.study: Study = new_study()
        self.members: set[str] | None = None
        self.dropouts: list[str] = []
        self.error: str | None = None
        self.round = 0

    def initialize_parameters(self, client_manager):
        return ndarrays_to_parameters([np.zeros(1)])

    def configure_fit(self, server_round, parameters, client_manager):
        if self.error is not None or (request := self.study.request()) is None:
            return []
        self.round = server_round
        if self.members is None:
            if not client_manager.wait_for(self.n_sites, timeout=int(self.timeout)):
                self.error = (f"only {client_manager.num_available()} of {self.n_sites} sites "
                              f"connected within {self.timeout:g} s")
                return []
            clients = client_manager.sample(num_clients=self.n_sites)
        else:
            clients = [c for cid, c in client_manager.all().items() if cid in self.members]
        if request.get("dp"):
            parameters = ndarrays_to_parameters(dp_reference(request))
        return [(c, FitIns(parameters, {"request": json.dumps(request)})) for c in clients]

    def aggregate_fit(self, server_round, results, failures):
        stage = self.study.stage
        if failures or len(results) < self.n_sites:
            reasons = sorted({" ".join(str(f).split()) for f in failures
                              if isinstance(f, BaseException)})
            self._lost(f"round {server_round} ({stage}): {len(results)} of {self.n_sites} sites "
                       f"answered{': ' + '; '.join(reasons) if reasons else ''}",
                       {proxy.cid for proxy, _ in results})
            return None, {}
        metrics = [dict(r.metrics) for _, r in results]
        keys = str(metrics[0]["keys"]).split(",")
        arrays = [_to_arrays(r.parameters) for _, r in results]
        if self.secagg:
            total = dict(zip(keys, (secure.decode(a, len(results)) for a in arrays[0]),
                             strict=True))
        else:
            total = {k: sum(a[i] for a in arrays) for i, k in enumerate(keys)}
        try:
            self.study.absorb(total, metrics)
        except ValueError as exc:
            self.error = f"round {server_round} ({stage}): {exc}"
        return ndarrays_to_parameters([np.zeros(1)]), {}

    def halted(self, answering: set[str]) -> None:
        """SecAgg+ halted the last round; ``answering``: the sites that still answered it."""
        if self.error is None and self.study.stage != "done":
            self._lost(f"round {self.round} ({self.study.stage}): SecAgg+ halted with "
                       f"{len(answering)} of {self.n_sites} sites answering", answering)

    def _lost(self, what: str, answering: set[str]) -> None:
        """Go on with the sites ``answering`` from the first request, or stop (class doc)."""
        if len(answering) < self.min_sites or len(answering) >= self.n_sites:
            self.error = what
            return
        self.dropouts.append(what)
        self.members, self.n_sites, self.study = answering, len(answering), self.new_study()

    def configure_evaluate(self, server_round, parameters, client_manager):
        return []

    def aggregate_evaluate(self, server_round, results, failures):
        return None, {}

    def evaluate(self, server_round, parameters):
        return None


class _TimedGrid:
    """A grid whose ``send_and_receive`` gives up after ``timeout`` seconds."""

    def __init__(self, grid, timeout: float):
        self._grid, self._timeout = grid, timeout

    def __getattr__(self, name):
        return getattr(self._grid, name)

    def send_and_receive(self, messages, *, timeout=None):
        """Send ``messages`` and wait for the replies at most ``timeout`` seconds."""
        return self._grid.send_and_receive(messages, timeout=timeout or self._timeout)


class _SecAggPlus(SecAggPlusWorkflow):
    """Flower's SecAgg+ rounds, telling the strategy which sites still answered a halted one.

    flwr 1.41 halts a round when a site drops out before the others hold shares of its
    secret (during the setup or key-sharing stage): the sites still answering are those whose
    reply to the last stage before the unmasking arrived.
    """

    def __init__(self, strategy: _StudyStrategy, **parameters):
        super().__init__(**parameters)
        self.strategy = strategy

    def __call__(self, grid, context) -> None:
        """One SecAgg+ round (the stages of ``SecAggPlusWorkflow.__call__``)."""
        state, answering = WorkflowState(), set()
        for step in (self.setup_stage, self.share_keys_stage, self.collect_masked_vectors_stage,
                     self.unmask_stage):
            done = step(grid, context, state)
            if step != self.unmask_stage:
                answering = {state.nid_to_proxies[n].cid for n in state.active_node_ids}
            if not done:
                if state.nid_to_proxies:
                    self.strategy.halted(answering)
                return


def _timed_fit_workflow(timeout: float):
    """Flower's default fit round with a timeout on the replies."""

    def workflow(grid, context):
        default_fit_workflow(_TimedGrid(grid, timeout), context)

    return workflow


server_app = ServerApp()


@server_app.main()
def _main(grid, context: Context) -> None:
    """Run the study of the run configuration and write its results to ``out``."""
    run = context.run_config
    start = time.perf_counter()
    n_sites, secagg, timeout = int(run["sites"]), bool(run["secagg"]), float(run["timeout"])

    def new_study() -> Study:
        return Study(_names(run, "features"), l2=float(run["l2"]), cox=bool(str(run["time"])),
                     loso=bool(run["loso"]), epsilon=float(run["epsilon"]) or None,
                     max_newton=int(run["max_newton"]), combat=bool(run["combat"]),
                     top_k=int(run["top_k"]) or None)

    strategy = _StudyStrategy(new_study, n_sites, secagg, timeout)
    legacy = LegacyContext(context=context, strategy=strategy, config=ServerConfig(
        num_rounds=round_budget(int(run["max_newton"]), n_sites, secagg)))
    if secagg:
        fit = _SecAggPlus(strategy, **secure.secagg_parameters(n_sites, timeout=timeout))
    else:
        fit = _timed_fit_workflow(timeout)
    DefaultWorkflow(fit_workflow=fit)(grid, legacy)
    study = strategy.study
    summary = {"secagg": secagg, "sites": strategy.n_sites, "dropouts": strategy.dropouts,
               "quantisation_bound": (secure.quantisation_bound(strategy.n_sites) if secagg
                                      else 0.0)}
    if study.sigma is not None:
        summary.update(epsilon=privacy.epsilon(study.sigma, study.dp_rounds),
                       delta=privacy.DELTA, noise_multiplier=study.sigma,
                       dp_rounds=study.dp_rounds)
    if strategy.error is None and study.stage != "done":
        strategy.error = f"the study stopped in its {study.stage} stage"
    write_results(Path(str(run["out"])), study, summary, strategy.error,
                  time.perf_counter() - start)


def _names(run, key: str) -> list[str]:
    """A comma-separated list of column names of the run configuration."""
    return [f for f in str(run[key]).split(",") if f]
