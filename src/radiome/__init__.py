"""radiome: IBSI-exact radiomics, from DICOM folders to validated imaging biomarkers.

The public API::

    import radiome
    volume = radiome.load_volume("ct_folder/")            # or .nii.gz / .nrrd / .mha
    mask = radiome.load_mask("rtstruct.dcm", roi="GTV-1", reference=volume)
    table = radiome.extract(volume, mask, spec="specs/ibsi1/config_C.yaml")
"""

from __future__ import annotations

from radiome import filters, ibsi
from radiome.errors import RadiomeError, RadiomeWarning
from radiome.extract import extract
from radiome.io import load_mask, load_volume, write_volume
from radiome.spec import Spec, default_spec, load_spec, spec_hash
from radiome.table import read_table, to_wide, write_table
from radiome.volume import AcquisitionMetadata, Grid, Mask, Volume

__version__ = "0.1.0"

__all__ = [
    "AcquisitionMetadata",
    "Grid",
    "Mask",
    "RadiomeError",
    "RadiomeWarning",
    "Spec",
    "Volume",
    "__version__",
    "default_spec",
    "extract",
    "filters",
    "ibsi",
    "load_mask",
    "load_spec",
    "load_volume",
    "read_table",
    "spec_hash",
    "to_wide",
    "write_table",
    "write_volume",
]
