"""ComBat harmonisation of feature tables across sites or scanners (batches).

ComBat (Johnson, Li & Rabinovic 2007; Fortin et al. 2017/2018 for imaging) models every feature
``j`` of sample ``i`` in batch ``b`` as

    x_ij = alpha_j + z_i' beta_j + gamma_bj + sqrt(delta_bj) * sigma_j * e_ij,

where ``z_i`` are the biological covariates to preserve, ``gamma_bj`` the additive and
``delta_bj`` the multiplicative batch effect. The batch effects are estimated on standardised data
and shrunk by empirical Bayes towards a prior shared by all features of the batch; the harmonised
value removes them and keeps the covariate effects.

Why per modality: a batch effect is a difference between scanners in what the same feature
measures. CT intensities are Hounsfield units, physical and comparable between scanners, so CT
features keep fixed bin sizes and ComBat only removes what reconstruction kernels and slice
thickness add. MR intensities are arbitrary per scan: the default specs standardise them within
each scan before discretisation, and what is left for ComBat differs from CT in kind. Mixing CT
and MR rows in one ComBat fit would treat the modality as a "site" and pool two different
measurands into one prior, so harmonise each modality (and each spec hash) separately.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from radiome.analysis._combat_eb import nonparametric_eb, parametric_eb
from radiome.errors import AnalysisError, AnalysisWarning

__all__ = ["ComBat"]

class ComBat(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    """Empirical-Bayes location/scale harmonisation of features across batches (ComBat).

    Parameters
    ----------
    parametric : bool, default True
        Parametric empirical-Bayes priors (normal for the additive effect, inverse gamma for the
        multiplicative one), or the non-parametric Monte-Carlo integration over the other
        features' estimates.

    Attributes
    ----------
    batches_ : (B,) ndarray
        Batch labels seen in ``fit``, sorted.
    grand_mean_ : (n_features,) ndarray
        Sample-size weighted mean of the batch intercepts.
    var_pooled_ : (n_features,) ndarray
        Pooled residual variance (divided by n) after batch and covariates.
    coef_covariates_ : (n_covariate_columns, n_features) ndarray
        Covariate effects preserved by the harmonisation (design columns in
        ``covariate_design_columns_``).
    gamma_star_, delta_star_ : (B, n_features) ndarray
        Empirical-Bayes additive and multiplicative batch effects (standardised scale).
    n_iter_ : (B,) int ndarray
        Iterations of the parametric EB fixed point per batch (0 when non-parametric).

    Notes
    -----
    The estimates follow ``neuroCombat`` 0.2.12 (and R ``sva::ComBat``), to which the tests compare:
    design = one-hot batch (no intercept) + covariates, least squares; grand mean weighted by batch
    size; pooled variance of the residuals divided by n; per-batch ``gamma_hat`` (mean) and
    ``delta_hat`` (variance, ddof=1) of the standardised data; priors by the method of moments
    over features (``t2`` and the inverse-gamma ``a``, ``b`` with ddof=1).

    The parametric EB step iterates ``gamma = (t2 n gamma_hat + delta gamma_bar) / (t2 n + delta)``
    and ``delta = (sum (s - gamma)^2 / 2 + b) / (n / 2 + a - 1)`` from ``(gamma_hat, delta_hat)``
    and **stops as soon as** ``max_j |gamma_new - gamma_old| / gamma_old`` and
    ``max_j |delta_new - delta_old| / delta_old`` are both ``<= 1e-4``. The denominator
    ``gamma_old`` is signed, exactly as in ``sva`` and ``neuroCombat`` (features whose gamma is
    negative therefore do not hold the loop open); this rule is part of the definition, and the
    results equal neuroCombat's to 1e-4 only with it.

    The non-parametric step weighs the other features' ``(gamma_hat, delta_hat)`` by the normal
    likelihood of the feature's standardised data, as neuroCombat's ``int_eprior``, but in log
    space, so it stays finite where neuroCombat's product of densities underflows to 0/0.

    Categorical covariates (object, category or bool columns) are one-hot encoded without their
    first level (sorted); numeric columns enter as they are. Never pass the outcome as a covariate
    of a model that will be validated: ``transform`` would need the test samples' outcome.

    Features with zero residual variance (fully explained by batch and covariates) are left out
    of the EB priors and harmonised to their covariate prediction. With a single feature no prior
    can be estimated; the location/scale estimates are used without shrinkage (as neuroHarmonize
    does) and an :class:`~radiome.errors.AnalysisWarning` says so.

    Harmonise CT and MR features separately: see the module documentation.

    References
    ----------
    Johnson WE, Li C, Rabinovic A. Adjusting batch effects in microarray expression data using
    empirical Bayes methods. Biostatistics 2007;8:118-127.
    Fortin JP et al. Harmonization of cortical thickness measurements across scanners and sites.
    NeuroImage 2018;167:104-120.
    """

    def __init__(self, *, parametric: bool = True):
        self.parametric = parametric

    def fit(self, X, y=None, *, batch, covariates=None):
        """Estimate the batch effects on ``X``; returns ``self``.

        Parameters
        ----------
        X : (n_samples, n_features) array-like or DataFrame
            Features, one row per sample.
        y : ignored
        batch : (n_samples,) array-like
            Site or scanner label of each sample; at least 2 batches, 2 samples each.
        covariates : DataFrame or (n_samples, k) array-like, optional
            Biological covariates whose effect is preserved.

        Raises
        ------
        AnalysisError
            Fewer than 2 batches, a batch with one sample, covariates confounded with batch.
        """
        X = validate_data(self, X, dtype=np.float64, ensure_min_samples=2)
        batch = _check_batch(batch, X.shape[0])
        self.batches_, codes, counts = np.unique(batch, return_inverse=True, return_counts=True)
        if self.batches_.size < 2:
            msg = f"ComBat needs at least 2 batches, got only {self.batches_.tolist()}"
            raise AnalysisError(msg)
        if counts.min() < 2:
            small = self.batches_[counts < 2].tolist()
            msg = f"ComBat needs at least 2 samples per batch; batch(es) {small} have 1"
            raise AnalysisError(msg)
        cov_frame = _covariate_frame(covariates, X.shape[0])
        self.covariate_names_ = list(cov_frame.columns)
        self.covariate_levels_ = {
            c: sorted(cov_frame[c].unique().tolist())
            for c in cov_frame.columns
            if not _is_numeric(cov_frame[c])
        }
        z = self._encode_covariates(cov_frame)
        design = np.hstack([np.eye(self.batches_.size)[codes], z])
        if np.linalg.matrix_rank(design) < design.shape[1]:
            msg = (
                f"ComBat covariates {self.covariate_names_} are confounded with batch "
                "(design matrix not of full rank); drop the covariate or merge the batches"
            )
            raise AnalysisError(msg)
        coef = np.linalg.lstsq(design, X, rcond=None)[0]
        n_batch = self.batches_.size
        self.grand_mean_ = (counts / X.shape[0]) @ coef[:n_batch]
        self.coef_covariates_ = coef[n_batch:]
        self.var_pooled_ = np.mean((X - design @ coef) ** 2, axis=0)
        s = self._standardise(X, z)
        self.gamma_star_ = np.zeros((n_batch, X.shape[1]))
        self.delta_star_ = np.ones((n_batch, X.shape[1]))
        self.n_iter_ = np.zeros(n_batch, dtype=int)
        varying = self.var_pooled_ > 0
        if varying.sum() == 1:
            warnings.warn(
                "ComBat: one varying feature, no empirical-Bayes prior can be estimated; "
                "using the unshrunk location/scale estimates",
                AnalysisWarning,
                stacklevel=2,
            )
        for b in range(n_batch):
            sb = s[codes == b][:, varying]
            g_hat, d_hat = sb.mean(axis=0), sb.var(axis=0, ddof=1)
            d_hat[d_hat == 0] = 1.0
            if varying.sum() == 1:
                g_star, d_star = g_hat, d_hat
            elif self.parametric:
                g_star, d_star, self.n_iter_[b] = parametric_eb(sb, g_hat, d_hat)
            else:
                g_star, d_star = nonparametric_eb(sb, g_hat, d_hat)
            self.gamma_star_[b, varying] = g_star
            self.delta_star_[b, varying] = d_star
        return self

    def transform(self, X, *, batch, covariates=None):
        """Harmonised features, with the batch effects frozen at ``fit``.

        Parameters
        ----------
        X : (n_samples, n_features) array-like or DataFrame
        batch : (n_samples,) array-like
            Batch of each sample; every label must have been seen in ``fit``.
        covariates : DataFrame or array-like, optional
            Required when ``fit`` had covariates (same columns).

        Returns
        -------
        (n_samples, n_features) ndarray

        Raises
        ------
        AnalysisError
            A batch not seen in ``fit`` (named in the message), or covariates missing or unseen.
        """
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, reset=False)
        batch = _check_batch(batch, X.shape[0])
        unseen = np.setdiff1d(np.unique(batch), self.batches_)
        if unseen.size:
            msg = (
                f"ComBat: batch(es) {unseen.tolist()} not seen in fit (seen: "
                f"{self.batches_.tolist()}); ComBat cannot estimate the effect of a new batch: "
                "refit it with samples of that batch, or harmonise that batch separately"
            )
            raise AnalysisError(msg)
        z = self._encode_covariates(_covariate_frame(covariates, X.shape[0], self.covariate_names_))
        codes = np.searchsorted(self.batches_, batch)
        s = self._standardise(X, z)
        s = (s - self.gamma_star_[codes]) / np.sqrt(self.delta_star_[codes])
        return s * np.sqrt(self.var_pooled_) + self.grand_mean_ + z @ self.coef_covariates_

    def fit_transform(self, X, y=None, *, batch, covariates=None):
        """Fit on ``X`` and return it harmonised (same as ``fit(...).transform(...)``)."""
        return self.fit(X, batch=batch, covariates=covariates).transform(
            X, batch=batch, covariates=covariates
        )

    def _standardise(self, X: np.ndarray, z: np.ndarray) -> np.ndarray:
        """Data minus grand mean and covariate effects, over the pooled SD (0 where SD is 0)."""
        sd = np.sqrt(self.var_pooled_)
        centred = X - self.grand_mean_ - z @ self.coef_covariates_
        return np.divide(centred, sd, out=np.zeros_like(centred), where=sd > 0)

    def _encode_covariates(self, frame: pd.DataFrame) -> np.ndarray:
        """Design columns of covariates: numeric as is, categorical one-hot without level 1."""
        columns = []
        for name in self.covariate_names_:
            values = frame[name]
            if name not in self.covariate_levels_:
                columns.append(values.to_numpy(dtype=np.float64)[:, None])
                continue
            levels = self.covariate_levels_[name]
            unseen = sorted(set(values.tolist()) - set(levels), key=str)
            if unseen:
                msg = f"ComBat covariate {name!r}: level(s) {unseen} not seen in fit ({levels})"
                raise AnalysisError(msg)
            columns.append((values.to_numpy()[:, None] == np.asarray(levels[1:])[None, :]) * 1.0)
        return np.hstack(columns) if columns else np.zeros((len(frame), 0))


def _check_batch(batch, n: int) -> np.ndarray:
    """Batch labels as a 1-D array of length ``n`` without missing values."""
    batch = np.asarray(batch)
    if batch.ndim != 1 or batch.shape[0] != n:
        msg = f"ComBat: batch must have one label per sample ({n}), got shape {batch.shape}"
        raise AnalysisError(msg)
    if pd.isna(batch).any():
        msg = f"ComBat: batch has {int(pd.isna(batch).sum())} missing label(s)"
        raise AnalysisError(msg)
    return batch


def _is_numeric(values: pd.Series) -> bool:
    """True for numeric, non-boolean covariate columns."""
    return pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)


def _covariate_frame(covariates, n: int, expected: list[str] | None = None) -> pd.DataFrame:
    """Covariates as a DataFrame of ``n`` rows (empty when None), checked against ``expected``."""
    if covariates is None:
        frame = pd.DataFrame(index=range(n))
    elif isinstance(covariates, pd.DataFrame):
        frame = covariates.reset_index(drop=True)
    else:
        arr = np.asarray(covariates)
        arr = arr.reshape(n, -1) if arr.ndim == 1 else arr
        frame = pd.DataFrame(arr, columns=[f"c{i}" for i in range(arr.shape[1])])
    if len(frame) != n:
        msg = f"ComBat: covariates have {len(frame)} rows, X has {n}"
        raise AnalysisError(msg)
    if frame.isna().any().any():
        bad = frame.columns[frame.isna().any()].tolist()
        msg = f"ComBat: covariate column(s) {bad} have missing values"
        raise AnalysisError(msg)
    if expected is not None:
        missing = [c for c in expected if c not in frame.columns]
        if missing:
            msg = f"ComBat was fitted with covariates {expected}; missing here: {missing}"
            raise AnalysisError(msg)
        frame = frame[expected]
    return frame
