"""Scratch space for what grows with the corpus (release index, duplicate index, merge order):
private SQLite databases in the temporary folder, not in memory."""
from __future__ import annotations

import sqlite3


def scratch_database(schema: str) -> sqlite3.Connection:
    """A new private database with ``schema`` (SQL statements). SQLite keeps it in a small page
    cache and spills the rest to a file of the temporary folder (``TMPDIR``) that it deletes as it
    opens it, so nothing is left behind even by ``kill -9``. No journal and no syncs: nothing in
    it outlives the process."""
    db = sqlite3.connect("", check_same_thread=False)  # "": SQLite's private temporary database
    db.executescript(f"PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; {schema}")
    return db
