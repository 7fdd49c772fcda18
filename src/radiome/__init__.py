"""radiome: IBSI-exact radiomics, from DICOM folders to validated imaging biomarkers.

The public API::

    import radiome
    volume = radiome.load_volume("ct_folder/")            # or .nii.gz / .nrrd / .mha
    mask = radiome.load_mask("rtstruct.dcm", roi="GTV-1", reference=volume)
    table = radiome.extract(volume, mask, spec="specs/ibsi1/config_C.yaml")

Names are imported on first use, so ``import radiome`` (and ``radiome --help``) stays fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from radiome._lazy import lazy_exports

__version__ = "0.1.0"

#: Public name -> module that defines it (submodules map to themselves).
_EXPORTS = {
    "AcquisitionMetadata": "radiome.volume",
    "Grid": "radiome.volume",
    "Mask": "radiome.volume",
    "Volume": "radiome.volume",
    "RadiomeError": "radiome.errors",
    "RadiomeWarning": "radiome.errors",
    "Spec": "radiome.spec",
    "default_spec": "radiome.spec",
    "load_spec": "radiome.spec",
    "spec_hash": "radiome.spec",
    "extract": "radiome.extraction",
    "filter_responses": "radiome.extraction",
    "feature_maps": "radiome.maps",
    "load_mask": "radiome.io",
    "load_volume": "radiome.io",
    "write_volume": "radiome.io",
    "read_table": "radiome.table",
    "to_wide": "radiome.table",
    "write_table": "radiome.table",
    "analysis": "radiome.analysis",
    "cohort": "radiome.cohort",
    "filters": "radiome.filters",
    "habitats": "radiome.habitats",
    "ibsi": "radiome.ibsi",
    "maps": "radiome.maps",
    "reliability": "radiome.reliability",
    "report": "radiome.report",
}

__all__ = [
    "AcquisitionMetadata",
    "Grid",
    "Mask",
    "RadiomeError",
    "RadiomeWarning",
    "Spec",
    "Volume",
    "__version__",
    "analysis",
    "cohort",
    "default_spec",
    "extract",
    "feature_maps",
    "filter_responses",
    "filters",
    "habitats",
    "ibsi",
    "load_mask",
    "load_spec",
    "load_volume",
    "maps",
    "read_table",
    "reliability",
    "report",
    "spec_hash",
    "to_wide",
    "write_table",
    "write_volume",
]


__getattr__, __dir__ = lazy_exports(__name__, globals(), _EXPORTS)

if TYPE_CHECKING:
    from radiome import analysis, cohort, filters, habitats, ibsi, maps, reliability, report
    from radiome.errors import RadiomeError, RadiomeWarning
    from radiome.extraction import extract, filter_responses
    from radiome.io import load_mask, load_volume, write_volume
    from radiome.maps import feature_maps
    from radiome.spec import Spec, default_spec, load_spec, spec_hash
    from radiome.table import read_table, to_wide, write_table
    from radiome.volume import AcquisitionMetadata, Grid, Mask, Volume
