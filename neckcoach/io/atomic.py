"""Crash-safe file writes.

A session record must never be left half-written looking complete: a reader
either sees the previous full version of a file or the new full version. We
write a temp file in the same directory (same filesystem, so the rename is
atomic), fsync it, `os.replace` it over the target and fsync the directory so
the rename itself survives a power loss.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any


def fsync_dir(directory: str | os.PathLike[str]) -> None:
    """Persist a directory entry change (rename/create); a no-op where unsupported."""
    try:
        fd = os.open(os.fspath(directory), os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes, sync_dir: bool = True) -> None:
    """Replace `path` with `data` so readers never observe a partial file.

    `sync_dir=False` lets a caller writing several files fsync the directory once.
    On any failure (ENOSPC, EIO) the temp file is removed and the error raised:
    the previous version of `path` is untouched.
    """
    target = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as fh:  # closes fd whatever fails below (a full disk)
            os.fchmod(fh.fileno(), _mode_for(target))
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    if sync_dir:
        fsync_dir(target.parent)


def _mode_for(target: Path) -> int:
    """Keep an existing file's mode; new files get the usual rw-r--r-- (mkstemp uses 0600)."""
    try:
        return target.stat().st_mode & 0o777
    except OSError:
        return 0o644


def atomic_write_text(path: str | os.PathLike[str], text: str, sync_dir: bool = True) -> None:
    atomic_write_bytes(path, text.encode("utf-8"), sync_dir)


def atomic_write_json(path: str | os.PathLike[str], obj: Any, sync_dir: bool = True) -> None:
    """JSON with NaN/inf mapped to null, so every reader (incl. browsers) can parse it."""
    atomic_write_text(path, json.dumps(_finite(obj), indent=2, ensure_ascii=False) + "\n",
                      sync_dir)


def _finite(obj: Any) -> Any:
    if isinstance(obj, float):
        return obj if obj == obj and obj not in (float("inf"), float("-inf")) else None
    if isinstance(obj, dict):
        return {str(k): _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    if hasattr(obj, "item") and callable(obj.item):  # numpy scalars
        try:
            return _finite(obj.item())
        except (TypeError, ValueError):
            return obj
    return obj
