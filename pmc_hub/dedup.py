"""Exact and near-duplicate images across a whole build (all articles, configs and splits).

Exact: same SHA-256 of the bytes. Near: perceptual hashes (``image_phash``, from
`pmc_hub.media.phash`) within ``max_distance`` bits. The index streams: each image is looked
up, then added; the first one seen is kept and later copies are recorded as `Duplicate`s.

Near search is a multi-index hash (pigeonhole): the 64 bits are cut into ``max_distance + 1``
chunks, so two hashes within ``max_distance`` bits agree exactly on at least one chunk. Each
chunk value maps to the images holding it; only those candidates are compared bit by bit.
Positions and hashes are kept in compact arrays (a few dozen bytes per image besides its key),
so the index fits millions of images.
"""
from __future__ import annotations

from array import array
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator, Optional

import pyarrow.parquet as pq

from .writers import shard_files

DEFAULT_MAX_DISTANCE = 6  # the sample figures' closest distinct pair is 10 bits apart


class DedupError(ValueError):
    """A row without a usable hash (names the image and the reason)."""


@dataclass(frozen=True)
class Duplicate:
    key: str  # the image_key left out / flagged
    duplicate_of: str  # the image_key kept (seen first)
    distance: int  # pHash bits apart; 0 for an exact (SHA-256) copy
    kind: str  # "exact" or "near"

    def to_dict(self) -> dict:
        return asdict(self)


class DuplicateIndex:
    """Streaming exact + near-duplicate index over (key, sha256, phash)."""

    def __init__(self, max_distance: int = DEFAULT_MAX_DISTANCE):
        if not 0 <= max_distance < 32:
            raise ValueError(f"max_distance must be in 0..31 bits, got {max_distance}")
        self.max_distance = max_distance
        n = max_distance + 1
        bounds = [round(64 * i / n) for i in range(n + 1)]
        self._chunks = [(lo, hi - lo) for lo, hi in zip(bounds, bounds[1:])]  # (shift, width)
        self._exact: dict[bytes, str] = {}  # first 16 bytes of the SHA-256 -> key kept
        self._tables: list[dict[int, array]] = [{} for _ in self._chunks]
        self._keys: list[str] = []
        self._hashes = array("Q")

    def __len__(self) -> int:
        return len(self._keys)

    def find(self, sha256: str, phash: Optional[str]) -> Optional[tuple[str, int, str]]:
        """The first indexed image this one duplicates: (key, distance, kind), or None."""
        if (kept := self._exact.get(_digest(sha256))) is not None:
            return kept, 0, "exact"
        if not phash or self.max_distance == 0:
            return None
        value = _phash_int(phash)
        best: Optional[tuple[int, int]] = None  # (distance, position): nearest, then earliest
        seen: set[int] = set()
        for table, (shift, width) in zip(self._tables, self._chunks):
            for pos in table.get((value >> shift) & ((1 << width) - 1), ()):
                if pos in seen:
                    continue
                seen.add(pos)
                d = (value ^ self._hashes[pos]).bit_count()
                if d <= self.max_distance and (best is None or (d, pos) < best):
                    best = (d, pos)
        return (self._keys[best[1]], best[0], "near") if best else None

    def add(self, key: str, sha256: str, phash: Optional[str]) -> Optional[Duplicate]:
        """Index the image unless it duplicates one already indexed (then return that Duplicate)."""
        if not sha256:
            raise DedupError(f"{key}: no image_hash")
        value = _phash_int(phash, key) if phash else None  # validate before searching
        if (hit := self.find(sha256, phash)) is not None:
            return Duplicate(key, hit[0], hit[1], hit[2])
        self._exact[_digest(sha256)] = key
        if value is not None:
            pos = len(self._keys)
            self._keys.append(key)
            self._hashes.append(value)
            for table, (shift, width) in zip(self._tables, self._chunks):
                table.setdefault((value >> shift) & ((1 << width) - 1), array("I")).append(pos)
        return None


def _digest(sha256: str) -> bytes:
    """16 bytes of a hex SHA-256 (collision-free in practice, a third of the string's size);
    any other digest string is kept whole."""
    try:
        return bytes.fromhex(sha256[:32])
    except ValueError:
        return sha256.encode()


def _phash_int(phash: str, key: str = "") -> int:
    try:
        value = int(phash, 16)
    except ValueError:
        raise DedupError(f"{key or phash}: image_phash {phash!r} is not hexadecimal") from None
    if len(phash) != 16:
        raise DedupError(f"{key or phash}: image_phash must be 16 hex digits, got {len(phash)}")
    return value


def drop_duplicates(rows: Iterable[dict], index: Optional[DuplicateIndex] = None,
                    on_duplicate: Optional[Callable[[Duplicate], None]] = None) -> Iterator[dict]:
    """Yield rows whose image is new to ``index`` (keep-first); report each other one to
    ``on_duplicate``. Pass one index through every config / split to dedup the whole build."""
    index = index if index is not None else DuplicateIndex()
    for row in rows:
        dup = index.add(row["image_key"], row.get("image_hash"), row.get("image_phash"))
        if dup is None:
            yield row
        elif on_duplicate is not None:
            on_duplicate(dup)


def find_duplicates(rows: Iterable[dict], max_distance: int = DEFAULT_MAX_DISTANCE) -> list[Duplicate]:
    """Every duplicate in ``rows`` (keep-first order), for the build report."""
    found: list[Duplicate] = []
    for _ in drop_duplicates(rows, DuplicateIndex(max_distance), found.append):
        pass
    return found



def scan_folder(out_dir: Path, configs: Optional[Iterable[tuple[str, str]]] = None,
                max_distance: int = DEFAULT_MAX_DISTANCE) -> list[Duplicate]:
    """Duplicates across a built folder's figure shards, reading only the key and hash columns.

    ``configs`` is the keep-first order as (config, split) pairs; by default every
    ``{config}/{split}-*.parquet`` with test splits first (a test image is the one kept, its
    train copies are the duplicates), then by config and split name.
    """
    root = Path(out_dir)
    if configs is None:
        found = {(f.parent.name, f.name.split("-", 1)[0]) for f in root.glob("*/*-*.parquet")
                 if not f.parent.name.startswith(".") and f.parent.name != "articles"}
        configs = sorted(found, key=lambda cs: (cs[1] != "test", cs))
    rows = ({"image_key": k, "image_hash": h, "image_phash": p}
            for config, split in configs
            for f in shard_files(root, config, split)
            for batch in pq.ParquetFile(f).iter_batches(columns=["image_key", "image_hash", "image_phash"])
            for k, h, p in zip(*batch.to_pydict().values()))
    return find_duplicates(rows, max_distance)
