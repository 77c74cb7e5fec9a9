"""Atomic file writing, shared by everything in gradviz that saves a user's file.

A file is written to a temporary file in the destination folder, flushed to disk, given
the permissions a normal ``open(path, "w")`` would give it (``0o666`` less the umask),
and renamed over the destination, so a crash or an error never leaves half a file and
never destroys the previous version.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

__all__ = ["atomic_writer", "write_atomic"]


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextmanager
def atomic_writer(path: str | os.PathLike[str], *, parents: bool = False) -> Iterator[IO[bytes]]:
    """Yield a binary file; on success it replaces ``path`` atomically, on error it vanishes.

    Args:
        path: the file to write.
        parents: create missing parent folders (else a missing folder raises
            ``FileNotFoundError`` before anything is written).

    Example:
        >>> import tempfile, pathlib
        >>> target = pathlib.Path(tempfile.mkdtemp()) / "x.txt"
        >>> with atomic_writer(target) as f:
        ...     _ = f.write(b"hello")
        >>> target.read_bytes()
        b'hello'
    """
    target = Path(path)
    folder = target.parent if str(target.parent) else Path(".")
    if parents:
        folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def write_atomic(path: str | os.PathLike[str], data: bytes, *, parents: bool = False) -> None:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_writer`)."""
    with atomic_writer(path, parents=parents) as handle:
        handle.write(data)
