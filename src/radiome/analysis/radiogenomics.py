"""Radiogenomics: image features against genomic variables, adjusted for confounders.

The association screen tests every (feature, genomic variable) pair with the confounders in
the model: ``g ~ 1 + confounders + f`` by least squares for a continuous genomic variable
(expression, signature score) and by logistic regression for a binary one (mutation, 0/1).
Features and continuous genomic variables are z-scored first, so an effect is the change in
SD of the genomic variable (linear) or the log odds ratio (logistic) per SD of the feature.
The false discovery rate is controlled by Benjamini-Hochberg over the whole matrix of pairs;
optionally the family-wise error rate by the permutation distribution of the smallest p-value
(Westfall-Young single step, permuting the features' residuals on the confounders).

The screen is vectorised: least squares by the Frisch-Waugh-Lovell theorem (features and
genomic variables residualised on the confounders once, then one matrix product), logistic
regression by Newton-Raphson on all features of a genomic variable at once. Pairs with a
missing value are fitted one by one with statsmodels on their complete rows; the tests check
the vectorised fits against statsmodels' ``OLS`` and ``Logit``.

Prediction of a genomic label from the features (:func:`predict_genomic`) runs the
penalised model of :mod:`radiome.analysis.penalized`, with the confounders unpenalised, inside
the leak-free :func:`~radiome.analysis.nested_cv`.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats
from scipy.special import expit

from radiome.errors import AnalysisError, AnalysisWarning

__all__ = [
    "RadiogenomicData",
    "association_screen",
    "load_radiogenomics",
    "predict_genomic",
]

_TRUE = {"1", "true", "yes", "1.0"}
_FALSE = {"0", "false", "no", "0.0"}
_MAX_ITER = 50
_TOL = 1e-8


@dataclass(frozen=True)
class RadiogenomicData:
    """Features, genomic variables and confounders of the patients in both tables.

    Attributes
    ----------
    features : DataFrame
        Numeric image features by ID (NaN where missing).
    genomics : DataFrame
        Genomic variables by ID: binary ones coded 0/1, continuous ones as given (NaN where
        missing).
    confounders : DataFrame
        Design columns of the confounders by ID (numeric as given; a categorical confounder
        one-hot coded without its first level, named ``name[level]``); no missing value.
    binary : tuple of str
        The binary genomic variables.
    """

    features: pd.DataFrame
    genomics: pd.DataFrame
    confounders: pd.DataFrame
    binary: tuple = ()


def load_radiogenomics(features, genomics, *, id_col: str, confounders=(),
                       inner: bool = False) -> RadiogenomicData:
    """Read a feature table and a genomic table (CSV or Parquet) joined on ``id_col``.

    Parameters
    ----------
    features : path
        Wide table (one row per patient, e.g. ``radiome export --wide``) or long radiome table.
    genomics : path
        One row per patient: genes, mutations (0/1, True/False, yes/no) or expression
        signatures, plus ``id_col``.
    id_col : str
    confounders : sequence of str
        Columns of either table (not both) adjusted for, e.g. ``("age", "sex", "site")``.
    inner : bool, default False
        Keep the patients in both tables (with a warning) when some are in one only; by default
        that is an error.

    Raises
    ------
    AnalysisError
        IDs in one table only (unless ``inner``; counts and examples of each side), no common
        ID, a confounder missing, in both tables or with missing values, a non-numeric feature
        or genomic column.
    """
    from radiome.analysis.tables import _LABELS, infinite_as_missing, read_features

    feat = read_features(features, id_col=id_col).table
    gen = read_features(genomics, id_col=id_col).table
    _check_ids(feat.index, gen.index, features, genomics, inner)
    ids = feat.index.intersection(gen.index, sort=False)
    feat, gen = feat.loc[ids], gen.loc[ids]
    design = _confounders(list(confounders), feat, gen, features, genomics)
    feat = feat.drop(columns=[c for c in feat.columns
                              if c in confounders or str(c).lower() in _LABELS])
    gen = gen.drop(columns=[c for c in gen.columns if c in confounders])
    bad = [c for c in feat.columns if not pd.api.types.is_numeric_dtype(feat[c])]
    if bad:
        msg = (f"{features}: non-numeric feature column(s) {bad[:5]}; drop them or name them "
               "as confounders")
        raise AnalysisError(msg)
    if feat.shape[1] == 0 or gen.shape[1] == 0:
        empty = features if feat.shape[1] == 0 else genomics
        msg = f"{empty}: no feature or genomic column left besides {id_col!r} and the confounders"
        raise AnalysisError(msg)
    genomic, binary = _genomic_columns(gen, genomics)
    feat = infinite_as_missing(feat.astype(np.float64), str(features))
    return RadiogenomicData(feat, genomic, design, binary)


def _check_ids(left: pd.Index, right: pd.Index, left_path, right_path, inner: bool) -> None:
    """Raise (or warn, when ``inner``) about IDs present in one table only."""
    only = [(left.difference(right), left_path), (right.difference(left), right_path)]
    common = len(left.intersection(right))
    if common == 0:
        msg = f"{left_path} and {right_path}: no ID in common"
        raise AnalysisError(msg)
    parts = [f"{len(ids)} ID(s) only in {path} (e.g. {', '.join(map(repr, ids[:3]))})"
             for ids, path in only if len(ids)]
    if not parts:
        return
    if not inner:
        msg = (f"{'; '.join(parts)}; {common} in both: fix the tables or pass --inner (inner=True) "
               "to analyse those")
        raise AnalysisError(msg)
    warnings.warn(f"{'; '.join(parts)}: left out, {common} analysed", AnalysisWarning,
                  stacklevel=3)


def _confounders(names: list[str], feat: pd.DataFrame, gen: pd.DataFrame, feat_path,
                 gen_path) -> pd.DataFrame:
    """The confounders' design columns (categorical ones one-hot, first level dropped)."""
    both = [c for c in names if c in feat.columns and c in gen.columns]
    absent = [c for c in names if c not in feat.columns and c not in gen.columns]
    if both or absent:
        msg = (f"{feat_path}, {gen_path}: confounder(s) {both} are in both tables (drop one)"
               if both else f"{feat_path}, {gen_path}: confounder(s) {absent} in neither table")
        raise AnalysisError(msg)
    table = pd.DataFrame({c: (feat if c in feat.columns else gen)[c] for c in names},
                         index=feat.index)
    missing = [c for c in names if table[c].isna().any()]
    if missing:
        msg = f"{feat_path}, {gen_path}: confounder(s) {missing} have missing values"
        raise AnalysisError(msg)
    columns = []
    for name in names:
        values = table[name]
        if pd.api.types.is_numeric_dtype(values) and values.nunique() > 2:
            columns.append(values.astype(np.float64).rename(name))
            continue
        levels = sorted(values.astype(str).unique())
        columns += [(values.astype(str) == level).astype(np.float64).rename(f"{name}[{level}]")
                    for level in levels[1:]]
    return pd.concat(columns, axis=1) if columns else pd.DataFrame(index=feat.index)


def _genomic_columns(gen: pd.DataFrame, path) -> tuple[pd.DataFrame, tuple]:
    """(numeric genomic table with binary columns coded 0/1, names of the binary columns)."""
    out, binary, bad = {}, [], []
    for column in gen.columns:
        values = gen[column]
        text = values.dropna().astype(str).str.strip().str.lower()
        if set(text) <= _TRUE | _FALSE and text.nunique() == 2:
            out[column] = values.map(lambda v: np.nan if pd.isna(v)
                                     else float(str(v).strip().lower() in _TRUE))
            binary.append(column)
        elif pd.api.types.is_numeric_dtype(values):
            out[column] = values.astype(np.float64)
        else:
            bad.append(column)
    if bad:
        msg = (f"{path}: non-numeric genomic column(s) {bad[:5]}; code mutations 0/1 (or "
               "True/False) and name clinical columns as confounders")
        raise AnalysisError(msg)
    return pd.DataFrame(out, index=gen.index), tuple(binary)


def association_screen(features: pd.DataFrame, genomics: pd.DataFrame,
                       confounders: pd.DataFrame | None = None, *, binary=None,
                       fdr: float = 0.05, n_permutations: int = 0, level: float = 0.95,
                       random_state: int = 0) -> pd.DataFrame:
    """Every (feature, genomic variable) association adjusted for confounders, with FDR q-values.

    Parameters
    ----------
    features : (n, J) DataFrame
        Image features (NaN where missing).
    genomics : (n, K) DataFrame
        Genomic variables, binary ones coded 0/1 (NaN where missing).
    confounders : (n, c) DataFrame, optional
        Numeric design columns (see :func:`load_radiogenomics`), no missing value.
    binary : sequence of str, optional
        Genomic columns fitted by logistic regression; default: those whose values are all 0/1.
    fdr : float, default 0.05
        Benjamini-Hochberg level of the ``significant`` column.
    n_permutations : int, default 0
        Permutations of the family-wise p-value ``p_fwer`` (0: not computed).
    level : float, default 0.95
        Confidence level of the intervals.
    random_state : int, default 0

    Returns
    -------
    DataFrame
        One row per pair, by increasing p: ``feature, genomic, effect, ci_low, ci_high, p, q``,
        then ``model`` ("ols" or "logit"), ``n`` (complete cases), ``significant`` (q <=
        ``fdr``) and, with permutations, ``p_fwer``. OLS intervals and p-values are t-based
        (n - c - 2 degrees of freedom), logistic ones Wald (normal), as statsmodels'. A pair
        whose logistic fit does not converge (separation) or whose feature is constant gets
        NaN and is left out of the FDR correction.
    """
    from statsmodels.stats.multitest import multipletests

    F, G, Z, is_binary = _standardised(features, genomics, confounders, binary)
    n, df = F.shape[0], F.shape[0] - Z.shape[1] - 1
    if df < 2:
        msg = f"association screen: {n} cases are too few for {Z.shape[1] - 1} confounder columns"
        raise AnalysisError(msg)
    effect, se, p, n_used = (np.full((F.shape[1], G.shape[1]), np.nan) for _ in range(4))
    f_ok, g_ok = ~np.isnan(F).any(0), ~np.isnan(G).any(0)
    Q = np.linalg.qr(Z)[0]
    RF = _residual(Q, F[:, f_ok])
    fast_ols, fast_logit = g_ok & ~is_binary, g_ok & is_binary
    block = np.ix_(f_ok, fast_ols)
    effect[block], se[block], p[block] = _ols(RF, _residual(Q, G[:, fast_ols]), df)
    for k in np.flatnonzero(fast_logit):
        effect[f_ok, k], se[f_ok, k], p[f_ok, k] = _logit_batch(G[:, k], Z, F[:, f_ok])
    n_used[np.ix_(f_ok, g_ok)] = n
    for j, k in zip(*np.nonzero(~(f_ok[:, None] & g_ok[None, :])), strict=True):
        effect[j, k], se[j, k], p[j, k], n_used[j, k] = _pair(F[:, j], G[:, k], Z,
                                                                bool(is_binary[k]))
    crit = np.where(is_binary[None, :], stats.norm.ppf(0.5 + level / 2),
                    stats.t.ppf(0.5 + level / 2, n_used - Z.shape[1] - 1))
    q = np.full(p.shape, np.nan)
    finite = np.isfinite(p)
    if finite.any():
        q[finite] = multipletests(p[finite], method="fdr_bh")[1]
    table = pd.DataFrame({
        "feature": np.repeat(np.asarray(features.columns, dtype=object), G.shape[1]),
        "genomic": np.tile(np.asarray(genomics.columns, dtype=object), F.shape[1]),
        "effect": effect.ravel(),
        "ci_low": (effect - crit * se).ravel(),
        "ci_high": (effect + crit * se).ravel(),
        "p": p.ravel(),
        "q": q.ravel(),
        "model": np.tile(np.where(is_binary, "logit", "ols"), F.shape[1]),
        "n": n_used.ravel().astype(int),
        "significant": (q <= fdr).ravel(),
    })
    if n_permutations:
        table["p_fwer"] = _permutation_fwer(
            RF, G, Z, Q, is_binary, f_ok, g_ok, p, n_permutations, random_state
        ).ravel()
    return table.sort_values(["p", "feature", "genomic"], na_position="last",
                             kind="stable").reset_index(drop=True)


def _standardised(features, genomics, confounders, binary):
    """(z-scored F, G with continuous columns z-scored, design Z with intercept, binary mask)."""
    if len(features) != len(genomics) or (confounders is not None
                                          and len(confounders) != len(features)):
        msg = "association screen: features, genomics and confounders need the same rows"
        raise AnalysisError(msg)
    F = np.asarray(features, dtype=np.float64)
    G = np.asarray(genomics, dtype=np.float64)
    names = list(genomics.columns)
    if binary is None:
        is_binary = np.array([np.isin(G[~np.isnan(G[:, k]), k], (0.0, 1.0)).all()
                              for k in range(G.shape[1])])
    else:
        unknown = sorted(set(binary) - set(names), key=str)
        if unknown:
            msg = f"association screen: binary column(s) {unknown} are not genomic columns"
            raise AnalysisError(msg)
        is_binary = np.isin(names, list(binary))
    with np.errstate(invalid="ignore", divide="ignore"):
        F = (F - np.nanmean(F, 0)) / np.nanstd(F, 0)
        cont = ~is_binary
        G[:, cont] = (G[:, cont] - np.nanmean(G[:, cont], 0)) / np.nanstd(G[:, cont], 0)
    C = np.empty((F.shape[0], 0)) if confounders is None else np.asarray(confounders, np.float64)
    return F, G, np.column_stack([np.ones(F.shape[0]), C]), is_binary


def _residual(Q: np.ndarray, A: np.ndarray) -> np.ndarray:
    """Residuals of the columns of ``A`` on the orthonormal basis ``Q`` of the confounders."""
    return A - Q @ (Q.T @ A)


def _ols(RF: np.ndarray, RG: np.ndarray, df: int):
    """(effect, se, p) of every pair from residualised features and outcomes (FWL)."""
    sff = (RF * RF).sum(0)[:, None]
    with np.errstate(invalid="ignore", divide="ignore"):
        beta = (RF.T @ RG) / sff
        rss = np.maximum((RG * RG).sum(0)[None, :] - beta**2 * sff, 0.0)
        se = np.sqrt(rss / df / sff)
        degenerate = sff < 1e-10 * RF.shape[0]
        beta[degenerate[:, 0]], se[degenerate[:, 0]] = np.nan, np.nan
        p = 2 * stats.t.sf(np.abs(beta / se), df)
    return beta, se, p


def _logit_batch(g: np.ndarray, Z: np.ndarray, F: np.ndarray):
    """(effect, se, p) of ``logit P(g) = Z a + b f_j`` for every column ``f_j`` of ``F`` at once.

    Newton-Raphson on the stack of designs ``[Z, f_j]``; NaN where it does not converge.
    """
    J, n, k = F.shape[1], F.shape[0], Z.shape[1] + 1
    nan = np.full(J, np.nan)
    mean = g.mean()
    if not 0 < mean < 1:
        return nan, nan, nan
    X = np.empty((J, n, k))
    X[:, :, :-1], X[:, :, -1] = Z, F.T
    Xt = X.transpose(0, 2, 1)
    beta = np.zeros((J, k))
    beta[:, 0] = np.log(mean / (1 - mean))
    done = np.zeros(J, dtype=bool)
    for _ in range(_MAX_ITER):
        mu = expit(np.matmul(X, beta[:, :, None])[:, :, 0])
        info = np.matmul(Xt, X * (mu * (1 - mu))[:, :, None])
        step = np.matmul(_inverse(info), np.matmul(Xt, (g - mu)[:, :, None]))[:, :, 0]
        beta += np.where(done[:, None], 0.0, step)
        done |= np.abs(step).max(1) < _TOL
        if done.all():
            break
    mu = expit(np.matmul(X, beta[:, :, None])[:, :, 0])
    cov = _inverse(np.matmul(Xt, X * (mu * (1 - mu))[:, :, None]))
    with np.errstate(invalid="ignore"):
        se = np.where(done, np.sqrt(cov[:, -1, -1]), np.nan)
        effect = np.where(done, beta[:, -1], np.nan)
        return effect, se, 2 * stats.norm.sf(np.abs(effect / se))


def _inverse(info: np.ndarray) -> np.ndarray:
    """Inverses of a stack of matrices; NaN for a singular or non-finite one."""
    finite = np.isfinite(info).all(axis=(1, 2))
    if finite.all():
        try:
            return np.linalg.inv(info)
        except np.linalg.LinAlgError:
            pass
    out = np.full(info.shape, np.nan)
    for j in np.flatnonzero(finite):
        try:
            out[j] = np.linalg.inv(info[j])
        except np.linalg.LinAlgError:
            continue
    return out


def _pair(f: np.ndarray, g: np.ndarray, Z: np.ndarray, binary: bool):
    """(effect, se, p, n) of one pair on its complete rows, by statsmodels (missing values)."""
    import statsmodels.api as sm
    from statsmodels.tools.sm_exceptions import PerfectSeparationWarning

    rows = ~(np.isnan(f) | np.isnan(g))
    n = int(rows.sum())
    X = np.column_stack([Z[rows], f[rows]])
    if n - X.shape[1] < 2 or np.linalg.matrix_rank(X) < X.shape[1]:
        return np.nan, np.nan, np.nan, n
    if not binary:
        fit = sm.OLS(g[rows], X).fit()
        return fit.params[-1], fit.bse[-1], fit.pvalues[-1], n
    if np.unique(g[rows]).size < 2:
        return np.nan, np.nan, np.nan, n
    with warnings.catch_warnings():
        warnings.simplefilter("error", PerfectSeparationWarning)
        try:
            fit = sm.Logit(g[rows], X).fit(disp=0, maxiter=_MAX_ITER)
        except (PerfectSeparationWarning, np.linalg.LinAlgError):
            return np.nan, np.nan, np.nan, n
    if not fit.mle_retvals["converged"]:
        return np.nan, np.nan, np.nan, n
    return fit.params[-1], fit.bse[-1], fit.pvalues[-1], n


def _permutation_fwer(RF, G, Z, Q, is_binary, f_ok, g_ok, p, n_permutations, seed):
    """Family-wise p-values: share of permutations whose smallest p is <= each pair's p.

    Each permutation shuffles the rows of the features' residuals on the confounders
    (Kennedy), re-residualises them and refits every complete pair. Pairs with missing values
    are not permuted: their ``p_fwer`` is NaN (warned).
    """
    rng = np.random.default_rng(seed)
    df = RF.shape[0] - Z.shape[1] - 1
    cont, binary = g_ok & ~is_binary, g_ok & is_binary
    RG = _residual(Q, G[:, cont])
    smallest = np.empty(n_permutations)
    for b in range(n_permutations):
        RP = _residual(Q, RF[rng.permutation(RF.shape[0])])
        found = [np.nanmin(_ols(RP, RG, df)[2], initial=1.0)] if cont.any() else []
        found += [np.nanmin(_logit_batch(G[:, k], Z, RP)[2], initial=1.0)
                  for k in np.flatnonzero(binary)]
        smallest[b] = min(found, default=1.0)
    complete = f_ok[:, None] & g_ok[None, :]
    if not complete.all():
        warnings.warn(
            f"association screen: {int((~complete).sum())} pair(s) with missing values get no "
            "permutation p-value (p_fwer NaN)", AnalysisWarning, stacklevel=3,
        )
    counts = (smallest[None, None, :] <= p[:, :, None]).sum(-1)
    return np.where(complete & np.isfinite(p), (1 + counts) / (n_permutations + 1), np.nan)


#: Penalty strengths the inner CV of :func:`predict_genomic` chooses from (glum's ``alpha``).
ALPHAS = (0.2, 0.1, 0.05, 0.02, 0.01)


def predict_genomic(
    data: RadiogenomicData,
    label: str,
    *,
    l1_ratio: float = 0.5,
    alphas=ALPHAS,
    n_splits: int = 5,
    n_repeats: int = 5,
    n_boot: int = 1000,
    random_state: int = 0,
    n_jobs: int = 1,
    progress=None,
) -> tuple[dict, pd.DataFrame]:
    """Nested-CV prediction of a genomic label from the features, confounders unpenalised.

    The pipeline (median imputer, scaler, then
    :class:`~radiome.analysis.penalized.PenalizedLogistic` for a binary label or
    :class:`~radiome.analysis.penalized.PenalizedRegression` for a continuous one, with the
    confounders' columns first and unpenalised) is fitted on every outer training fold by
    :func:`~radiome.analysis.nested_cv`, its penalty ``alpha`` chosen by inner CV (AUC or R^2).

    Parameters
    ----------
    data : RadiogenomicData
    label : str
        A genomic column (binary or continuous); patients with a missing label are left out.
    l1_ratio : float, default 0.5
        Elastic-net mixing (1: lasso).
    alphas : sequence of float
        Penalty strengths of the inner CV.
    n_splits, n_repeats, n_boot, random_state, n_jobs, progress
        As :func:`~radiome.analysis.nested_cv` and :meth:`~radiome.analysis.CVResult.summary`.

    Returns
    -------
    (dict, DataFrame)
        The summary of :meth:`CVResult.summary` (binary: AUC with its CI, calibration, ...;
        continuous: R^2 with its CI) plus
        ``label``, ``n_features``, ``confounders``, ``alphas_chosen`` and
        ``selected_features`` (chosen in at least half of the outer folds); and the stability
        table: ``feature``, ``selection_frequency`` (share of the outer folds whose model
        kept the feature), ``mean_coefficient`` (over all outer folds, per SD), sorted by
        frequency.
    """
    from sklearn.impute import SimpleImputer
    from sklearn.preprocessing import StandardScaler

    from radiome.analysis.penalized import PenalizedLogistic, PenalizedRegression
    from radiome.analysis.pipeline import BiomarkerPipeline
    from radiome.analysis.validation import nested_cv

    if label not in data.genomics.columns:
        msg = f"predict_genomic: {label!r} is not a genomic column ({list(data.genomics)[:5]})"
        raise AnalysisError(msg)
    rows = data.genomics[label].notna().to_numpy()
    n_conf = data.confounders.shape[1]
    X = pd.concat([data.confounders, data.features], axis=1).loc[rows]
    pipeline = BiomarkerPipeline(
        imputer=SimpleImputer(strategy="median", keep_empty_features=True),
        scaler=StandardScaler(),
        model=(PenalizedLogistic if label in data.binary else PenalizedRegression)(
            l1_ratio=l1_ratio, n_unpenalized=n_conf),
        param_grid={"model__alpha": list(alphas)},
        random_state=random_state,
    )
    result = nested_cv(
        pipeline, X, data.genomics.loc[rows, label].to_numpy(), n_splits=n_splits,
        n_repeats=n_repeats, random_state=random_state, n_jobs=n_jobs, progress=progress,
        return_estimator=True,
    )
    fitted = [model for repeat in result.estimators for model in repeat]
    coefs = np.vstack([model.model_.coef_[n_conf:] for model in fitted])
    stability = pd.DataFrame({
        "feature": data.features.columns,
        "selection_frequency": (coefs != 0).mean(axis=0),
        "mean_coefficient": coefs.mean(axis=0),
    }).sort_values(["selection_frequency", "feature"], ascending=[False, True], kind="stable")
    summary = {
        "label": label,
        "n_features": int(data.features.shape[1]),
        "confounders": list(data.confounders.columns),
        **result.summary(n_boot=n_boot, random_state=random_state),
        "alphas_chosen": [point["model__alpha"] for repeat in result.params for point in repeat],
        "selected_features": stability.loc[stability["selection_frequency"] >= 0.5,
                                           "feature"].tolist(),
    }
    return summary, stability.reset_index(drop=True)
