"""radiome's default binary model on the 43 radMLBench tables, beside the paper and earlier defaults.

Usage (from the repository root; ``make bench-models`` runs this):

    .venv/bin/python benchmarks/radmlbench.py [--data ../shared/data/radmlbench]
        [--out benchmarks/radmlbench.md] [--repeats 5] [--folds 5] [--jobs 2] [--resume]

Every table is read exactly as ``radiome model evaluate TABLE --id ID --outcome Target`` reads it
(:func:`radiome.analysis.load_cohort`) and evaluated with :func:`radiome.analysis.evaluate`: the
default pipeline (StandardScaler -> the average of an L2 logistic regression, a random forest
and extra trees, :func:`radiome.analysis.ensemble_grid`) in a repeated, stratified 5-fold outer
CV; AUC = mean over repeats of the pooled out-of-fold AUC, 95 % CI by a bootstrap over patients.
The published value is the radMLBench paper's figure S1 mean AUC of the best of 616 pipelines,
chosen on the same CV that scored it. The two earlier defaults are shown beside it: the 22-point
search among families (``--search models``) from ``benchmarks/radmlbench_models.csv`` (its run of
2026-12-05, 2 repeats) and the L2 logistic regression only (``--search linear``) from
``benchmarks/radmlbench_linear.csv`` (its run of 2026-11-24, 5 repeats).

Each finished table is appended to ``--partial`` (CSV); ``--resume`` skips the tables found
there and ``--report-only`` writes the report from it without running anything.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[1]
FAR_BELOW = 0.10  # radiome AUC lower than the published one by more than this is discussed


def _machine() -> str:
    cpu = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        names = [
            line.split(":", 1)[1].strip()
            for line in cpuinfo.read_text().splitlines()
            if line.startswith("model name")
        ]
        cpu = names[0] if names else cpu
    python = platform.python_version()
    return f"{cpu}, {os.cpu_count()} logical cores, Python {python}, {platform.system()}"


def _versions() -> str:
    import lifelines
    import numpy
    import sklearn
    import sksurv

    return (
        f"numpy {numpy.__version__}, pandas {pd.__version__}, scikit-learn {sklearn.__version__}, "
        f"scikit-survival {sksurv.__version__}, lifelines {lifelines.__version__}"
    )


def forest_check(cohort, seed: int, jobs: int) -> float:
    """AUC of an untuned random forest on all features, pooled over one stratified 5-fold CV.

    A diagnostic for datasets where radiome's linear default is far below the paper: no
    selection and no tuning, so no optimism, but a non-linear model.
    """
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    forest = RandomForestClassifier(n_estimators=300, random_state=seed, n_jobs=jobs)
    cv = StratifiedKFold(5, shuffle=True, random_state=seed)
    prob = cross_val_predict(forest, cohort.X, cohort.y, cv=cv, method="predict_proba")[:, 1]
    return float(roc_auc_score(cohort.y, prob))


def run(data: Path, names: list[str], args) -> pd.DataFrame:
    """One row per dataset: n, features, radiome AUC and CI, seconds (appended to --partial)."""
    from radiome.analysis import evaluate, load_cohort
    from radiome.analysis.search import model_label

    rows = []
    for name in names:
        start = time.perf_counter()
        cohort = load_cohort(data / "datasets" / f"{name}.gz", id_col="ID", outcome="Target")
        summary, result = evaluate(
            cohort,
            n_splits=args.folds,
            n_repeats=args.repeats,
            n_boot=args.n_boot,
            random_state=args.seed,
            n_jobs=args.jobs,
        )
        seconds = time.perf_counter() - start
        published = args.published.set_index("dataset").loc[name, "paper_auc_mean"]
        forest = (
            forest_check(cohort, args.seed, args.jobs)
            if summary["auc"] < published - FAR_BELOW
            else None
        )
        chosen = pd.Series([model_label(p) for fold in result.params for p in fold])
        families = chosen.str.split(",").str[0].value_counts()
        rows.append(
            {
                "dataset": name,
                "n": summary["n"],
                "features": summary["n_features"],
                "auc": summary["auc"],
                "auc_ci_low": summary["auc_ci_low"],
                "auc_ci_high": summary["auc_ci_high"],
                "auc_sd_repeats": summary["auc_sd_repeats"],
                "most_chosen": chosen.value_counts().index[0],
                "families": "; ".join(f"{k} {v}" for k, v in families.items()),
                "seconds": seconds,
                "n_positive": summary["n_positive"],
                "forest_auc": forest,
            }
        )
        pd.DataFrame(rows[-1:]).to_csv(
            args.partial, mode="a", header=not args.partial.exists(), index=False
        )
        print(
            f"{name:30s} n={summary['n']:4d} p={summary['n_features']:5d} "
            f"AUC {summary['auc']:.3f} ({summary['auc_ci_low']:.3f}-{summary['auc_ci_high']:.3f}) "
            f"{seconds:5.1f} s",
            flush=True,
        )
    return pd.DataFrame(rows)


_INTRO = """\
# radiome on radMLBench: the default ensemble vs. the model search vs. the linear model vs. the published AUCs

Generated by `{command}` on {date} UTC.

- Machine: {machine}; `--jobs {jobs}` (outer folds in parallel); load average at start {load}
  (the machine was shared with other jobs: times are wall times under that load).
- Libraries: {versions}.
- Total wall time {total:.1f} min; per dataset {fastest:.1f}-{slowest:.1f} s
  (median {median:.1f} s), including the random-forest check of the datasets far below the paper.

## What was run

Each table is read as `radiome model evaluate DATASET.gz --id ID --outcome Target` reads it and
evaluated by radiome's default leak-free pipeline: median imputer -> StandardScaler -> model.
The **default model ("ensemble", this run)** averages the probabilities of an L2 logistic
regression (C = 0.1), a random forest and extra trees (300 trees each) on every feature
(`radiome.analysis.ensemble_grid()`); the inner 5-fold CV of every outer training fold gives
the out-of-fold probabilities on which the classification threshold is chosen.

"Search" is the previous default (`--search models`, its run of 2026-12-05 with 2 repeats,
`benchmarks/radmlbench_models.csv`): ANOVA-F top-k -> model, where the **inner CV chooses the
model family, its hyper-parameters and k** among the {n_points} points of
`radiome.analysis.model_search_grid()`: L2 logistic regression
(C in {{0.01, 0.1, 1}}, k in {{8, 32, all}}), L1 logistic (C in {{0.1, 1}}, k in {{32, all}}),
elastic-net logistic (l1_ratio 0.5, C in {{0.1, 1}}, k = 64), random forest (100 trees, k in
{{16, all}}), gradient boosting (HistGradientBoosting, 50 iterations, at most 8 leaves, k = 16)
and RBF SVM (Platt-scaled, C in {{1, 3}}, k in {{16, 64}}). The choice is made by the pooled
out-of-fold AUC of a stratified 5-fold inner CV of every outer training fold, so the outer folds
judge the whole search. Outer CV (this run): stratified {folds}-fold, {repeats} repeat(s),
seed {seed}.
radiome AUC = mean over repeats of the AUC of the pooled out-of-fold predictions; 95 % CI =
percentile bootstrap over patients ({n_boot} resamples) of that repeat mean.

"Linear" is the first default (L2 logistic regression only, k in {{8, 16, 32, 64, all}} and
C in {{0.001, 0.01, 0.1, 1}}), from its run of 2026-11-24 with 5 repeats of the same outer CV
(`benchmarks/radmlbench_linear.csv`).

Published = the radMLBench paper's figure S1 (no decorrelation): mean over 30 repeats of 10-fold
CV of the best of 616 pipelines (4 selectors x 7 feature counts x 22 classifier settings), the
best chosen on the same CV that scores it, hence optimistic; its CI is a t-interval over repeats
(CV noise only, hence the very narrow intervals). A leak-free estimate is expected at or somewhat
below it, with a much wider interval.

"pct" is the share of upstream's 616 pipelines, each scored honestly in upstream's single
10-fold CV run (`results/trials_1x10cv_may2024.csv.gz`, no decorrelation), that the AUC beats;
"upstream median / max" are their median and maximum AUC.

## Quirks of the tables (from the data README)

- The columns are the features, then `ID`, then `Target` (the last two columns); radiome's
  reader takes them by name.
- `Target` is `True`/`False` in Fusco2022 and Wang2024 (0/1 elsewhere); the reader maps
  True/False, yes/no and 1/0.
- Upstream mean-imputed missing values, replaced mostly-missing or constant columns by N(0, 1)
  noise and z-scored every feature using all rows, before any split. That small leak cannot be
  undone here; radiome's scaler inside the folds is then almost a no-op.
- Zhang2023 has one row per lesion and no patient key, so its CV cannot be grouped by patient
  (its AUC may be optimistic if patients have several lesions). Deng2023 and Huang2023 merge the
  source studies' train/test (and external) sets.
- Seven upstream tables (>= 4 MiB) are not in this copy.

## Results

| dataset | n | features | ensemble AUC (95% CI) | search AUC | linear AUC \
| published AUC (95% CI) | ensemble - published | search - published | linear - published \
| upstream median / max | pct ensemble | pct search | pct linear | time (s) |
|---|---:|---:|---|---:|---:|---|---:|---:|---:|---|---:|---:|---:|---:|
"""

_SUMMARY = """
## Summary

| | ensemble (this run, default) | search (22 points) | linear | goal |
|---|---:|---:|---:|---:|
| datasets | {count} | {count} | {count} | 43 |
| mean difference to published | {mean:+.3f} | {mod_mean:+.3f} | {lin_mean:+.3f} | >= -0.050 |
| median difference to published | {median:+.3f} | {mod_median:+.3f} | {lin_median:+.3f} | |
| median pct of the 616 upstream pipelines | {pct_median:.0f} % | {mod_pct_median:.0f} % | \
{lin_pct_median:.0f} % | >= 75 % |
| at or above published / < 0.05 below / 0.05-0.10 below / > 0.10 below | \
{above} / {near} / {somewhat} / {far} | {mod_above} / {mod_near} / {mod_somewhat} / {mod_far} | \
{lin_above} / {lin_near} / {lin_somewhat} / {lin_far} | |
| published mean inside radiome's 95 % CI | {inside} | {mod_inside} | {lin_inside} | |
| mean width of the 95 % CI | {width:.3f} | {mod_width:.3f} | {lin_width:.3f} | |
| total wall time (2 repeats on 2 cores for ensemble and search) | {total:.1f} min | \
{mod_total:.1f} min | | |

- Ensemble minus search, per dataset: mean {gain:+.3f}, median {gain_median:+.3f}; the ensemble
  is better on {better} and worse on {worse} of {count} tables.
- Goals: mean difference >= -0.05 {goal_mean}; median pct >= 75 % {goal_pct}.
- AUCs clearly below 0.5 are not a sign error: with no signal, stratified cross-validation is
  biased downwards (a case held out shifts the training class means away from it; Parker,
  Guenter & Bedo, BMC Bioinformatics 2007;8:326). They mark tables with nothing to find.

## Datasets more than {threshold:.2f} below the published AUC (ensemble)

"""


def _upstream(data: Path, results: pd.DataFrame) -> pd.DataFrame:
    """Median and max AUC of upstream's 616 pipelines (1x10 CV) and radiome's percentile."""
    trials = pd.read_csv(data / "results" / "trials_1x10cv_may2024.csv.gz")
    trials = trials[trials["decorrelation_threshold"] == 1.0]
    rows = []
    for r in results.itertuples(index=False):
        auc = trials.loc[trials["dataset"] == r.dataset, "auc_pooled_1x10cv"]
        rows.append(
            {
                "dataset": r.dataset,
                "up_median": auc.median(),
                "up_max": auc.max(),
                "pct": 100.0 * (auc < r.auc).mean(),
            }
        )
    return pd.DataFrame(rows)


def _reasons(r) -> str:
    """Why radiome is far below the paper on one dataset (one sentence, from the run)."""
    reasons = [
        f"the published value is the best of 616 pipelines; their median is {r.up_median:.3f} and "
        f"radiome beats {r.pct:.0f} % of them"
    ]
    if r.auc_ci_low < 0.5:
        where = "lies below 0.5" if r.auc_ci_high < 0.5 else "contains 0.5"
        reasons.append(f"no signal a leak-free estimate can confirm (radiome's 95 % CI {where})")
    if pd.notna(r.forest_auc) and r.forest_auc >= max(r.auc + 0.05, 0.6):
        reasons.append(
            f"non-linear signal: an untuned random forest on all features (300 trees, one "
            f"5-fold CV) reaches {r.forest_auc:.3f}, more than the search's choice (the inner "
            "CV's choice among 22 points on this few cases is noisy)"
        )
    elif pd.notna(r.forest_auc):
        verdict = (
            f"finds nothing either ({r.forest_auc:.3f})"
            if r.forest_auc < 0.55
            else f"reaches only {r.forest_auc:.3f}, near chance"
            if r.forest_auc < 0.6
            else f"reaches {r.forest_auc:.3f}, no better than the search"
        )
        reasons.append(f"an untuned random forest on all features {verdict}")
    return "; ".join(reasons)


def _compare(m: pd.DataFrame, prefix: str) -> dict:
    """Summary numbers of one column set (``""``: this run; ``"mod_"``: the model search;
    ``"lin_"``: the linear model)."""
    diff, auc = m[f"{prefix}diff"], m[f"{prefix}auc"]
    return {
        f"{prefix}mean": diff.mean(),
        f"{prefix}median": diff.median(),
        f"{prefix}pct_median": m[f"{prefix}pct"].median(),
        f"{prefix}above": int((diff >= 0).sum()),
        f"{prefix}near": int(diff.between(-0.05, 0, "left").sum()),
        f"{prefix}somewhat": int(diff.between(-FAR_BELOW, -0.05, "left").sum()),
        f"{prefix}far": int((diff < -FAR_BELOW).sum()),
        f"{prefix}inside": int(
            m["paper_auc_mean"].between(m[f"{prefix}auc_ci_low"], m[f"{prefix}auc_ci_high"]).sum()
        ),
        f"{prefix}width": (m[f"{prefix}auc_ci_high"] - m[f"{prefix}auc_ci_low"]).mean(),
        f"{prefix}auc_mean": auc.mean(),
    }


def report(results: pd.DataFrame, published: pd.DataFrame, args, command: str, wall: float) -> str:
    """The Markdown report."""
    from sklearn.model_selection import ParameterGrid

    from radiome.analysis.search import model_search_grid

    m = results.merge(published, on="dataset", how="left")
    m["diff"] = m["auc"] - m["paper_auc_mean"]
    m = m.merge(_upstream(args.data, results), on="dataset", how="left")
    earlier = {"mod_": pd.read_csv(args.models), "lin_": pd.read_csv(args.linear)}
    for prefix, frame in earlier.items():
        frame = frame.rename(columns={c: f"{prefix}{c}" for c in ("auc", "auc_ci_low",
                                                                  "auc_ci_high")})
        m = m.merge(frame[["dataset", f"{prefix}auc", f"{prefix}auc_ci_low",
                           f"{prefix}auc_ci_high"]], on="dataset", how="left")
        m[f"{prefix}diff"] = m[f"{prefix}auc"] - m["paper_auc_mean"]
        m = m.merge(
            _upstream(args.data, pd.DataFrame({"dataset": m["dataset"],
                                               "auc": m[f"{prefix}auc"]}))[
                ["dataset", "pct"]
            ].rename(columns={"pct": f"{prefix}pct"}),
            on="dataset",
        )
    far = m[m["diff"] < -FAR_BELOW]
    text = _INTRO.format(
        command=command,
        date=f"{datetime.now(UTC):%Y-%m-%d %H:%M}",
        machine=_machine(),
        jobs=args.jobs,
        load=args.load,
        versions=_versions(),
        total=wall / 60,
        fastest=results["seconds"].min(),
        slowest=results["seconds"].max(),
        median=results["seconds"].median(),
        folds=args.folds,
        repeats=args.repeats,
        seed=args.seed,
        n_boot=args.n_boot,
        n_points=len(ParameterGrid(model_search_grid())),
    )
    text += "".join(
        f"| {r.dataset} | {r.n} | {r.features} | {r.auc:.3f} ({r.auc_ci_low:.3f}-"
        f"{r.auc_ci_high:.3f}) | {r.mod_auc:.3f} | {r.lin_auc:.3f} | {r.paper_auc_mean:.2f} "
        f"({r.paper_auc_ci95_low:.2f}-{r.paper_auc_ci95_high:.2f}) | {r.diff:+.3f} | "
        f"{r.mod_diff:+.3f} | {r.lin_diff:+.3f} | {r.up_median:.3f} / {r.up_max:.3f} | "
        f"{r.pct:.0f} | {r.mod_pct:.0f} | {r.lin_pct:.0f} | {r.seconds:.1f} |\n"
        for r in m.itertuples(index=False)
    )
    gain = m["auc"] - m["mod_auc"]
    numbers = _compare(m, "") | _compare(m, "mod_") | _compare(m, "lin_")
    text += _SUMMARY.format(
        count=len(m),
        total=wall / 60,
        mod_total=earlier["mod_"]["seconds"].sum() / 60,
        threshold=FAR_BELOW,
        gain=gain.mean(),
        gain_median=gain.median(),
        better=int((gain > 0).sum()),
        worse=int((gain < 0).sum()),
        goal_mean="met" if numbers["mean"] >= -0.05 else "not met",
        goal_pct="met" if numbers["pct_median"] >= 75 else "not met",
        **numbers,
    )
    text += (
        "".join(
            f"- **{r.dataset}** ({r.auc:.3f} vs {r.paper_auc_mean:.2f}; {r.n_positive} of {r.n} "
            f"positive; paper's best: {r.paper_best_fs_method}, "
            f"{r.paper_best_n_features} features, "
            f"{r.paper_best_classifier} {r.paper_best_classifier_param}): {_reasons(r)}.\n"
            for r in far.itertuples(index=False)
        )
        or "None.\n"
    )
    text += (
        "\n## Models of this run\n\n"
        "Over all outer folds and repeats: how often each family was chosen, and the most chosen "
        "grid point (the ensemble is one point).\n\n"
        "| dataset | families chosen (folds) | most chosen point | SD of AUC over repeats |\n"
        "|---|---|---|---:|\n"
    )
    text += "".join(
        f"| {r.dataset} | {r.families} | `{r.most_chosen}` | {r.auc_sd_repeats:.3f} |\n"
        for r in m.itertuples(index=False)
    )
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data" / "radmlbench")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "radmlbench.md")
    parser.add_argument(
        "--linear", type=Path, default=REPO / "benchmarks" / "radmlbench_linear.csv"
    )
    parser.add_argument(
        "--models", type=Path, default=REPO / "benchmarks" / "radmlbench_models.csv",
        help="Results of the 22-point model search (--search models).",
    )
    parser.add_argument(
        "--partial", type=Path, default=REPO / "benchmarks" / "radmlbench_ensemble.csv"
    )
    parser.add_argument("--resume", action="store_true", help="Skip tables found in --partial.")
    parser.add_argument(
        "--report-only", action="store_true", help="Write the report from --partial only."
    )
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--n-boot", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--only", nargs="*", help="Run only these datasets (no report written).")
    args = parser.parse_args(argv)
    published = pd.read_csv(args.data / "published_results.csv")
    args.published = published
    args.load = " / ".join(f"{v:.1f}" for v in os.getloadavg())
    present = published.loc[published["in_this_copy"] == "yes", "dataset"].tolist()
    names = args.only or present
    if not (args.resume or args.report_only) and args.partial.exists():
        args.partial.unlink()
    done = pd.read_csv(args.partial) if args.partial.exists() else pd.DataFrame()
    start = time.perf_counter()
    if not args.report_only:
        todo = [n for n in names if done.empty or n not in set(done["dataset"])]
        run(args.data, todo, args)
    if args.only:
        return 0
    results = pd.read_csv(args.partial)
    wall = results["seconds"].sum() if args.report_only else time.perf_counter() - start
    command = " ".join(
        [
            ".venv/bin/python",
            "benchmarks/radmlbench.py",
            *(argv if argv is not None else sys.argv[1:]),
        ]
    )
    args.out.write_text(report(results, published, args, command.strip(), wall))
    print(f"written {args.out} ({len(results)} of {len(present)} tables)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
