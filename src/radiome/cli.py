"""The ``radiome`` command line: a thin face over the Python API.

Every command is one call of a public function. Errors print one line
(``radiome: error: FILE: what is wrong``) and exit non-zero; nothing prints a traceback unless
``RADIOME_DEBUG=1`` is set. Warnings print one line each (``radiome: warning: ...``). Long
commands show progress on stderr when it is a terminal, nothing in pipes. Output files are
checked before the work and written whole or not at all. Heavy imports happen inside the
commands so ``--help`` is fast.
"""

from __future__ import annotations

import os
import sys
import warnings
from pathlib import Path
from typing import Annotated

import typer

from radiome.analysis.cli import app as _model_app
from radiome.analysis.delta_cli import app as _delta_app
from radiome.analysis.radiogenomics_cli import app as _radiogenomics_app
from radiome.federated.cli import app as _federated_app
from radiome.habitats.cli import app as _habitats_app
from radiome.maps.cli import app as _maps_app
from radiome.reliability.cli import app as _reliability_app
from radiome.report.cli import app as _report_app

__all__ = ["app", "main"]

app = typer.Typer(
    name="radiome",
    help="IBSI-exact radiomics: from images and masks to trustworthy quantitative biomarkers.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
spec_app = typer.Typer(help="Inspect measurand specs.", no_args_is_help=True)
app.add_typer(spec_app, name="spec")
app.add_typer(_model_app, name="model", help="Validated models from feature tables: evaluate, "
              "fit, predict.")
app.add_typer(_federated_app, name="federated", help="Federated studies on Flower: sites keep "
              "their rows, the server sees sums.")

ImageArg = Annotated[Path, typer.Argument(help="Volume file (NIfTI, NRRD, MHA) or DICOM folder.")]
MaskArg = Annotated[Path, typer.Argument(help="Label map, DICOM RTSTRUCT or DICOM SEG.")]
SpecOpt = Annotated[
    Path | None, typer.Option("--spec", help="Spec YAML; default: the modality's default spec.")
]
RoiOpt = Annotated[
    str | None, typer.Option("--roi", help="Label value or structure/segment name.")
]
ModalityOpt = Annotated[
    str | None,
    typer.Option("--modality", help="CT, MR or PT for files that do not record it (NIfTI, NRRD)."),
]
SeriesOpt = Annotated[
    str | None,
    typer.Option("--series", help="DICOM folder with several series: UID, number or description."),
]


def _load_image(image: Path, modality: str | None, series: str | None):
    from radiome.io import load_volume

    return load_volume(image, series=series, modality=modality)


@app.command()
def extract(
    image: ImageArg,
    mask: MaskArg,
    spec: SpecOpt = None,
    roi: RoiOpt = None,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Output .csv or .parquet (default: stdout).")
    ] = None,
    case_id: Annotated[str | None, typer.Option("--case-id", help="Value of case_id.")] = None,
    modality: ModalityOpt = None,
    series: SeriesOpt = None,
) -> None:
    """Compute the spec's features of one image and ROI as a long feature table."""
    from radiome._output import TABLE_EXTENSIONS, check_output, written
    from radiome._progress import progress
    from radiome.extraction import extract_rows
    from radiome.table import write_rows

    if out is not None:
        check_output(out, TABLE_EXTENSIONS, "feature table")
    with progress(f"reading {image.name}") as advance:
        volume = _load_image(image, modality, series)
        advance(0, description=f"extracting {image.name}")
        rows = extract_rows(volume, mask, spec=spec, roi=roi, case_id=case_id)
        if out is not None:
            with written(out, "feature table") as partial:
                write_rows(rows, partial)
    if out is None:
        write_rows(rows, sys.stdout)
        return
    typer.echo(f"{len(rows)} feature values written to {out}", err=True)


@app.command("filter")
def filter_image(
    image: ImageArg,
    spec: Annotated[Path, typer.Option("--spec", help="Spec with a filters: section.")],
    out: Annotated[
        Path,
        typer.Option("--out", "-o", help="Response map file (.nii.gz, .nii, .nrrd, .mha); with "
                     "several filters, one file per filter named after it."),
    ],
    modality: ModalityOpt = None,
    series: SeriesOpt = None,
) -> None:
    """Write the response map of the spec's filter(s), to look at what a filter does."""
    from radiome._output import VOLUME_EXTENSIONS, check_output, written
    from radiome._progress import progress
    from radiome.extraction import filter_responses
    from radiome.io import write_volume
    from radiome.spec import load_spec

    check_output(out, VOLUME_EXTENSIONS, "response map")
    with progress(f"reading {image.name}") as advance:
        volume = _load_image(image, modality, series)
        resolved = load_spec(spec, modality=volume.modality)
        advance(0, total=1 + len(resolved.filters), description=f"filtering {image.name}")
        responses = filter_responses(volume, resolved)
        for name, response in responses.items():
            target = out
            if len(responses) > 1:
                stem = out.name.split(".")[0]
                target = out.with_name(stem + f"_{name}" + out.name[len(stem):])
            advance(description=f"writing {target.name}")
            with written(target, "response map") as partial:
                write_volume(response, partial)
            typer.echo(f"{name}: {target}")
        advance()


@spec_app.command("show")
def spec_show(
    spec: Annotated[Path | None, typer.Argument(help="Spec YAML (omit for a default).")] = None,
    modality: Annotated[
        str, typer.Option("--modality", help="Default spec of CT, MR or PT.")
    ] = "CT",
) -> None:
    """Print the resolved spec (every default filled in) and its hash."""
    from radiome.spec import load_spec

    resolved = load_spec(spec, modality=modality)
    typer.echo(f"# spec_hash: {resolved.hash}")
    typer.echo(resolved.to_yaml(), nl=False)


@app.command("ibsi-check")
def ibsi_check(
    image: ImageArg,
    mask: MaskArg,
    spec: Annotated[Path, typer.Option("--spec", help="Spec reproducing the reference setting.")],
    reference: Annotated[Path, typer.Option("--reference", help="IBSI reference-value CSV.")],
    roi: RoiOpt = None,
    modality: ModalityOpt = None,
) -> None:
    """Compare radiome with an IBSI reference table: matched/total per family and mismatches."""
    from rich.console import Console
    from rich.table import Table

    import radiome
    from radiome.ibsi import compare, load_reference, summarise

    ref = load_reference(reference)
    volume = _load_image(image, modality, None)
    comparison = compare(radiome.extract(volume, mask, spec=spec, roi=roi), ref)
    console = Console()
    summary = Table(title=f"IBSI compliance: {reference.name}")
    for column in ("family", "matched", "total"):
        summary.add_column(column, justify="left" if column == "family" else "right")
    for row in summarise(comparison).itertuples(index=False):
        summary.add_row(row.family, str(row.matched), str(row.total))
    console.print(summary)
    bad = comparison[comparison["status"].isin(["mismatch", "missing"])]
    if len(bad):
        detail = Table(title="mismatches")
        for column in ("feature", "aggregation", "ibsi_code", "got", "reference", "tolerance"):
            detail.add_column(column)
        for row in bad.itertuples(index=False):
            detail.add_row(row.feature, row.aggregation, row.ibsi_code, f"{row.got:.6g}",
                           f"{row.value:.6g}", f"{row.tolerance:.3g}")
        console.print(detail)
    matched = int((comparison["status"] == "match").sum())
    scored = int((comparison["status"] != "no reference").sum())
    console.print(f"{matched}/{scored} reference values matched")
    if matched != scored:
        raise typer.Exit(1)


@app.command()
def demo(
    out: Annotated[
        Path, typer.Option("--out", help="Folder for the synthetic cohort and its features.")
    ] = Path("radiome_demo"),
    cases: Annotated[int, typer.Option("--cases", min=1, help="Number of synthetic cases.")] = 12,
    seed: Annotated[int, typer.Option("--seed", help="Random seed of the cohort.")] = 0,
    longitudinal: Annotated[
        bool,
        typer.Option("--longitudinal", help="Instead, write a longitudinal cohort (baseline, "
                     "same-day rescan, follow-up; responders, stable and resistant tumours) for "
                     "delta-radiomics and habitats, and print the commands that analyse it."),
    ] = False,
) -> None:
    """Write a small synthetic CT cohort and outcome, extract its features, show a summary."""
    if longitudinal:
        from radiome.synthetic import write_longitudinal_cohort

        written = write_longitudinal_cohort(out, seed=seed)
        store = f"sqlite:///{(out / 'longitudinal.db').as_posix()}"
        typer.echo(f"{len(written)} scans of {written['patient'].nunique()} patients in {out} "
                   f"(manifest.csv, clinical.csv); next:\n"
                   f"  radiome batch {out / 'manifest.csv'} --store {store}\n"
                   f"  radiome delta --store {store} --baseline T0 --followup T1 "
                   f"--wide --out {out / 'deltas_wide.csv'}")
        return
    from radiome.demo import run_demo

    run_demo(out, n_cases=cases, seed=seed)


StoreOpt = Annotated[
    str, typer.Option("--store", help="Database URL: sqlite:///file.db or postgresql+psycopg://...")
]


def _batch_spec(spec: Path | None, manifest):
    from radiome.spec import load_spec

    if spec is not None:
        return load_spec(spec)
    modalities = sorted({m.upper() for m in manifest["modality"] if m})
    if len(modalities) != 1:
        msg = (
            "no --spec given and the manifest's modality column does not name one modality "
            f"({', '.join(modalities) or 'empty'}); pass --spec"
        )
        raise typer.BadParameter(msg, param_hint="--spec")
    return load_spec(None, modality=modalities[0])


def _batch_plan(specs: list[str] | None, manifest) -> list[tuple]:
    """``(modality label, manifest rows, spec)`` of each run of ``radiome batch``.

    One spec path (or none, for a manifest of one modality) applies to every row; otherwise
    each modality's rows get the spec given as MODALITY=PATH, else the modality's default.
    """
    from radiome.spec import load_spec

    specs = specs or []
    modalities = sorted({m.upper() for m in manifest["modality"] if m})
    if any("=" not in s for s in specs) or (not specs and len(modalities) <= 1):
        if len(specs) > 1:
            msg = "give one --spec PATH for every case, or --spec MODALITY=PATH per modality"
            raise typer.BadParameter(msg, param_hint="--spec")
        dup = manifest.duplicated(["case_id", "roi"])
        if dup.any():
            row = manifest.loc[dup].iloc[0]
            msg = (f"case {row['case_id']}/{row['roi'] or '-'} has several modalities; give "
                   "--spec MODALITY=PATH per modality (or none for the defaults)")
            raise typer.BadParameter(msg, param_hint="--spec")
        return [("", manifest, _batch_spec(specs[0] if specs else None, manifest))]
    given = {}
    for item in specs:
        name, _, path = item.partition("=")
        given[name.strip().upper()] = path.strip()
    unlabelled = int((manifest["modality"] == "").sum())
    unknown = sorted(set(given) - set(modalities))
    if unlabelled or unknown:
        msg = (f"{unlabelled} manifest row(s) have no modality; per-modality specs need one on "
               "every row" if unlabelled else
               f"--spec for {', '.join(unknown)}: no manifest row has that modality "
               f"(found {', '.join(modalities)})")
        raise typer.BadParameter(msg, param_hint="--spec")
    plan = [(m, manifest[manifest["modality"].str.upper() == m], load_spec(given.get(m),
                                                                              modality=m))
            for m in modalities]
    hashes = [resolved.hash for *_, resolved in plan]
    if len(set(hashes)) < len(hashes):
        msg = "two modalities resolve to the same spec; the store keeps one spec per modality"
        raise typer.BadParameter(msg, param_hint="--spec")
    return plan


@app.command()
def discover(
    root: Annotated[Path, typer.Argument(help="Folder of DICOM files (searched at any depth).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Manifest CSV to write.")],
    key_file: Annotated[
        Path | None,
        typer.Option("--key-file", help="Pseudonymisation key (else $RADIOME_PSEUDONYM_KEY)."),
    ] = None,
) -> None:
    """Find image series and their RTSTRUCT/SEG masks; write a manifest with pseudonymised ids.

    Paths in the manifest are relative to its folder when inside it, else absolute.
    """
    from radiome.cohort import discover as find
    from radiome.cohort import load_key
    from radiome.cohort.manifest import write_manifest

    if not root.is_dir():
        from radiome.errors import MissingFileError

        msg = f"{root}: DICOM root folder does not exist"
        raise MissingFileError(msg)
    found = find(root, load_key(key_file))
    write_manifest(found.manifest, out)
    typer.echo(f"{len(found.manifest)} case(s) written to {out}")
    if len(found.skipped):
        skipped = out.with_name(out.stem + "_skipped.csv")
        found.skipped.to_csv(skipped, index=False)
        for reason, count in found.skipped["reason"].str.replace(
            r"series [0-9.]+: ", "", regex=True
        ).str.replace(r" \(.*", "", regex=True).value_counts().items():
            typer.echo(f"skipped {count}: {reason}")
        typer.echo(f"every skipped file or series and why: {skipped}")


@app.command()
def batch(
    manifest: Annotated[Path, typer.Argument(help="Manifest CSV (case_id, image, mask, roi, ...).")],
    spec: Annotated[
        list[str] | None,
        typer.Option("--spec", help="Spec YAML for every case, or MODALITY=YAML per modality "
                     "(repeat: --spec CT=ct.yaml --spec PT=pet.yaml); default: each "
                     "modality's default spec."),
    ] = None,
    store: StoreOpt = "sqlite:///radiome.db",
    workers: Annotated[
        int | None, typer.Option("--workers", min=1, help="Local worker processes (default: cores).")
    ] = None,
    scheduler: Annotated[
        str | None, typer.Option("--scheduler", help="Existing Dask scheduler, tcp://HOST:PORT.")
    ] = None,
    strict: Annotated[
        bool, typer.Option("--strict", help="Skip cases that fail the acquisition profile.")
    ] = False,
    keep_other_versions: Annotated[
        bool,
        typer.Option("--keep-other-versions", help="Keep cases stored by other software "
                     "(radiome version or code, numerical libraries) instead of recomputing."),
    ] = False,
) -> None:
    """Extract a cohort in parallel on Dask into the feature store (resumable).

    Cases stored with the same spec, inputs and software are skipped; cases stored by other
    software are recomputed unless --keep-other-versions. SIGTERM or Ctrl-C ends the run as
    interrupted (after the store write under way, never inside it).
    A manifest of several modalities (its modality column) runs once per modality, each with
    its own spec: the one given as MODALITY=YAML, else the modality's default (CT: fixed bin
    size in HU; PT: fixed bin size in SUV; MR: z-scored, then a fixed number of bins).
    """
    import signal

    from radiome._progress import progress
    from radiome.cohort import FeatureStore, read_manifest, run_batch

    if workers is not None and scheduler is not None:
        msg = "give --workers or --scheduler, not both"
        raise typer.BadParameter(msg, param_hint="--workers")
    table = read_manifest(manifest)
    plan = _batch_plan(spec, table)
    feature_store = FeatureStore(store, create=True)
    terminated = []

    def interrupt(signum, _frame) -> None:
        terminated.append(signum)
        if not feature_store.writing:  # else after the write, at the next progress step
            raise KeyboardInterrupt

    previous = {sig: signal.signal(sig, interrupt) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        with progress("cases", len(table)) as step:

            def advance(summary, _outcome) -> None:
                step(status=f"done {summary.done} · failed {summary.failed} · "
                            f"skipped {summary.skipped}")
                if terminated:  # a signal whose interrupt waited for a store write to end
                    raise KeyboardInterrupt

            summaries = [
                (label, resolved, run_batch(rows, resolved, feature_store, workers=workers,
                                            scheduler=scheduler, strict=strict,
                                            manifest_name=str(manifest), on_progress=advance,
                                            keep_other_versions=keep_other_versions))
                for label, rows, resolved in plan
            ]
            if terminated:
                raise KeyboardInterrupt
    except KeyboardInterrupt:
        typer.echo("radiome: batch interrupted; the cases stored so far stay stored, and "
                   "running the same command again resumes", err=True)
        raise typer.Exit(130) from None
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    for label, resolved, summary in summaries:
        note = summary.software_note()
        typer.echo(
            f"{label + ' ' if label else ''}run {summary.run_id}: {summary.total} case(s) in "
            f"{summary.seconds:.1f} s: {summary.done} extracted, {summary.unchanged} already "
            f"stored, {summary.nonconformant} non-conformant skipped, {summary.failed} failed"
            f"{'; ' + note if note else ''} (spec {resolved.hash}, store {store})", err=True,
        )
    warned = sum(summary.warned for *_, summary in summaries)
    failed = sum(summary.failed for *_, summary in summaries)
    if warned:
        typer.echo(f"{warned} case(s) raised warnings: `radiome export --store {store} "
                   "--warnings --out warnings.csv` lists them", err=True)
    if failed:
        typer.echo(f"{failed} case(s) failed: `radiome export --store {store} --errors "
                   "--out errors.csv` lists them with the reasons", err=True)
        raise typer.Exit(1)


@app.command()
def conformance(
    manifest: Annotated[Path, typer.Argument(help="Manifest CSV.")],
    spec: SpecOpt = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Also write the table (CSV).")] = None,
) -> None:
    """Check each case's acquisition against the spec's profile, without extracting.

    Exits 1 when no case could be checked (every one is in error).
    """
    import pandas as pd
    from rich.console import Console
    from rich.table import Table

    from radiome._output import check_output, written
    from radiome._progress import progress
    from radiome.cohort import check_conformance, read_manifest
    from radiome.errors import RadiomeError
    from radiome.io import read_metadata

    if out is not None:
        check_output(out, (".csv",), "conformance table")
    table = read_manifest(manifest)
    resolved = _batch_spec(spec, table)
    rows = []
    with progress("reading acquisition metadata", len(table)) as advance:
        for row in table.itertuples(index=False):
            try:
                result = check_conformance(resolved.acquisition,
                                           read_metadata(row.image, modality=row.modality or None))
                rows.append((row.case_id, row.roi, result.status, result.text()))
            except (RadiomeError, OSError) as exc:
                rows.append((row.case_id, row.roi, "error", str(exc)))
            advance()
    result_table = pd.DataFrame(rows, columns=["case_id", "roi", "status", "reasons"])
    view = Table(title=f"acquisition conformance ({resolved.name or resolved.hash})")
    for column in result_table.columns:
        view.add_column(column)
    for values in result_table.itertuples(index=False):
        view.add_row(*[str(v) for v in values])
    Console().print(view)
    counts = result_table["status"].value_counts()
    typer.echo(", ".join(f"{counts.get(s, 0)} {s}" for s in ("pass", "warn", "fail", "error")))
    if out is not None:
        with written(out, "conformance table") as partial:
            result_table.to_csv(partial, index=False)
    if counts.get("error", 0) == len(result_table):
        msg = (f"{manifest}: no case could be checked; all {len(result_table)} are in error "
               f"(e.g. {result_table['reasons'].iloc[0]})")
        raise RadiomeError(msg)


@app.command()
def export(
    store: StoreOpt,
    out: Annotated[Path, typer.Option("--out", "-o", help="Output .csv or .parquet.")],
    wide: Annotated[bool, typer.Option("--wide", help="One row per case and ROI.")] = False,
    run: Annotated[int | None, typer.Option("--run", help="Only the cases of this run.")] = None,
    errors: Annotated[bool, typer.Option("--errors", help="Export the error rows instead.")] = False,
    warnings: Annotated[
        bool, typer.Option("--warnings", help="Export the warnings raised by each case instead.")
    ] = False,
    provenance: Annotated[
        bool,
        typer.Option("--provenance", help="Add run_id, input hashes, radiome_version and "
                     "software (versions that computed each case) after the usual columns."),
    ] = False,
) -> None:
    """Export the feature store (long or wide table, or the errors, or the warnings).

    --wide of a store holding several modalities (cases of several specs, batch --spec
    MODALITY=...) gives one row per case and ROI with every column prefixed by its modality
    (CT_..., PT_...), the groups `radiome model evaluate --modalities` fuses.
    """
    from radiome.cohort import PROVENANCE_COLUMNS, FeatureStore
    from radiome.habitats.wide import habitats_as_columns
    from radiome.table import to_wide, write_table

    if errors and warnings:
        msg = "give --errors or --warnings, not both"
        raise typer.BadParameter(msg, param_hint="--errors")
    feature_store = FeatureStore(store)
    if errors or warnings:
        table = feature_store.errors() if errors else feature_store.warnings()
        if run is not None:
            table = table[table["run_id"] == run]
        write_table(table, out)
        typer.echo(f"{len(table)} {'error' if errors else 'warning'} row(s) written to {out}",
                   err=True)
        return
    table = feature_store.features(run_id=run, provenance=provenance,
                                   labels=("modality",) if wide else ())
    if wide:
        index = ["case_id", "roi", "spec_hash", *(PROVENANCE_COLUMNS if provenance else ())]
        table = _wide_by_modality(table, index, lambda part: habitats_as_columns(
            to_wide(part, index=index).reset_index(), index=index))
    write_table(table, out)
    typer.echo(f"{len(table)} row(s) written to {out}", err=True)


def _wide_by_modality(long, index: list[str], pivot):
    """``pivot(long)``, or with several specs one ``MODALITY_``-prefixed block per modality."""
    import pandas as pd

    from radiome.errors import RadiomeError

    modality = long.pop("modality").fillna("").str.upper()
    if long["spec_hash"].nunique() <= 1:
        return pivot(long)
    specs = long.groupby(modality)["spec_hash"].nunique()
    if "" in specs.index or (specs > 1).any():
        msg = ("the store holds several specs that no modality label tells apart; export one "
               "with --run")
        raise RadiomeError(msg)
    blocks = []
    for name, part in long.groupby(modality):
        block = pivot(part).set_index(["case_id", "roi"])
        blocks.append(block.add_prefix(f"{name}_"))
    return pd.concat(blocks, axis=1, join="outer").reset_index()


app.registered_commands.extend(_reliability_app.registered_commands)
app.registered_commands.extend(_delta_app.registered_commands)
app.registered_commands.extend(_radiogenomics_app.registered_commands)
app.registered_commands.extend(_habitats_app.registered_commands)
app.registered_commands.extend(_maps_app.registered_commands)
app.registered_commands.extend(_report_app.registered_commands)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI: errors become one line on stderr and an exit code, warnings one line each."""
    with warnings.catch_warnings():
        warnings.showwarning = _show_warning
        return _run(argv)


def _run(argv: list[str] | None) -> int:
    """Run the typer app; turn each kind of failure into its line and exit code."""
    from radiome.errors import RadiomeError

    try:
        result = app(args=argv, prog_name="radiome", standalone_mode=False)
    except typer.Exit as exc:
        return exc.exit_code
    except typer.Abort:
        typer.echo("radiome: aborted", err=True)
        return 130
    except _usage_error() as exc:  # bad or missing arguments
        exc.show()
        return getattr(exc, "exit_code", 2)
    except RadiomeError as exc:
        typer.echo(f"radiome: error: {_one_line(exc)}", err=True)
        return 1
    except OSError as exc:
        if os.environ.get("RADIOME_DEBUG") == "1":
            raise
        typer.echo(f"radiome: error: {_os_error_text(exc)}", err=True)
        return 1
    except Exception as exc:
        if os.environ.get("RADIOME_DEBUG") == "1":
            raise
        typer.echo(
            f"radiome: internal error: {type(exc).__name__}: {_one_line(exc)} "
            "(please report it; RADIOME_DEBUG=1 shows the traceback)",
            err=True,
        )
        return 3
    return result if isinstance(result, int) else 0


def _usage_error() -> type[Exception]:
    """typer's usage-error class: its own from typer 0.22, click's before (flwr 1.41 pins 0.20)."""
    import click

    return getattr(typer, "TyperException", click.ClickException)


def _one_line(message: object) -> str:
    """A message with its line breaks and runs of spaces turned into single spaces."""
    return " ".join(str(message).split())


def _os_error_text(exc: OSError) -> str:
    """An operating-system error as ``FILE: what is wrong`` (the file first, as radiome's own)."""
    if exc.filename is None:
        return _one_line(exc)
    if isinstance(exc, FileExistsError) and Path(exc.filename).is_file():
        return f"{exc.filename}: is a file, so no folder can be made there"
    return f"{exc.filename}: {_one_line(exc.strerror or exc)}"


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Print a warning as one line on stderr: ``radiome: warning: [Category: ]message``.

    radiome's own warnings need no category; those of other libraries keep theirs.
    """
    from radiome.errors import RadiomeWarning

    text = _one_line(message)
    if not issubclass(category, RadiomeWarning):
        text = f"{category.__name__}: {text}"
    typer.echo(f"radiome: warning: {text}", err=True)


if __name__ == "__main__":
    sys.exit(main())
