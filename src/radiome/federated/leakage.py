"""What a server learns from a site's plain update, and what SecAgg+ and DP leave of it.

Two threats, run on the very messages a site releases in the first logistic Newton round
(:func:`~radiome.federated.protocol.private_answer`; coefficients 0, features centred at the
pooled mean ``m``, and divided by the pooled SD under DP, which the attacker undoes):

- **Property inference.** There the gradient of the intercept is ``sum (y - 1/2)`` and the
  Hessian is ``X' X / 4``, so ``H[0, 0] = n / 4`` and the site's outcome prevalence is
  ``1/2 + g[0] / (4 H[0, 0])``; an indicator column ``j`` (a scanner type) has share
  ``m_j + H[0, j] / H[0, 0]``. Both are exact from a plain update and unchanged by clipping
  (ratios); under SecAgg+ the server has only the all-site sum and estimates the pooled value;
  under DP the noise spoils them more as ε falls.
- **Reconstruction.** A site with one patient sends ``g = (y - p) (1, x - m)``: the patient's
  features come back as ``m + g[1:] / g[0]``. Similarity is the cosine between the z-scored
  true and recovered vectors.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from radiome.federated import privacy
from radiome.federated.protocol import SiteData, Study, private_answer, run_in_process
from radiome.federated.sums import exact_auc

__all__ = ["leakage_study", "patient_from_update", "plot_leakage", "properties_from_update",
           "utility_curve"]


def properties_from_update(update: dict[str, np.ndarray], mean: np.ndarray,
                           sd: np.ndarray | float = 1.0) -> dict:
    """Outcome prevalence and per-feature means estimated from a first-round logistic update.

    Parameters
    ----------
    update : dict
        ``gradient`` (p + 1,) and ``hessian`` (p + 1, p + 1) at coefficients 0.
    mean : (p,) ndarray
        The pooled mean the features were centred at.
    sd : (p,) ndarray or float
        The scale of the update's features: 1 when centred, the pooled SD when z-scored (as a
        differentially private answer is).

    Returns
    -------
    dict
        ``prevalence`` (float) and ``means`` ((p,) ndarray; for a 0/1 column, its share of 1s).
    """
    g, h = update["gradient"], update["hessian"]
    return {"prevalence": float(0.5 + g[0] / (4.0 * h[0, 0])),
            "means": mean + sd * h[0, 1:] / h[0, 0]}


def patient_from_update(update: dict[str, np.ndarray], mean: np.ndarray,
                        sd: np.ndarray | float = 1.0) -> np.ndarray:
    """The feature vector of a one-patient site recovered from its logistic gradient.

    ``sd`` as in :func:`properties_from_update`.
    """
    g = update["gradient"]
    return mean + sd * g[1:] / g[0]


def leakage_study(sites: list[SiteData], *, target: str, indicator: int, epsilons: list[float],
                  repeats: int = 20, seed: int = 0) -> pd.DataFrame:
    """Both attacks on site ``target`` without protection, under SecAgg+ and under DP at each ε.

    Parameters
    ----------
    sites : list of SiteData
    target : str
        Name of the attacked site.
    indicator : int
        Index of a 0/1 feature column (a scanner type) whose share is inferred.
    epsilons : list of float
        ε values (δ = 1e-5) of the DP rows.
    repeats : int
        Noise draws per ε (the error is their mean absolute error).
    seed : int

    Returns
    -------
    DataFrame
        One row per (attack, protection, ε): ``attack`` (``prevalence``, ``indicator share``,
        ``reconstruction``), ``protection`` (``none``, ``secagg``, ``dp``), ``epsilon``,
        ``truth`` and ``estimate`` (mean over draws; shares clipped to [0, 1] as an attacker
        would), ``error`` (mean absolute error; for the reconstruction ``1 - cosine``) and
        ``cosine`` (reconstruction only).
    """
    rng = np.random.default_rng(seed)
    features = [f"f{i}" for i in range(sites[0].x.shape[1])]
    pooled = run_in_process(Study(features, loso=False, max_newton=1), sites)
    mean, sd = pooled.mean, pooled.sd
    clip = privacy.clip_norm(pooled.n.min(), len(sites), len(features))
    site = next(s for s in sites if s.name == target)
    rows_ok = site.complete
    truth = {"prevalence": float(site.y[rows_ok].mean()),
             "indicator share": float(site.x[rows_ok, indicator].mean())}
    one = SiteData(target, site.x[rows_ok][:1], site.y[rows_ok][:1])
    others = [s for s in sites if s.name != target]

    def update(who, sigma=None):
        request = _first_round(mean, sd, sigma, clip)
        parts = [private_answer(request, s, rng)[0] for s in who]
        return {k.split(".", 1)[1]: sum(p[k] for p in parts) for k in parts[0]
                if k.startswith("logistic0.")}

    settings = [("none", None, None, [site]), ("secagg", None, None, sites)]
    for eps in epsilons:
        settings.append(("dp", eps, privacy.noise_multiplier(eps, Study.dp_rounds), [site]))
    out = []
    for protection, eps, sigma, who in settings:
        draws = 1 if sigma is None else repeats
        scale = 1.0 if sigma is None else sd
        props = [properties_from_update(update(who, sigma), mean, scale) for _ in range(draws)]
        estimates = {"prevalence": np.clip([p["prevalence"] for p in props], 0, 1),
                     "indicator share": np.clip([p["means"][indicator] for p in props], 0, 1)}
        for attack, values in estimates.items():
            out.append({"attack": attack, "protection": protection, "epsilon": eps,
                        "truth": truth[attack], "estimate": float(np.mean(values)),
                        "error": float(np.mean(np.abs(np.subtract(values, truth[attack])))),
                        "cosine": np.nan})
        victim = [one, *others] if protection == "secagg" else [one]
        cosines = [_cosine((patient_from_update(update(victim, sigma), mean, scale) - mean) / sd,
                           (one.x[0] - mean) / sd) for _ in range(draws)]
        out.append({"attack": "reconstruction", "protection": protection, "epsilon": eps,
                    "truth": 1.0, "estimate": float(np.mean(cosines)),
                    "error": float(1 - np.mean(cosines)), "cosine": float(np.mean(cosines))})
    return pd.DataFrame(out)


def utility_curve(sites: list[SiteData], features: list[str], epsilons: list[float], *,
                  repeats: int = 5, seed: int = 0) -> pd.DataFrame:
    """Pooled AUC of the DP logistic model against ε (δ = 1e-5), and without DP (ε = inf).

    The DP study runs in this process on the sites' rows (:func:`run_in_process`), and each
    model is scored on the pooled complete rows, z-scored with the federated mean and SD.

    Returns
    -------
    DataFrame
        ``epsilon``, ``auc`` (mean over ``repeats`` noise draws), ``auc_sd``.
    """
    rng = np.random.default_rng(seed)
    exact = run_in_process(Study(features, loso=False), sites)
    z = np.vstack([(s.x[s.complete] - exact.mean) / exact.sd for s in sites])
    y = np.concatenate([s.y[s.complete] for s in sites])
    out = [{"epsilon": np.inf, "auc": exact_auc(y, z @ exact.fits[0]["beta"][1:]), "auc_sd": 0.0}]
    for eps in epsilons:
        aucs = [exact_auc(y, z @ run_in_process(Study(features, epsilon=eps), sites, rng)
                          .fits[0]["beta"][1:]) for _ in range(repeats)]
        out.append({"epsilon": eps, "auc": float(np.mean(aucs)), "auc_sd": float(np.std(aucs))})
    return pd.DataFrame(out)


def plot_leakage(leakage: pd.DataFrame, utility: pd.DataFrame, path) -> None:
    """Attack error and model AUC against ε (log scale) in one PNG; SecAgg+ and none as lines."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10, 4))
    FigureCanvasAgg(fig)
    left, right = fig.subplots(1, 2)
    for (attack, rows), colour in zip(leakage.groupby("attack"), ("C0", "C1", "C2"),
                                      strict=False):
        dp = rows[rows["protection"] == "dp"].sort_values("epsilon")
        left.plot(dp["epsilon"], dp["error"], "o-", color=colour, label=f"{attack}, DP")
        for protection, style in (("none", ":"), ("secagg", "--")):
            level = rows.loc[rows["protection"] == protection, "error"]
            left.axhline(level.iloc[0], color=colour, ls=style, lw=1,
                         label=f"{attack}, {protection}")
    left.set(xscale="log", xlabel="ε (δ = 1e-5, per site)",
             ylabel="attack error (|share error|; 1 - cosine)", title="Leakage")
    left.legend(fontsize=6)
    dp = utility[np.isfinite(utility["epsilon"])]
    right.errorbar(dp["epsilon"], dp["auc"], yerr=dp["auc_sd"], fmt="o-", label="DP")
    right.axhline(utility.loc[~np.isfinite(utility["epsilon"]), "auc"].iloc[0], ls="--",
                  color="k", label="no DP")
    right.set(xscale="log", xlabel="ε (δ = 1e-5, per site)", ylabel="pooled AUC",
              title="Utility")
    right.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def _first_round(mean: np.ndarray, sd: np.ndarray, sigma: float | None, clip: float) -> dict:
    """The request of the first logistic Newton round (coefficients 0), with DP if ``sigma``."""
    request = {"stage": "newton", "spread": False, "mean": mean.tolist(),
               "logistic": [{"exclude": "", "beta": [0.0] * (mean.size + 1)}]}
    if sigma is not None:
        request.update(dp={"sigma": sigma, "clip": clip}, sd=sd.tolist())
    return request


def _cosine(a: np.ndarray, b: np.ndarray) -> float:
    """Cosine similarity of two vectors."""
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))
