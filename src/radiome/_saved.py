"""Files radiome pickles with joblib (fitted models), read back with one-line errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from radiome.errors import MissingFileError, UnreadableFileError

__all__ = ["read_saved"]


def read_saved(path: str | Path, what: str) -> Any:
    """The unpickled content of a saved ``what`` (e.g. ``"model"``): load only files you trust.

    Raises
    ------
    MissingFileError
        No such file.
    UnreadableFileError
        joblib cannot read it (a table, an empty file, ...); the message names the file.
    """
    import joblib

    path = Path(path)
    if not path.is_file():
        msg = f"{path}: {what} file not found"
        raise MissingFileError(msg)
    try:
        return joblib.load(path)
    except Exception as exc:  # noqa: BLE001 - unpickling any other file can raise anything
        msg = f"{path}: not a radiome {what} file ({exc.__class__.__name__})"
        raise UnreadableFileError(msg) from None
