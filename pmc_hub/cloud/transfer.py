"""Downloads from a bucket: verified (MD5, size), retried, written atomically, served from a cache."""
from __future__ import annotations

import hashlib
import io
import os
import re
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from ..remote import RemoteError, RetryPolicy, TransientError, with_retries
from .bucket import CHUNK, Bucket

MD5 = re.compile(r"^[0-9a-f]{32}$")


@dataclass
class Transfer:
    """Counters of what the cache served and what had to be downloaded."""

    downloaded_files: int = 0
    downloaded_bytes: int = 0
    cached_files: int = 0

    def add(self, other: "Transfer") -> None:
        self.downloaded_files += other.downloaded_files
        self.downloaded_bytes += other.downloaded_bytes
        self.cached_files += other.cached_files


def _read_verified(bucket: Bucket, key: str, md5: Optional[str], sink: io.RawIOBase | io.BufferedIOBase,
                   max_bytes: Optional[int] = None) -> int:
    """Stream ``key`` into ``sink``; check the MD5 (expected or the response's plain ETag) and size."""
    stream = bucket.open(key)
    digest = hashlib.md5()
    size = 0
    try:
        for chunk in stream.chunks:
            size += len(chunk)
            if max_bytes is not None and size > max_bytes:
                raise RemoteError(f"larger than {max_bytes} bytes")  # not retried: it would be again
            digest.update(chunk)
            sink.write(chunk)
    finally:
        stream.close()
    got = digest.hexdigest()
    for expected, source in ((md5, "expected md5"), (stream.etag, "ETag")):
        if expected and MD5.match(expected) and got != expected:
            raise TransientError(f"{key}: md5 mismatch: {source} {expected}, got {got}")
    if stream.size is not None and size != stream.size:
        raise TransientError(f"{key}: size mismatch: expected {stream.size} bytes, got {size}")
    return size


def get_bytes(bucket: Bucket, key: str, md5: Optional[str] = None, retry: RetryPolicy = RetryPolicy(),
              transfer: Optional[Transfer] = None, max_bytes: Optional[int] = None) -> bytes:
    """Fetch one (small) object into memory, verified and retried; at most ``max_bytes`` are read."""

    def attempt() -> bytes:
        buf = io.BytesIO()
        _read_verified(bucket, key, md5, buf, max_bytes)
        return buf.getvalue()

    data = with_retries(attempt, retry, key)
    if transfer:
        transfer.downloaded_files += 1
        transfer.downloaded_bytes += len(data)
    return data


def fetch_to(bucket: Bucket, key: str, path: Path, md5: Optional[str] = None, retry: RetryPolicy = RetryPolicy(),
             transfer: Optional[Transfer] = None) -> Path:
    """Make ``path`` hold object ``key``: a cached file whose MD5 matches (or, with no MD5 known,
    any cached file) is kept; otherwise it is downloaded to a temporary name, verified, renamed."""
    if path.is_file() and (not md5 or not MD5.match(md5) or file_md5(path) == md5):
        if transfer:
            transfer.cached_files += 1
        return path
    path.parent.mkdir(parents=True, exist_ok=True)

    def attempt() -> int:
        tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.part")
        try:
            with open(tmp, "wb") as fh:
                size = _read_verified(bucket, key, md5, fh)
            os.replace(tmp, path)
            return size
        finally:
            tmp.unlink(missing_ok=True)

    size = with_retries(attempt, retry, key)
    if transfer:
        transfer.downloaded_files += 1
        transfer.downloaded_bytes += size
    return path


def file_md5(path: Path) -> str:
    digest = hashlib.md5()
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.part")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
