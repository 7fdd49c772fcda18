"""Fixtures of the reader tests: a DICOM SEG writer."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import highdicom as hd
import numpy as np
import pydicom
import pytest
from pydicom.sr.codedict import codes


def _write_seg(files: list[Path], mask: np.ndarray, path: Path, fractional: bool) -> Path:
    sources = [pydicom.dcmread(p) for p in files]
    segments = [
        hd.seg.SegmentDescription(
            segment_number=number,
            segment_label=label,
            segmented_property_category=codes.SCT.MorphologicallyAbnormalStructure,
            segmented_property_type=codes.SCT.Neoplasm,
            algorithm_type=hd.seg.SegmentAlgorithmTypeValues.MANUAL,
        )
        for number, label in ((1, "lesion"), (2, "rim"))
    ]
    rim = mask ^ np.roll(mask, 1, axis=2)
    pixels = np.stack([mask, rim], axis=-1)
    kind = hd.seg.SegmentationTypeValues.BINARY
    if fractional:
        pixels = pixels.astype(np.float32) * 0.8
        kind = hd.seg.SegmentationTypeValues.FRACTIONAL
    seg = hd.seg.Segmentation(
        source_images=sources,
        pixel_array=pixels.astype(np.uint8) if not fractional else pixels,
        segmentation_type=kind,
        segment_descriptions=segments,
        series_instance_uid=hd.UID(),
        series_number=5,
        sop_instance_uid=hd.UID(),
        instance_number=1,
        manufacturer="radiome tests",
        manufacturer_model_name="test",
        software_versions="0",
        device_serial_number="0",
    )
    seg.save_as(path)
    return path


@pytest.fixture(scope="session")
def write_seg() -> Callable[[list[Path], np.ndarray, Path, bool], Path]:
    """``write_seg(files, mask, path, fractional)``: a SEG with segments 'lesion' (the mask)
    and 'rim' (the mask xor itself shifted by one column) on the series ``files``."""
    return _write_seg
