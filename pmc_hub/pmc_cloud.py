"""Remote PMC Cloud source: the public ``pmc-oa-opendata`` bucket, over HTTPS (default) or S3.

One prefix per article version (``PMC<id>.<N>/``) holds the JATS XML, the metadata JSON and the
media files; every JSON is also under ``metadata/``. Articles are enumerated from that prefix or
from the daily S3 inventory, reduced to the highest version per PMCID, filtered, fetched into a
local cache laid out like the bucket (``CACHE/PMC<id>.<N>/...``) and yielded as `ArticlePackage`.

With a state file, a run is incremental: only article versions whose metadata key or ETag changed
since the last run are fetched; versions that disappeared (or were replaced by a newer version)
are reported. See docs/sources.md.
"""
from __future__ import annotations

import csv
import gzip
import hashlib
import http.client
import io
import json
import logging
import os
import random
import re
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Callable, Iterable, Iterator, Optional, Protocol, TypeVar

from lxml import etree

from .version import __version__
from .models import ArticlePackage, OnDisk

log = logging.getLogger(__name__)

BUCKET = "pmc-oa-opendata"
HTTPS_BASE = f"https://{BUCKET}.s3.amazonaws.com"
METADATA_PREFIX = "metadata/"
INVENTORY_PREFIX = f"inventory-reports/{BUCKET}/metadata/"
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".gif", ".tif", ".tiff")
USER_AGENT = f"pmc-hub/{__version__} (+https://github.com/pmc-hub/pmc-hub)"
_CHUNK = 1 << 20
_VERSION_KEY = re.compile(r"(?:^|/)(PMC\d+)\.(\d+)\.json$")
_MD5 = re.compile(r"^[0-9a-f]{32}$")
T = TypeVar("T")


class CloudError(Exception):
    """A PMC Cloud request failed for good (bad response, permission, unusable listing)."""


class TransientError(CloudError):
    """A failure worth retrying: 5xx, 429, timeout, dropped connection, corrupted transfer."""


class ObjectNotFound(CloudError):
    """The key does not exist in the bucket."""


class FetchFailed(CloudError):
    """An object could not be fetched after every retry; ``key`` and ``reason`` say which and why."""

    def __init__(self, key: str, reason: str):
        self.key = key
        self.reason = reason
        super().__init__(f"{key}: {reason}")


# --- retries ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff: waits ``backoff * 2**i`` (capped, with jitter) between ``attempts``."""

    attempts: int = 5
    backoff: float = 1.0
    max_backoff: float = 60.0

    def delay(self, attempt: int) -> float:
        return min(self.max_backoff, self.backoff * (2 ** attempt)) * random.uniform(0.5, 1.0)


def with_retries(call: Callable[[], T], policy: RetryPolicy, what: str, sleep: Callable[[float], None] = time.sleep) -> T:
    """Run ``call``; retry on `TransientError`; raise `FetchFailed` naming ``what`` when all fail."""
    last: Optional[Exception] = None
    for attempt in range(max(1, policy.attempts)):
        try:
            return call()
        except TransientError as exc:
            last = exc
            log.debug("%s: attempt %d failed: %s", what, attempt + 1, exc)
            if attempt + 1 < policy.attempts:
                sleep(policy.delay(attempt))
    raise FetchFailed(what, f"{last} (gave up after {policy.attempts} attempts)")


def http_open(request: urllib.request.Request, timeout: float) -> http.client.HTTPResponse:
    """urlopen that sorts failures into `TransientError` / `ObjectNotFound` / `CloudError`."""
    try:
        return urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as exc:
        body = exc.read(2000).decode("utf-8", "replace")
        exc.close()
        reason = f"HTTP {exc.code} from {request.full_url}: {_s3_error_message(body) or exc.reason}"
        if exc.code == 404:
            raise ObjectNotFound(reason) from None
        if exc.code >= 500 or exc.code in (408, 429):
            raise TransientError(reason) from None
        raise CloudError(reason) from None
    except (urllib.error.URLError, socket.timeout, TimeoutError, ConnectionError, http.client.HTTPException) as exc:
        raise TransientError(f"{request.full_url}: {getattr(exc, 'reason', exc)}") from None


# --- bucket clients --------------------------------------------------------------------------


@dataclass(frozen=True)
class CloudObject:
    key: str
    etag: Optional[str] = None  # without quotes; the MD5 of the body unless it holds a "-"
    size: Optional[int] = None
    last_modified: Optional[datetime] = None


@dataclass
class ListPage:
    objects: list[CloudObject]
    prefixes: list[str]
    next_token: Optional[str]


@dataclass
class ObjectStream:
    etag: Optional[str]
    size: Optional[int]
    chunks: Iterator[bytes]
    close: Callable[[], None]


class Bucket(Protocol):
    name: str
    url: str  # where the objects live, for messages and `ArticlePackage.origin`

    def list_page(self, prefix: str, token: Optional[str], delimiter: Optional[str]) -> ListPage: ...

    def open(self, key: str) -> ObjectStream: ...


class HttpBucket:
    """Anonymous plain-HTTP(S) access: GET objects and ListObjectsV2 XML listings; no boto3.

    Without ``endpoint`` it talks to ``https://pmc-oa-opendata.s3.amazonaws.com``; with one
    (e.g. ``http://127.0.0.1:5000``) it uses path-style URLs ``{endpoint}/{bucket}/{key}``.
    """

    def __init__(self, endpoint: Optional[str] = None, bucket: str = BUCKET, timeout: float = 60.0):
        self.name = bucket
        self.url = f"{endpoint.rstrip('/')}/{bucket}" if endpoint else f"https://{bucket}.s3.amazonaws.com"
        self.timeout = timeout

    def _request(self, url: str) -> urllib.request.Request:
        return urllib.request.Request(url, headers={"User-Agent": USER_AGENT})

    def list_page(self, prefix: str, token: Optional[str], delimiter: Optional[str]) -> ListPage:
        query = {"list-type": "2", "prefix": prefix}
        if token:
            query["continuation-token"] = token
        if delimiter:
            query["delimiter"] = delimiter
        url = f"{self.url}/?{urllib.parse.urlencode(query)}"
        with http_open(self._request(url), self.timeout) as resp:
            try:
                body = resp.read()
            except (OSError, http.client.HTTPException) as exc:
                raise TransientError(f"{url}: listing cut short: {exc}") from None
        return parse_listing(body, url)

    def open(self, key: str) -> ObjectStream:
        resp = http_open(self._request(f"{self.url}/{urllib.parse.quote(key, safe='/~')}"), self.timeout)
        length = resp.headers.get("Content-Length")

        def chunks() -> Iterator[bytes]:
            try:
                while chunk := resp.read(_CHUNK):
                    yield chunk
            except (OSError, http.client.HTTPException) as exc:
                raise TransientError(f"{key}: transfer cut short: {exc}") from None

        return ObjectStream(_clean_etag(resp.headers.get("ETag")), int(length) if length else None, chunks(), resp.close)


class S3Bucket:
    """Anonymous (unsigned) boto3 access; needs the ``cloud`` extra (boto3).

    ``endpoint`` is an S3 service endpoint (``http://127.0.0.1:5000`` for a local server).
    botocore's own retries are off: `with_retries` handles every client the same way.
    """

    def __init__(self, endpoint: Optional[str] = None, bucket: str = BUCKET, timeout: float = 60.0, region: str = "us-east-1"):
        try:
            import boto3
            from botocore import UNSIGNED
            from botocore.config import Config
        except ImportError:
            raise CloudError("the S3 client needs boto3: pip install 'pmc-hub[cloud]' (or use the default HTTPS client)") from None
        config = Config(signature_version=UNSIGNED, retries={"max_attempts": 1, "mode": "standard"},
                        connect_timeout=timeout, read_timeout=timeout)
        self.client = boto3.client("s3", endpoint_url=endpoint, region_name=region, config=config)
        self.name = bucket
        self.url = f"s3://{bucket}"

    def _call(self, what: str, fn: Callable[[], T]) -> T:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return fn()
        except ClientError as exc:
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
            reason = f"{what}: {exc.response.get('Error', {}).get('Code')} (HTTP {status})"
            if status == 404 or exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                raise ObjectNotFound(reason) from None
            if status >= 500 or status in (408, 429):
                raise TransientError(reason) from None
            raise CloudError(reason) from None
        except BotoCoreError as exc:
            raise TransientError(f"{what}: {exc}") from None

    def list_page(self, prefix: str, token: Optional[str], delimiter: Optional[str]) -> ListPage:
        kwargs = {"Bucket": self.name, "Prefix": prefix}
        if token:
            kwargs["ContinuationToken"] = token
        if delimiter:
            kwargs["Delimiter"] = delimiter
        resp = self._call(f"list {prefix!r}", lambda: self.client.list_objects_v2(**kwargs))
        objects = [CloudObject(o["Key"], _clean_etag(o.get("ETag")), o.get("Size"), o.get("LastModified"))
                   for o in resp.get("Contents", [])]
        prefixes = [p["Prefix"] for p in resp.get("CommonPrefixes", [])]
        return ListPage(objects, prefixes, resp.get("NextContinuationToken") if resp.get("IsTruncated") else None)

    def open(self, key: str) -> ObjectStream:
        resp = self._call(key, lambda: self.client.get_object(Bucket=self.name, Key=key))
        body = resp["Body"]

        def chunks() -> Iterator[bytes]:
            while chunk := self._call(key, lambda: body.read(_CHUNK)):
                yield chunk

        return ObjectStream(_clean_etag(resp.get("ETag")), resp.get("ContentLength"), chunks(), body.close)


def open_bucket(client: str = "https", endpoint: Optional[str] = None, bucket: str = BUCKET, timeout: float = 60.0) -> Bucket:
    """``client``: ``https`` (plain HTTP GETs, the default) or ``s3`` (boto3, unsigned)."""
    if client == "https":
        return HttpBucket(endpoint, bucket, timeout)
    if client == "s3":
        return S3Bucket(endpoint, bucket, timeout)
    raise ValueError(f"unknown PMC Cloud client {client!r}: use 'https' or 's3'")


def _clean_etag(etag: Optional[str]) -> Optional[str]:
    return etag.strip().strip('"').lower() if etag else None


def _s3_error_message(body: str) -> str:
    m = re.search(r"<Code>([^<]*)</Code>", body)
    return m.group(1) if m else ""


def _parser() -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


def parse_listing(body: bytes, where: str = "listing") -> ListPage:
    """Parse a ListObjectsV2 XML response (namespace-agnostic, no network, no entities)."""
    try:
        root = etree.fromstring(body, _parser())
    except etree.XMLSyntaxError as exc:
        raise TransientError(f"{where}: unreadable listing XML: {exc}") from None
    if root is None or etree.QName(root).localname != "ListBucketResult":
        raise CloudError(f"{where}: not a ListBucketResult document")

    def child(el, name: str) -> Optional[str]:
        found = el.find(f"{{*}}{name}")
        if found is None:
            found = el.find(name)
        return found.text if found is not None else None

    def children(el, name: str) -> list:
        return el.findall(f"{{*}}{name}") or el.findall(name)

    objects = []
    for c in children(root, "Contents"):
        size = child(c, "Size")
        modified = child(c, "LastModified")
        objects.append(CloudObject(child(c, "Key") or "", _clean_etag(child(c, "ETag")), int(size) if size else None,
                                   parse_time(modified) if modified else None))
    prefixes = [child(p, "Prefix") or "" for p in children(root, "CommonPrefixes")]
    truncated = (child(root, "IsTruncated") or "false").lower() == "true"
    token = child(root, "NextContinuationToken") if truncated else None
    if truncated and not token:
        raise CloudError(f"{where}: truncated listing without NextContinuationToken")
    return ListPage(objects, prefixes, token)


def parse_time(text: str) -> datetime:
    """ISO 8601 time (``2026-11-20T01:02:03.000Z``) or date, as an aware UTC datetime."""
    value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def list_objects(bucket: Bucket, prefix: str, retry: RetryPolicy = RetryPolicy()) -> Iterator[CloudObject]:
    """Every object under ``prefix``, page by page (each page request retried)."""
    token: Optional[str] = None
    while True:
        page = with_retries(lambda: bucket.list_page(prefix, token, None), retry, f"list {prefix!r}")
        yield from page.objects
        if not page.next_token:
            return
        token = page.next_token


def list_prefixes(bucket: Bucket, prefix: str, retry: RetryPolicy = RetryPolicy()) -> list[str]:
    """The "folders" directly under ``prefix`` (delimiter ``/``)."""
    found: list[str] = []
    token: Optional[str] = None
    while True:
        page = with_retries(lambda: bucket.list_page(prefix, token, "/"), retry, f"list {prefix!r}")
        found += page.prefixes
        if not page.next_token:
            return found
        token = page.next_token


# --- downloads -------------------------------------------------------------------------------


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


def _read_verified(bucket: Bucket, key: str, md5: Optional[str], sink: io.RawIOBase | io.BufferedIOBase) -> int:
    """Stream ``key`` into ``sink``; check the MD5 (expected or the response's plain ETag) and size."""
    stream = bucket.open(key)
    digest = hashlib.md5()
    size = 0
    try:
        for chunk in stream.chunks:
            digest.update(chunk)
            sink.write(chunk)
            size += len(chunk)
    finally:
        stream.close()
    got = digest.hexdigest()
    for expected, source in ((md5, "expected md5"), (stream.etag, "ETag")):
        if expected and _MD5.match(expected) and got != expected:
            raise TransientError(f"{key}: md5 mismatch: {source} {expected}, got {got}")
    if stream.size is not None and size != stream.size:
        raise TransientError(f"{key}: size mismatch: expected {stream.size} bytes, got {size}")
    return size


def get_bytes(bucket: Bucket, key: str, md5: Optional[str] = None, retry: RetryPolicy = RetryPolicy(),
              transfer: Optional[Transfer] = None) -> bytes:
    """Fetch one (small) object into memory, verified and retried."""

    def attempt() -> bytes:
        buf = io.BytesIO()
        _read_verified(bucket, key, md5, buf)
        return buf.getvalue()

    data = _guard_missing(key, lambda: with_retries(attempt, retry, key))
    if transfer:
        transfer.downloaded_files += 1
        transfer.downloaded_bytes += len(data)
    return data


def fetch_to(bucket: Bucket, key: str, path: Path, md5: Optional[str] = None, retry: RetryPolicy = RetryPolicy(),
             transfer: Optional[Transfer] = None) -> Path:
    """Make ``path`` hold object ``key``: a cached file whose MD5 matches (or, with no MD5 known,
    any cached file) is kept; otherwise it is downloaded to a temporary name, verified, renamed."""
    if path.is_file() and (not md5 or not _MD5.match(md5) or file_md5(path) == md5):
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

    size = _guard_missing(key, lambda: with_retries(attempt, retry, key))
    if transfer:
        transfer.downloaded_files += 1
        transfer.downloaded_bytes += size
    return path


def _guard_missing(key: str, call: Callable[[], T]) -> T:
    try:
        return call()
    except ObjectNotFound as exc:
        raise FetchFailed(key, f"not found ({exc})") from None
    except FetchFailed:
        raise
    except CloudError as exc:
        raise FetchFailed(key, str(exc)) from None


def file_md5(path: Path) -> str:
    digest = hashlib.md5()
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
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


# --- enumeration -----------------------------------------------------------------------------


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
    m = _VERSION_KEY.search(obj.key)
    if not m:
        return None
    return ArticleVersion(m.group(1), int(m.group(2)), obj.key, obj.etag, obj.last_modified)


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
    try:
        manifest = json.loads(get_bytes(bucket, manifest_key, retry=retry))
    except (ValueError, UnicodeDecodeError) as exc:
        raise CloudError(f"{manifest_key}: unreadable manifest: {exc}") from None
    if str(manifest.get("fileFormat", "CSV")).upper() != "CSV":
        raise CloudError(f"{manifest_key}: fileFormat {manifest.get('fileFormat')!r} is not supported (CSV only)")
    columns = [c.strip().lower() for c in str(manifest.get("fileSchema") or "Bucket, Key, LastModifiedDate, ETag").split(",")]
    try:
        key_col = columns.index("key")
    except ValueError:
        raise CloudError(f"{manifest_key}: fileSchema has no Key column: {manifest.get('fileSchema')!r}") from None
    etag_col = columns.index("etag") if "etag" in columns else None
    time_col = next((columns.index(c) for c in ("lastmodifieddate", "last-modified", "lastmodified") if c in columns), None)
    for entry in manifest.get("files", []):
        data = get_bytes(bucket, entry["key"], entry.get("MD5checksum"), retry)
        with gzip.open(io.BytesIO(data), "rt", encoding="utf-8", newline="") as fh:
            for row in csv.reader(fh):
                if len(row) <= key_col:
                    continue
                obj = CloudObject(
                    urllib.parse.unquote_plus(row[key_col]),
                    _clean_etag(row[etag_col]) if etag_col is not None and etag_col < len(row) else None,
                    None,
                    parse_time(row[time_col]) if time_col is not None and time_col < len(row) and row[time_col] else None,
                )
                version = version_of(obj)
                if version:
                    yield version


def latest_versions(versions: Iterable[ArticleVersion]) -> dict[str, ArticleVersion]:
    """The highest version N per PMCID (N compared as a number: 10 beats 9)."""
    latest: dict[str, ArticleVersion] = {}
    for v in versions:
        held = latest.get(v.pmcid)
        if held is None or v.version > held.version:
            latest[v.pmcid] = v
    return latest


# --- selection -------------------------------------------------------------------------------


def normalize_pmcid(value: str) -> str:
    """``PMC123``, ``pmc123`` or ``123`` -> ``PMC123``; anything else is a ValueError naming it."""
    text = str(value).strip()
    m = re.fullmatch(r"(?i:pmc)?(\d+)", text)
    if not m:
        raise ValueError(f"not a PMCID: {value!r}")
    return f"PMC{int(m.group(1))}"


def read_pmcid_file(path: Path) -> frozenset[str]:
    """One PMCID per line; blank lines and ``#`` comments ignored; a bad line names its number."""
    ids = set()
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if line:
            try:
                ids.add(normalize_pmcid(line))
            except ValueError as exc:
                raise ValueError(f"{path}:{n}: {exc}") from None
    return frozenset(ids)


def license_category(metadata: dict) -> str:
    """License group of an article from its metadata ``license_code`` (none given -> other)."""
    from .licenses import classify

    code = metadata.get("license_code")
    return classify(code=str(code) if code else None).category


@dataclass(frozen=True)
class Selection:
    """Which articles to take. Key-level filters (PMCIDs, update time) need no download;
    metadata-level ones (open access flag, license group) need the article's JSON."""

    licenses: Optional[frozenset[str]] = None  # license categories to keep; None: all
    pmcids: Optional[frozenset[str]] = None
    since: Optional[datetime] = None  # metadata JSON last modified at or after this (UTC)
    open_access_only: bool = True
    limit: Optional[int] = None  # most packages to yield

    def __post_init__(self):
        from .licenses import CATEGORIES

        bad = sorted(set(self.licenses or ()) - set(CATEGORIES))
        if bad:
            raise ValueError(f"unknown license group(s) {bad}: choose from {list(CATEGORIES)}")
        if self.since is not None and self.since.tzinfo is None:
            object.__setattr__(self, "since", self.since.replace(tzinfo=timezone.utc))

    def fingerprint(self) -> str:
        """Identifies the metadata-level filters, so a run with other filters re-examines skips."""
        return json.dumps({"licenses": sorted(self.licenses) if self.licenses is not None else None,
                           "open_access_only": self.open_access_only}, sort_keys=True)

    def key_reason(self, version: ArticleVersion) -> Optional[str]:
        if self.pmcids is not None and version.pmcid not in self.pmcids:
            return "not in PMCID list"
        if self.since is not None and (version.last_modified is None or version.last_modified < self.since):
            return "not updated since"
        return None

    def metadata_reason(self, metadata: dict) -> Optional[str]:
        if self.open_access_only and metadata.get("is_pmc_openaccess") is not True:
            return "not in the open access subset (is_pmc_openaccess is not true)"
        if self.licenses is not None:
            category = license_category(metadata)
            if category not in self.licenses:
                return f"license group {category} not selected"
        return None


def parse_since(text: str) -> datetime:
    """``2026-11-01`` or an ISO time -> aware UTC datetime; a clear error otherwise."""
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text.strip()):
            return datetime.combine(date.fromisoformat(text.strip()), datetime.min.time(), timezone.utc)
        return parse_time(text)
    except ValueError:
        raise ValueError(f"not a date or ISO time: {text!r} (use YYYY-MM-DD)") from None


# --- incremental state -----------------------------------------------------------------------


class StateError(CloudError):
    """The state file is unreadable or belongs to another bucket."""


@dataclass
class SyncState:
    """(metadata key -> ETag, status) of every article version a previous run handled.

    ``status`` is ``fetched`` or ``skipped`` (with the selection fingerprint it was skipped under).
    """

    path: Optional[Path]
    bucket: str
    entries: dict[str, dict] = field(default_factory=dict)

    FORMAT = 1

    @classmethod
    def load(cls, path: Optional[Path], bucket: str) -> "SyncState":
        if path is None or not Path(path).exists():
            return cls(Path(path) if path else None, bucket)
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise StateError(f"{path}: unreadable state file: {exc}") from None
        if data.get("format") != cls.FORMAT or data.get("bucket") != bucket:
            raise StateError(f"{path}: state of bucket {data.get('bucket')!r} (format {data.get('format')}), "
                             f"not {bucket!r} (format {cls.FORMAT}); use another state file")
        return cls(Path(path), bucket, dict(data.get("versions", {})))

    def save(self) -> None:
        if self.path is None:
            return
        body = {"format": self.FORMAT, "bucket": self.bucket, "saved": datetime.now(timezone.utc).isoformat(),
                "versions": dict(sorted(self.entries.items()))}
        write_atomic(self.path, json.dumps(body, indent=0).encode("utf-8"))

    def is_current(self, version: ArticleVersion, fingerprint: str) -> bool:
        entry = self.entries.get(version.key)
        if entry is None or entry.get("etag") != version.etag:
            return False
        return entry.get("status") == "fetched" or entry.get("selection") == fingerprint


@dataclass
class SyncPlan:
    todo: list[ArticleVersion]  # new or updated versions, PMCID order
    listed: int = 0  # latest versions enumerated (one per PMCID)
    new: list[str] = field(default_factory=list)  # package ids
    updated: list[str] = field(default_factory=list)
    unchanged: int = 0
    removed: list[str] = field(default_factory=list)  # fetched before, gone from the bucket
    superseded: list[str] = field(default_factory=list)  # fetched before, a newer version now exists
    excluded: int = 0  # dropped by the key-level filters (PMCID list, since)


def plan_sync(latest: dict[str, ArticleVersion], state: SyncState, selection: Selection) -> SyncPlan:
    """Compare the enumerated latest versions with the state: what to fetch, what went away."""
    plan = SyncPlan(todo=[], listed=len(latest))
    fingerprint = selection.fingerprint()
    for version in sorted(latest.values(), key=lambda v: int(v.pmcid[3:])):
        if selection.key_reason(version):
            plan.excluded += 1
        elif state.is_current(version, fingerprint):
            plan.unchanged += 1
        else:
            plan.todo.append(version)
            (plan.updated if version.key in state.entries else plan.new).append(version.package_id)
    for key, entry in state.entries.items():
        if entry.get("status") != "fetched":
            continue
        m = _VERSION_KEY.search(key)
        if not m or (selection.pmcids is not None and m.group(1) not in selection.pmcids):
            continue
        now = latest.get(m.group(1))
        if now is not None and now.key == key:
            continue
        package_id = f"{m.group(1)}.{m.group(2)}"
        (plan.superseded if now is not None and now.version > int(m.group(2)) else plan.removed).append(package_id)
    return plan


# --- the source ------------------------------------------------------------------------------


@dataclass
class CloudOptions:
    cache_dir: Path  # also the mirror: CACHE/PMC<id>.<N>/PMC<id>.<N>.{xml,json} + media
    client: str = "https"  # "https" (default, no boto3) or "s3" (boto3, unsigned)
    endpoint: Optional[str] = None  # e.g. http://127.0.0.1:5000 for a local S3-compatible server
    bucket: str = BUCKET
    selection: Selection = field(default_factory=Selection)
    state_file: Optional[Path] = None  # set: incremental run
    inventory: Optional[str] = None  # None: list metadata/; "latest" or a folder name: use the inventory
    media_suffixes: Optional[tuple[str, ...]] = IMAGE_SUFFIXES  # media fetched; None: every file
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    timeout: float = 60.0
    download_workers: int = 8  # articles prepared in parallel (threads)


@dataclass
class FetchReport:
    listed: int = 0
    excluded: int = 0
    new: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: int = 0
    yielded: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (package id, reason)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (package id, "key: reason")
    removed: list[str] = field(default_factory=list)
    superseded: list[str] = field(default_factory=list)
    transfer: Transfer = field(default_factory=Transfer)

    def to_dict(self) -> dict:
        return asdict(self)


def parse_object_url(url: str) -> tuple[str, Optional[str]]:
    """``s3://bucket/PMC1.1/f.jpg?md5=...`` (or an https URL) -> (key, md5 or None)."""
    parts = urllib.parse.urlsplit(url)
    key = urllib.parse.unquote(parts.path).lstrip("/")
    if parts.scheme in ("http", "https") and not parts.netloc.startswith(f"{BUCKET}.") and "/" in key:
        key = key.split("/", 1)[1]  # path-style URL: drop the bucket name
    md5 = urllib.parse.parse_qs(parts.query).get("md5", [None])[0]
    return key, md5.lower() if md5 else None


def _safe_name(key: str) -> str:
    name = key.rsplit("/", 1)[-1]
    if not name or name in (".", "..") or name.startswith(".") or "\\" in name or "\x00" in name:
        raise CloudError(f"unsafe file name in key {key!r}")
    return name


class CloudSource:
    """Enumerate, select and fetch PMC Cloud articles; ``packages()`` yields them.

    ``report`` fills in as the iteration runs; the state file (when set) is saved as packages are
    consumed and, with removals dropped, when the iteration ends.
    """

    def __init__(self, options: CloudOptions, bucket: Optional[Bucket] = None):
        self.options = options
        self.bucket = bucket or open_bucket(options.client, options.endpoint, options.bucket, options.timeout)
        self.state = SyncState.load(options.state_file, options.bucket)
        self.report = FetchReport()
        self.cache = Path(options.cache_dir)

    def versions(self) -> Iterator[ArticleVersion]:
        if self.options.inventory:
            return versions_from_inventory(self.bucket, self.options.inventory, self.options.retry)
        return versions_from_listing(self.bucket, self.options.retry)

    def plan(self) -> SyncPlan:
        plan = plan_sync(latest_versions(self.versions()), self.state, self.options.selection)
        r = self.report
        r.listed, r.excluded, r.unchanged = plan.listed, plan.excluded, plan.unchanged
        r.new, r.updated, r.removed, r.superseded = plan.new, plan.updated, plan.removed, plan.superseded
        return plan

    def packages(self, plan: Optional[SyncPlan] = None) -> Iterator[ArticlePackage]:
        plan = plan or self.plan()
        selection = self.options.selection
        fingerprint = selection.fingerprint()
        # Articles are prepared (metadata read, files fetched) by a thread pool a few ahead of the
        # consumer, and handed over in plan order.
        pool = ThreadPoolExecutor(max_workers=max(1, self.options.download_workers), thread_name_prefix="pmc-cloud")
        todo = iter(plan.todo)
        pending: deque = deque()

        def fill() -> None:
            window = 2 * max(1, self.options.download_workers)
            if selection.limit is not None:  # never fetch more than the limit still allows
                window = min(window, selection.limit - len(self.report.yielded))
            while len(pending) < window and (version := next(todo, None)):
                pending.append((version, pool.submit(self._prepare, version)))

        try:
            while True:
                fill()
                if not pending:
                    break
                version, future = pending.popleft()
                kind, value, transfer = future.result()
                self.report.transfer.add(transfer)
                if kind == "failed":
                    self.report.failed.append((version.package_id, value))
                    continue
                if kind == "skipped":
                    self.report.skipped.append((version.package_id, value))
                    self.state.entries[version.key] = {"etag": version.etag, "status": "skipped", "selection": fingerprint}
                    continue
                yield value
                # The consumer asked for the next one: this one is done.
                self.report.yielded.append(version.package_id)
                self.state.entries[version.key] = {"etag": version.etag, "status": "fetched"}
                if len(self.report.yielded) % 100 == 0:
                    self.state.save()
            gone = set(plan.removed) | set(plan.superseded)
            for key in [k for k in self.state.entries if (m := _VERSION_KEY.search(k)) and f"{m[1]}.{m[2]}" in gone]:
                del self.state.entries[key]
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
            self.state.save()

    def _prepare(self, version: ArticleVersion) -> tuple[str, object, Transfer]:
        """("fetched", package) | ("skipped", reason) | ("failed", reason), with its transfer counts."""
        transfer = Transfer()
        try:
            metadata, raw = self._metadata(version, transfer)
            reason = self.options.selection.metadata_reason(metadata)
            if reason:
                return "skipped", reason, transfer
            return "fetched", self._fetch(version, metadata, raw, transfer), transfer
        except CloudError as exc:
            return "failed", str(exc), transfer

    def _metadata(self, version: ArticleVersion, transfer: Transfer) -> tuple[dict, bytes]:
        cached = self.cache / version.package_id / f"{version.package_id}.json"
        if cached.is_file() and version.etag and _MD5.match(version.etag) and file_md5(cached) == version.etag:
            transfer.cached_files += 1
            raw = cached.read_bytes()
        else:
            raw = get_bytes(self.bucket, version.key, version.etag, self.options.retry, transfer)
        try:
            metadata = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            raise CloudError(f"{version.key}: unreadable metadata JSON: {exc}") from None
        if not isinstance(metadata, dict):
            raise CloudError(f"{version.key}: metadata JSON is not an object")
        return metadata, raw

    def _fetch(self, version: ArticleVersion, metadata: dict, raw_metadata: bytes, transfer: Transfer) -> ArticlePackage:
        pid = version.package_id
        folder = self.cache / pid
        json_path = folder / f"{pid}.json"
        if not (json_path.is_file() and json_path.read_bytes() == raw_metadata):
            write_atomic(json_path, raw_metadata)
        xml_key, xml_md5 = parse_object_url(metadata["xml_url"]) if metadata.get("xml_url") else (f"{pid}/{pid}.xml", None)
        xml_path = fetch_to(self.bucket, xml_key, folder / _safe_name(xml_key), xml_md5, self.options.retry, transfer)
        media: dict[str, Callable[[], bytes]] = {}
        suffixes = self.options.media_suffixes
        for url in metadata.get("media_urls") or []:
            key, md5 = parse_object_url(str(url))
            name = _safe_name(key)
            if suffixes is not None and not name.lower().endswith(tuple(s.lower() for s in suffixes)):
                continue
            path = fetch_to(self.bucket, key, folder / name, md5, self.options.retry, transfer)
            media[name] = OnDisk(path)
        return ArticlePackage(package_id=pid, xml=xml_path.read_bytes(), media=media,
                              origin=f"{self.bucket.url}/{pid}/", metadata=metadata)


def open_cloud(options: CloudOptions) -> Iterator[ArticlePackage]:
    """The selected (and, with a state file, new or updated) PMC Cloud articles as packages."""
    yield from CloudSource(options).packages()


_SPEC_KEYS = ("license", "pmcids", "since", "limit", "inventory", "state", "cache", "client", "endpoint", "include_non_oa", "all_media")


def default_cache_dir() -> Path:
    """``$PMC_HUB_CACHE/pmc-cloud``, else ``~/.cache/pmc-hub/pmc-cloud``."""
    root = os.environ.get("PMC_HUB_CACHE") or Path.home() / ".cache" / "pmc-hub"
    return Path(root) / "pmc-cloud"


def options_from_spec(spec: str) -> CloudOptions:
    """A source spec as `pmc_hub.sources` receives it -> `CloudOptions`.

    ``s3://pmc-oa-opendata``, ``https://pmc-oa-opendata.s3.amazonaws.com`` or, for a local
    S3-compatible server, ``http://127.0.0.1:5000/pmc-oa-opendata`` (path-style); options as a
    query: ``?license=commercial,noncommercial&since=2026-11-01&pmcids=FILE&limit=N``
    ``&inventory=latest&state=FILE&cache=DIR&client=s3&include_non_oa=1&all_media=1``.
    """
    parts = urllib.parse.urlsplit(spec)
    query = {k: v[-1] for k, v in urllib.parse.parse_qs(parts.query, keep_blank_values=True).items()}
    unknown = sorted(set(query) - set(_SPEC_KEYS))
    if unknown:
        raise ValueError(f"{spec}: unknown option(s) {unknown}; known: {', '.join(_SPEC_KEYS)}")
    endpoint = query.get("endpoint")
    if parts.scheme == "s3":
        bucket = parts.netloc or BUCKET
    elif parts.netloc.endswith(".s3.amazonaws.com"):
        bucket = parts.netloc[: -len(".s3.amazonaws.com")]
    elif parts.scheme in ("http", "https"):
        bucket = parts.path.strip("/").split("/")[0] or BUCKET
        endpoint = endpoint or f"{parts.scheme}://{parts.netloc}"
    else:
        raise ValueError(f"{spec}: not a PMC Cloud spec (s3://BUCKET or an http(s) bucket URL)")
    flag = lambda name: query.get(name, "").lower() in ("1", "true", "yes")  # noqa: E731
    try:
        selection = Selection(
            licenses=frozenset(g.strip() for g in query["license"].split(",") if g.strip()) if query.get("license") else None,
            pmcids=read_pmcid_file(Path(query["pmcids"])) if query.get("pmcids") else None,
            since=parse_since(query["since"]) if query.get("since") else None,
            open_access_only=not flag("include_non_oa"),
            limit=int(query["limit"]) if query.get("limit") else None,
        )
    except (ValueError, OSError) as exc:
        raise ValueError(f"{spec}: {exc}") from None
    return CloudOptions(
        cache_dir=Path(query["cache"]) if query.get("cache") else default_cache_dir(),
        client=query.get("client", "https"), endpoint=endpoint, bucket=bucket, selection=selection,
        state_file=Path(query["state"]) if query.get("state") else None, inventory=query.get("inventory") or None,
        media_suffixes=None if flag("all_media") else IMAGE_SUFFIXES,
    )


def open_cloud_source(spec: str) -> Iterator[ArticlePackage]:
    """Packages of a PMC Cloud spec (see `options_from_spec`); failures and skips are logged."""
    source = CloudSource(options_from_spec(spec))
    yield from source.packages()
    r = source.report
    for pid, reason in r.failed:  # counted in the build report like any other skip
        yield ArticlePackage(pid, b"", {}, f"{source.bucket.url}/{pid}", {}, [("download failed", str(reason))])
    log.info("PMC Cloud %s: %d articles yielded, %d skipped by metadata filters, %d failed, %d unchanged, "
             "%d removed, %d superseded", source.bucket.url, len(r.yielded), len(r.skipped), len(r.failed),
             r.unchanged, len(r.removed), len(r.superseded))
