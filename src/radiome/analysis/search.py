"""The binary models of the default pipeline: an ensemble of model families, or a search among them.

:func:`ensemble_grid` is the ``param_grid`` of the default binary
:class:`~radiome.analysis.BiomarkerPipeline` (``search="ensemble"``): one model that averages the
probabilities of an L2 logistic regression, a random forest and extra trees on every feature.
On the 43 radMLBench tables (``benchmarks/radmlbench.md``) averaging the three families beat
choosing one of them by inner CV: with 50-300 patients the inner-CV AUCs of 22 grid points
differ mostly by noise, and picking their maximum picks noise, while the average of a linear
model and two forests is never far from the better of them.

:func:`model_search_grid` (``search="models"``) is the search among families: each grid point
names a model (the ``model`` key
replaces the pipeline's model), its hyper-parameters (``model__*``) and the number of features kept
by the ANOVA-F selector (``selector__k``). The inner cross-validation of every outer training fold
scores each point by its pooled out-of-fold AUC and keeps the best, so the choice of family is
part of the fitted pipeline and the outer folds judge it honestly.

The grid is small on purpose (22 points) and its cost is bounded, which is the search's time
budget: the random forest gets 100 trees and gradient boosting 50 iterations on 16 selected
features, the SVM and the elastic net see at most 64 features; every fit is single-threaded
(parallelism belongs to the outer folds). ``benchmarks/radmlbench.md`` gives the measured times:
on the 293-patient, 984-feature Hosny2018A table one outer fold (inner 5-fold search and refit)
takes about 45 s of one core on a shared machine, so 2 repeats of 5-fold nested CV took 3.8 min
with two outer folds in parallel on two cores (the linear grid: 5 repeats in 24 s).
"""

from __future__ import annotations

__all__ = ["LINEAR_GRID", "ensemble_grid", "model_label", "model_search_grid"]

#: The linear grid of radiome 0.x (L2 logistic regression only), kept for comparison.
LINEAR_GRID = {"selector__k": [8, 16, 32, 64, "all"], "model__C": [0.001, 0.01, 0.1, 1.0]}


def ensemble_grid(random_state: int = 0) -> list[dict]:
    """The default binary model: soft vote of three families on every feature (one grid point).

    Parameters
    ----------
    random_state : int, default 0
        Seed of the forests.

    Returns
    -------
    list of dict
        A one-point ``param_grid``: ``VotingClassifier(voting="soft")`` averaging the
        probabilities of an L2 logistic regression (C = 0.1), a random forest and extra trees
        (300 trees each, sqrt of the features per split), ANOVA-F selector keeping every feature.
        The inner CV of :class:`~radiome.analysis.BiomarkerPipeline` still chooses the
        classification threshold on out-of-fold probabilities.
    """
    from sklearn.ensemble import ExtraTreesClassifier, RandomForestClassifier, VotingClassifier
    from sklearn.linear_model import LogisticRegression

    vote = VotingClassifier(
        [
            ("logistic", LogisticRegression(C=0.1, max_iter=2000)),
            ("forest", RandomForestClassifier(n_estimators=300, random_state=random_state)),
            ("extra_trees", ExtraTreesClassifier(n_estimators=300, random_state=random_state)),
        ],
        voting="soft",
    )
    return [{"model": [vote], "selector__k": ["all"]}]


def model_search_grid(random_state: int = 0) -> list[dict]:
    """The default binary search: 22 (model, hyper-parameters, feature count) points.

    Parameters
    ----------
    random_state : int, default 0
        Seed of the random forest, of gradient boosting and of the SVM's Platt scaling.

    Returns
    -------
    list of dict
        A ``param_grid`` for :class:`~radiome.analysis.BiomarkerPipeline` (ANOVA-F selector):

        - L2 logistic regression, C in {0.01, 0.1, 1}, k in {8, 32, all};
        - L1 logistic regression (liblinear), C in {0.1, 1}, k in {32, all};
        - elastic-net logistic regression (saga, l1_ratio 0.5), C in {0.1, 1}, k = 64;
        - random forest (100 trees, sqrt of the features per split), k in {16, all};
        - gradient boosting (``HistGradientBoostingClassifier``: 50 iterations, learning rate
          0.1, at most 8 leaves of at least 5 cases), k = 16;
        - RBF support-vector machine (gamma "scale", probabilities by Platt scaling on a 3-fold
          split, ``CalibratedClassifierCV``), C in {1, 3}, k in {16, 64}.
    """
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.svm import SVC

    return [
        {
            "model": [LogisticRegression(max_iter=1000)],
            "model__C": [0.01, 0.1, 1.0],
            "selector__k": [8, 32, "all"],
        },
        {
            "model": [LogisticRegression(l1_ratio=1.0, solver="liblinear")],
            "model__C": [0.1, 1.0],
            "selector__k": [32, "all"],
        },
        {
            "model": [LogisticRegression(l1_ratio=0.5, solver="saga", max_iter=2000, tol=1e-3)],
            "model__C": [0.1, 1.0],
            "selector__k": [64],
        },
        {
            "model": [RandomForestClassifier(n_estimators=100, random_state=random_state)],
            "selector__k": [16, "all"],
        },
        {
            "model": [
                HistGradientBoostingClassifier(
                    learning_rate=0.1,
                    max_iter=50,
                    max_leaf_nodes=8,
                    min_samples_leaf=5,
                    early_stopping=False,
                    random_state=random_state,
                )
            ],
            "selector__k": [16],
        },
        {
            "model": [CalibratedClassifierCV(SVC(), cv=3, ensemble=False)],
            "model__estimator__C": [1.0, 3.0],
            "selector__k": [16, 64],
        },
    ]


def model_label(params: dict) -> str:
    """A short readable name of a grid point, e.g. ``"random forest, k=64"``."""
    model = params.get("model")
    name = _family(model) if model is not None else "model"
    tuned = [f"{k.rsplit('__', 1)[1]}={v}" for k, v in sorted(params.items()) if k != "model"]
    return ", ".join([name, *tuned])


def _family(model) -> str:
    """Family name of a search model."""
    kind = type(model).__name__
    if kind == "LogisticRegression":
        ratio = model.get_params()["l1_ratio"]
        return {0.0: "L2 logistic", 1.0: "L1 logistic"}.get(ratio, "elastic-net logistic")
    return {
        "RandomForestClassifier": "random forest",
        "HistGradientBoostingClassifier": "gradient boosting",
        "CalibratedClassifierCV": "RBF SVM",
        "VotingClassifier": "ensemble",
    }.get(kind, kind)
