"""Pseudonymisation: keyed hashes (HMAC-SHA256) of DICOM identifiers, stable for a given key.

The key comes from the environment variable ``RADIOME_PSEUDONYM_KEY`` or from a key file; the
same key always gives the same pseudonym, and without the key a pseudonym cannot be traced back.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from pathlib import Path

from radiome.errors import RadiomeError

__all__ = ["KEY_ENV", "PseudonymKeyError", "load_key", "pseudonym"]

KEY_ENV = "RADIOME_PSEUDONYM_KEY"
_MIN_KEY_BYTES = 16


class PseudonymKeyError(RadiomeError, ValueError):
    """No usable pseudonymisation key."""


def load_key(key_file: str | Path | None = None) -> bytes:
    """The pseudonymisation key: from ``key_file`` if given, else ``$RADIOME_PSEUDONYM_KEY``."""
    if key_file is not None:
        path = Path(key_file)
        try:
            key = path.read_bytes().strip()
        except OSError as exc:
            msg = f"{path}: cannot read the pseudonymisation key file ({exc.strerror})"
            raise PseudonymKeyError(msg) from None
        where = str(path)
    else:
        key = os.environ.get(KEY_ENV, "").encode()
        where = f"${KEY_ENV}"
    if len(key) < _MIN_KEY_BYTES:
        msg = (
            f"{where}: a pseudonymisation key of at least {_MIN_KEY_BYTES} bytes is needed to "
            f"turn DICOM identifiers into case ids (e.g. `openssl rand -hex 32 > key` and "
            f"--key-file key, or set {KEY_ENV})"
        )
        raise PseudonymKeyError(msg)
    return key


def pseudonym(key: bytes, *parts: str, prefix: str = "", length: int = 16) -> str:
    """``prefix`` + the first ``length`` hex digits of HMAC-SHA256(key, parts joined by NUL)."""
    digest = hmac.new(key, "\x00".join(parts).encode(), hashlib.sha256).hexdigest()
    return prefix + digest[:length]
