"""The one atomic writer: permissions like open(), nothing left behind on error."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gradviz._fileio import atomic_writer, write_atomic


def test_written_file_gets_umask_permissions(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        write_atomic(tmp_path / "a.bin", b"x")
    finally:
        os.umask(old)
    assert (tmp_path / "a.bin").stat().st_mode & 0o777 == 0o644


def test_error_keeps_previous_version_and_leaves_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "keep.txt"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError, match="boom"), atomic_writer(target) as f:
        f.write(b"half")
        raise RuntimeError("boom")
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.txt"]


def test_missing_folder_raises_unless_parents(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        write_atomic(tmp_path / "no" / "x", b"1")
    write_atomic(tmp_path / "no" / "x", b"1", parents=True)
    assert (tmp_path / "no" / "x").read_bytes() == b"1"
