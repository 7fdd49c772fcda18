"""Output files of the commands: checked before the work starts, written whole or not at all."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Sequence
from pathlib import Path

from radiome.errors import RadiomeError, UnwritableFileError

__all__ = ["TABLE_EXTENSIONS", "VOLUME_EXTENSIONS", "check_output", "written"]

TABLE_EXTENSIONS = (".csv", ".parquet")  # what radiome.table.write_table writes
VOLUME_EXTENSIONS = (".nii.gz", ".nii", ".nrrd", ".mha")  # one file each, so written whole


def check_output(path: str | Path, extensions: Sequence[str], what: str) -> Path:
    """The output path, checked to end in one of ``extensions``, with its folder created.

    Parameters
    ----------
    path : path
        Output file.
    extensions : sequence of str
        Accepted endings, lower case with the dot (``".csv"``, ``".nii.gz"``).
    what : str
        What the file holds, for the error message (``"feature table"``).

    Returns
    -------
    Path
        ``path``, whose folder now exists.

    Raises
    ------
    UnwritableFileError
        The extension is not one of ``extensions``, ``path`` is a folder, or its folder
        cannot be created (a file is in the way, a read-only or virtual file system).
    """
    path = Path(path)
    if not path.name.lower().endswith(tuple(extensions)):
        got = repr(_extension(path)) if _extension(path) else "no extension"
        msg = f"{path}: the {what} must end in {', '.join(extensions)}, got {got}"
        raise UnwritableFileError(msg)
    if path.is_dir():
        msg = f"{path}: is a folder; give a file name for the {what}"
        raise UnwritableFileError(msg)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        msg = f"{path}: cannot create the folder of the {what} ({_reason(exc)})"
        raise UnwritableFileError(msg) from None
    return path


@contextlib.contextmanager
def written(path: str | Path, what: str) -> Iterator[Path]:
    """Yield a temporary file next to ``path`` to write to; it becomes ``path`` at the end.

    The temporary file has the extension of ``path`` (writers choose the format by it). When
    the block fails, it is deleted: ``path`` is never left half-written, and an existing file
    stays as it was.

    Raises
    ------
    UnwritableFileError
        Writing or moving the file failed (read-only folder, disk full, ``path`` is a folder);
        radiome errors raised in the block pass unchanged.
    """
    path = Path(path)
    extension = _extension(path)
    stem = path.name[: len(path.name) - len(extension)]
    partial = path.with_name(f".{stem}.partial-{os.getpid()}{extension}")
    try:
        yield partial
        os.replace(partial, path)
    except RadiomeError:
        _remove(partial)
        raise
    except (OSError, RuntimeError) as exc:  # RuntimeError: what SimpleITK raises
        _remove(partial)
        msg = f"{path}: cannot write the {what} ({_reason(exc)})"
        raise UnwritableFileError(msg) from None
    except BaseException:
        _remove(partial)
        raise


def _extension(path: Path) -> str:
    """The file's extension, two parts for compressed files (``.nii.gz``), else one."""
    suffixes = path.suffixes
    if len(suffixes) > 1 and suffixes[-1].lower() == ".gz":
        return "".join(suffixes[-2:])
    return suffixes[-1] if suffixes else ""


def _remove(path: Path) -> None:
    """Delete a file if it is there; a failure to delete leaves it (nothing more to do)."""
    with contextlib.suppress(OSError):
        path.unlink(missing_ok=True)


def _reason(exc: BaseException) -> str:
    """One line saying why an OS or SimpleITK write failed."""
    if isinstance(exc, FileExistsError) and exc.filename and Path(exc.filename).is_file():
        return f"{exc.filename} is a file, not a folder"
    if isinstance(exc, OSError) and exc.strerror:
        where = f"{exc.filename}: " if exc.filename else ""
        return f"{where}{exc.strerror}"
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    line = next((ln for ln in lines if "ERROR" in ln), lines[-1] if lines else type(exc).__name__)
    return line.split("ERROR: ", 1)[-1]
