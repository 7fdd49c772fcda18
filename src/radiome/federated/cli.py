"""``radiome federated``: a federated study on Flower from one machine (dry run, demo, tests)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

__all__ = ["app"]

app = typer.Typer(help="Federated studies on Flower: sites keep their rows, the server sees sums.",
                  no_args_is_help=True)


@app.command("run")
def run(
    site: Annotated[list[str], typer.Option("--site", help="NAME=TABLE, one per hospital.")],
    id_col: Annotated[str, typer.Option("--id", help="Patient id column.")],
    outcome: Annotated[str, typer.Option("--outcome", help="Binary outcome column (0/1).")],
    out: Annotated[Path, typer.Option("--out", help="Folder of the results.")],
    time: Annotated[str | None, typer.Option("--time", help="Follow-up time column (Cox).")] = None,
    event: Annotated[str | None, typer.Option("--event", help="Event column, 0/1 (Cox).")] = None,
    features: Annotated[str | None, typer.Option(
        "--features", help="Comma-separated feature columns; default: the numeric columns of "
        "the first site's table other than id, outcome, time and event.")] = None,
    l2: Annotated[float, typer.Option("--l2", help="L2 penalty of the logistic model on the "
                                      "z-scored features; 0 = maximum likelihood.")] = 1.0,
    no_secagg: Annotated[bool, typer.Option("--no-secagg", help="Plain aggregation: the server "
                                            "sees every site's sums.")] = False,
    epsilon: Annotated[float | None, typer.Option(
        "--epsilon", help="Differential privacy of the logistic rounds: per-site ε at "
        "δ = 1e-5 (the noise is calibrated to it).")] = None,
    max_newton: Annotated[int, typer.Option("--max-newton", min=1, help="Newton rounds at "
                                            "most.")] = 30,
    no_loso: Annotated[bool, typer.Option("--no-loso", help="Skip the leave-one-site-out "
                                          "fits.")] = False,
    combat: Annotated[bool, typer.Option("--combat", help="Harmonise the features by "
                                         "federated ComBat (site = batch) first.")] = False,
    covariates: Annotated[str | None, typer.Option(
        "--covariates", help="Comma-separated numeric columns whose effect ComBat preserves "
        "(e.g. age).")] = None,
    top_k: Annotated[int | None, typer.Option("--top-k", min=1, help="Logistic model on the "
                                              "K features of highest ANOVA F.")] = None,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds per round at most.")] = 120.0,
) -> None:
    """Run a federated study: a SuperLink and one SuperNode per site on loopback, then
    ``flwr run``; writes OUT/statistics.csv, OUT/model.json and OUT/summary.json and exits 0
    only when every site took part (under SecAgg+ a study that lost sites but kept enough to
    unmask its rounds is run again on those left: results written, exit 1)."""
    from radiome.errors import AnalysisError
    from radiome.federated.run import default_features, run_study

    sites = _sites(site)
    covariate_names = _check_options(epsilon, l2, time, event, combat, covariates, top_k)
    names = [f for f in (features or "").split(",") if f] or default_features(
        next(iter(sites.values())),
        [id_col, outcome, *(c for c in (time, event) if c), *covariate_names])
    summary = run_study(sites, out, features=names, id_col=id_col, outcome=outcome,
                        time_col=time, event_col=event, l2=l2, secagg=not no_secagg,
                        loso=not no_loso, epsilon=epsilon, max_newton=max_newton,
                        combat=combat, covariates=covariate_names, top_k=top_k,
                        timeout=timeout, echo=lambda line: typer.echo(line, err=True))
    if summary["error"] is not None:
        msg = f"{out}: federated study failed: {summary['error']}"
        raise AnalysisError(msg)
    model = json.loads((out / "model.json").read_text(encoding="utf-8"))
    typer.echo(f"sites: {', '.join(summary['sites'])}; rounds: {summary['rounds']}; "
               f"secure aggregation: {'on' if summary['secagg'] else 'off'} "
               f"(quantisation bound {summary['quantisation_bound']:.1e}); "
               + (f"differential privacy: ε = {summary['epsilon']:.4g} at δ = {summary['delta']:g}"
                  f" per site, {summary['dp_rounds']} noised rounds" if summary["epsilon"]
                  is not None else "differential privacy: off")
               + f"; {summary['seconds']:.0f} s")
    auc = "n/a (not released under differential privacy)" if model["auc"] is None else (
        f"{model['auc']:.4f}")
    typer.echo(f"pooled AUC {auc}; logistic intercept {model['intercept']:.6f}, "
               + ", ".join(f"{k} {v:.6f}" for k, v in model["coefficients"].items()))
    if "cox" in model:
        typer.echo(f"pooled C-index {model['cox']['c_index']:.4f}; Cox "
                   + ", ".join(f"{k} {v:.6f}" for k, v in model["cox"]["coefficients"].items()))
    if not model["converged"]:
        typer.echo(f"radiome: warning: the logistic model did not converge in "
                   f"{model['iterations']} Newton round(s)", err=True)
    for name, metrics in model["sites"].items():
        typer.echo(f"  {name}: " + ", ".join(f"{k} {v:.4f}" for k, v in metrics.items()))
    if summary["dropouts"]:
        gone = [name for name in sites if name not in summary["sites"]]
        msg = (f"{out}: not every site took part: {', '.join(gone)} dropped out "
               f"({'; '.join(summary['dropouts'])}); the study was run again from its first "
               f"round on the {len(summary['sites'])} sites left (at least SecAgg+'s "
               "reconstruction threshold): the results above are theirs")
        raise AnalysisError(msg)


@app.command("demo")
def demo(
    out: Annotated[Path, typer.Argument(help="Folder of the site tables to write.")],
    seed: Annotated[int, typer.Option("--seed", help="Seed of the synthetic cohorts.")] = 0,
) -> None:
    """Write three synthetic hospitals' feature tables (site effects, scanner mix, age, a
    binary grade and survival) and print the commands of a federated study on them."""
    from radiome._output import check_output, written
    from radiome.federated.demo import FEATURES, multisite_tables

    paths = []
    for name, table in multisite_tables(seed).items():
        path = check_output(out / f"{name}.csv", [".csv"], "site table")
        with written(path, "site table") as tmp:
            table.to_csv(tmp, index=False)
        paths.append((name, path))
    sites = " ".join(f"--site {name}={path}" for name, path in paths)
    common = f"{sites} --id case_id --outcome grade --features {','.join(FEATURES)}"
    typer.echo(f"wrote {len(paths)} site tables to {out}; next:")
    typer.echo(f"  radiome federated run {common} --time time --event event --combat "
               f"--covariates age --out {out / 'results'}")
    typer.echo(f"  radiome federated leakage {common} --target site_a --indicator scanner_b "
               f"--out {out / 'leakage'}")


@app.command("leakage")
def leakage(
    site: Annotated[list[str], typer.Option("--site", help="NAME=TABLE, one per hospital.")],
    id_col: Annotated[str, typer.Option("--id", help="Patient id column.")],
    outcome: Annotated[str, typer.Option("--outcome", help="Binary outcome column (0/1).")],
    target: Annotated[str, typer.Option("--target", help="Name of the attacked site.")],
    indicator: Annotated[str, typer.Option("--indicator", help="A 0/1 feature column whose "
                                           "share at the target site is inferred.")],
    out: Annotated[Path, typer.Option("--out", help="Folder of leakage.csv, utility.csv and "
                                      "leakage.png.")],
    features: Annotated[str | None, typer.Option(
        "--features", help="Comma-separated feature columns; default: the numeric columns of "
        "the first table other than id and outcome.")] = None,
    epsilon: Annotated[list[float] | None, typer.Option(
        "--epsilon", help="ε values of the DP rows (repeatable).")] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the noise draws.")] = 0,
) -> None:
    """Demonstrate what a server learns from a site's plain update (outcome prevalence, scanner
    share, one patient's features) and what SecAgg+ and DP leave of it; with the model's pooled
    AUC against ε. Runs the messages' mathematics in this process (no Flower)."""
    from radiome._output import check_output, written
    from radiome.errors import AnalysisError
    from radiome.federated.leakage import leakage_study, plot_leakage, utility_curve
    from radiome.federated.protocol import load_site
    from radiome.federated.run import default_features

    sites = _sites(site)
    names = [f for f in (features or "").split(",") if f] or default_features(
        next(iter(sites.values())), [id_col, outcome])
    if target not in sites or indicator not in names:
        msg = (f"--target {target!r} must be one of the sites {list(sites)} and --indicator "
               f"{indicator!r} one of the features {names}")
        raise AnalysisError(msg)
    data = [load_site(path, name, features=names, id_col=id_col, outcome=outcome)
            for name, path in sites.items()]
    epsilons = sorted(epsilon or [0.1, 1.0, 10.0, 100.0, 1e3, 1e4, 1e5])
    table = leakage_study(data, target=target, indicator=names.index(indicator),
                          epsilons=epsilons, seed=seed)
    utility = utility_curve(data, names, epsilons, seed=seed)
    for name, frame in (("leakage.csv", table), ("utility.csv", utility)):
        with written(check_output(out / name, [".csv"], name), name) as tmp:
            frame.to_csv(tmp, index=False)
    with written(check_output(out / "leakage.png", [".png"], "plot"), "plot") as tmp:
        plot_leakage(table, utility, tmp)
    typer.echo(table.to_string(index=False))
    typer.echo(utility.to_string(index=False))


@app.command("app")
def write_flower_app(
    folder: Annotated[Path, typer.Argument(help="Folder of the Flower app to write.")],
    sites: Annotated[int, typer.Option("--sites", help="Number of hospitals (SuperNodes).")],
    id_col: Annotated[str, typer.Option("--id", help="Patient id column.")],
    outcome: Annotated[str, typer.Option("--outcome", help="Binary outcome column (0/1).")],
    features: Annotated[str, typer.Option("--features", help="Comma-separated feature "
                                          "columns, the same at every site.")],
    out: Annotated[Path, typer.Option("--out", help="Results folder on the coordinator.")],
    time: Annotated[str | None, typer.Option("--time", help="Follow-up time column.")] = None,
    event: Annotated[str | None, typer.Option("--event", help="Event column, 0/1.")] = None,
    l2: Annotated[float, typer.Option("--l2", help="L2 penalty (z-scored features).")] = 1.0,
    no_secagg: Annotated[bool, typer.Option("--no-secagg", help="Plain aggregation.")] = False,
    epsilon: Annotated[float | None, typer.Option("--epsilon", help="Per-site ε, δ = 1e-5.")]
    = None,
    combat: Annotated[bool, typer.Option("--combat", help="Federated ComBat first.")] = False,
    covariates: Annotated[str | None, typer.Option("--covariates", help="ComBat's numeric "
                                                   "covariate columns.")] = None,
    top_k: Annotated[int | None, typer.Option("--top-k", min=1, help="K features of highest "
                                              "ANOVA F.")] = None,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds per round at most.")] = 600.0,
) -> None:
    """Write the Flower app of a real multi-site study (pyproject.toml + run.toml) for the
    coordinating centre to submit with ``flwr run FOLDER CONNECTION --run-config
    FOLDER/run.toml --stream``."""
    from radiome.federated.run import study_settings, write_app

    covariate_names = _check_options(epsilon, l2, time, event, combat, covariates, top_k)
    settings = study_settings(features=[f for f in features.split(",") if f], id_col=id_col,
                              outcome=outcome, out=out, n_sites=sites, time_col=time,
                              event_col=event, l2=l2, secagg=not no_secagg, epsilon=epsilon,
                              combat=combat, covariates=covariate_names, top_k=top_k,
                              timeout=timeout)
    write_app(folder, settings)
    typer.echo(f"Flower app written to {folder}; submit it with: flwr run {folder} "
               f"<connection> --run-config {folder / 'run.toml'} --stream")


def _check_options(epsilon, l2, time, event, combat, covariates, top_k) -> list[str]:
    """Refuse contradictory study options; returns the covariate names."""
    from radiome.errors import AnalysisError

    names = [c for c in (covariates or "").split(",") if c]
    problems = []
    if epsilon is not None and not epsilon > 0:
        problems.append(f"--epsilon must be > 0, got {epsilon!r}")
    if l2 < 0:
        problems.append(f"--l2 must be >= 0, got {l2!r}")
    if (time is None) != (event is None):
        problems.append("--time and --event go together (both for a Cox model, or neither)")
    if names and not combat:
        problems.append("--covariates are ComBat's: add --combat")
    if top_k is not None and epsilon is not None:
        problems.append("--top-k's ANOVA filter is not differentially private: drop --epsilon")
    if problems:
        raise AnalysisError("; ".join(problems))
    return names


def _sites(specs: list[str]) -> dict[str, Path]:
    """``NAME=TABLE`` options as a dict, each name once."""
    from radiome.errors import AnalysisError

    sites = {}
    for spec in specs:
        name, sep, table = spec.partition("=")
        if not sep or not name or not table or name in sites:
            msg = f"--site {spec!r}: expected NAME=TABLE with a new NAME"
            raise AnalysisError(msg)
        sites[name] = Path(table)
    return sites
