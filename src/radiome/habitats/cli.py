"""The ``radiome habitats`` command: a thin face over :func:`radiome.habitats.run_habitats`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

__all__ = ["app"]

app = typer.Typer(no_args_is_help=True)

_MODEL_OPTIONS = ("--k", "--k-range", "--method", "--criterion", "--features", "--radius",
                  "--supervoxels", "--spatial-weight", "--min-region", "--smooth")


@app.command()
def habitats(
    manifest: Annotated[
        Path, typer.Argument(help="Manifest CSV (case_id, image, mask, roi, ...).")
    ],
    store: Annotated[
        str, typer.Option("--store", help="Database URL: sqlite:///file.db or "
                          "postgresql+psycopg://...")
    ],
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Folder for the label maps, figures and "
                           "habitats.csv.")
    ],
    spec: Annotated[
        Path | None,
        typer.Option("--spec", help="Spec YAML of the maps (when fitting) and of the features of "
                     "each habitat; default: the model's spec, or the modality's default."),
    ] = None,
    k: Annotated[
        int | None, typer.Option("--k", min=2, help="Number of habitats (default: chosen by "
                                 "--criterion in --k-range).")
    ] = None,
    k_range: Annotated[
        str | None, typer.Option("--k-range", help="Range LOW:HIGH where K is chosen "
                                 "(default 2:8).")
    ] = None,
    model: Annotated[
        Path | None, typer.Option("--model", help="Apply this saved habitat model unchanged.")
    ] = None,
    fit_model: Annotated[
        Path | None,
        typer.Option("--fit-model", help="Fit on the manifest's cases and save the model here "
                     "(.joblib; default OUT/habitat_model.joblib)."),
    ] = None,
    method: Annotated[
        str | None, typer.Option("--method", help="Population clustering: kmeans (default) or gmm.")
    ] = None,
    criterion: Annotated[
        str | None,
        typer.Option("--criterion", help="How K is chosen: silhouette (kmeans default), "
                     "calinski_harabasz, or bic (gmm default)."),
    ] = None,
    features: Annotated[
        str | None,
        typer.Option("--features", help="Comma-separated feature maps clustered (default "
                     "stat_median,stat_iqr)."),
    ] = None,
    radius: Annotated[
        int | None, typer.Option("--radius", min=1, help="Map kernel radius in voxels (default 1).")
    ] = None,
    supervoxels: Annotated[
        int | None, typer.Option("--supervoxels", min=1, help="Supervoxels per ROI (default 50).")
    ] = None,
    spatial_weight: Annotated[
        float | None,
        typer.Option("--spatial-weight", min=0, help="Weight of voxel positions in the "
                     "supervoxels (default 1; 0: map values only)."),
    ] = None,
    min_region: Annotated[
        float | None,
        typer.Option("--min-region", min=0, help="Habitat regions smaller than this (mm³) join "
                     "their neighbours' habitat (default 0: off)."),
    ] = None,
    smooth: Annotated[
        int | None, typer.Option("--smooth", min=0, help="Passes of 3x3x3 majority smoothing "
                                 "(default 0).")
    ] = None,
    stability: Annotated[
        int, typer.Option("--stability", min=0, help="Perturbed versions per case for the Dice "
                          "stability check (0: none; writes stability.csv).")
    ] = 0,
    seed: Annotated[int, typer.Option("--seed", min=0, help="Seed of every random step.")] = 0,
) -> None:
    """Habitats of a cohort: fit a habitat model (or apply a saved one) to every case.

    Writes OUT/<case_id>_habitats.nii.gz (0 outside the ROI, habitats 1..K) and .png, and
    OUT/habitats.csv (case_id, habitat, volume_fraction, n_regions); each habitat's IBSI
    features go to the store as ROI <roi>#h<k>.
    """
    from radiome._output import check_output
    from radiome._progress import progress
    from radiome.cohort import FeatureStore, read_manifest
    from radiome.habitats.cohort import run_habitats
    from radiome.habitats.model import HabitatModel, load_habitat_model
    from radiome.spec import load_spec

    given = {"--k": k, "--k-range": k_range, "--method": method, "--criterion": criterion,
             "--features": features, "--radius": radius, "--supervoxels": supervoxels,
             "--spatial-weight": spatial_weight, "--min-region": min_region, "--smooth": smooth}
    if model is not None and fit_model is not None:
        msg = "give --model (apply a saved model) or --fit-model (fit one), not both"
        raise typer.BadParameter(msg, param_hint="--model")
    if k is not None and k_range is not None:
        msg = "give --k or --k-range, not both"
        raise typer.BadParameter(msg, param_hint="--k")
    fixed = [name for name in _MODEL_OPTIONS if given[name] is not None]
    if model is not None and fixed:
        msg = f"{model}: a saved habitat model fixes {', '.join(fixed)}; leave them out"
        raise typer.BadParameter(msg, param_hint=fixed[0])
    table = read_manifest(manifest)
    resolved = load_spec(spec) if spec is not None else None
    if model is not None:
        habitat_model, model_path = load_habitat_model(model), model
    else:
        model_path = check_output(fit_model or out / "habitat_model.joblib", (".joblib",),
                                  "habitat model")
        habitat_model = HabitatModel(**_settings(given, resolved, seed))
    feature_store = FeatureStore(store, create=True)
    with progress("habitats") as advance:
        summary = run_habitats(
            table, out, model=habitat_model, model_path=model_path, spec=resolved,
            store=feature_store, stability=stability, seed=seed, manifest_name=str(manifest),
            on_progress=lambda _done, total, what: advance(total=total, description=what))
    typer.echo(
        f"{summary.total} case(s), {summary.n_habitats} habitats: {summary.done} computed, "
        f"{summary.unchanged} already stored, {summary.failed} failed in {summary.seconds:.1f} s "
        f"(model {model_path}; {out / 'habitats.csv'}; store {store})", err=True)
    if summary.failed:
        typer.echo(f"{summary.failed} case(s) failed (e.g. {summary.errors[0][0]}: "
                   f"{summary.errors[0][3]}); `radiome export --store {store} --errors --out "
                   "errors.csv` lists them", err=True)
        raise typer.Exit(1)


def _settings(given: dict, spec, seed: int) -> dict:
    """HabitatModel keyword arguments from the command's options (defaults where not given)."""
    settings: dict = {"spec": spec, "random_state": seed}
    if given["--k"] is not None:
        settings["n_habitats"] = given["--k"]
    if given["--k-range"] is not None:
        settings["k_range"] = _k_range(given["--k-range"])
    names = {"--method": "method", "--criterion": "criterion", "--radius": "radius_voxels",
             "--supervoxels": "n_supervoxels", "--spatial-weight": "spatial_weight",
             "--min-region": "min_region_mm3", "--smooth": "smoothing"}
    settings |= {key: given[option] for option, key in names.items()
                 if given[option] is not None}
    if given["--features"] is not None:
        settings["features"] = tuple(f.strip() for f in given["--features"].split(",")
                                     if f.strip())
    return settings


def _k_range(text: str) -> tuple[int, int]:
    """``"2:8"`` as (2, 8)."""
    low, sep, high = text.partition(":")
    try:
        bounds = (int(low), int(high))
    except ValueError:
        bounds = None
    if not sep or bounds is None or not 2 <= bounds[0] <= bounds[1]:
        msg = f"expected LOW:HIGH with 2 <= LOW <= HIGH (e.g. 2:8), got {text!r}"
        raise typer.BadParameter(msg, param_hint="--k-range")
    return bounds
