"""Differential privacy of the model rounds: per-site clipping, Gaussian noise, ε accounted.

Each site's logistic Newton answer (log-likelihood, gradient and Hessian of the z-scored
features, as one vector) is clipped to L2 norm ``clip`` and gets Gaussian noise of standard
deviation ``sigma * clip`` on every entry before it leaves the site (the server, or the other
sites under SecAgg+, never see it without noise). In a Flower run this is Flower's own
``LocalDpMod`` on the ClientApp (:func:`local_dp_mod`, inside ``secaggplus_mod``); in a run in
one process (:func:`radiome.federated.run_in_process`, the leakage and utility studies) it is
:func:`add_noise`, the same clip (Flower's) with noise from a given generator. One round is the
Gaussian mechanism with noise multiplier ``sigma`` on a query of sensitivity ``clip``; a study
of ``rounds`` Newton rounds composes ``rounds`` of them, every site taking part in every round
(sampling rate 1). ε at the stated δ comes from Google's ``dp-accounting`` Rényi-DP accountant
(Mironov 2017), not from ``LocalDpMod``'s per-round (ε, δ) parameters (the classic Gaussian
mechanism, valid for ε < 1 only and not composed over rounds), and ``sigma`` is calibrated to a
target ε with its ``calibrate_dp_mechanism``.

What the guarantee is: **per site, not per patient** — neighbouring datasets differ in one
whole site's rows, so a hospital's cohort as a whole is protected (add/remove relation), which
also bounds what can be learnt about any one of its patients. What it covers: the model rounds
only. The pooled statistics (counts, means, SDs), the pooled event times of a Cox model and the
per-site evaluation metrics are released without noise.

The clip comes from public quantities (:func:`clip_norm`); a clipped site would be weighed
less than its size. The server symmetrises the noisy Hessian and floors its eigenvalues before
the Newton step (post-processing, free under DP).
"""

from __future__ import annotations

import numpy as np

from radiome.errors import AnalysisError

__all__ = ["DELTA", "add_noise", "clip_norm", "epsilon", "local_dp_mod", "noise_multiplier",
           "positive_definite"]

#: δ at which ε is stated.
DELTA = 1e-5


def epsilon(sigma: float, rounds: int, delta: float = DELTA) -> float:
    """ε of ``rounds`` Gaussian mechanisms of noise multiplier ``sigma`` at ``delta`` (RDP)."""
    import dp_accounting
    from dp_accounting.rdp import RdpAccountant

    accountant = RdpAccountant()
    accountant.compose(dp_accounting.GaussianDpEvent(sigma), rounds)
    return float(accountant.get_epsilon(delta))


def noise_multiplier(target: float, rounds: int, delta: float = DELTA) -> float:
    """Smallest noise multiplier whose ``rounds`` rounds have ε <= ``target`` at ``delta``.

    Raises
    ------
    AnalysisError
        ``target`` is not a positive finite number.
    """
    if not (np.isfinite(target) and target > 0):
        msg = f"--epsilon must be a positive number, got {target!r}"
        raise AnalysisError(msg)
    import dp_accounting
    from dp_accounting.rdp import RdpAccountant

    return float(dp_accounting.calibrate_dp_mechanism(
        RdpAccountant, lambda s: dp_accounting.SelfComposedDpEvent(
            dp_accounting.GaussianDpEvent(s), rounds),
        target, delta, dp_accounting.LowerEndpointAndGuess(1e-9, 1.0), tol=1e-6))


def clip_norm(n_rows: float, n_sites: int, n_features: int) -> float:
    """The clipping norm: twice the Hessian norm of an average site with unit-variance features.

    A site of ``n`` rows with z-scored features has ``||X' W X|| ~ n sqrt(p + 1) / 4``; the clip
    is ``n_rows / n_sites * sqrt(p + 1) / 2``, from public quantities only (the pooled row count,
    the number of sites and of features), so that clipping rarely changes an answer: clipped
    sites would be weighed less than their size, biasing the fit.
    """
    return float(n_rows / n_sites * np.sqrt(n_features + 1) / 2)


def add_noise(parts: dict[str, np.ndarray], sigma: float, clip: float,
              rng: np.random.Generator | None = None) -> dict[str, np.ndarray]:
    """``parts`` as one vector clipped to L2 norm ``clip``, plus N(0, (sigma clip)^2) noise.

    The clip is Flower's (``clip_inputs_inplace``, as ``LocalDpMod`` applies it); the noise comes
    from ``rng`` (fresh operating-system entropy by default).
    """
    from flwr.supercore.differential_privacy import clip_inputs_inplace

    rng = rng or np.random.default_rng()
    out = {k: np.array(v, dtype=float) for k, v in parts.items()}
    clip_inputs_inplace(list(out.values()), clip)
    return {k: v + rng.normal(0.0, sigma * clip, v.shape) for k, v in out.items()}


def local_dp_mod(sigma: float, clip: float):
    """Flower's ``LocalDpMod`` that clips a site's answer to ``clip`` and adds N(0, (sigma clip)^2).

    ``LocalDpMod`` draws noise of SD ``sensitivity sqrt(2 ln(1.25 / delta)) / epsilon``: with the
    sensitivity ``clip`` and ``epsilon = sqrt(2 ln(1.25 / DELTA)) / sigma`` that is ``sigma clip``.
    It clips the difference between the answer and the request's parameters, which the server
    sends as zeros (:func:`radiome.federated.protocol.dp_reference`).
    """
    from flwr.client.mod import LocalDpMod

    return LocalDpMod(clipping_norm=clip, sensitivity=clip,
                      epsilon=float(np.sqrt(2 * np.log(1.25 / DELTA)) / sigma), delta=DELTA)


def positive_definite(hessian: np.ndarray, floor: float = 1e-6) -> np.ndarray:
    """The symmetric part of a noisy Hessian with its eigenvalues floored at ``floor``."""
    values, vectors = np.linalg.eigh((hessian + hessian.T) / 2)
    return (vectors * np.maximum(values, floor)) @ vectors.T
