"""``radiome demo``: a synthetic CT cohort written as NIfTI, its features, and a summary.

The folder it writes is the start of the whole workflow: ``manifest.csv`` (paths relative to
the folder) for ``radiome batch``, ``clinical.csv`` (``case_id``, a synthetic 0/1 ``outcome``
linked to the lesions) for ``radiome model evaluate``, the feature store ``demo.db`` (the cases
stored as one run, as ``radiome batch`` stores them), ``features.csv`` (long table) and, last,
the study report ``report.html``.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from radiome.synthetic import lesion_params, synthetic_outcome, write_cohort
from radiome.table import to_wide, write_table

__all__ = ["run_demo"]

_SHOWN = (
    ("morph_volume", "cm³"),
    ("morph_sphericity", "sphericity"),
    ("stat_mean", "mean HU"),
    ("stat_var", "var HU²"),
    ("cm_contrast_3d_vmrg", "contrast"),
    ("szm_zs_entr_3d", "zone entr."),
)
_SCALE = {"morph_volume": 1e-3}


def run_demo(folder: str | Path, *, n_cases: int = 12, seed: int = 0) -> pd.DataFrame:
    """Write the synthetic cohort and its outcome, extract every case, report; print.

    Every case is extracted with the default CT spec by :func:`radiome.cohort.run_case` (what
    ``radiome batch`` runs per case) into the store ``demo.db``, and
    :func:`radiome.report.write_report` writes ``report.html`` from it (the printed next
    steps add a model evaluation to it).

    Parameters
    ----------
    folder : path
        Output folder: ``images/``, ``masks/``, ``manifest.csv``, ``clinical.csv``,
        ``demo.db``, ``features.csv``, ``report.html``.
    n_cases : int, default 12
        Number of synthetic cases (case ``i`` has seed ``seed + i``).
    seed : int, default 0

    Returns
    -------
    DataFrame
        The long feature table written to ``features.csv``.
    """
    from rich.console import Console
    from rich.table import Table

    console = Console(width=None if Console().is_terminal else 100)
    folder = Path(folder)
    with console.status("writing the synthetic cohort"):
        manifest = write_cohort(folder, n_cases=n_cases, seed=seed)
    clinical = pd.DataFrame({"case_id": manifest["case_id"],
                             "outcome": synthetic_outcome(range(seed, seed + n_cases),
                                                          noise_seed=seed)})
    clinical.to_csv(folder / "clinical.csv", index=False)
    store = f"sqlite:///{(folder / 'demo.db').as_posix()}"
    with console.status("extracting") as status:
        features, seconds = _batch(folder, store, status)
    out = write_table(features, folder / "features.csv")
    wide = to_wide(features)
    summary = Table(title="radiome demo: synthetic CT lesions (default CT spec)")
    summary.add_column("case")
    summary.add_column("shape")
    for _, label in _SHOWN:
        summary.add_column(label, justify="right")
    summary.add_column("s", justify="right")
    for i, row in enumerate(manifest.itertuples(index=False)):
        cells = [f"{wide.at[row.case_id, key] * _SCALE.get(key, 1.0):.4g}"
                 if key in wide.columns else "-" for key, _ in _SHOWN]
        summary.add_row(row.case_id, lesion_params(seed + i).shape, *cells,
                        f"{seconds.get(row.case_id, math.nan):.2f}")
    console.print(summary)
    with console.status("writing the study report"):
        from radiome.report import write_report

        report = write_report(store, folder / "report.html")
    console.print(
        f"{len(features)} feature values ({len(features) // len(manifest)} per case, "
        f"{len(manifest)} cases) in {out} and the store {store}\n"
        f"images and masks: {folder / 'images'}, {folder / 'masks'}; manifest: "
        f"{folder / 'manifest.csv'}; synthetic outcome: {folder / 'clinical.csv'}\n"
        f"next: radiome export --store {store} --wide --out {folder / 'features_wide.csv'}\n"
        f"      radiome model evaluate {folder / 'features_wide.csv'} --clinical "
        f"{folder / 'clinical.csv'} --id case_id --outcome outcome --json > "
        f"{folder / 'evaluation.json'}\n"
        f"      radiome report --store {store} --model {folder / 'evaluation.json'} --out "
        f"{folder / 'report.html'}",
        soft_wrap=True,
    )
    console.print(f"study report: {report}", soft_wrap=True)
    return features


def _batch(folder: Path, store: str, status) -> tuple[pd.DataFrame, dict[str, float]]:
    """Extract the manifest's cases into the store; their long table and seconds per case.

    :func:`radiome.cohort.run_batch` runs the cases one after the other in this process
    (``workers=0``): for a dozen small cases starting a Dask cluster would take longer than
    the work. ``status`` shows the case.
    """
    from radiome.cohort import FeatureStore, read_manifest, run_batch
    from radiome.spec import load_spec

    spec = load_spec(None, modality="CT")
    manifest = folder / "manifest.csv"
    feature_store = FeatureStore(store, create=True)
    try:
        run_batch(read_manifest(manifest), spec, feature_store, workers=0,
                  manifest_name=str(manifest),
                  on_progress=lambda _, outcome: status.update(
                      f"extracted {outcome.case_id} into {store}"))
        features = feature_store.features(spec_hash=spec.hash)
        cases = feature_store.cases(spec.hash)
    finally:
        feature_store.close()
    return features, dict(zip(cases["case_id"], cases["seconds"], strict=True))
