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
from dataclasses import dataclass
from typing import Iterable, Optional

from .errors import DataError

DEFAULT_MAX_DISTANCE = 6  # the sample figures' closest distinct pair is 10 bits apart


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


    def would_keep(self, images: list[tuple[str, str, Optional[str]]]) -> list[bool]:
        """Which of these images (key, SHA-256, pHash) ``add`` would keep, in order, without adding
        them: each is compared with the index and with the ones before it that it would keep."""
        batch = DuplicateIndex(self.max_distance)
        decisions = []
        for key, sha, phash in images:
            keep = self.find(sha, phash) is None and batch.find(sha, phash) is None
            if keep:
                batch.add(key, sha, phash)
            decisions.append(keep)
        return decisions


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
