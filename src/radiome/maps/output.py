"""Feature maps on disk: one NIfTI file per map, a summary table and the provenance."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from radiome._output import check_output, written
from radiome.maps.compute import FeatureMaps

if TYPE_CHECKING:
    import pandas as pd

    from radiome._progress import Advance

__all__ = ["SUMMARY_COLUMNS", "maps_summary", "write_maps"]

#: Columns of ``maps_summary.csv``: one row per map.
SUMMARY_COLUMNS = ("feature", "aggregation", "n_voxels", "n_nan", "nan_reason", "mean", "sd",
                   "min", "p10", "median", "p90", "max", "spec_hash")


def maps_summary(maps: FeatureMaps) -> pd.DataFrame:
    """One row per map: ROI voxels, undefined values and their reasons, and the distribution
    of the defined values.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`SUMMARY_COLUMNS`. ``n_voxels`` counts the ROI voxels of the map's grid,
        ``n_nan`` those where the map is undefined, ``nan_reason`` their reasons with counts
        (``single-voxel kernel: 3; single grey level: 12``; empty when none); ``sd`` is the
        population standard deviation (ddof 0) and the percentiles are NumPy's linear ones,
        all over the defined values (NaN when there are none).
    """
    import pandas as pd

    rows = []
    for column, name in enumerate(maps.names):
        values = maps.voxel_values[:, column]
        defined = values[np.isfinite(values)]
        reasons = maps.undefined.get(name, {})
        if defined.size:
            p10, median, p90 = np.percentile(defined, [10, 50, 90])
            spread = (float(defined.mean()), float(defined.std()), float(defined.min()),
                      float(p10), float(median), float(p90), float(defined.max()))
        else:
            spread = (float("nan"),) * 7
        rows.append((maps.features[column], maps.aggregations[column], values.size,
                     int(values.size - defined.size),
                     "; ".join(f"{reason}: {count}" for reason, count in reasons.items()),
                     *spread, maps.spec_hash))
    return pd.DataFrame.from_records(rows, columns=list(SUMMARY_COLUMNS))


def provenance(maps: FeatureMaps) -> dict:
    """What made the maps: software, image, ROI, spec, kernel and the maps' grid."""
    from radiome.provenance import software_versions

    grid = maps.grid
    return {
        "software": software_versions(),
        "image": maps.source,
        "roi": maps.roi,
        "spec_hash": maps.spec_hash,
        "spec": maps.spec.model_dump(mode="json"),
        "grid": {
            "kind": "resampled (the spec's interpolation grid)" if maps.resampled
            else "image grid",
            "shape_zyx": list(grid.shape), "spacing_mm_zyx": list(grid.spacing),
            "origin_mm_xyz": list(grid.origin), "direction": list(grid.direction),
        },
        "kernel": {"shape": maps.kernel, "radius_voxels_zyx": list(maps.radius),
                   "voxels": maps.n_kernel, "masked": maps.masked_kernel},
        "maps": list(maps.names),
    }


def write_maps(maps: FeatureMaps, out_dir: str | Path, *,
               advance: Advance | None = None) -> list[Path]:
    """Write every map as ``out_dir/<map name>.nii.gz``, then ``maps_summary.csv`` and
    ``maps_provenance.json``; each file is written whole or not at all.

    Maps lie on ``maps.grid`` (the image grid, or the spec's interpolation grid, which the
    file header's description and the provenance name), NaN outside the ROI, in float64.
    (SimpleITK 2.5 reads NaN in NIfTI files as 0; nibabel reads the NaN.)

    Returns
    -------
    list of Path
        The files written, the summary and provenance last.

    Raises
    ------
    UnwritableFileError
        ``out_dir`` or a file in it cannot be written.
    """
    from radiome.io.volumes import to_sitk

    out_dir = Path(out_dir)
    summary_path = check_output(out_dir / "maps_summary.csv", (".csv",), "maps summary")
    import SimpleITK as sitk

    grid_note = "resampled grid" if maps.resampled else "image grid"
    paths = []
    for name in maps.names:
        path = check_output(out_dir / f"{name}.nii.gz", (".nii.gz",), "feature map")
        image = to_sitk(maps[name].array, maps.grid)
        # ITK writes this note into the NIfTI header's descrip field (80 characters).
        image.SetMetaData("ITK_FileNotes", f"radiome {name} {grid_note} {maps.spec_hash}"[:79])
        with written(path, "feature map") as partial:
            sitk.WriteImage(image, str(partial), useCompression=True)
        paths.append(path)
        if advance is not None:
            advance(status=name)
    with written(summary_path, "maps summary") as partial:
        maps_summary(maps).to_csv(partial, index=False)
    provenance_path = out_dir / "maps_provenance.json"
    with written(provenance_path, "maps provenance") as partial:
        partial.write_text(json.dumps(provenance(maps), indent=1) + "\n", encoding="utf-8")
    return [*paths, summary_path, provenance_path]
