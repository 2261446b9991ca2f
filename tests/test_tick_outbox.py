"""The outbox's files written atomically: a temporary file of a name of its own (another one
if a crashed run left that name behind), then renamed over the file."""

from __future__ import annotations

import itertools
import os
from pathlib import Path

from core.receivables import mail


def test_a_temporary_file_left_behind_is_passed_over(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(mail, "_TEMPORARY", itertools.count())
    left = tmp_path / f".r1-reminder.eml.{os.getpid()}-0.tmp"
    left.write_bytes(b"left behind")
    target = tmp_path / "r1-reminder.eml"
    mail.write_atomic(target, b"new", sync=False)
    assert target.read_bytes() == b"new"
    assert left.read_bytes() == b"left behind"
    assert sorted(p.name for p in tmp_path.iterdir()) == [left.name, target.name]


def test_a_file_is_replaced_whole_and_its_folder_made(tmp_path: Path) -> None:
    folders: set[str] = set()
    target = tmp_path / "outbox" / "r2-reminder.eml"
    mail.write_atomic(target, b"first", sync=False, folders=folders)
    mail.write_atomic(str(target), b"second" * 10_000, folders=folders)
    assert target.read_bytes() == b"second" * 10_000
    assert folders == {str(target.parent)}
    assert [p.name for p in target.parent.iterdir()] == [target.name]
    assert oct(target.stat().st_mode & 0o777) == oct(0o600)
