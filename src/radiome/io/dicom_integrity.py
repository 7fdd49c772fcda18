"""DICOM files must hold every byte their data elements declare; files cut short are refused.

pydicom reads a DICOM file cut short without complaint: it stops at the last whole element
header and keeps a short last value. A slice cut before its ImagePositionPatient then drops
out of its series unnoticed, one cut in its pixel data fails only at decoding with a long
message, and a structure set or segmentation cut inside a sequence raises deep in the parser.
So each DICOM file is first walked here (:func:`dicom_layout`), element header by element
header, seeking over the values: every value must end within the file, every sequence or item
of undefined length must reach its delimiter. After pydicom has parsed the header,
:func:`check_pixel_data` checks that an image (or segmentation) has its pixel data and that
uncompressed pixel data hold Rows x Columns x SamplesPerPixel x BitsAllocated / 8 x
NumberOfFrames bytes.

The walk reads only the element headers (tens of bytes for each element of the header, not
the pixel data). Deflate-compressed data sets and files without the Part 10 preamble are not
walked (their pixel data are still checked).
"""

from __future__ import annotations

import mmap
import struct
from dataclasses import dataclass
from pathlib import Path

from pydicom.datadict import keyword_for_tag
from pydicom.dataset import Dataset
from pydicom.pixels.utils import get_expected_length
from pydicom.uid import UID, SegmentationStorage, UncompressedTransferSyntaxes

from radiome.errors import UnreadableFileError

__all__ = ["DicomLayout", "check_pixel_data", "dicom_layout"]

_UNDEFINED = 0xFFFFFFFF
_ITEM, _ITEM_END, _SEQUENCE_END = 0xFFFEE000, 0xFFFEE00D, 0xFFFEE0DD
_PIXEL_TAGS = (0x7FE00008, 0x7FE00009, 0x7FE00010)  # float, double float, (native) pixel data
_LONG_VRS = frozenset(
    (b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"SV", b"UC", b"UN", b"UR", b"UT", b"UV")
)
_VRS = _LONG_VRS | frozenset(
    (b"AE", b"AS", b"AT", b"CS", b"DA", b"DS", b"DT", b"FL", b"FD", b"IS", b"LO", b"LT", b"PN",
     b"SH", b"SL", b"SS", b"ST", b"TM", b"UI", b"UL", b"US")
)
_IMPLICIT_HEADER = {e: struct.Struct(e + "HHI") for e in "<>"}
_EXPLICIT_HEADER = {e: struct.Struct(e + "HH2sH") for e in "<>"}
_LENGTH = {e: struct.Struct(e + "I") for e in "<>"}
_IMPLICIT_LE = "1.2.840.10008.1.2"
_EXPLICIT_BE = "1.2.840.10008.1.2.2"
_DEFLATED = ("1.2.840.10008.1.2.1.99", "1.2.840.10008.1.2.8.1")


@dataclass(frozen=True)
class DicomLayout:
    """What the walk of a DICOM file found.

    ``walked`` is False when the data set was not walked (deflated, no preamble, or an
    encoding the walk does not follow); ``pixel_bytes`` is the declared length of the pixel
    data (None when absent or encapsulated, see ``has_pixels``).
    """

    size: int
    walked: bool
    transfer_syntax: str | None = None
    has_pixels: bool = False
    pixel_bytes: int | None = None


class _Unwalkable(Exception):
    """The bytes do not follow the encoding the walk expects; pydicom gets the last word."""


def _name(tag: int) -> str:
    """'PixelData (7FE0,0010)', for messages."""
    keyword = keyword_for_tag(tag) or "element"
    return f"{keyword} ({tag >> 16:04X},{tag & 0xFFFF:04X})"


def dicom_layout(path: Path) -> DicomLayout:
    """Walk a DICOM file's data elements; raise :class:`UnreadableFileError` if it is cut.

    Parameters
    ----------
    path : Path
        A DICOM Part 10 file.

    Returns
    -------
    DicomLayout
        The file size, the transfer syntax and the pixel data found.

    Raises
    ------
    UnreadableFileError
        An element's value, an element header, or a sequence of undefined length runs past
        the end of the file; the message names the file, the element and the byte counts.
    """
    with path.open("rb") as fh:
        size = fh.seek(0, 2)
        if size < 132:
            return DicomLayout(size=size, walked=False)
        with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as buf:
            return _layout(_File(path, buf, size))


@dataclass(frozen=True)
class _File:
    """The file being walked: its path (for messages), bytes and size."""

    path: Path
    buf: mmap.mmap
    size: int

    def cut(self, problem: str) -> UnreadableFileError:
        """The error for a file cut short."""
        return UnreadableFileError(f"{self.path}: truncated: the file ends {problem}")

    def cut_in_value(self, tag: int, length: int, at: int) -> UnreadableFileError:
        """The error for a value that runs past the end of the file."""
        return self.cut(f"{max(self.size - at, 0)} bytes into {_name(tag)}, which declares "
                        f"{length} bytes")


def _layout(file: _File) -> DicomLayout:
    """Walk the file meta group then the data set."""
    if file.buf[128:132] != b"DICM":
        return DicomLayout(size=file.size, walked=False)
    syntax = None
    pixels: dict[int, int] = {}
    try:
        syntax, pos = _file_meta(file)
        if syntax in _DEFLATED:
            raise _Unwalkable
        endian = ">" if syntax == _EXPLICIT_BE else "<"
        _, count = _walk(file, pos, syntax != _IMPLICIT_LE, endian, pixels, nested=False)
    except _Unwalkable:
        return DicomLayout(size=file.size, walked=False, transfer_syntax=syntax)
    if not count:
        problem = f"after {file.size} bytes, before its data set"
        raise file.cut(problem)
    return DicomLayout(
        size=file.size,
        walked=True,
        transfer_syntax=syntax,
        has_pixels=bool(pixels),
        pixel_bytes=pixels.get(0x7FE00010),
    )


def _file_meta(file: _File) -> tuple[str | None, int]:
    """The TransferSyntaxUID of the file meta group (explicit VR little endian) and the
    offset after the group."""
    syntax = None
    pos = 132
    while pos + 8 <= file.size and struct.unpack_from("<H", file.buf, pos)[0] == 0x0002:
        tag, length, value = _header(file, pos, True, "<")
        if value + length > file.size:
            raise file.cut_in_value(tag, length, value)
        if tag == 0x00020010:
            syntax = file.buf[value : value + length].rstrip(b"\x00 ").decode("ascii", "replace")
        pos = value + length
    return syntax, pos


def _header(file: _File, pos: int, explicit: bool, endian: str) -> tuple[int, int, int]:
    """Tag, value length and value offset of the element whose header starts at ``pos``."""
    if pos + 8 > file.size:
        problem = f"inside a data element header (byte {file.size})"
        raise file.cut(problem)
    if not explicit:
        group, element, length = _IMPLICIT_HEADER[endian].unpack_from(file.buf, pos)
        return group << 16 | element, length, pos + 8
    group, element, vr, length = _EXPLICIT_HEADER[endian].unpack_from(file.buf, pos)
    tag = group << 16 | element
    if group == 0xFFFE:  # item and delimiters: no VR, 4-byte length
        return tag, _LENGTH[endian].unpack_from(file.buf, pos + 4)[0], pos + 8
    if vr not in _VRS:
        raise _Unwalkable
    if vr not in _LONG_VRS:
        return tag, length, pos + 8
    if pos + 12 > file.size:
        problem = f"inside the header of {_name(tag)} (byte {file.size})"
        raise file.cut(problem)
    return tag, _LENGTH[endian].unpack_from(file.buf, pos + 8)[0], pos + 12


def _walk(file: _File, pos: int, explicit: bool, endian: str, pixels: dict[int, int], *,
          nested: bool) -> tuple[int, int]:
    """Walk data elements from ``pos`` to the end of the file (top level) or to an item
    delimiter; the offset after them and their number."""
    count = 0
    while True:
        if pos + 8 > file.size:
            if not nested and not file.buf[pos : file.size].strip(b"\x00"):
                return pos, count  # the end of the file, or zero padding after the last element
            where = "a sequence item, before its end" if nested else "a data element header"
            problem = f"inside {where} (byte {file.size})"
            raise file.cut(problem)
        tag, length, value = _header(file, pos, explicit, endian)
        if nested and tag == _ITEM_END:
            return value, count
        count += 1
        if not nested and tag in _PIXEL_TAGS:
            pixels[tag] = -1 if length == _UNDEFINED else length
        if length == _UNDEFINED:
            pos = _walk_items(file, value, tag, explicit, endian, pixels)
        elif value + length > file.size:
            raise file.cut_in_value(tag, length, value)
        else:
            pos = value + length


def _walk_items(file: _File, pos: int, owner: int, explicit: bool, endian: str,
                pixels: dict[int, int]) -> int:
    """Walk the items of a sequence (or encapsulated pixel data) of undefined length; the
    offset after its delimiter."""
    while True:
        if pos + 8 > file.size:
            problem = f"inside {_name(owner)}, before its end delimiter (byte {file.size})"
            raise file.cut(problem)
        tag, length, value = _header(file, pos, explicit, endian)
        if tag == _SEQUENCE_END:
            return value
        if tag != _ITEM:
            raise _Unwalkable
        if length == _UNDEFINED:
            pos, _ = _walk(file, value, explicit, endian, pixels, nested=True)
        elif value + length > file.size:
            raise file.cut_in_value(owner, length, value)
        else:
            pos = value + length


def _needs_pixels(ds: Dataset) -> str | None:
    """What makes this data set an image that must carry pixel data (None: it need not)."""
    sop = str(getattr(ds.get("file_meta"), "MediaStorageSOPClassUID", "") or
              ds.get("SOPClassUID", ""))
    name = UID(sop).name if sop else ""
    if sop == SegmentationStorage or "Image Storage" in name:
        return f"a {name}"
    if "Rows" in ds:
        return "an object with Rows and Columns"
    return None


def check_pixel_data(path: Path, ds: Dataset, layout: DicomLayout) -> None:
    """Raise :class:`UnreadableFileError` if an image lacks pixel data or has too few bytes.

    Parameters
    ----------
    path : Path
        The file, named in the message.
    ds : pydicom Dataset
        Its header (read with or without the pixel data).
    layout : DicomLayout
        What :func:`dicom_layout` found in the same file.
    """
    if not layout.walked:
        return
    kind = _needs_pixels(ds)
    if kind is None:
        return
    if not layout.has_pixels:
        msg = (
            f"{path}: truncated or incomplete: the file ends after {layout.size} bytes without "
            f"the pixel data (7FE0,0010) that {kind} carries"
        )
        raise UnreadableFileError(msg)
    native = layout.transfer_syntax in UncompressedTransferSyntaxes
    if layout.pixel_bytes is None or layout.pixel_bytes < 0 or not native:
        return
    try:
        need = get_expected_length(ds, "bytes")
    except (AttributeError, KeyError, TypeError, ValueError) as exc:
        msg = f"{path}: the image pixel description is incomplete ({exc})"
        raise UnreadableFileError(msg) from None
    if layout.pixel_bytes < need:
        counts = " x ".join(
            f"{kw} {ds.get(kw, 1)}"
            for kw in ("Rows", "Columns", "SamplesPerPixel", "BitsAllocated", "NumberOfFrames")
        )
        msg = (
            f"{path}: pixel data has {layout.pixel_bytes} bytes, the header needs {need} "
            f"({counts} / 8)"
        )
        raise UnreadableFileError(msg)
