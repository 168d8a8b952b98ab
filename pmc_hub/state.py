"""A build's state under ``OUT/.pmc-hub``: what is being built (``state.json``) and the journal of
finished checkpoints (``journal.jsonl``).

A checkpoint's shards are renamed into place before its journal line is appended (and fsynced),
so after a crash at any moment the journal names exactly the articles whose rows are safely on
disk. Each line carries its checkpoint number: a line cut off by a crash is dropped, a line
repeated word for word is read once, and anything else out of order is a damaged journal, told
in one line (never silently resumed into duplicate rows).
"""
from __future__ import annotations

import json
import logging
import os
import shutil
from pathlib import Path
from typing import Any, Iterator, Optional

from .output import STATE_DIR, OutputError, write_text_atomic

log = logging.getLogger(__name__)

FRESH_HINT = "run the build with --fresh to start over"
EDITS = ("benchmark", "update")


class BuildState:
    """The state files of one output folder."""

    def __init__(self, out_dir: Path, tolerant: bool = False):
        self.tolerant = tolerant  # starting over (--fresh): damaged state reads as none, with a warning
        self.dir = Path(out_dir) / STATE_DIR
        self.state_path = self.dir / "state.json"
        self.journal_path = self.dir / "journal.jsonl"

    def _damaged(self, message: str):
        if self.tolerant:
            log.warning("%s; starting over", message)
            return None
        raise OutputError(f"{message}; {FRESH_HINT}")

    def read(self) -> dict[str, Any]:
        """The state, {} when no build ever started here."""
        if not self.state_path.is_file():
            return {}
        try:
            state = json.loads(self.state_path.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as exc:
            return self._damaged(f"{self.state_path} is damaged ({type(exc).__name__})") or {}
        if not isinstance(state, dict):
            return self._damaged(f"{self.state_path} is damaged (not a JSON object)") or {}
        return state

    def update(self, **values: Any) -> None:
        write_text_atomic(self.state_path, json.dumps({**self.read(), **values}))

    def checkpoints(self) -> list[dict]:
        """The finished checkpoints, in order. A last line cut off by a crash is removed from the
        file, so the next checkpoint is appended after the last complete one."""
        if not self.journal_path.is_file():
            return []
        data = self.journal_path.read_bytes()
        complete = data[: data.rfind(b"\n") + 1]
        if len(complete) != len(data):
            with open(self.journal_path, "r+b") as fh:
                fh.truncate(len(complete))
        entries: list[dict] = []
        seen: set[bytes] = set()
        for number, line in enumerate(complete.splitlines(), 1):
            if line in seen:
                log.warning("%s: line %d repeats an earlier line word for word; read once", self.journal_path, number)
                continue
            entry = self._entry(line, number, len(entries))
            if entry is None:
                return []
            entries.append(entry)
            seen.add(line)
        return entries

    def iter_checkpoints(self) -> Iterator[dict]:
        """The finished checkpoints one at a time, for a journal `checkpoints` has read (and
        repaired) before and this run appended to: memory stays that of one checkpoint."""
        if not self.journal_path.is_file():
            return
        expected = 0
        with open(self.journal_path, "rb") as fh:
            for line in fh:
                if not line.endswith(b"\n"):
                    break
                entry = json.loads(line)
                if entry.get("checkpoint") == expected:  # (else a line repeated word for word)
                    expected += 1
                    yield entry

    def _entry(self, line: bytes, number: int, expected: int) -> Optional[dict]:
        where = f"{self.journal_path} line {number}"
        try:
            entry = json.loads(line)
        except (ValueError, UnicodeDecodeError):
            return self._damaged(f"{where} is damaged (not JSON)")
        if not isinstance(entry, dict) or entry.get("checkpoint") != expected:
            got = entry.get("checkpoint") if isinstance(entry, dict) else None
            return self._damaged(f"{where} is damaged (checkpoint {got!r} where {expected} was due)")
        return entry

    def record(self, entry: dict) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        with open(self.journal_path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(entry, separators=(",", ":")) + "\n")
            fh.flush()
            os.fsync(fh.fileno())

    def reset(self) -> None:
        """Forget the journal and state (the lock and manifest stay)."""
        for path in (self.journal_path, self.state_path):
            path.unlink(missing_ok=True)
        for name in EDITS:
            shutil.rmtree(self.edit_dir(name), ignore_errors=True)

    def edit_record(self, name: str, step: str) -> Optional[dict]:
        """What the two-phase shard edit ``name`` saved after ``step`` (``prepared``, ``done``);
        None before it got there. A damaged record is told in one line."""
        path = self.edit_dir(name) / f"{step}.json"
        if not path.is_file():
            return None
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError):
            return self._damaged(f"{path} is damaged")

    def save_edit_record(self, name: str, step: str, record: dict) -> None:
        write_text_atomic(self.edit_dir(name) / f"{step}.json", json.dumps(record))

    def edit_dir(self, name: str) -> Path:
        """The resumable state of a two-phase shard edit (``benchmark`` carve, ``update`` removals)."""
        return self.dir / name

    def edited_files(self) -> set[str]:
        """The shards prepared two-phase edits write (their own, and those they rewrite)."""
        found: set[str] = set()
        for name in EDITS:
            path = self.edit_dir(name) / "prepared.json"
            if not path.is_file():
                continue
            try:
                found |= {final for _, final in json.loads(path.read_text(encoding="utf-8"))["renames"]}
            except (ValueError, KeyError, TypeError):
                self._damaged(f"{path} is damaged")
        return found
