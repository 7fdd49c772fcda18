"""Damaged volume files (cut short, short data, inconsistent header) give one-line errors.

Each case writes a good file with SimpleITK, checks that it reads back exactly, damages a
copy, and asserts the :class:`UnreadableFileError` names the file and the problem. ITK alone
zero-fills the voxels missing from a cut NIfTI and reads a NIfTI with a zero size as one slice.
"""

from __future__ import annotations

import gzip
import re
import struct
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk

from radiome.errors import UnreadableFileError
from radiome.io import load_mask, load_volume
from radiome.io.volume_integrity import check_volume_file

SHAPE = (20, 64, 64)  # (z, y, x): the header needs 20 * 64 * 64 * 2 = 163840 bytes
NEED = 163_840


@pytest.fixture(scope="module")
def values() -> np.ndarray:
    return np.random.default_rng(7).integers(-1000, 1000, size=SHAPE).astype(np.int16)


def _write(values: np.ndarray, path: Path, *, compress: bool = False) -> Path:
    sitk.WriteImage(sitk.GetImageFromArray(values), str(path), useCompression=compress)
    return path


def _cut(path: Path, keep: int) -> Path:
    """Keep the first ``keep`` bytes (negative: drop the last ``-keep``)."""
    data = path.read_bytes()
    path.write_bytes(data[:keep])
    return path


def _patch(path: Path, offset: int, fmt: str, value: float) -> Path:
    data = bytearray(path.read_bytes())
    struct.pack_into(fmt, data, offset, value)
    path.write_bytes(bytes(data))
    return path


def _replace(path: Path, old: bytes, new: bytes) -> Path:
    data = path.read_bytes()
    assert old in data
    path.write_bytes(data.replace(old, new, 1))
    return path


def _header_end(path: Path) -> int:
    """Offset of the data after a text header (NRRD blank line, MetaImage LOCAL line)."""
    data = path.read_bytes()
    for marker in (b"ElementDataFile = LOCAL\n", b"\n\n"):
        if marker in data:
            return data.index(marker) + len(marker)
    raise AssertionError(path)


def _short_gzip_payload(path: Path) -> Path:
    """A .nii.gz whose gzip stream is whole but holds only half the data."""
    payload = gzip.decompress(path.read_bytes())
    path.write_bytes(gzip.compress(payload[: len(payload) // 2]))
    return path


def _nrrd_short_gzip(path: Path) -> Path:
    """An attached gzip NRRD whose stream is whole but short by one voxel row."""
    end = _header_end(path)
    data = path.read_bytes()
    payload = gzip.decompress(data[end:])
    path.write_bytes(data[:end] + gzip.compress(payload[:-128]))
    return path


def _meta_short_zlib(path: Path) -> Path:
    """A compressed .mha whose zlib stream is whole but holds half the data."""
    end = _header_end(path)
    data = path.read_bytes()
    short = zlib.compress(zlib.decompress(data[end:])[: NEED // 2])
    header = data[:end].decode()
    size = next(ln for ln in header.splitlines() if ln.startswith("CompressedDataSize"))
    header = header.replace(size, f"CompressedDataSize = {len(short)}")
    path.write_bytes(header.encode() + short)
    return path


def _detached_nrrd(values: np.ndarray, folder: Path, *, gz: bool) -> Path:
    """A .nhdr header with its data in image.raw (or image.raw.gz)."""
    raw = values.tobytes()
    data = folder / ("image.raw.gz" if gz else "image.raw")
    data.write_bytes(gzip.compress(raw) if gz else raw)
    header = folder / "image.nhdr"
    header.write_text(
        "NRRD0004\ntype: short\ndimension: 3\nspace: left-posterior-superior\n"
        "sizes: 64 64 20\nspace directions: (1,0,0) (0,1,0) (0,0,1)\nendian: little\n"
        f"encoding: {'gzip' if gz else 'raw'}\nspace origin: (0,0,0)\ndata file: {data.name}\n"
    )
    return header


# (file name, compress, damage, expected message part)
Damage = Callable[[Path], Path]
CASES: dict[str, tuple[str, bool, Damage, str]] = {
    "nii-first-1000-bytes": ("x.nii", False, lambda p: _cut(p, 1000),
                             "truncated: data has 648 bytes, the header needs 163840"),
    "nii-half": ("x.nii", False, lambda p: _cut(p, (NEED + 352) // 2),
                 "truncated: data has 81744 bytes, the header needs 163840 (64 x 64 x 20 voxels"),
    "nii-last-byte": ("x.nii", False, lambda p: _cut(p, -1),
                      "truncated: data has 163839 bytes, the header needs 163840"),
    "nii-in-header": ("x.nii", False, lambda p: _cut(p, 200),
                      "truncated: the header needs 348 bytes, the file holds 200"),
    "niigz-first-1000-bytes": ("x.nii.gz", True, lambda p: _cut(p, 1000),
                               "truncated: the compressed stream ends after 1000 bytes"),
    "niigz-half": ("x.nii.gz", True, lambda p: _cut(p, p.stat().st_size // 2),
                   "truncated: the compressed stream ends after"),
    "niigz-trailer-cut": ("x.nii.gz", True, lambda p: _cut(p, -1),
                          "truncated: the compressed stream ends after"),
    "niigz-whole-but-short": ("x.nii.gz", True, _short_gzip_payload,
                              "data has 81744 bytes, the header needs 163840"),
    "nii-dim-zero": ("x.nii", False, lambda p: _patch(p, 46, "<h", 0),
                     "inconsistent header: dim[3] is 0; every size must be >= 1"),
    "nii-dim-negative": ("x.nii", False, lambda p: _patch(p, 42, "<h", -64),
                         "inconsistent header: dim[1] is -64"),
    "nii-ndim-nine": ("x.nii", False, lambda p: _patch(p, 40, "<h", 9),
                      "dim[0] (the number of dimensions) is 9, expected 1 to 7"),
    "nii-datatype-unknown": ("x.nii", False, lambda p: _patch(p, 70, "<h", 77),
                             "inconsistent header: NIfTI datatype code 77 is unknown"),
    "nii-vox-offset-beyond": ("x.nii", False, lambda p: _patch(p, 108, "<f", 1e6),
                              "truncated: data has 0 bytes, the header needs 163840"),
    "nrrd-raw-half": ("x.nrrd", False, lambda p: _cut(p, _header_end(p) + NEED // 2),
                      "truncated: data has 81920 bytes, the header needs 163840"),
    "nrrd-gzip-half": ("x.nrrd", True, lambda p: _cut(p, p.stat().st_size // 2),
                       "truncated: the compressed stream ends after"),
    "nrrd-gzip-trailer-cut": ("x.nrrd", True, lambda p: _cut(p, -1),
                              "truncated: the compressed stream ends after"),
    "nrrd-gzip-whole-but-short": ("x.nrrd", True, _nrrd_short_gzip,
                                  "data has 163712 bytes, the header needs 163840"),
    "nrrd-size-zero": ("x.nrrd", False, lambda p: _replace(p, b"sizes: 64 64 20",
                                                           b"sizes: 64 0 20"),
                       "inconsistent header: sizes[2] is 0"),
    "nrrd-type-unknown": ("x.nrrd", False, lambda p: _replace(p, b"type: short", b"type: quux"),
                          "inconsistent header: NRRD type 'quux' is unknown"),
    "mha-raw-half": ("x.mha", False, lambda p: _cut(p, _header_end(p) + NEED // 2),
                     "truncated: data has 81920 bytes, the header needs 163840"),
    "mha-compressed-half": ("x.mha", True, lambda p: _cut(p, p.stat().st_size // 2),
                            "truncated: the compressed data has"),
    "mha-compressed-whole-but-short": ("x.mha", True, _meta_short_zlib,
                                       "data has 81920 bytes, the header needs 163840"),
    "mha-size-zero": ("x.mha", False, lambda p: _replace(p, b"DimSize = 64 64 20",
                                                         b"DimSize = 64 64 0"),
                      "inconsistent header: DimSize[3] is 0"),
    "mha-type-unknown": ("x.mha", False, lambda p: _replace(p, b"MET_SHORT", b"MET_QUUX"),
                         "inconsistent header: ElementType 'MET_QUUX' is unknown"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_damaged_volume_file_is_refused_with_the_reason(case, values, tmp_path):
    name, compress, damage, expect = CASES[case]
    path = _write(values, tmp_path / name, compress=compress)
    assert np.array_equal(load_volume(path).array, values)  # the good file reads exactly
    damage(path)
    with pytest.raises(UnreadableFileError) as err:
        load_volume(path, modality="CT")
    message = str(err.value)
    assert message.startswith(f"{path}: "), message
    assert expect in message, message
    assert "\n" not in message


def test_damaged_label_map_is_refused_too(values, tmp_path):
    path = _write((values > 0).astype(np.uint8), tmp_path / "mask.nii.gz", compress=True)
    _cut(path, path.stat().st_size // 2)
    expect = r"mask\.nii\.gz: truncated: the compressed stream"
    with pytest.raises(UnreadableFileError, match=expect):
        load_mask(path)


@pytest.mark.parametrize(
    ("data_name", "damage", "expect"),
    [
        ("x.img", lambda p: _cut(p, NEED // 2), "truncated: data file x.img: data has 81920 "
                                                "bytes, the header needs 163840"),
        ("x.img", lambda p: p.unlink(), "x.img does not exist"),
    ],
    ids=["img-half", "img-missing"],
)
def test_damaged_nifti_pair(values, tmp_path, data_name, damage, expect):
    header = _write(values, tmp_path / "x.hdr")
    assert np.array_equal(load_volume(header).array, values)
    damage(tmp_path / data_name)
    with pytest.raises(UnreadableFileError, match=re.escape(expect)):
        load_volume(header)


def test_nifti_pair_with_gzip_data_whole_but_short(values, tmp_path):
    header = _write(values, tmp_path / "x.hdr")
    img = tmp_path / "x.img"
    (tmp_path / "x.img.gz").write_bytes(gzip.compress(img.read_bytes()[:-2]))
    img.unlink()
    with pytest.raises(UnreadableFileError, match="data has 163838 bytes, the header needs 163840"):
        load_volume(header)


@pytest.mark.parametrize("gz", [False, True], ids=["raw", "gzip"])
def test_detached_nrrd_short_or_missing_data_file(values, tmp_path, gz):
    header = _detached_nrrd(values, tmp_path, gz=gz)
    assert np.array_equal(load_volume(header).array, values)
    data = tmp_path / ("image.raw.gz" if gz else "image.raw")
    _cut(data, data.stat().st_size // 2)
    expect = ("truncated: data file image.raw.gz: the compressed stream ends" if gz
              else "truncated: data file image.raw: data has 81920 bytes, the header needs 163840")
    with pytest.raises(UnreadableFileError, match=re.escape(expect)):
        load_volume(header)
    data.unlink()
    with pytest.raises(UnreadableFileError, match=re.escape(f"data file {data} does not exist")):
        load_volume(header)


@pytest.mark.parametrize("compress", [False, True], ids=["raw", "compressed"])
def test_mhd_short_or_missing_data_file(values, tmp_path, compress):
    header = _write(values, tmp_path / "x.mhd", compress=compress)
    assert np.array_equal(load_volume(header).array, values)
    data = tmp_path / ("x.zraw" if compress else "x.raw")
    _cut(data, data.stat().st_size // 2)
    expect = ("truncated: data file x.zraw: the compressed data has" if compress
              else "truncated: data file x.raw: data has 81920 bytes, the header needs 163840")
    with pytest.raises(UnreadableFileError, match=re.escape(expect)):
        load_volume(header)
    data.unlink()
    with pytest.raises(UnreadableFileError, match=re.escape(f"data file {data} does not exist")):
        load_volume(header)


def test_gzip_stream_of_two_members_is_accepted(values, tmp_path):
    """ISIZE holds only the last member's length; the count over all members decides."""
    path = _write(values, tmp_path / "x.nii.gz", compress=True)
    payload = gzip.decompress(path.read_bytes())
    path.write_bytes(gzip.compress(payload[:1000]) + gzip.compress(payload[1000:]))
    check_volume_file(path)
    assert np.array_equal(load_volume(path).array, values)


def test_good_shared_files_pass_the_check(shared_data):
    base = shared_data / "pyradiomics_cases"
    phantom = shared_data / "ibsi1" / "ct_phantom" / "nifti" / "phantom.nii.gz"
    for path in [*sorted(base.glob("*.nrrd")), phantom]:
        check_volume_file(path, thorough=True)
