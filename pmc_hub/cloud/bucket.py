"""Bucket clients: list and read objects of the PMC Cloud bucket over HTTPS (default) or boto3.

Both clients are anonymous. `HttpBucket` sends plain GETs and parses ListObjectsV2 XML with lxml
(no network, no DTD, no entities); `S3Bucket` uses boto3 unsigned. Neither retries on its own:
callers wrap requests in `pmc_hub.remote.with_retries`.
"""
from __future__ import annotations

import http.client
import urllib.parse
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable, Iterator, Optional, Protocol, TypeVar

from lxml import etree

from ..errors import UsageError
from ..remote import NotFound, RemoteError, RetryPolicy, TransientError, build_request, content_length, open_url, with_retries

BUCKET = "pmc-oa-opendata"
CLIENTS = ("https", "s3")
CHUNK = 1 << 20
T = TypeVar("T")


class CloudError(RemoteError):
    """The bucket answered with something unusable (a listing or inventory that cannot be read)."""


class SpecError(UsageError, ValueError):
    """A PMC Cloud spec or option that cannot be used (unknown key, bad value, missing client)."""


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


def check_endpoint(endpoint: str) -> str:
    """An S3-compatible endpoint URL (``http(s)://host[:port]``), or a `SpecError` saying what is wrong."""
    try:
        parts = urllib.parse.urlsplit(endpoint)
        parts.port  # noqa: B018  (raises ValueError for a bad port)
    except ValueError as exc:
        raise SpecError(f"endpoint {endpoint!r} is not a URL ({exc}); use http(s)://HOST[:PORT]") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SpecError(f"endpoint {endpoint!r} is not an http(s) URL; use http(s)://HOST[:PORT]")
    return endpoint.rstrip("/")


class HttpBucket:
    """Anonymous plain-HTTP(S) access: GET objects and ListObjectsV2 XML listings; no boto3.

    Without ``endpoint`` it talks to ``https://pmc-oa-opendata.s3.amazonaws.com``; with one
    (e.g. ``http://127.0.0.1:5000``) it uses path-style URLs ``{endpoint}/{bucket}/{key}``.
    Redirects are followed only within that host (see `pmc_hub.remote`).
    """

    def __init__(self, endpoint: Optional[str] = None, bucket: str = BUCKET, timeout: float = 60.0):
        self.name = bucket
        self.url = f"{check_endpoint(endpoint)}/{bucket}" if endpoint else f"https://{bucket}.s3.amazonaws.com"
        self.timeout = timeout

    def list_page(self, prefix: str, token: Optional[str], delimiter: Optional[str]) -> ListPage:
        query = {"list-type": "2", "prefix": prefix}
        if token:
            query["continuation-token"] = token
        if delimiter:
            query["delimiter"] = delimiter
        url = f"{self.url}/?{urllib.parse.urlencode(query)}"
        with open_url(build_request(url), self.timeout) as resp:
            try:
                body = resp.read()
            except (OSError, http.client.HTTPException) as exc:
                raise TransientError(f"{url}: listing cut short: {exc}") from None
        return parse_listing(body, url)

    def open(self, key: str) -> ObjectStream:
        resp = open_url(build_request(f"{self.url}/{urllib.parse.quote(key, safe='/~')}"), self.timeout)

        def chunks() -> Iterator[bytes]:
            try:
                while chunk := resp.read(CHUNK):
                    yield chunk
            except (OSError, http.client.HTTPException) as exc:
                raise TransientError(f"{key}: transfer cut short: {exc}") from None

        return ObjectStream(clean_etag(resp.headers.get("ETag")), content_length(resp.headers.get("Content-Length")),
                            chunks(), resp.close)


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
            raise SpecError("the S3 client needs boto3: pip install 'pmc-hub[cloud]' (or use the default https client)") from None
        config = Config(signature_version=UNSIGNED, retries={"max_attempts": 1, "mode": "standard"},
                        connect_timeout=timeout, read_timeout=timeout)
        self.client = boto3.client("s3", endpoint_url=check_endpoint(endpoint) if endpoint else None,
                                   region_name=region, config=config)
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
                raise NotFound(f"not found: {reason}") from None
            if status >= 500 or status in (408, 429):
                raise TransientError(reason) from None
            raise RemoteError(reason) from None
        except BotoCoreError as exc:
            raise TransientError(f"{what}: {exc}") from None

    def list_page(self, prefix: str, token: Optional[str], delimiter: Optional[str]) -> ListPage:
        kwargs = {"Bucket": self.name, "Prefix": prefix}
        if token:
            kwargs["ContinuationToken"] = token
        if delimiter:
            kwargs["Delimiter"] = delimiter
        resp = self._call(f"list {prefix!r}", lambda: self.client.list_objects_v2(**kwargs))
        objects = [CloudObject(o["Key"], clean_etag(o.get("ETag")), o.get("Size"), o.get("LastModified"))
                   for o in resp.get("Contents", [])]
        prefixes = [p["Prefix"] for p in resp.get("CommonPrefixes", [])]
        return ListPage(objects, prefixes, resp.get("NextContinuationToken") if resp.get("IsTruncated") else None)

    def open(self, key: str) -> ObjectStream:
        resp = self._call(key, lambda: self.client.get_object(Bucket=self.name, Key=key))
        body = resp["Body"]

        def chunks() -> Iterator[bytes]:
            while chunk := self._call(key, lambda: body.read(CHUNK)):
                yield chunk

        return ObjectStream(clean_etag(resp.get("ETag")), resp.get("ContentLength"), chunks(), body.close)


def open_bucket(client: str = "https", endpoint: Optional[str] = None, bucket: str = BUCKET, timeout: float = 60.0) -> Bucket:
    """``client``: ``https`` (plain HTTP GETs, the default) or ``s3`` (boto3, unsigned)."""
    if client == "https":
        return HttpBucket(endpoint, bucket, timeout)
    if client == "s3":
        return S3Bucket(endpoint, bucket, timeout)
    raise SpecError(f"unknown PMC Cloud client {client!r}: use one of {', '.join(CLIENTS)}")


def clean_etag(etag: Optional[str]) -> Optional[str]:
    return etag.strip().strip('"').lower() if etag else None


# --- listings --------------------------------------------------------------------------------


def _parser() -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


def parse_listing(body: bytes, where: str = "listing") -> ListPage:
    """Parse a ListObjectsV2 XML response (namespace-agnostic, no network, no entities).

    A size or time that is not a number or a date is left unknown (None), not fatal.
    """
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

    objects = [CloudObject(child(c, "Key") or "", clean_etag(child(c, "ETag")), content_length(child(c, "Size")),
                           parse_time_or_none(child(c, "LastModified")))
               for c in children(root, "Contents")]
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


def parse_time_or_none(text: Optional[str]) -> Optional[datetime]:
    """`parse_time`, or None for an empty or unreadable time."""
    try:
        return parse_time(text) if text else None
    except ValueError:
        return None


def _pages(bucket: Bucket, prefix: str, delimiter: Optional[str], retry: RetryPolicy) -> Iterator[ListPage]:
    """Every page of a listing (each request retried); a continuation token seen before is an error,
    so a server that sends the client round in circles cannot make the listing endless."""
    token: Optional[str] = None
    seen: set[str] = set()
    while True:
        page = with_retries(lambda: bucket.list_page(prefix, token, delimiter), retry, f"list {prefix!r}")
        yield page
        if not page.next_token:
            return
        if page.next_token in seen:
            raise CloudError(f"list {prefix!r}: the listing repeats continuation token {page.next_token[:80]!r}")
        seen.add(page.next_token)
        token = page.next_token


def list_objects(bucket: Bucket, prefix: str, retry: RetryPolicy = RetryPolicy()) -> Iterator[CloudObject]:
    """Every object under ``prefix``, page by page."""
    for page in _pages(bucket, prefix, None, retry):
        yield from page.objects


def list_prefixes(bucket: Bucket, prefix: str, retry: RetryPolicy = RetryPolicy()) -> list[str]:
    """The "folders" directly under ``prefix`` (delimiter ``/``)."""
    return [p for page in _pages(bucket, prefix, "/", retry) for p in page.prefixes]
