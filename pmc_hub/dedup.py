"""Exact and near-duplicate images across a whole build (all articles, configs and splits).

Exact: same SHA-256 of the bytes. Near: perceptual hashes (``image_phash``, from
`pmc_hub.media.phash_of`) within ``max_distance`` bits. The index streams: each image is looked
up, then added; the first one seen is kept and later copies are recorded as `Duplicate`s.

Near search is a multi-index hash (pigeonhole, as in Norouzi et al.): the 64 bits are cut into
four 16-bit chunks, and two hashes within ``max_distance`` bits differ in some chunk by at most
``max_distance // 4`` bits, so a lookup probes, per chunk, every value that close to its own (17
probes per chunk at 6 bits) and compares only the images found there bit by bit. Chunks of 16
bits keep those few at corpus scale: for 24M uniform hashes about 370 images a probe, 25,000 a
lookup, compared in numpy; one exact chunk per bit of distance (seven of 9 bits) would give
47,000 a probe, 330,000 a lookup, compared in Python. Each chunk table is a sorted run of (chunk value, position) in numpy, probed
with `searchsorted`; the latest images wait in a short run compared whole and are sorted in
every ``_RUN`` images. Memory: about 40 bytes an image for the tables and hashes (twice the
tables' share for a moment while a run is sorted in); the SHA-256 digests
and image keys, the larger part, live in a private temporary SQLite file, so the index of a
whole corpus (31M images) needs 1.2-2.2 GB.
"""
from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations
from typing import Iterable, Optional

import numpy as np

from .errors import DataError
from .scratch import scratch_database

DEFAULT_MAX_DISTANCE = 6  # the sample figures' closest distinct pair is 10 bits apart
_CHUNKS, _WIDTH = 4, 16  # the pHash's 64 bits as four 16-bit chunks
_SHIFTS = np.arange(_CHUNKS, dtype=np.uint64) * np.uint64(_WIDTH)
_TABLE_BITS = np.arange(_CHUNKS, dtype=np.uint32) << np.uint32(_WIDTH)


class DedupError(DataError, ValueError):
    """A row without a usable hash (names the image and the reason)."""


@dataclass(frozen=True)
class Duplicate:
    key: str  # the image_key left out / flagged
    duplicate_of: str  # the image_key kept (seen first)
    distance: int  # pHash bits apart; 0 for an exact (SHA-256) copy
    kind: str  # "exact" or "near"


class DuplicateIndex:
    """Streaming exact + near-duplicate index over (key, sha256, phash)."""

    def __init__(self, max_distance: int = DEFAULT_MAX_DISTANCE):
        if not 0 <= max_distance < 32:
            raise DedupError(f"max_distance must be in 0..31 bits, got {max_distance}")
        self.max_distance = max_distance
        self._near = _NearIndex(max_distance)
        self._db = scratch_database("CREATE TABLE kept (digest BLOB PRIMARY KEY, near INTEGER UNIQUE, key TEXT NOT NULL)")
        self._kept = 0

    def __len__(self) -> int:
        return self._kept

    def find(self, sha256: str, phash: Optional[str]) -> Optional[tuple[str, int, str]]:
        """The first indexed image this one duplicates: (key, distance, kind), or None."""
        return self._lookup(_digest(sha256), _phash_int(phash) if phash and self.max_distance else None)

    def _lookup(self, digest: bytes, value: Optional[int]) -> Optional[tuple[str, int, str]]:
        """`find` for a `_digest` and a pHash value (None: exact copies only)."""
        if (kept := self._db.execute("SELECT key FROM kept WHERE digest = ?", (digest,)).fetchone()) is not None:
            return kept[0], 0, "exact"
        if value is None:
            return None
        hit = self._near.nearest(value)
        if hit is None:
            return None
        return self._db.execute("SELECT key FROM kept WHERE near = ?", (hit[1],)).fetchone()[0], hit[0], "near"

    def add(self, key: str, sha256: str, phash: Optional[str]) -> Optional[Duplicate]:
        """Index the image unless it duplicates one already indexed (then return that Duplicate)."""
        if not sha256:
            raise DedupError(f"{key}: no image_hash")
        value = _phash_int(phash, key) if phash else None  # validate before searching
        near_value = value if self.max_distance else None
        digest = _digest(sha256)
        if (hit := self._lookup(digest, near_value)) is not None:
            return Duplicate(key, hit[0], hit[1], hit[2])
        near = self._near.add(near_value) if near_value is not None else None
        self._db.execute("INSERT INTO kept VALUES (?, ?, ?)", (digest, near, key))
        self._kept += 1
        return None

    def would_keep(self, images: list[tuple[str, str, Optional[str]]]) -> list[bool]:
        """Which of these images (key, SHA-256, pHash) ``add`` would keep, in order, without adding
        them: each is compared with the index and with the ones before it that it would keep."""
        kept: list[tuple[bytes, Optional[int]]] = []  # (digest, pHash) of the batch's kept images
        decisions = []
        for key, sha, phash in images:
            digest, value = _digest(sha), (_phash_int(phash, key) if phash and self.max_distance else None)
            keep = self._lookup(digest, value) is None and not any(
                digest == other or (value is not None and ph is not None and (value ^ ph).bit_count() <= self.max_distance)
                for other, ph in kept)
            if keep:
                kept.append((digest, value))
            decisions.append(keep)
        return decisions


class _NearIndex:
    """pHashes by position, searchable within ``max_distance`` bits (the module's docstring says how)."""

    _RUN = 8192  # images compared whole before they are sorted into the chunk tables

    def __init__(self, max_distance: int):
        self.max_distance = max_distance
        radius = max_distance // _CHUNKS
        flips = np.array([sum(1 << b for b in bits) for k in range(radius + 1) for bits in combinations(range(_WIDTH), k)],
                         dtype=np.uint32)
        self._flips = np.tile(flips, _CHUNKS)  # for each table's key in turn
        self._hashes = np.zeros(1024, dtype=np.uint64)
        self._size = 0
        self._sorted = 0  # positions below this are in the tables
        self._keys = np.zeros(0, dtype=np.uint32)  # the four chunk tables as one sorted run: table << 16 | chunk
        self._positions = np.zeros(0, dtype=np.uint32)  # the position of each key

    def add(self, value: int) -> int:
        """Index a pHash; returns its position."""
        if self._size == len(self._hashes):
            self._hashes = np.concatenate([self._hashes, np.zeros_like(self._hashes)])
        self._hashes[self._size] = value
        self._size += 1
        if self._size - self._sorted >= self._RUN:
            self._sort_in()
        return self._size - 1

    def nearest(self, value: int) -> Optional[tuple[int, int]]:
        """(distance, position) of the nearest indexed pHash within ``max_distance``, the earliest
        of equals; None if there is none."""
        query = np.uint64(value)
        probes = np.repeat(_table_keys(np.array([query])).ravel(), len(self._flips) // _CHUNKS) ^ self._flips
        lo, hi = np.searchsorted(self._keys, probes, "left"), np.searchsorted(self._keys, probes, "right")
        lengths = hi - lo
        starts = np.repeat(lo - (np.cumsum(lengths) - lengths), lengths)  # every key in every probed range
        found = self._positions[starts + np.arange(len(starts))]
        candidates = np.concatenate([found, np.arange(self._sorted, self._size, dtype=np.uint32)])  # + the unsorted run
        distances = np.bitwise_count(self._hashes[candidates] ^ query)
        near = distances <= self.max_distance
        if not near.any():
            return None
        return min(zip(distances[near].tolist(), candidates[near].tolist()))

    def _sort_in(self) -> None:
        new = np.arange(self._sorted, self._size, dtype=np.uint32)
        keys = _table_keys(self._hashes[new]).T.ravel()  # table by table
        positions = np.tile(new, _CHUNKS)
        order = np.argsort(keys, kind="stable")
        at = np.searchsorted(self._keys, keys[order], "right")  # after equal keys: earlier positions first
        self._keys = np.insert(self._keys, at, keys[order])
        self._positions = np.insert(self._positions, at, positions[order])
        self._sorted = self._size


def _table_keys(hashes: np.ndarray) -> np.ndarray:
    """Each hash's four table keys (table << 16 | its chunk), one row per hash."""
    return ((hashes[:, None] >> _SHIFTS) & np.uint64(0xFFFF)).astype(np.uint32) | _TABLE_BITS


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


def keep_first(index: DuplicateIndex, rows: Iterable[tuple[str, str, Optional[str]]]) -> tuple[list[bool], list[Duplicate]]:
    """Index (key, sha256, phash) triples in order, keeping the first copy of each image: the mask
    of the kept ones and the duplicates found (one index across a build dedups the whole build)."""
    mask: list[bool] = []
    found: list[Duplicate] = []
    for key, sha, phash in rows:
        dup = index.add(key, sha, phash)
        mask.append(dup is None)
        if dup is not None:
            found.append(dup)
    return mask, found
