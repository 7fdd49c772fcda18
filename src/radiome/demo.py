"""``radiome demo``: a synthetic CT cohort written as NIfTI, its features, and a summary.

The folder it writes is the start of the whole workflow: ``manifest.csv`` (paths relative to
the folder) for ``radiome batch``, ``clinical.csv`` (``case_id``, a synthetic 0/1 ``outcome``
linked to the lesions) for ``radiome model evaluate``, and ``features.csv`` (long table).
"""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd

from radiome.extraction import extract
from radiome.io import load_volume
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
    """Write the synthetic cohort and its outcome, extract every case (default CT spec), print.

    Parameters
    ----------
    folder : path
        Output folder: ``images/``, ``masks/``, ``manifest.csv``, ``clinical.csv``,
        ``features.csv``.
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
    tables, seconds = [], []
    for row in manifest.itertuples(index=False):
        start = time.perf_counter()
        with console.status(f"extracting {row.case_id}"):
            volume = load_volume(row.image, modality=row.modality)
            tables.append(extract(volume, row.mask, roi=row.roi, case_id=row.case_id))
        seconds.append(time.perf_counter() - start)
    features = pd.concat(tables, ignore_index=True)
    out = write_table(features, folder / "features.csv")
    wide = to_wide(features)
    summary = Table(title="radiome demo: synthetic CT lesions (default CT spec)")
    summary.add_column("case")
    summary.add_column("shape")
    for _, label in _SHOWN:
        summary.add_column(label, justify="right")
    summary.add_column("s", justify="right")
    for i, (row, took) in enumerate(zip(manifest.itertuples(index=False), seconds, strict=True)):
        cells = [f"{wide.at[row.case_id, key] * _SCALE.get(key, 1.0):.4g}"
                 if key in wide.columns else "-" for key, _ in _SHOWN]
        summary.add_row(row.case_id, lesion_params(seed + i).shape, *cells, f"{took:.2f}")
    console.print(summary)
    store = f"sqlite:///{(folder / 'demo.db').as_posix()}"
    console.print(
        f"{len(features)} feature values ({len(features) // len(manifest)} per case, "
        f"{len(manifest)} cases) in {out}\n"
        f"images and masks: {folder / 'images'}, {folder / 'masks'}; manifest: "
        f"{folder / 'manifest.csv'}; synthetic outcome: {folder / 'clinical.csv'}\n"
        f"next: radiome batch {folder / 'manifest.csv'} --store {store}\n"
        f"      radiome export --store {store} --wide --out {folder / 'features_wide.csv'}\n"
        f"      radiome model evaluate {folder / 'features_wide.csv'} --clinical "
        f"{folder / 'clinical.csv'} --id case_id --outcome outcome",
        soft_wrap=True,
    )
    return features
