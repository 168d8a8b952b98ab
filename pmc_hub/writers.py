"""Parquet shards: written once, a row group at a time, hashed while written, renamed into place.

Files carry the `datasets` features in their schema metadata, so `load_dataset` decodes images and
keeps the declared types. A shard is written under ``<name>.tmp``, fsynced and renamed: a reader
(or a resumed build) never sees half a shard.
"""
from __future__ import annotations

import hashlib
import io
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Callable, Container, Iterable, Iterator, Optional

import pyarrow as pa
import pyarrow.parquet as pq

from .config import ShardLayout
from .output import OwnedFile, shard_path
from .schema import arrow_schema

COMPRESSION = "ZSTD"
IMAGE_BYTES = "image.bytes"  # JPEG / PNG / TIFF bytes are compressed already: stored as they are


@lru_cache(maxsize=None)
def compression(schema_name: str) -> dict[str, str]:
    """The codec of each column: zstd, but none for image bytes (recompressing them costs CPU at
    every write and read and saves about nothing)."""
    def leaves(kind: pa.DataType, path: str) -> Iterator[str]:
        if pa.types.is_struct(kind):
            for child in kind:
                yield from leaves(child.type, f"{path}.{child.name}")
        elif pa.types.is_list(kind) or pa.types.is_large_list(kind):
            yield from leaves(kind.value_type, f"{path}.list.element")
        else:
            yield path

    return {p: "NONE" if p == IMAGE_BYTES else COMPRESSION for f in arrow_schema(schema_name) for p in leaves(f.type, f.name)}


@lru_cache(maxsize=None)
def encoded_columns(schema_name: str) -> list[str]:
    """The columns given dictionaries and min/max statistics: all but image bytes (every image is
    distinct, so a dictionary attempt and byte-wise comparisons are pure cost)."""
    return [p for p in compression(schema_name) if p != IMAGE_BYTES]


@dataclass(frozen=True)
class WrittenFile:
    path: str  # relative to the output folder, POSIX
    rows: int
    size: int
    sha256: str
    data_bytes: int  # the rows' in-memory (Arrow) size

    def owned(self) -> OwnedFile:
        return OwnedFile(self.size, self.sha256, self.rows, self.data_bytes)


def checkpoint_files(checkpoints: Iterable[dict]) -> dict[str, OwnedFile]:
    """The shards journal checkpoints record (each file a `WrittenFile` as a dict), as manifest entries."""
    return {w["path"]: WrittenFile(**w).owned() for cp in checkpoints for w in cp["files"].values()}


SYNC_BYTES = 32 * 2**20  # written bytes after which a shard's data starts going to disk in the background
_DATASYNC = getattr(os, "fdatasync", os.fsync)  # (no fdatasync on macOS)


class _HashingFile(io.RawIOBase):
    """A write-only file that hashes what goes through it (no second read of the shard).

    Every `SYNC_BYTES` written, a background thread syncs what is written so far (the disk works
    while the build goes on), so the fsync before the shard's rename, which a checkpoint waits
    for, has only the last few MB left to write instead of the whole shard."""

    def __init__(self, path: Path):
        self._fh = open(path, "wb")
        self.sha256 = hashlib.sha256()
        self.size = 0
        self._unsynced = 0
        self._sync: Optional[threading.Thread] = None

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        view = memoryview(data)
        self.sha256.update(view)
        self._fh.write(view)
        self.size += view.nbytes
        self._unsynced += view.nbytes
        if self._unsynced >= SYNC_BYTES and (self._sync is None or not self._sync.is_alive()):
            self._fh.flush()
            self._unsynced = 0
            self._sync = threading.Thread(target=_DATASYNC, args=(self._fh.fileno(),), name="pmc-hub-shard-sync", daemon=True)
            self._sync.start()
        return view.nbytes

    def close(self) -> None:
        if self._sync is not None:
            self._sync.join()  # (the file stays open until the background sync is done with it)
        if not self._fh.closed:
            self._fh.flush()
            os.fsync(self._fh.fileno())
            self._fh.close()
        super().close()


class ShardFile:
    """One shard being written: tables of any size in, row groups of exactly ``row_group_rows``
    out (the last may be shorter), so the layout never depends on how rows arrived."""

    def __init__(self, out_dir: Path, rel: str, schema_name: str, layout: ShardLayout):
        self.out_dir, self.rel, self.layout = Path(out_dir), rel, layout
        self.schema_name = schema_name
        self.schema = arrow_schema(schema_name)
        self.final = self.out_dir / rel
        self.tmp = self.final.with_name(self.final.name + ".tmp")
        self._pending: list[pa.Table] = []
        self._pending_rows = 0
        self._sink: Optional[_HashingFile] = None
        self._writer: Optional[pq.ParquetWriter] = None
        self.rows = 0
        self.bytes = 0  # in-memory size of the rows added: decides when a shard is full

    def add(self, table: pa.Table) -> None:
        if not table.num_rows:
            return
        self._pending.append(table)
        self._pending_rows += table.num_rows
        self.rows += table.num_rows
        self.bytes += table.nbytes
        while self._pending_rows >= self.layout.row_group_rows:
            self._write(self.layout.row_group_rows)

    def _write(self, n: int) -> None:
        table = pa.concat_tables(self._pending) if len(self._pending) > 1 else self._pending[0]
        rest = table.slice(n)
        self._pending, self._pending_rows = ([rest] if rest.num_rows else []), rest.num_rows
        if self._writer is None:
            self.final.parent.mkdir(parents=True, exist_ok=True)
            self._sink = _HashingFile(self.tmp)
            self._writer = pq.ParquetWriter(self._sink, self.schema, compression=compression(self.schema_name),
                                           use_dictionary=encoded_columns(self.schema_name),
                                           write_statistics=encoded_columns(self.schema_name))
        self._writer.write_table(table.slice(0, n), row_group_size=n)

    def close(self) -> Optional[WrittenFile]:
        """Finish the shard and rename it into place; None when it got no rows."""
        if self._pending_rows:
            self._write(self._pending_rows)
        if self._writer is None:
            return None
        self._writer.close()
        self._sink.close()
        os.replace(self.tmp, self.final)
        return WrittenFile(self.rel, self.rows, self._sink.size, self._sink.sha256.hexdigest(), self.bytes)

    def abort(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._sink.close()
        self.tmp.unlink(missing_ok=True)


class ShardSet:
    """The open shards of one checkpoint, one per config, numbered on from ``next_index``."""

    def __init__(self, out_dir: Path, release: str, layout: ShardLayout, next_index: dict[str, int],
                 schema_of: Callable[[str], str], split: str = "train"):
        self.out_dir, self.release, self.layout, self.split = Path(out_dir), release, layout, split
        self.next_index, self.schema_of = next_index, schema_of
        self.files: dict[str, ShardFile] = {}

    def add(self, config: str, table: pa.Table) -> None:
        shard = self.files.get(config)
        if shard is None:
            rel = shard_path(config, self.release, self.split, self.next_index.get(config, 0), self.layout.max_folder_files)
            shard = self.files[config] = ShardFile(self.out_dir, rel, self.schema_of(config), self.layout)
        shard.add(table)

    def close_config(self, config: str) -> Optional[WrittenFile]:
        """Close one config's shard now (a rolling writer); the next row opens the next shard."""
        shard = self.files.pop(config, None)
        if shard is None:
            return None
        self.next_index[config] = self.next_index.get(config, 0) + 1
        return shard.close()

    @property
    def full(self) -> bool:
        return any(f.bytes >= self.layout.shard_bytes for f in self.files.values())

    @property
    def rows(self) -> int:
        return sum(f.rows for f in self.files.values())

    def close(self) -> dict[str, WrittenFile]:
        """Close every open shard: at once, in threads (each writes its last row group and waits
        for its fsync, much of which runs outside the GIL)."""
        files = sorted(self.files.items())
        if len(files) > 1:
            with ThreadPoolExecutor(len(files), thread_name_prefix="pmc-hub-shard-close") as pool:
                closed = list(pool.map(ShardFile.close, (f for _, f in files)))
        else:
            closed = [f.close() for _, f in files]
        return {config: w for (config, _), w in zip(files, closed) if w is not None}

    def abort(self) -> None:
        for f in self.files.values():
            f.abort()


def rows_where(table: pa.Table, keep: Iterable[bool]) -> pa.Table:
    """The rows where ``keep`` is true, as slices of ``table`` (a filter would copy every kept
    image's bytes)."""
    pieces, start, i = [], None, -1
    for i, k in enumerate(keep):
        if k and start is None:
            start = i
        elif not k and start is not None:
            pieces.append(table.slice(start, i - start))
            start = None
    if start is not None:
        pieces.append(table.slice(start, i + 1 - start))
    if len(pieces) == 1:
        return pieces[0]
    return pa.concat_tables(pieces) if pieces else table.slice(0, 0)


def rows_without(table: pa.Table, column: str, values: Container[str]) -> pa.Table:
    """The rows whose ``column`` is none of ``values`` (`rows_where`: no copy)."""
    return rows_where(table, (v not in values for v in table.column(column).to_pylist()))


def write_file(out_dir: Path, rel: str, schema_name: str, tables: Iterable[pa.Table], layout: ShardLayout) -> Optional[WrittenFile]:
    """Write one shard from ``tables`` (row groups re-cut to the layout), atomically."""
    shard = ShardFile(out_dir, rel, schema_name, layout)
    try:
        for table in tables:
            shard.add(table)
    except BaseException:
        shard.abort()
        raise
    return shard.close()


def read_tables(path: Path, batch_rows: int = 100, columns: Optional[list[str]] = None) -> Iterator[pa.Table]:
    """A shard's rows as small tables (image bytes stay as written)."""
    for batch in pq.ParquetFile(path).iter_batches(batch_size=batch_rows, columns=columns):
        yield pa.Table.from_batches([batch])


def iter_rows(files: Iterable[Path], batch_rows: int = 64) -> Iterator[dict]:
    """Rows of Parquet shards as dicts, a few at a time."""
    for path in files:
        for batch in pq.ParquetFile(path).iter_batches(batch_size=batch_rows):
            yield from batch.to_pylist()
