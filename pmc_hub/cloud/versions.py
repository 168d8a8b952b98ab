"""Article versions of the bucket, enumerated from a listing of ``metadata/`` or the S3 inventory."""
from __future__ import annotations

import csv
import gzip
import io
import json
import re
import urllib.parse
from dataclasses import dataclass
from datetime import datetime
from typing import Iterable, Iterator, Optional

from ..remote import RetryPolicy
from .bucket import BUCKET, Bucket, CloudError, CloudObject, clean_etag, list_objects, list_prefixes, parse_time_or_none
from .transfer import get_bytes

METADATA_PREFIX = "metadata/"
INVENTORY_PREFIX = f"inventory-reports/{BUCKET}/metadata/"
VERSION_KEY = re.compile(r"(?:^|/)(PMC\d+)\.(\d+)\.json$")
MAX_MANIFEST_BYTES = 16 << 20


@dataclass(frozen=True)
class ArticleVersion:
    """One article version as a listing or inventory names it (its ``metadata/`` JSON object)."""

    pmcid: str
    version: int
    key: str  # metadata/PMC<id>.<N>.json
    etag: Optional[str] = None
    last_modified: Optional[datetime] = None

    @property
    def package_id(self) -> str:
        return f"{self.pmcid}.{self.version}"


def version_of(obj: CloudObject) -> Optional[ArticleVersion]:
    """The article version a ``metadata/PMC<id>.<N>.json`` object stands for; None for other keys."""
    m = VERSION_KEY.search(obj.key)
    if not m:
        return None
    return ArticleVersion(m.group(1), int(m.group(2)), obj.key, obj.etag, obj.last_modified)


def package_id_of(key: str) -> Optional[str]:
    """``PMC<id>.<N>`` of a metadata key; None for other keys."""
    m = VERSION_KEY.search(key)
    return f"{m.group(1)}.{m.group(2)}" if m else None


def versions_from_listing(bucket: Bucket, retry: RetryPolicy = RetryPolicy(), prefix: str = METADATA_PREFIX) -> Iterator[ArticleVersion]:
    """Every article version, from a listing of the ``metadata/`` prefix."""
    for obj in list_objects(bucket, prefix, retry):
        version = version_of(obj)
        if version:
            yield version


def inventory_dates(bucket: Bucket, retry: RetryPolicy = RetryPolicy()) -> list[str]:
    """Inventory report folders (e.g. ``2026-11-20T01-00Z``), oldest first."""
    names = [p[len(INVENTORY_PREFIX):].strip("/") for p in list_prefixes(bucket, INVENTORY_PREFIX, retry)]
    return sorted(n for n in names if n and n[:1].isdigit())


def _manifest(bucket: Bucket, key: str, retry: RetryPolicy) -> tuple[list[str], list[tuple[str, Optional[str]]]]:
    """(lower-case column names, [(CSV file key, MD5 or None)]) of an inventory manifest."""
    try:
        manifest = json.loads(get_bytes(bucket, key, retry=retry, max_bytes=MAX_MANIFEST_BYTES))
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise CloudError(f"{key}: unreadable manifest: {exc}") from None
    if not isinstance(manifest, dict):
        raise CloudError(f"{key}: the manifest is not a JSON object")
    if str(manifest.get("fileFormat", "CSV")).upper() != "CSV":
        raise CloudError(f"{key}: fileFormat {manifest.get('fileFormat')!r} is not supported (CSV only)")
    columns = [c.strip().lower() for c in str(manifest.get("fileSchema") or "Bucket, Key, LastModifiedDate, ETag").split(",")]
    if "key" not in columns:
        raise CloudError(f"{key}: fileSchema has no Key column: {manifest.get('fileSchema')!r}")
    files = manifest.get("files", [])
    if not isinstance(files, list) or not all(isinstance(f, dict) and isinstance(f.get("key"), str) for f in files):
        raise CloudError(f"{key}: 'files' is not a list of objects with a 'key'")
    return columns, [(f["key"], f["MD5checksum"] if isinstance(f.get("MD5checksum"), str) else None) for f in files]


def versions_from_inventory(bucket: Bucket, when: str = "latest", retry: RetryPolicy = RetryPolicy()) -> Iterator[ArticleVersion]:
    """Every article version listed by the S3 inventory of folder ``when`` (``latest``: newest).

    The manifest names gzipped header-less CSV files; ``fileSchema`` gives the column order
    (default: Bucket, Key, LastModifiedDate, ETag). Keys in the CSV are URL-encoded.
    """
    if when == "latest":
        dates = inventory_dates(bucket, retry)
        if not dates:
            raise CloudError(f"no inventory under {bucket.url}/{INVENTORY_PREFIX}")
        when = dates[-1]
    manifest_key = f"{INVENTORY_PREFIX}{when}/manifest.json"
    columns, files = _manifest(bucket, manifest_key, retry)
    key_col = columns.index("key")
    etag_col = columns.index("etag") if "etag" in columns else None
    time_col = next((columns.index(c) for c in ("lastmodifieddate", "last-modified", "lastmodified") if c in columns), None)
    for file_key, md5 in files:
        data = get_bytes(bucket, file_key, md5, retry)
        try:
            with gzip.open(io.BytesIO(data), "rt", encoding="utf-8", errors="replace", newline="") as fh:
                for row in csv.reader(fh):
                    if len(row) <= key_col:
                        continue
                    cell = lambda col: row[col] if col is not None and col < len(row) else None  # noqa: E731
                    version = version_of(CloudObject(urllib.parse.unquote_plus(row[key_col]), clean_etag(cell(etag_col)),
                                                     None, parse_time_or_none(cell(time_col))))
                    if version:
                        yield version
        except (OSError, EOFError, csv.Error) as exc:
            raise CloudError(f"{file_key}: unreadable inventory file: {exc}") from None


def latest_versions(versions: Iterable[ArticleVersion]) -> dict[str, ArticleVersion]:
    """The highest version N per PMCID (N compared as a number: 10 beats 9)."""
    latest: dict[str, ArticleVersion] = {}
    for v in versions:
        held = latest.get(v.pmcid)
        if held is None or v.version > held.version:
            latest[v.pmcid] = v
    return latest
