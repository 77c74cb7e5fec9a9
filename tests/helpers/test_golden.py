"""Tests of the golden-file helper, run against a temporary golden directory."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import golden


@pytest.fixture
def golden_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point the helper at an empty directory, outside CI and without --update-golden."""
    monkeypatch.setattr(golden, "GOLDEN_DIR", tmp_path)
    monkeypatch.setattr(golden, "update_golden", False)
    monkeypatch.delenv("CI", raising=False)
    return tmp_path


def test_equal_text_passes(golden_dir: Path) -> None:
    (golden_dir / "a.dot").write_text("digraph {\n}\n")
    golden.assert_golden("a.dot", "digraph {\n}\n")
    assert (golden_dir / "a.dot").read_text() == "digraph {\n}\n"


def test_mismatch_fails_with_unified_diff(golden_dir: Path) -> None:
    (golden_dir / "a.dot").write_text("line 1\nold\n")
    with pytest.raises(pytest.fail.Exception, match=r"(?s)--- golden/a.dot.*-old.*\+new"):
        golden.assert_golden("a.dot", "line 1\nnew\n")
    assert (golden_dir / "a.dot").read_text() == "line 1\nold\n"


def test_trailing_newline_difference_fails(golden_dir: Path) -> None:
    (golden_dir / "a.txt").write_text("x\n")
    with pytest.raises(pytest.fail.Exception, match="only line endings differ"):
        golden.assert_golden("a.txt", "x")


def test_missing_file_is_written_locally(golden_dir: Path) -> None:
    golden.assert_golden("sub/new.txt", "hello\n")
    assert (golden_dir / "sub" / "new.txt").read_bytes() == b"hello\n"


def test_missing_file_fails_in_ci(golden_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="golden file .*new.txt is missing"):
        golden.assert_golden("new.txt", "hello\n")
    assert not (golden_dir / "new.txt").exists()


def test_update_golden_overwrites(golden_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    monkeypatch.setattr(golden, "update_golden", True)
    (golden_dir / "a.dot").write_text("old\n")
    golden.assert_golden("a.dot", "new\n")
    assert (golden_dir / "a.dot").read_text() == "new\n"
