"""Volume, Mask, Grid and AcquisitionMetadata: type hints resolve, no import of the io layer."""

from __future__ import annotations

import subprocess
import sys
import typing

import pytest

from radiome.volume import AcquisitionMetadata, DicomReference, Grid, Mask, Volume


@pytest.mark.parametrize("cls", [Volume, Mask, Grid, AcquisitionMetadata, DicomReference])
def test_type_hints_of_volume_classes_resolve(cls):
    hints = typing.get_type_hints(cls)
    assert set(hints) == {f for f in cls.__dataclass_fields__}


def test_volume_dicom_field_is_the_dicom_reference_of_volume_module():
    assert typing.get_type_hints(Volume)["dicom"] == DicomReference | None


def test_importing_volume_does_not_import_the_io_layer():
    code = (
        "import sys, radiome.volume; "
        "print(sorted(m for m in sys.modules if m.startswith('radiome.io')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
