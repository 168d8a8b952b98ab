"""The release index of a build folder (``.pmc-hub/index/``): what an update needs from earlier
releases without their shards on disk.

- ``articles.parquet``: one row per article package built here and still current: its key (the
  PMC id of a PMC package, else the package name), version (package id and XML hash), article id,
  the shard of each config holding its rows, whether it is held out for the benchmark, and its
  journal summary (counts, skips, and every figure image's key, SHA-256, pHash and whether the
  duplicate index kept it), in the order the articles were built;
- ``config.json``: what the folder is built with (an update builds the same way).

In a process the articles live in an `ArticleTable`, a private temporary SQLite file, not in
memory: the index of the whole corpus (6.4M articles, 1-2 KB each) would not fit beside a build.
"""
from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import MutableMapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterable, Iterator, Optional

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from .config import BuildConfig, ShardLayout
from .output import STATE_DIR, OutputError, write_text_atomic
from .records import package_pmcid
from .scratch import scratch_database

INDEX_DIR = f"{STATE_DIR}/index"

_ARTICLES = pa.schema([("key", pa.string()), ("version", pa.string()), ("article_id", pa.string()),
                       ("release", pa.string()), ("files", pa.string()), ("heldout", pa.bool_()), ("summary", pa.string())])


def package_key(package_id: str) -> str:
    """The article a package is a version of: ``PMC123`` for ``PMC123.2``, else the package name."""
    return package_pmcid(package_id) or package_id


def summary_key(summary: dict) -> str:
    """The index key of a journal summary (from its ``version``: ``package@hash``)."""
    return package_key((summary.get("version") or summary["article_id"]).split("@")[0])


@dataclass
class IndexedArticle:
    key: str
    version: str
    article_id: str
    release: str
    files: dict[str, str] = field(default_factory=dict)  # config -> shard path holding its rows
    heldout: bool = False
    summary_json: str = "{}"  # kept as text: a parsed summary costs ~8x the memory, for every article

    @property
    def summary(self) -> dict:
        """Its journal summary (parsed on each access)."""
        return json.loads(self.summary_json)

    @summary.setter
    def summary(self, value: dict) -> None:
        self.summary_json = json.dumps(value, separators=(",", ":"))

    @property
    def images(self) -> list[tuple[str, str, Optional[str], bool]]:
        """Its figure images as built (`summary_images`)."""
        return summary_images(self.summary)


def summary_images(summary: dict) -> list[tuple[str, str, Optional[str], bool]]:
    """A journal summary's figure images as built: (key, SHA-256, pHash, kept by the duplicate index)."""
    return [tuple(image) for image in summary.get("images", ())]


class ArticleTable(MutableMapping):
    """key -> `IndexedArticle`, in the order the keys were first set, kept in a private temporary
    SQLite file (deleted when the table is) so that memory does not grow with the corpus. Same
    order as a dict: setting a key that is there keeps its place; `pop` then set moves it to the
    end. Entries come back as copies: change one, then set it again."""

    FIELDS = ("key", "version", "article_id", "release", "files", "heldout", "summary")  # (`_ARTICLES` order)
    _BATCH = 10_000  # rows per executemany / Parquet batch

    def __init__(self) -> None:
        self._db = scratch_database("CREATE TABLE a (seq INTEGER PRIMARY KEY, key TEXT UNIQUE NOT NULL, version TEXT,"
                                    " article_id TEXT, release TEXT, files TEXT, heldout INTEGER, summary TEXT)")
        self._lock = threading.Lock()

    @staticmethod
    def _row(entry: IndexedArticle) -> tuple:
        return (entry.key, entry.version, entry.article_id, entry.release, json.dumps(entry.files),
                int(entry.heldout), entry.summary_json)

    @staticmethod
    def _entry(row: tuple) -> IndexedArticle:
        key, version, article_id, release, files, heldout, summary = row
        return IndexedArticle(key, version, article_id, release, json.loads(files), bool(heldout), summary)

    def _query(self, sql: str, args: tuple = ()) -> list[tuple]:
        with self._lock:
            return self._db.execute(sql, args).fetchall()

    def _pages(self, columns: str) -> Iterator[list[tuple]]:
        """Every row's ``columns`` in order, a batch at a time (no cursor stays open between batches,
        so the table may be changed while it is walked)."""
        last = -1
        while True:
            rows = self._query(f"SELECT seq, {columns} FROM a WHERE seq > ? ORDER BY seq LIMIT {self._BATCH}", (last,))
            if not rows:
                return
            last = rows[-1][0]
            yield [r[1:] for r in rows]

    def __getitem__(self, key: str) -> IndexedArticle:
        rows = self._query(f"SELECT {', '.join(self.FIELDS)} FROM a WHERE key = ?", (key,))
        if not rows:
            raise KeyError(key)
        return self._entry(rows[0])

    def __setitem__(self, key: str, entry: IndexedArticle) -> None:
        if key != entry.key:
            raise ValueError(f"entry {entry.key!r} set under another key {key!r}")
        self.put([entry])

    def put(self, entries: Iterable[IndexedArticle]) -> None:
        """Set many entries at once (each under its key)."""
        self.put_rows(map(self._row, entries))

    def put_rows(self, rows: Iterable[tuple]) -> None:
        """Set many entries from their stored form (`rows`): files as JSON text, heldout as 0/1."""
        sql = (f"INSERT INTO a ({', '.join(self.FIELDS)}) VALUES ({', '.join('?' * len(self.FIELDS))}) ON CONFLICT(key) DO UPDATE SET "
               + ", ".join(f"{f} = excluded.{f}" for f in self.FIELDS[1:]))
        with self._lock:
            self._db.executemany(sql, rows)

    def rows(self) -> Iterator[list[tuple]]:
        """Every entry in its stored form (``FIELDS`` order), in order, a batch at a time."""
        return self._pages(", ".join(self.FIELDS))

    def __delitem__(self, key: str) -> None:
        with self._lock:
            if self._db.execute("DELETE FROM a WHERE key = ?", (key,)).rowcount == 0:
                raise KeyError(key)

    def __contains__(self, key: object) -> bool:
        return bool(self._query("SELECT 1 FROM a WHERE key = ?", (key,)))

    def __len__(self) -> int:
        return self._query("SELECT count(*) FROM a")[0][0]

    def __iter__(self) -> Iterator[str]:
        for page in self._pages("key"):
            yield from (key for (key,) in page)

    def values(self) -> Iterator[IndexedArticle]:  # type: ignore[override]
        for page in self.rows():
            yield from map(self._entry, page)

    def items(self) -> Iterator[tuple[str, IndexedArticle]]:  # type: ignore[override]
        return ((e.key, e) for e in self.values())

    def hold_out(self, article_ids: set[str]) -> None:
        """Flag the entries of these article ids as held out for the benchmark."""
        for page in self._pages("key, article_id"):
            held = [(key,) for key, article_id in page if article_id in article_ids]
            with self._lock:
                self._db.executemany("UPDATE a SET heldout = 1 WHERE key = ?", held)


@dataclass
class ReleaseIndex:
    articles: ArticleTable = field(default_factory=ArticleTable)  # key -> entry, in build order
    config: Optional[BuildConfig] = None

    def write(self, out_dir: Path) -> None:
        folder = Path(out_dir) / INDEX_DIR
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / "articles.parquet.tmp"
        with pq.ParquetWriter(tmp, _ARTICLES, compression="zstd") as writer:
            for page in self.articles.rows():  # streamed, a batch at a time
                writer.write_table(pa.Table.from_arrays(_page_arrays(page), schema=_ARTICLES))
        os.replace(tmp, folder / "articles.parquet")
        if self.config is not None:
            write_text_atomic(folder / "config.json", json.dumps(asdict(self.config)))

    @classmethod
    def read(cls, out_dir: Path) -> "ReleaseIndex":
        folder = Path(out_dir) / INDEX_DIR
        if not (folder / "articles.parquet").is_file():
            raise OutputError(f"{out_dir}: no release index ({INDEX_DIR}); it was built by an older pmc-hub: rebuild it once")
        try:
            index = cls()
            for batch in pq.ParquetFile(folder / "articles.parquet").iter_batches(ArticleTable._BATCH):
                index.articles.put_rows(_checked_row(r) for r in zip(*(c.to_pylist() for c in batch.columns)))
            raw = json.loads((folder / "config.json").read_text(encoding="utf-8"))
            index.config = BuildConfig(**{**raw, "layout": ShardLayout(**raw["layout"]),
                                          "shard": tuple(raw["shard"]) if raw["shard"] else None})
        except (OSError, ValueError, KeyError, TypeError, pa.ArrowException, sqlite3.Error) as exc:
            raise OutputError(f"{folder} is damaged ({type(exc).__name__}); rebuild the folder") from None
        return index


def _page_arrays(page: list[tuple]) -> list[pa.Array]:
    """A page of stored rows as ``_ARTICLES``' columns, built directly: `pa.array` of Python values
    would import pandas (0.2-0.4 CPU-s) only to ask whether the values are a pandas object."""
    columns = list(zip(*page))
    arrays: list[pa.Array] = []
    for values, column in zip(columns, _ARTICLES):
        if column.type == pa.bool_():
            bits = np.packbits(np.fromiter(values, dtype=bool, count=len(values)), bitorder="little")
            arrays.append(pa.Array.from_buffers(pa.bool_(), len(values), [None, pa.py_buffer(bits)]))
        else:
            builder = pa.lib.StringBuilder()
            builder.append_values(values)
            arrays.append(builder.finish())
    return arrays


def _checked_row(row: tuple) -> tuple:
    """A stored row read back from ``articles.parquet`` (same columns); its files must parse."""
    json.loads(row[4])
    return (*row[:5], int(row[5]), row[6])


def add_checkpoints(index: ReleaseIndex, checkpoints: Iterable[dict]) -> None:
    """Add the articles of a journal's checkpoints. A package skipped as a duplicate never
    replaces the entry of the article it duplicates."""
    for cp in checkpoints:
        for summary in cp["articles"]:
            key = summary_key(summary)
            if (known := index.articles.get(key)) is not None:
                if not summary["article_written"] and known.summary.get("article_written"):
                    continue
                del index.articles[key]  # a rebuilt article moves to where it was built again
            files = {config: cp["files"][config]["path"] for config in summary["rows"] if config in cp["files"]}
            entry = IndexedArticle(key, summary.get("version") or "", summary["article_id"], cp["release"], files)
            entry.summary = summary
            index.articles[key] = entry
