"""DICOM files cut short (image slices, multi-frame images, RTSTRUCT, SEG) give one-line errors.

pydicom alone reads a file cut short without complaint: a slice cut before its
ImagePositionPatient silently dropped out of its series, and one cut in its pixel data failed
only at decoding. Every file here is written by the test, read back once intact, then damaged.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pydicom
import pytest

from radiome.errors import UnreadableFileError
from radiome.io import load_mask, load_volume, write_volume
from radiome.io.dicom_write import write_dicom_series, write_rtstruct
from radiome.synthetic import synthetic_case

PIXEL_BYTES = 48 * 48 * 2  # one int16 slice of the synthetic series


@pytest.fixture(scope="module")
def written(tmp_path_factory, write_seg) -> dict:
    """A synthetic CT series, its RTSTRUCT and SEG, and the mask as NIfTI."""
    volume, mask = synthetic_case(5, shape=(8, 48, 48))
    root = tmp_path_factory.mktemp("dicom")
    files = write_dicom_series(volume, root / "ct", patient_id="CUT")
    return {
        "volume": volume,
        "files": files,
        "rtstruct": write_rtstruct(mask, files, root / "rs.dcm"),
        "seg": write_seg(files, mask.array, root / "seg.dcm", False),
        "mask_nii": write_volume(mask, root / "mask.nii.gz"),
    }


def _offset(data: bytes, tag: tuple[int, int]) -> int:
    """Byte offset of a (little endian) data element header in a file."""
    return data.index(tag[0].to_bytes(2, "little") + tag[1].to_bytes(2, "little"))


def _series_with_cut_slice(written: dict, folder: Path, index: int, keep) -> Path:
    """A copy of the series whose slice ``index`` keeps ``keep(data)`` bytes."""
    shutil.copytree(written["files"][0].parent, folder)
    path = folder / written["files"][index].name
    data = path.read_bytes()
    path.write_bytes(data[: keep(data)])
    return path


def _one_line_error(call, path: Path, expect: str) -> str:
    with pytest.raises(UnreadableFileError) as err:
        call()
    message = str(err.value)
    assert message.startswith(f"{path}: "), message
    assert re.search(expect, message), message
    assert "\n" not in message
    return message


SLICE_CUTS = {
    "in-pixel-data": (
        lambda data: len(data) - 100,
        rf"truncated: the file ends {PIXEL_BYTES - 100} bytes into PixelData \(7FE0,0010\), "
        rf"which declares {PIXEL_BYTES} bytes",
    ),
    "before-pixel-data": (
        lambda data: _offset(data, (0x7FE0, 0x0010)),
        r"truncated or incomplete: the file ends after \d+ bytes without the pixel data "
        r"\(7FE0,0010\) that a CT Image Storage carries",
    ),
    "inside-image-position": (
        lambda data: _offset(data, (0x0020, 0x0032)) + 12,
        r"truncated: the file ends 4 bytes into ImagePositionPatient \(0020,0032\)",
    ),
    "before-image-position": (
        lambda data: _offset(data, (0x0020, 0x0032)),
        r"truncated or incomplete: the file ends after \d+ bytes without the pixel data",
    ),
    "inside-an-element-header": (
        lambda data: _offset(data, (0x0020, 0x0032)) + 3,
        r"truncated: the file ends inside a data element header \(byte \d+\)",
    ),
    "first-1000-bytes": (lambda data: 1000, r"^.*: truncated: "),
    "in-the-preamble": (
        lambda data: 100,
        r"truncated: the file has 100 bytes, fewer than the 132 of the DICOM preamble",
    ),
}


@pytest.mark.parametrize("case", list(SLICE_CUTS))
@pytest.mark.parametrize("index", [0, 4, -1], ids=["first", "middle", "last"])
def test_series_with_a_cut_slice_is_refused(written, tmp_path, case, index):
    keep, expect = SLICE_CUTS[case]
    path = _series_with_cut_slice(written, tmp_path / "ct", index, keep)
    _one_line_error(lambda: load_volume(tmp_path / "ct"), path, expect)


def test_intact_copy_of_the_series_reads_exactly(written, tmp_path):
    shutil.copytree(written["files"][0].parent, tmp_path / "ct")
    assert np.array_equal(load_volume(tmp_path / "ct").array, written["volume"].array)


def _multi_frame(written: dict, path: Path, frames_declared: int, frames_stored: int) -> Path:
    """One file holding the first frames of the series as a multi-frame image."""
    ds = pydicom.dcmread(written["files"][0])
    pixels = np.stack([pydicom.dcmread(p).pixel_array for p in written["files"][:frames_stored]])
    ds.NumberOfFrames = frames_declared
    ds.PixelData = pixels.tobytes()
    ds.save_as(path)
    return path


def test_multi_frame_with_fewer_frames_than_declared(written, tmp_path):
    path = _multi_frame(written, tmp_path / "mf.dcm", frames_declared=3, frames_stored=2)
    expect = (
        rf"pixel data has {2 * PIXEL_BYTES} bytes, the header needs {3 * PIXEL_BYTES} "
        r"\(Rows 48 x Columns 48 x SamplesPerPixel 1 x BitsAllocated 16 x NumberOfFrames 3 / 8\)"
    )
    _one_line_error(lambda: load_volume(path), path, expect)


def test_multi_frame_cut_short(written, tmp_path):
    path = _multi_frame(written, tmp_path / "mf.dcm", frames_declared=3, frames_stored=3)
    assert pydicom.dcmread(path).pixel_array.shape == (3, 48, 48)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - PIXEL_BYTES])
    expect = (rf"truncated: the file ends {2 * PIXEL_BYTES} bytes into PixelData \(7FE0,0010\), "
              rf"which declares {3 * PIXEL_BYTES} bytes")
    _one_line_error(lambda: load_volume(path), path, expect)


@pytest.mark.parametrize("kind", ["rtstruct", "seg"])
@pytest.mark.parametrize("fraction", [0.1, 0.5, 0.95])
def test_mask_file_cut_short(written, tmp_path, kind, fraction):
    image = load_volume(written["files"][0].parent)
    good = written[kind]
    assert load_mask(good, reference=image, roi="lesion" if kind == "seg" else None).n_voxels > 0
    path = tmp_path / good.name
    data = good.read_bytes()
    path.write_bytes(data[: int(len(data) * fraction)])
    _one_line_error(lambda: load_mask(path, reference=image), path, r"truncated")


def test_rtstruct_cut_before_its_contours(written, tmp_path):
    image = load_volume(written["files"][0].parent)
    data = written["rtstruct"].read_bytes()
    path = tmp_path / "rs.dcm"
    path.write_bytes(data[: _offset(data, (0x3006, 0x0039))])
    expect = r"RTSTRUCT has no ROIContourSequence; the file is cut short or incomplete"
    _one_line_error(lambda: load_mask(path, reference=image), path, expect)


def _cli(*args: Path | str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "radiome.cli", "extract", *map(str, args), "--modality", "CT"],
        capture_output=True, text=True, check=False,
    )


def test_cli_extract_exits_1_with_one_line_for_a_cut_slice(written, tmp_path):
    path = _series_with_cut_slice(written, tmp_path / "ct", 4, lambda data: len(data) // 2)
    done = _cli(tmp_path / "ct", written["rtstruct"])
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(f"radiome: error: {path}: truncated: the file ends "), lines[0]


@pytest.mark.parametrize("suffix", [".nii.gz", ".nii", ".mha", ".nrrd"])
def test_cli_extract_exits_1_with_one_line_for_a_cut_volume(written, tmp_path, suffix):
    path = write_volume(written["volume"], tmp_path / f"image{suffix}")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    done = _cli(path, written["mask_nii"])
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(f"radiome: error: {path}: truncated: "), lines[0]
