"""Connected components of a binary image in numpy alone (no scipy, no OpenCV).

Runs of ink along each row are the nodes; runs of neighbouring rows that touch (8-connectivity)
are joined with a vectorised union-find (hook roots onto the smaller root, then jump pointers until
every run points at its root). Cost grows with the number of runs, not the number of pixels.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Components:
    """One entry per component: bounding box (x1, y1 exclusive) and ink pixel count."""

    x0: np.ndarray
    y0: np.ndarray
    x1: np.ndarray
    y1: np.ndarray
    pixels: np.ndarray

    def __len__(self) -> int:
        return int(self.x0.size)


def row_runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Row, start and end (exclusive) of every run of True, in row-major order."""
    h, w = mask.shape
    padded = np.zeros((h, w + 2), dtype=bool)
    padded[:, 1:-1] = mask
    # in row-major order a row's changes alternate: a run's start, then its end
    rows, cols = np.divmod(np.flatnonzero(padded[:, 1:] != padded[:, :-1]), w + 1)
    return rows[::2], cols[::2], cols[1::2]


def _touching_pairs(rows: np.ndarray, starts: np.ndarray, ends: np.ndarray, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Index pairs (a, b) of runs where b lies in the row above a and touches it diagonally or more."""
    key = width + 2
    end_keys = rows * key + ends
    start_keys = rows * key + starts
    above = rows > 0
    a = np.flatnonzero(above)
    base = (rows[a] - 1) * key
    lo = np.searchsorted(end_keys, base + starts[a], side="left")
    hi = np.searchsorted(start_keys, base + ends[a], side="right")
    count = np.maximum(hi - lo, 0)
    keep = count > 0
    a, lo, count = a[keep], lo[keep], count[keep]
    if a.size == 0:
        return a, a
    first = np.repeat(np.cumsum(count) - count, count)
    b = np.repeat(lo, count) + (np.arange(int(count.sum())) - first)
    return np.repeat(a, count), b


def _roots(n: int, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    parent = np.arange(n)
    while u.size:
        pu, pv = parent[u], parent[v]
        differ = pu != pv
        if not differ.any():
            break
        u, v, pu, pv = u[differ], v[differ], pu[differ], pv[differ]
        np.minimum.at(parent, np.maximum(pu, pv), np.minimum(pu, pv))
        while True:
            jumped = parent[parent]
            if np.array_equal(jumped, parent):
                break
            parent = jumped
    return parent


def connected_components(mask: np.ndarray) -> Components:
    """8-connected components of a 2-D boolean array."""
    rows, starts, ends = row_runs(mask.astype(bool, copy=False))
    if rows.size == 0:
        empty = np.zeros(0, dtype=np.int64)
        return Components(empty, empty, empty, empty, empty)
    u, v = _touching_pairs(rows, starts, ends, mask.shape[1])
    _, label = np.unique(_roots(rows.size, u, v), return_inverse=True)
    n = int(label.max()) + 1
    x0 = np.full(n, np.iinfo(np.int64).max)
    y0 = np.full(n, np.iinfo(np.int64).max)
    x1 = np.zeros(n, dtype=np.int64)
    y1 = np.zeros(n, dtype=np.int64)
    pixels = np.zeros(n, dtype=np.int64)
    np.minimum.at(x0, label, starts)
    np.minimum.at(y0, label, rows)
    np.maximum.at(x1, label, ends)
    np.maximum.at(y1, label, rows + 1)
    np.add.at(pixels, label, ends - starts)
    return Components(x0, y0, x1, y1, pixels)
