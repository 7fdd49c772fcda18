"""The federated study as requests and summed answers, independent of the transport.

The server side is a :class:`Study`: it issues a JSON-able request, receives the **sum over
sites** of the answers (and each site's small plain-text metrics) and moves on. A site answers
with :func:`answer` on its own :class:`SiteData`. The Flower app (:mod:`radiome.federated.app`)
only carries requests and answers; :func:`run_in_process` carries them by a function call, which
is how the mathematics is tested against the pooled computation.

Stages: ``combat`` (with federated ComBat: the sums of :func:`~.sums.combat_sums`; every later
request carries the ComBat estimates and each site answers from its rows harmonised by its own
empirical-Bayes site effects), ``moments`` (counts, sums, missing; event times for Cox),
``newton`` with the spread about the pooled mean (and the per-class sums of the ANOVA filter) in
its first round, then Newton rounds until every fit has converged. The logistic fits are the
model on all sites plus, with leave-one-site-out validation, one fit without each site; they
share the rounds, an excluded site answering zeros, so each fit's ANOVA filter sees only its own
training sites.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from radiome.errors import AnalysisError
from radiome.federated import privacy, secure
from radiome.federated import sums as S

__all__ = ["SiteData", "Study", "answer", "dp_reference", "load_site", "private_answer",
           "round_budget", "run_in_process"]

_TOL = 1e-10  # Newton stops when every coordinate of the step is below this (z-scored scale)


@dataclass(frozen=True)
class SiteData:
    """One site's rows: features (NaN = missing), outcome and optional survival columns."""

    name: str
    x: np.ndarray
    y: np.ndarray
    time: np.ndarray | None = None
    event: np.ndarray | None = None
    z: np.ndarray | None = None

    def harmonised(self, combat: dict | None) -> SiteData:
        """This site with its rows harmonised by federated ComBat (``combat`` of a request).

        Rows with a missing feature or covariate are left out (all their features missing).
        """
        if combat is None:
            return self
        z, rows = self.combat_rows()
        x = np.full_like(self.x, np.nan)
        x[rows] = S.combat_harmonise(self.x[rows], z[rows], np.asarray(combat["mean"]),
                                     np.asarray(combat["var"]),
                                     np.reshape(combat["coef"], (z.shape[1], self.x.shape[1])))
        return SiteData(self.name, x, self.y, self.time, self.event, self.z)

    def combat_rows(self) -> tuple[np.ndarray, np.ndarray]:
        """The covariates ``(n, q)`` (q = 0 without) and the rows ComBat uses (all present)."""
        z = self.z if self.z is not None else np.zeros((self.x.shape[0], 0))
        return z, ~np.isnan(self.x).any(axis=1) & ~np.isnan(z).any(axis=1)

    @property
    def complete(self) -> np.ndarray:
        """Rows with every feature and outcome present (the rows the models use)."""
        ok = ~np.isnan(self.x).any(axis=1) & ~np.isnan(self.y)
        if self.time is not None:
            ok &= ~np.isnan(self.time) & ~np.isnan(self.event)
        return ok


def load_site(path: str | Path, name: str, *, features: list[str], id_col: str, outcome: str,
              time: str | None = None, event: str | None = None,
              covariates: list[str] = ()) -> SiteData:
    """Read and check one site's wide table (CSV or Parquet) before anything leaves the site.

    Raises
    ------
    AnalysisError
        Unreadable table, missing or non-numeric columns, duplicate ids, an outcome that is not
        0/1, negative times, an event column that is not 0/1 (every problem in one message).
    """
    path = Path(path)
    try:
        table = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
    except (OSError, ValueError) as exc:
        msg = f"{path}: site {name!r}: cannot read the table ({' '.join(str(exc).split())})"
        raise AnalysisError(msg) from exc
    wanted = [id_col, outcome, *features, *(c for c in (time, event) if c), *covariates]
    problems = [f"column {c!r} missing" for c in wanted if c not in table.columns]
    numeric = [c for c in wanted[1:] if c in table.columns]
    problems += [f"column {c!r} is not numeric" for c in numeric
                 if not pd.api.types.is_numeric_dtype(table[c])]
    if id_col in table.columns and table[id_col].duplicated().any():
        problems.append(f"{int(table[id_col].duplicated().sum())} duplicate id(s) in {id_col!r}")
    for col in (outcome, event):
        if col and col in numeric and not table[col].dropna().isin([0, 1]).all():
            problems.append(f"column {col!r} must be 0/1")
    if time and time in numeric and (table[time].dropna() < 0).any():
        problems.append(f"column {time!r} has negative times")
    if not problems and not np.isfinite(table[features].to_numpy(float)[
            ~np.isnan(table[features].to_numpy(float))]).all():
        problems.append("features hold infinite values")
    if problems:
        msg = f"{path}: site {name!r} refused: {'; '.join(problems)}"
        raise AnalysisError(msg)
    return SiteData(name, table[features].to_numpy(float), _column(table, outcome),
                    _column(table, time), _column(table, event),
                    table[list(covariates)].to_numpy(float) if covariates else None)


def _column(table: pd.DataFrame, name: str | None) -> np.ndarray | None:
    """A column as floats, None without a name."""
    return table[name].to_numpy(float) if name else None


def answer(request: dict, site: SiteData) -> tuple[dict[str, np.ndarray], dict]:
    """A site's answer to a request: arrays to be summed over sites, and plain-text metrics.

    With differential privacy (``request["dp"]``) the logistic answer is on the z-scored scale,
    where the clip is set, and has no score histogram; the clip and noise are added after it
    (:mod:`radiome.federated.privacy`: Flower's ``LocalDpMod`` on a site, :func:`add_noise` in
    :func:`run_in_process`).
    """
    stage = request["stage"]
    metrics: dict = {"site": site.name}
    if stage == "combat":
        z, rows = site.combat_rows()
        if rows.sum() < 2:
            msg = f"site {site.name!r}: ComBat needs at least 2 complete rows, got {rows.sum()}"
            raise AnalysisError(msg)
        return S.combat_sums(site.x[rows], z[rows]), metrics
    site = site.harmonised(request.get("combat"))
    if stage == "moments":
        arrays = S.moment_sums(site.x)
        if request["cox"]:
            times = site.time[site.complete & (site.event > 0)]
            metrics["event_times"] = json.dumps(sorted(set(times.tolist())))
        return arrays, metrics
    mean = np.asarray(request["mean"])
    arrays = S.spread_sums(site.x, mean) if request.get("spread") else {}
    rows = site.complete
    centred = site.x[rows] - mean
    for i, fit in enumerate(request["logistic"]):
        beta = np.asarray(fit["beta"])
        part = S.logistic_sums(centred, site.y[rows], beta)
        if request.get("spread") and request.get("top_k"):
            part.update(S.anova_sums(centred, site.y[rows]))
        prob = S.sigmoid(beta[0] + centred @ beta[1:])
        if request.get("dp"):
            loglik, gradient, hessian = S.logistic_derivatives(part, np.asarray(request["sd"]))
            part = {"loglik": np.array([loglik]), "gradient": gradient, "hessian": hessian}
        else:
            part["hist"] = S.score_histograms(prob, site.y[rows])
        if fit["exclude"] == site.name:
            metrics["loso_auc"] = S.exact_auc(site.y[rows], prob)
            part = {k: np.zeros_like(v) for k, v in part.items()}
        elif not fit["exclude"]:
            metrics["auc"] = S.exact_auc(site.y[rows], prob)
        arrays.update({f"logistic{i}.{k}": v for k, v in part.items()})
    if request.get("cox"):
        beta = np.asarray(request["cox"]["beta"])
        times = np.asarray(request["cox"]["times"])
        risk = centred @ beta
        part = S.cox_sums(centred, site.time[rows], site.event[rows], times, beta)
        part.update(S.concordance_sums(site.time[rows], site.event[rows], risk, times))
        arrays.update({f"cox.{k}": v for k, v in part.items()})
        metrics["c_index"] = S.exact_c_index(site.time[rows], site.event[rows], risk)
    return arrays, metrics


def dp_reference(request: dict) -> list[np.ndarray]:
    """Zeros shaped as a differentially private answer to ``request`` (arrays in key order).

    Flower's ``LocalDpMod`` clips the difference between a site's answer and the parameters it
    was sent, so the server sends these with a private round: the answer itself is clipped.
    """
    k = len(request["mean"]) + 1
    shapes = {f"logistic{i}.{key}": shape for i in range(len(request["logistic"]))
              for key, shape in (("gradient", (k,)), ("hessian", (k, k)), ("loglik", (1,)))}
    return [np.zeros(shapes[key]) for key in sorted(shapes)]


def round_budget(max_newton: int, n_sites: int, secagg: bool) -> int:
    """Rounds of a study at most: ComBat, the moments, the Newton rounds and one more, for its
    first start and each restart on fewer sites after some dropped out (down to
    :func:`~radiome.federated.secure.min_survivors`)."""
    restarts = n_sites - secure.min_survivors(n_sites, secagg)
    return (max_newton + 3) * (1 + restarts)


@dataclass
class Study:
    """Server-side state of a federated study over ``features`` (see the module docstring).

    Parameters
    ----------
    features : list of str
    l2 : float
        L2 penalty of the logistic model (``l2/2 sum beta^2``, intercept unpenalised).
    cox : bool
        Also fit a Cox model (sites need time and event columns).
    loso : bool
        Leave-one-site-out logistic fits in the same rounds.
    max_newton : int
        Newton rounds at most.
    epsilon : float, optional
        Differential privacy of the logistic rounds (:mod:`radiome.federated.privacy`): exactly
        ``dp_rounds`` Newton rounds whose noise gives this ε at δ = 1e-5; no leave-one-site-out
        fits, no Cox model.
    dp_rounds : int
    combat : bool
        Harmonise the features by federated ComBat first (site = batch), preserving the
        effects of the sites' ``z`` covariates (numeric columns, the same at every site).
    top_k : int, optional
        The logistic models use the ``top_k`` features of highest ANOVA F (the default
        pipeline's filter, ``SelectKBest(f_classif)``), each fit on its own training sites; the
        others keep coefficient 0. Not with ``epsilon``.
    """

    features: list[str]
    l2: float = 1.0
    cox: bool = False
    loso: bool = True
    max_newton: int = 30
    epsilon: float | None = None
    dp_rounds: int = 5
    combat: bool = False
    top_k: int | None = None
    sigma: float | None = None
    stage: str = "moments"
    sites: list[str] = field(default_factory=list)
    rounds: int = 0
    newton_rounds: int = 0
    n: np.ndarray | None = None
    mean: np.ndarray | None = None
    sd: np.ndarray | None = None
    missing: np.ndarray | None = None
    fits: list[dict] = field(default_factory=list)
    cox_fit: dict | None = None
    harmonisation: dict | None = None
    site_metrics: dict[str, dict] = field(default_factory=dict)

    def __post_init__(self):
        if self.combat and self.stage == "moments":
            self.stage = "combat"
        if self.top_k is not None and self.epsilon is not None:
            msg = ("the ANOVA filter (top_k) is not differentially private; "
                   "use it without epsilon")
            raise AnalysisError(msg)

    def request(self) -> dict | None:
        """The next request to every site, or None when the study is complete."""
        if self.stage == "done":
            return None
        if self.stage in ("combat", "moments"):
            return {"stage": self.stage, "cox": self.cox, "combat": self.harmonisation}
        req = {"stage": "newton", "spread": self.sd is None, "mean": self.mean.tolist(),
               "combat": self.harmonisation, "top_k": self.top_k,
               "logistic": [{"exclude": f["exclude"], "beta": _centred_beta(f["beta"], self.sd,
                                                                          True).tolist()}
                            for f in self.fits if self.sigma is None or self.sd is not None]}
        if self.sigma is not None and self.sd is not None:
            clip = privacy.clip_norm(self.n.min(), len(self.sites), len(self.features))
            req.update(dp={"sigma": self.sigma, "clip": clip}, sd=self.sd.tolist())
        if self.cox_fit is not None:
            req["cox"] = {"times": self.cox_fit["times"],
                          "beta": _centred_beta(self.cox_fit["beta"], self.sd, False).tolist()}
        return req

    def absorb(self, total: dict[str, np.ndarray], metrics: list[dict]) -> None:
        """Take the summed answers of the last request and the sites' metrics."""
        self.rounds += 1
        for m in metrics:
            self.site_metrics.setdefault(m["site"], {}).update(
                {k: v for k, v in m.items() if k not in ("site", "event_times", "keys")})
        if self.stage == "combat":
            grand_mean, var_pooled, coef = S.combat_global(total)
            self.harmonisation = {"mean": grand_mean.tolist(), "var": var_pooled.tolist(),
                                  "coef": coef.ravel().tolist()}
            self.stage = "moments"
            return
        if self.stage == "moments":
            self._start(total, metrics)
            return
        if "ss" in total:
            with np.errstate(invalid="ignore", divide="ignore"):
                self.sd = np.sqrt(total["ss"] / (self.n - 1))
            if not np.all(self.sd > 0):
                flat = [f for f, s in zip(self.features, self.sd, strict=True) if not s > 0]
                msg = f"federated study: feature(s) {flat} are constant over all sites"
                raise AnalysisError(msg)
        if self.sigma is not None and not any(k.startswith("logistic") for k in total):
            return
        self.newton_rounds += 1
        for i, fit in enumerate(self.fits):
            if fit["converged"]:
                continue
            part = {k.split(".", 1)[1]: v for k, v in total.items()
                    if k.startswith(f"logistic{i}.")}
            if self.sigma is None:
                loglik, grad, hess = S.logistic_derivatives(part, self.sd)
            else:  # the sites answered on the z-scored scale
                loglik, grad = float(part["loglik"][0]), part["gradient"]
                hess = privacy.positive_definite(part["hessian"])
            if "anova" in part:
                fit["keep"] = _top_k(S.anova_f(part["anova"]), self.top_k)
            keep = fit["keep"]
            step = np.zeros_like(grad)
            step[keep] = S.newton_step(fit["beta"][keep], grad[keep], hess[np.ix_(keep, keep)],
                                       self.l2, np.arange(grad.size)[keep] > 0)
            iterations = fit["iterations"] + 1
            done = (iterations == self.dp_rounds if self.sigma is not None
                    else bool(np.max(np.abs(step)) < _TOL))
            fit.update(beta=fit["beta"] + step, iterations=iterations, loglik=loglik,
                       converged=done, hist=part.get("hist"))
        if self.cox_fit is not None and not self.cox_fit["converged"]:
            part = {k.split(".", 1)[1]: v for k, v in total.items() if k.startswith("cox.")}
            loglik, grad, hess = S.cox_derivatives(part, self.sd)
            step = np.linalg.solve(hess, grad)
            c_index = S.concordance_from_sums(part["events"], part["partners"])
            self.cox_fit.update(beta=self.cox_fit["beta"] + step, loglik=loglik, c_index=c_index,
                                iterations=self.cox_fit["iterations"] + 1,
                                converged=bool(np.max(np.abs(step)) < _TOL))
        fits = [*self.fits, *([self.cox_fit] if self.cox_fit else [])]
        if all(f["converged"] for f in fits) or self.newton_rounds >= self.max_newton:
            self.stage = "done"

    def _start(self, total: dict[str, np.ndarray], metrics: list[dict]) -> None:
        """Set up the Newton stage from the summed moments."""
        self.sites = sorted(m["site"] for m in metrics)
        if self.epsilon is not None:
            if self.cox:
                msg = ("differential privacy covers the logistic model only; "
                       "fit the Cox model without --epsilon")
                raise AnalysisError(msg)
            self.loso = False
            self.sigma = privacy.noise_multiplier(self.epsilon, self.dp_rounds)
        self.n, self.mean, _ = S.pooled_moments(total)
        self.missing = total["missing"]
        p = len(self.features)
        excluded = ["", *(self.sites if self.loso and len(self.sites) > 2 else [])]
        self.fits = [{"exclude": e, "beta": np.zeros(p + 1), "iterations": 0, "converged": False,
                      "keep": np.ones(p + 1, dtype=bool)} for e in excluded]
        if self.cox:
            times = sorted({t for m in metrics for t in json.loads(m["event_times"])})
            self.cox_fit = {"times": times, "beta": np.zeros(p), "iterations": 0,
                            "converged": False}
        self.stage = "newton"

    def result(self) -> dict:
        """Statistics, models and evaluation of the finished study (JSON-able)."""
        fit = self.fits[0]
        out = {
            "statistics": pd.DataFrame({"feature": self.features, "n": self.n.astype(int),
                                        "mean": self.mean, "sd": self.sd,
                                        "missing": self.missing.astype(int)}),
            "logistic": _model_json(fit, self.features, intercept=True),
            "auc": S.auc_from_histograms(fit["hist"]) if self.sigma is None else float("nan"),
            "sites": self.site_metrics,
            "rounds": self.rounds,
        }
        if self.top_k is not None:
            out["logistic"]["selected"] = [f for f, k in zip(self.features, fit["keep"][1:],
                                                             strict=True) if k]
        if self.cox_fit is not None:
            out["cox"] = {**_model_json(self.cox_fit, self.features, intercept=False),
                          "c_index": self.cox_fit.get("c_index", float("nan"))}
        if self.harmonisation is not None:
            out["combat"] = self.harmonisation
        return out


def run_in_process(study: Study, sites: list[SiteData],
                   rng: np.random.Generator | None = None) -> Study:
    """Run ``study`` over ``sites`` by plain function calls (sums in float64); returns it.

    ``rng`` draws the sites' noise under differential privacy (for reproducible experiments).
    """
    while (req := study.request()) is not None:
        answers = [private_answer(req, site, rng) for site in sites]
        total = {k: sum(a[0][k] for a in answers) for k in answers[0][0]}
        study.absorb(total, [a[1] for a in answers])
    return study


def private_answer(request: dict, site: SiteData, rng: np.random.Generator | None = None,
                   ) -> tuple[dict[str, np.ndarray], dict]:
    """:func:`answer`, clipped and noised with ``rng`` when the request asks for privacy."""
    arrays, metrics = answer(request, site)
    if request.get("dp"):
        arrays = privacy.add_noise(arrays, request["dp"]["sigma"], request["dp"]["clip"], rng)
    return arrays, metrics


def _top_k(f: np.ndarray, k: int) -> np.ndarray:
    """Mask (intercept first) of the ``k`` features of highest ANOVA F, as ``SelectKBest``."""
    keep = np.zeros(f.size + 1, dtype=bool)
    keep[0] = True
    keep[1 + np.argsort(np.nan_to_num(f, nan=-np.inf), kind="mergesort")[-k:]] = True
    return keep


def _centred_beta(beta: np.ndarray, sd: np.ndarray | None, intercept: bool) -> np.ndarray:
    """Coefficients of z-scored features as coefficients of centred ones (0 before the SD)."""
    if sd is None:
        return beta
    return np.concatenate([beta[:1], beta[1:] / sd]) if intercept else beta / sd


def _model_json(fit: dict, features: list[str], *, intercept: bool) -> dict:
    """A fitted model as ``{"intercept", "coefficients", "iterations", "converged"}``."""
    coef = fit["beta"][1:] if intercept else fit["beta"]
    out = {"coefficients": dict(zip(features, map(float, coef), strict=True)),
           "iterations": fit["iterations"], "converged": fit["converged"],
           "loglik": fit.get("loglik")}
    if intercept:
        out = {"intercept": float(fit["beta"][0]), **out}
    return out
