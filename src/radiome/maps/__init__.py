"""Voxel-wise feature maps: the IBSI features of every ROI voxel's neighbourhood.

- :func:`feature_maps`: the maps of one image and ROI (:class:`FeatureMaps`, a mapping of map
  name to :class:`radiome.Volume`), for the families of :data:`MAP_FAMILIES`, with the number
  of undefined values per map and :data:`REASONS`.
- :func:`write_maps`: one NIfTI file per map, ``maps_summary.csv`` (:func:`maps_summary`) and
  ``maps_provenance.json`` in a folder (``radiome maps``).

Maps sit above extraction: they process the image as :func:`radiome.extract` does and give,
at each voxel, the value ``extract`` gives for a mask that is exactly that voxel's kernel.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from radiome._lazy import lazy_exports

_EXPORTS = {
    "MAP_FAMILIES": "radiome.maps.compute",
    "REASONS": "radiome.maps.compute",
    "FeatureMaps": "radiome.maps.compute",
    "feature_maps": "radiome.maps.compute",
    "SUMMARY_COLUMNS": "radiome.maps.output",
    "maps_summary": "radiome.maps.output",
    "write_maps": "radiome.maps.output",
}
__all__ = [
    "MAP_FAMILIES",
    "REASONS",
    "SUMMARY_COLUMNS",
    "FeatureMaps",
    "feature_maps",
    "maps_summary",
    "write_maps",
]
__getattr__, __dir__ = lazy_exports(__name__, globals(), _EXPORTS)

if TYPE_CHECKING:
    from radiome.maps.compute import MAP_FAMILIES, REASONS, FeatureMaps, feature_maps
    from radiome.maps.output import SUMMARY_COLUMNS, maps_summary, write_maps
