"""Parquet output: part files written during a build, merged into Hub-layout shards at the end.

Layout: ``{config}/{split}-{i:05d}-of-{n:05d}.parquet``. Files carry the `datasets` features in
their schema metadata, so `load_dataset` decodes images and keeps the declared types.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator, Optional

import pyarrow as pa
import pyarrow.parquet as pq

from .schema import features

DEFAULT_SHARD_BYTES = 500 * 1024 * 1024  # the Hub's own push_to_hub default
DEFAULT_ROW_GROUP_ROWS = 100  # image rows: small row groups keep the dataset viewer fast


@dataclass(frozen=True)
class ShardLayout:
    shard_bytes: int = DEFAULT_SHARD_BYTES
    row_group_rows: int = DEFAULT_ROW_GROUP_ROWS


def arrow_schema(schema_name: str) -> pa.Schema:
    return features(schema_name).arrow_schema


def write_part(rows: list[dict], schema_name: str, path: Path, layout: ShardLayout) -> int:
    """Write rows to ``path`` atomically (tmp + rename); returns the file size.

    Rows are converted one row group at a time, so the Arrow copy never doubles the batch."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    schema = arrow_schema(schema_name)
    step = layout.row_group_rows
    # Parts are read back once, at the merge, which compresses: no CPU spent compressing twice.
    with pq.ParquetWriter(tmp, schema, compression="none") as writer:
        for start in range(0, len(rows), step):
            writer.write_table(pa.Table.from_pylist(rows[start:start + step], schema=schema))
    _sync(tmp)
    os.replace(tmp, path)
    return path.stat().st_size


def _sync(path: Path) -> None:
    with open(path, "rb+") as fh:
        os.fsync(fh.fileno())


def plan_shards(parts: list[Path], shard_bytes: int) -> list[list[Path]]:
    """Group consecutive parts into shards of at most ``shard_bytes`` (a part is never split)."""
    shards: list[list[Path]] = []
    size = 0
    for part in parts:
        part_size = part.stat().st_size
        if not shards or (size + part_size > shard_bytes and shards[-1]):
            shards.append([])
            size = 0
        shards[-1].append(part)
        size += part_size
    return shards


def merge_parts(parts: list[Path], schema_name: str, out_dir: Path, config: str, split: str, layout: ShardLayout,
                keep: Optional[Callable[[pa.Table, str], pa.Table]] = None) -> list[Path]:
    """Merge parts, in order, into ``out_dir/config/split-XXXXX-of-XXXXX.parquet`` shards.

    ``keep(table, config)`` may filter each part's rows on the way (e.g. duplicates)."""
    groups = plan_shards(parts, layout.shard_bytes)
    target = out_dir / config
    target.mkdir(parents=True, exist_ok=True)
    written = []
    for i, group in enumerate(groups):
        path = target / f"{split}-{i:05d}-of-{len(groups):05d}.parquet"
        tmp = path.with_name(path.name + ".tmp")
        with pq.ParquetWriter(tmp, arrow_schema(schema_name), compression="zstd") as writer:
            for table in _row_groups(group, layout.row_group_rows, keep and (lambda t: keep(t, config))):
                writer.write_table(table, row_group_size=layout.row_group_rows)
        os.replace(tmp, path)
        written.append(path)
    return written


def _row_groups(parts: Iterable[Path], rows: int, keep: Optional[Callable[[pa.Table], pa.Table]] = None) -> Iterator[pa.Table]:
    """Tables of exactly ``rows`` rows (the last may be shorter), whatever the part boundaries,
    so a resumed build lays out its row groups like an uninterrupted one."""
    pending: list[pa.RecordBatch] = []
    count = 0
    for part in parts:
        for batch in pq.ParquetFile(part).iter_batches(batch_size=rows):
            kept = keep(pa.Table.from_batches([batch])).to_batches() if keep else [batch]
            pending.extend(kept)
            count += sum(b.num_rows for b in kept)
            while count >= rows:
                table = pa.Table.from_batches(pending)
                yield table.slice(0, rows)
                rest = table.slice(rows)
                pending, count = rest.to_batches(), rest.num_rows
    if count:
        yield pa.Table.from_batches(pending)


def shard_files(out_dir: Path, config: str, split: str = "train") -> list[Path]:
    """The Parquet shards of one config and split, in order."""
    return sorted((Path(out_dir) / config).glob(f"{split}-*.parquet"))


def remove_shards(out_dir: Path, config: str) -> None:
    """Delete a config's shards, half-written ``.tmp`` ones included: never mix two builds' rows."""
    folder = Path(out_dir) / config
    for old in folder.glob("*.parquet*") if folder.exists() else ():
        old.unlink()


def iter_rows(files: Iterable[Path], batch_rows: int = 64) -> Iterator[dict]:
    """Rows of Parquet shards, a few at a time (image bytes stay as written)."""
    for path in files:
        for batch in pq.ParquetFile(path).iter_batches(batch_size=batch_rows):
            yield from batch.to_pylist()


def rewrite_shard(path: Path, schema_name: str, change: Callable[[list[dict]], list[dict]], layout: ShardLayout) -> None:
    """Pass a shard's rows through ``change`` a row group at a time and replace it atomically
    (same rows, same order, same row groups)."""
    tmp = path.with_name(path.name + ".tmp")
    schema = arrow_schema(schema_name)
    with pq.ParquetWriter(tmp, schema, compression="zstd") as writer:
        for batch in pq.ParquetFile(path).iter_batches(batch_size=layout.row_group_rows):
            writer.write_table(pa.Table.from_pylist(change(batch.to_pylist()), schema=schema))
    os.replace(tmp, path)
