"""The ``radiome maps`` command: a thin face over :func:`radiome.maps.feature_maps`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

__all__ = ["app"]

app = typer.Typer(no_args_is_help=True)


@app.command()
def maps(
    image: Annotated[Path, typer.Argument(help="Volume file (NIfTI, NRRD, MHA) or DICOM folder.")],
    mask: Annotated[Path, typer.Argument(help="Label map, DICOM RTSTRUCT or DICOM SEG.")],
    radius: Annotated[
        float, typer.Option("--radius", help="Kernel radius in voxels (an integer), or in mm "
                            "with --radius-mm.")
    ],
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Folder for one <feature>.nii.gz per map, "
                           "maps_summary.csv and maps_provenance.json.")
    ],
    radius_mm: Annotated[
        bool, typer.Option("--radius-mm", help="The radius is in mm (r = floor(R / spacing) "
                           "voxels per axis).")
    ] = False,
    families: Annotated[
        str | None,
        typer.Option("--families", help="Comma-separated families (stat, ih, cm, rlm, szm, "
                     "dzm, ngt, ngl) and/or feature names; default: the spec's families that "
                     "have maps."),
    ] = None,
    spec: Annotated[
        Path | None, typer.Option("--spec", help="Spec YAML; default: the modality's default spec.")
    ] = None,
    kernel: Annotated[
        str, typer.Option("--kernel", help="Kernel shape: cube or sphere.")
    ] = "cube",
    masked_kernel: Annotated[
        bool, typer.Option("--masked-kernel/--unmasked-kernel",
                           help="Kernels hold ROI voxels only (default), or every voxel.")
    ] = True,
    roi: Annotated[
        str | None, typer.Option("--roi", help="Label value or structure/segment name.")
    ] = None,
    modality: Annotated[
        str | None,
        typer.Option("--modality", help="CT, MR or PT for files that do not record it (NIfTI, "
                     "NRRD)."),
    ] = None,
    series: Annotated[
        str | None,
        typer.Option("--series", help="DICOM folder with several series: UID, number or "
                     "description."),
    ] = None,
) -> None:
    """Write voxel-wise feature maps: the features of every ROI voxel's neighbourhood."""
    from radiome._output import check_output
    from radiome._progress import progress
    from radiome.errors import FeatureError
    from radiome.io import load_volume
    from radiome.maps import feature_maps, write_maps

    if not radius_mm and radius != int(radius):
        msg = f"--radius {radius:g} must be a whole number of voxels (or add --radius-mm)"
        raise FeatureError(msg)
    check_output(out / "maps_summary.csv", (".csv",), "maps summary")
    chosen = None if families is None else [f.strip() for f in families.split(",") if f.strip()]
    with progress(f"reading {image.name}"):
        volume = load_volume(image, series=series, modality=modality)
    computed = feature_maps(volume, mask, spec=spec, roi=roi, features=chosen, kernel=kernel,
                            masked_kernel=masked_kernel,
                            radius_mm=radius if radius_mm else None,
                            radius_voxels=None if radius_mm else int(radius))
    with progress(f"writing maps to {out}", len(computed)) as advance:
        write_maps(computed, out, advance=advance)
    grid = computed.grid
    where = (f"the spec's resampled grid ({' x '.join(f'{s:g}' for s in grid.spacing)} mm, "
             "z, y, x)" if computed.resampled else "the image grid")
    typer.echo(f"{len(computed)} maps of {len(computed.index)} ROI voxels written to {out} "
               f"on {where}", err=True)
    for name, reasons in computed.undefined.items():
        text = "; ".join(f"{reason}: {count}" for reason, count in reasons.items())
        typer.echo(f"  {name}: {sum(reasons.values())} undefined (NaN): {text}", err=True)
