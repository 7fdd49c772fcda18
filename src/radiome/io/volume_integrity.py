"""Volume files must hold every byte their header announces; damaged ones are refused.

ITK zero-fills the voxels missing from a NIfTI file cut short (plain or gzip), reads a NIfTI
whose size along an axis is 0 as one slice, and prints its own complaints about short
MetaImage data or bad NIfTI headers on stderr before raising a message that names neither.
So before SimpleITK reads a NIfTI (single file or ``.hdr``/``.img`` pair), NRRD (attached or
detached) or MetaImage (``.mha``/``.mhd``) file, its header is parsed here and the number of
data bytes it needs (sizes x bytes per voxel) is compared with what the file holds:

* uncompressed data: the size of the file (or of its detached data file);
* gzip data (NIfTI ``.gz``, NRRD ``encoding: gzip``): the ISIZE field of the gzip trailer (the
  inflated length modulo 2**32). A stream cut short ends in compressed bytes, not in its
  trailer, so a match also tells that the stream is whole. Only when ISIZE differs is the
  stream inflated, in pieces, to count its bytes and say whether it was cut or is whole but
  short (or is several gzip members that hold enough after all);
* zlib data (MetaImage ``CompressedData``): ``CompressedDataSize`` against the bytes in the
  file, then the stream is inflated and counted: zlib has no length trailer, and ITK
  zero-fills what a whole but short stream lacks (this costs about what ITK's own inflating
  does).

Formats not listed are left to ITK.
"""

from __future__ import annotations

import gzip
import math
import re
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from radiome.errors import UnreadableFileError

__all__ = ["check_volume_file"]

_GZIP_MAGIC = b"\x1f\x8b"
_MAX_HEADER = 1 << 20  # text headers (NRRD, MetaImage) longer than this are left to ITK
_CHUNK = 1 << 20
_MAX_OUT = 1 << 22

_NIFTI_BITS = {
    2: 8, 4: 16, 8: 32, 16: 32, 32: 64, 64: 64, 128: 24, 256: 8, 512: 16, 768: 32, 1024: 64,
    1280: 64, 1536: 128, 1792: 128, 2048: 256, 2304: 32,
}  # datatype code -> bits per voxel (nifti1.h)
_NRRD_BYTES = {
    **dict.fromkeys(("signed char", "int8", "int8_t", "uchar", "unsigned char", "uint8",
                     "uint8_t"), 1),
    **dict.fromkeys(("short", "short int", "signed short", "signed short int", "int16",
                     "int16_t", "ushort", "unsigned short", "unsigned short int", "uint16",
                     "uint16_t"), 2),
    **dict.fromkeys(("int", "signed int", "int32", "int32_t", "uint", "unsigned int", "uint32",
                     "uint32_t", "float"), 4),
    **dict.fromkeys(("longlong", "long long", "long long int", "signed long long",
                     "signed long long int", "int64", "int64_t", "ulonglong",
                     "unsigned long long", "unsigned long long int", "uint64", "uint64_t",
                     "double"), 8),
}
_META_BYTES = {
    "MET_CHAR": 1, "MET_UCHAR": 1, "MET_SHORT": 2, "MET_USHORT": 2, "MET_INT": 4, "MET_UINT": 4,
    "MET_LONG": 4, "MET_ULONG": 4, "MET_LONG_LONG": 8, "MET_ULONG_LONG": 8, "MET_FLOAT": 4,
    "MET_DOUBLE": 8,
}
_NRRD_GZIP = ("gz", "gzip")
_NRRD_UNCHECKED = ("txt", "text", "ascii", "hex", "bz2", "bzip2", "zrl", "zstd")


@dataclass(frozen=True)
class _Data:
    """Where a volume's data are, how they are stored, and how many bytes the header needs."""

    file: Path
    start: int  # byte offset of the data (compressed: of the stream) in the file
    need: int  # data bytes the header needs
    what: str  # the voxels behind ``need``, for messages
    codec: str = "raw"  # "raw", "gzip" or "zlib"
    skip: int = 0  # inflated bytes before the data (compressed data)
    compressed_size: int | None = None  # declared length of a zlib stream (MetaImage)


def check_volume_file(path: Path, *, thorough: bool = False) -> None:
    """Raise :class:`UnreadableFileError` if a NIfTI, NRRD or MetaImage file is damaged.

    Parameters
    ----------
    path : Path
        The file given to SimpleITK (the header file of two-file formats).
    thorough : bool
        Inflate gzip data even when its trailer tells the right length (to explain an ITK
        failure).

    Raises
    ------
    UnreadableFileError
        The header is inconsistent (a size below 1, an unknown data type), a data file is
        missing, or the data are shorter than the header needs (file cut short, compressed
        stream cut short, or whole but short); the message names the file and the counts.
    """
    if path.stat().st_size == 0:
        raise _fail(path, "the file is empty")
    name = path.name.lower()
    for suffixes, parse in _FORMATS:
        if name.endswith(suffixes):
            for data in parse(path):
                _check_data(path, data, thorough=thorough)
            return


def _fail(path: Path, problem: str) -> UnreadableFileError:
    """The one-line error for a damaged file."""
    return UnreadableFileError(f"{path}: {problem}")


def _voxels(sizes: list[int], nbytes: int, type_name: str) -> str:
    """'64 x 64 x 20 voxels of 2-byte short', for messages."""
    return f"{' x '.join(str(n) for n in sizes)} voxels of {nbytes}-byte {type_name}"


def _check_sizes(path: Path, sizes: list[int], field: str) -> None:
    """Every size along an axis must be at least 1."""
    bad = [f"{field}[{i}] is {n}" for i, n in enumerate(sizes, start=1) if n < 1]
    if bad:
        raise _fail(path, f"inconsistent header: {', '.join(bad)}; every size must be >= 1")


def _existing(path: Path, file: Path) -> Path:
    """``file`` if it exists; else the error names the header ``path`` and the missing file."""
    if not file.is_file():
        raise _fail(path, f"data file {file} does not exist")
    return file


# ------------------------------------------------------------------------------ data checks


def _check_data(path: Path, data: _Data, *, thorough: bool) -> None:
    """Compare the bytes the header needs with what the data file holds."""
    file = _existing(path, data.file)
    where = "" if file == path else f"data file {file.name}: "
    with file.open("rb") as fh:
        size = fh.seek(0, 2)
        held = size - data.start
        if data.codec == "raw":
            if held < data.need:
                raise _fail(path, f"truncated: {where}data has {max(held, 0)} bytes, the header "
                                  f"needs {data.need} ({data.what})")
            return
        if data.compressed_size is not None and held < data.compressed_size:
            raise _fail(path, f"truncated: {where}the compressed data has {held} bytes, the "
                              f"header says {data.compressed_size}")
        if data.codec == "gzip" and held >= 18 and not thorough:
            fh.seek(-4, 2)
            if struct.unpack("<I", fh.read(4))[0] == (data.skip + data.need) % 2**32:
                return
        try:
            total, whole, read = _inflated_size(fh, data.start)
        except zlib.error as exc:
            raise _fail(path, f"{where}corrupt compressed data ({exc})") from None
    have = max(total - data.skip, 0)
    if not whole:
        raise _fail(path, f"truncated: {where}the compressed stream ends after {read} bytes, "
                          f"having given {have} of the {data.need} data bytes the header needs "
                          f"({data.what})")
    if have < data.need:
        raise _fail(path, f"{where}data has {have} bytes, the header needs {data.need} "
                          f"({data.what}); the compressed stream is whole but short")


def _inflated_size(fh: BinaryIO, start: int) -> tuple[int, bool, int]:
    """Inflated length of the zlib or gzip stream at ``start`` (gzip members one after the
    other), whether it ends whole, and the compressed bytes it took."""
    fh.seek(start)
    inflater = zlib.decompressobj(47)  # 32 + 15: zlib or gzip header, as ITK's readers
    total = read = 0
    chunk = b""
    while True:
        chunk = chunk or fh.read(_CHUNK)
        if not chunk:
            return total, False, read
        read += len(chunk)
        while chunk:
            total += len(inflater.decompress(chunk, _MAX_OUT))
            chunk = inflater.unconsumed_tail
        if inflater.eof:
            chunk = inflater.unused_data
            read -= len(chunk)
            if not chunk.startswith(_GZIP_MAGIC):  # the end, or padding after it
                return total, True, read
            inflater = zlib.decompressobj(47)


# ------------------------------------------------------------------------ NIfTI / Analyze


def _nifti_files(path: Path) -> tuple[Path, Path]:
    """Header and data file of a NIfTI single file or .hdr/.img pair (either may be .gz)."""
    base = path.name[:-3] if path.name.lower().endswith(".gz") else path.name
    if base.lower().endswith(".nii"):
        return path, path
    stem = base[:-4]

    def first(*suffixes: str) -> Path:
        found = [path.with_name(stem + s) for s in suffixes]
        return next((f for f in found if f.is_file()), found[0])

    return first(".hdr", ".hdr.gz"), first(".img", ".img.gz")


def _is_gzip(file: Path) -> bool:
    with file.open("rb") as fh:
        return fh.read(2) == _GZIP_MAGIC


def _start_bytes(path: Path, file: Path, n: int) -> bytes:
    """The first ``n`` bytes of ``file``, inflated when it is gzip."""
    if not _is_gzip(file):
        with file.open("rb") as fh:
            return fh.read(n)
    try:
        with gzip.open(file, "rb") as stream:
            return stream.read(n)
    except (EOFError, OSError, zlib.error) as exc:
        raise _fail(path, f"truncated or corrupt gzip stream within the header ({exc})") from None


def _nifti(path: Path) -> list[_Data]:
    header_file, data_file = _nifti_files(path)
    head = _start_bytes(path, _existing(path, header_file), 540)
    sizeof_hdr = {e: struct.unpack(e + "i", head[:4])[0] for e in "<>"} if len(head) >= 4 else {}
    endian = next((e for e, v in sizeof_hdr.items() if v in (348, 540)), None)
    if endian is None:
        found = sizeof_hdr.get("<", "none")
        raise _fail(path, f"not a readable image file: not a NIfTI or Analyze header "
                          f"(sizeof_hdr is {found}, expected 348 or 540)")
    header_size = sizeof_hdr[endian]
    if len(head) < header_size:
        raise _fail(path, f"truncated: the header needs {header_size} bytes, the file holds "
                          f"{len(head)}")
    if header_size == 348:
        dims = struct.unpack_from(endian + "8h", head, 40)
        datatype = struct.unpack_from(endian + "h", head, 70)[0]
        vox_offset = struct.unpack_from(endian + "f", head, 108)[0]
    else:
        datatype = struct.unpack_from(endian + "h", head, 12)[0]
        dims = struct.unpack_from(endian + "8q", head, 16)
        vox_offset = struct.unpack_from(endian + "q", head, 168)[0]
    if not 1 <= dims[0] <= 7:
        raise _fail(path, f"inconsistent header: dim[0] (the number of dimensions) is "
                          f"{dims[0]}, expected 1 to 7")
    sizes = list(dims[1 : dims[0] + 1])
    _check_sizes(path, sizes, "dim")
    bits = _NIFTI_BITS.get(datatype)
    if bits is None:
        raise _fail(path, f"inconsistent header: NIfTI datatype code {datatype} is unknown")
    if not math.isfinite(vox_offset) or vox_offset < 0:
        raise _fail(path, f"inconsistent header: vox_offset is {vox_offset}")
    offset = int(vox_offset)
    if data_file == header_file:  # single file: data never start inside the header
        offset = max(offset, header_size + 4 if header_size == 348 else header_size)
    data_file = _existing(path, data_file)
    need = math.prod(sizes) * bits // 8
    what = _voxels(sizes, bits // 8, f"NIfTI datatype {datatype}")
    if _is_gzip(data_file):
        return [_Data(data_file, start=0, need=need, what=what, codec="gzip", skip=offset)]
    return [_Data(data_file, start=offset, need=need, what=what)]


# --------------------------------------------------------------------------- text headers


def _text_header(path: Path, magic: bytes, last_key: str | None) -> tuple[list[str], int]:
    """Header lines and the offset of the byte after them: they end at a blank line, after
    the line of ``last_key``, or at the end of the file (detached headers)."""
    lines = []
    with path.open("rb") as fh:
        if not fh.read(len(magic)) == magic:
            return [], 0
        fh.seek(0)
        while fh.tell() < _MAX_HEADER and (raw := fh.readline()):
            line = raw.decode("latin-1").rstrip("\r\n")
            lines.append(line)
            if not line.strip() or (last_key and line.partition("=")[0].strip() == last_key):
                break
        return lines, fh.tell()


def _data_files(path: Path, value: str, listed: list[str]) -> list[Path]:
    """Data files named by a NRRD 'data file' or MetaImage ElementDataFile value: one name,
    LIST (names on the lines that follow) or a printf pattern with min, max and step."""
    words = value.split()
    if words and words[0].upper() == "LIST":
        return [path.parent / name.strip() for name in listed if name.strip()]
    if len(words) >= 4 and "%" in words[0] and all(re.fullmatch(r"-?\d+", w) for w in words[1:4]):
        lo, hi, step = (int(w) for w in words[1:4])
        if step == 0:
            raise _fail(path, f"inconsistent header: the data file step is 0 in {value!r}")
        return [path.parent / (words[0] % i) for i in range(lo, hi + (step > 0 or -1), step)]
    return [path.parent / value]


def _whole_numbers(path: Path, fields: dict[str, str], *keys: str) -> list[list[int]]:
    """The whole numbers of each field (missing: none)."""
    try:
        return [[int(v) for v in fields.get(key, "").split()] for key in keys]
    except ValueError:
        raise _fail(path, f"inconsistent header: {', '.join(keys)} must be whole numbers") from None


def _per_file(path: Path, files: list[Path], need: int) -> int:
    """Bytes each of several data files holds."""
    if not files:
        raise _fail(path, "inconsistent header: no data file named")
    return need // len(files)


def _nrrd(path: Path) -> list[_Data]:
    lines, end = _text_header(path, b"NRRD", None)
    if not lines:
        return []
    fields: dict[str, str] = {}
    listed: list[str] = []
    for i, line in enumerate(lines[1:], start=1):
        key, sep, value = line.partition(": ")
        if line.startswith("#") or ":=" in line or not sep:
            continue
        key = key.strip().lower().replace(" ", "")
        fields[key] = value.strip()
        if key == "datafile":
            listed = lines[i + 1 :]
    type_name = fields.get("type", "").lower()
    nbytes = _NRRD_BYTES.get(type_name)
    if nbytes is None and type_name != "block":
        raise _fail(path, f"inconsistent header: NRRD type {fields.get('type')!r} is unknown")
    sizes, dimension, line_skip, byte_skip = _whole_numbers(
        path, fields, "sizes", "dimension", "lineskip", "byteskip"
    )
    if dimension != [len(sizes)]:
        raise _fail(path, f"inconsistent header: dimension is {fields.get('dimension')} but "
                          f"sizes has {len(sizes)} values")
    _check_sizes(path, sizes, "sizes")
    files = _data_files(path, fields["datafile"], listed) if "datafile" in fields else [path]
    encoding = fields.get("encoding", "raw").lower()
    if nbytes is None or encoding in _NRRD_UNCHECKED:
        for file in files:
            _existing(path, file)
        return []
    what = _voxels(sizes, nbytes, type_name)
    need = _per_file(path, files, math.prod(sizes) * nbytes)
    skip = byte_skip[0] if byte_skip else 0
    datas = []
    for file in files:
        start = _after_lines(_existing(path, file), 0 if file != path else end,
                             line_skip[0] if line_skip else 0)
        if encoding in _NRRD_GZIP:
            datas.append(_Data(file, start, need, what, codec="gzip", skip=max(skip, 0)))
        elif skip == -1:  # raw data at the end of the file
            datas.append(_Data(file, max(start, file.stat().st_size - need), need, what))
        else:
            datas.append(_Data(file, start + max(skip, 0), need, what))
    return datas


def _after_lines(file: Path, start: int, count: int) -> int:
    """The offset ``count`` lines after ``start`` (NRRD 'line skip')."""
    with file.open("rb") as fh:
        fh.seek(start)
        for _ in range(count):
            fh.readline()
        return fh.tell()


def _meta(path: Path) -> list[_Data]:
    lines, end = _text_header(path, b"", "ElementDataFile")
    fields = {key.strip(): value.strip()
              for key, sep, value in (line.partition("=") for line in lines) if sep}
    if "ElementDataFile" not in fields:
        return []  # not a MetaImage header; ITK's error says so
    element = fields.get("ElementType", "")
    nbytes = _META_BYTES.get(element.removesuffix("_ARRAY"))
    if nbytes is None:
        raise _fail(path, f"inconsistent header: ElementType {element!r} is unknown")
    sizes, ndims, channels, header_size = _whole_numbers(
        path, fields, "DimSize", "NDims", "ElementNumberOfChannels", "HeaderSize"
    )
    if ndims != [len(sizes)]:
        raise _fail(path, f"inconsistent header: NDims is {fields.get('NDims')} but DimSize has "
                          f"{len(sizes)} values")
    channels = channels or [1]
    _check_sizes(path, sizes, "DimSize")
    _check_sizes(path, channels, "ElementNumberOfChannels")
    value = fields["ElementDataFile"]
    if value.upper() == "LOCAL":
        files = [path]
    else:
        with path.open("rb") as fh:
            fh.seek(end)
            listed = fh.read(_MAX_HEADER).decode("latin-1").splitlines()
        files = _data_files(path, value, listed)
    if fields.get("BinaryData", "True").lower() == "false":
        for file in files:
            _existing(path, file)
        return []
    what = _voxels(sizes, nbytes * channels[0], element)
    need = _per_file(path, files, math.prod(sizes) * channels[0] * nbytes)
    skip = header_size[0] if header_size else 0
    datas = []
    for file in files:
        start = skip if skip > 0 else (end if file == path else 0)
        if fields.get("CompressedData", "False").lower() == "true":
            declared = fields.get("CompressedDataSize", "")
            size = int(declared) if declared.isdigit() and len(files) == 1 else None
            datas.append(_Data(file, start, need, what, codec="zlib", compressed_size=size))
        elif skip == -1:  # raw data at the end of the file
            datas.append(_Data(file, max(start, _existing(path, file).stat().st_size - need),
                               need, what))
        else:
            datas.append(_Data(file, start, need, what))
    return datas


_FORMATS: tuple[tuple[tuple[str, ...], Callable[[Path], list[_Data]]], ...] = (
    ((".nii", ".nii.gz", ".hdr", ".hdr.gz", ".img", ".img.gz"), _nifti),
    ((".nrrd", ".nhdr"), _nrrd),
    ((".mha", ".mhd"), _meta),
)
