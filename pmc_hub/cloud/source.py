"""The PMC Cloud source: enumerate, select and fetch article versions; yield `ArticlePackage`s.

Articles are fetched into a local cache laid out like the bucket (``CACHE/PMC<id>.<N>/...``).
Whatever one version does (unreadable or ill-typed metadata, missing or corrupt files, hostile
names), it ends as a skip or a failure in the `FetchReport` naming the version and the reason;
the run goes on. See docs/sources.md.
"""
from __future__ import annotations

import logging
import os
import urllib.parse
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator, Optional

from ..models import ArticlePackage, OnDisk
from ..remote import RemoteError, RetryPolicy
from .bucket import BUCKET, CLIENTS, Bucket, SpecError, check_endpoint, open_bucket
from .metadata import BAD_METADATA, MAX_METADATA_BYTES, CloudMetadata, parse_metadata
from .selection import Selection, parse_since, read_pmcid_file
from .state import SyncPlan, SyncState, plan_sync
from .transfer import MD5, Transfer, fetch_to, file_md5, get_bytes, write_atomic
from .versions import ArticleVersion, latest_versions, package_id_of, versions_from_inventory, versions_from_listing

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".gif", ".tif", ".tiff")
DOWNLOAD_FAILED = "download failed"  # the build-report skip reason of a version that could not be fetched


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
    problems: list[tuple[str, str]] = field(default_factory=list)  # (package id, "field: why it was dropped")
    removed: list[str] = field(default_factory=list)
    superseded: list[str] = field(default_factory=list)
    transfer: Transfer = field(default_factory=Transfer)


@dataclass
class _Outcome:
    """What preparing one version gave: a package, or a skip or failure reason; and the notes."""

    package: Optional[ArticlePackage] = None
    skipped: Optional[str] = None
    failed: Optional[str] = None
    problems: tuple[str, ...] = ()
    transfer: Transfer = field(default_factory=Transfer)


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
                outcome: _Outcome = future.result()
                self.report.transfer.add(outcome.transfer)
                if outcome.failed is not None:  # not recorded in the state: tried again next run
                    self.report.failed.append((version.package_id, outcome.failed))
                    continue
                self.report.problems += [(version.package_id, p) for p in outcome.problems]
                if outcome.skipped is not None:
                    self.report.skipped.append((version.package_id, outcome.skipped))
                    self.state.entries[version.key] = {"etag": version.etag, "status": "skipped", "selection": fingerprint}
                    continue
                yield outcome.package
                # The consumer asked for the next one: this one is done.
                self.report.yielded.append(version.package_id)
                self.state.entries[version.key] = {"etag": version.etag, "status": "fetched"}
                if len(self.report.yielded) % 100 == 0:
                    self.state.save()
            gone = set(plan.removed) | set(plan.superseded)
            for key in [k for k in self.state.entries if package_id_of(k) in gone]:
                del self.state.entries[key]
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
            self.state.save()

    def _prepare(self, version: ArticleVersion) -> _Outcome:
        """One version, start to end; whatever goes wrong is this version's failure, never the run's."""
        outcome = _Outcome()
        try:
            raw = self._metadata_bytes(version, outcome.transfer)
            meta = parse_metadata(raw, version.package_id)
            outcome.problems = meta.problems
            if meta.xml is None:
                outcome.failed = f"{version.key}: {'; '.join(meta.problems)}; no usable XML location"
                return outcome
            outcome.skipped = self.options.selection.metadata_reason(meta.values)
            if outcome.skipped is None:
                outcome.package = self._fetch(version, meta, raw, outcome.transfer)
        except RemoteError as exc:
            outcome.failed = str(exc)
        except Exception as exc:  # noqa: BLE001  (the per-article failure boundary)
            log.debug("%s: unexpected failure", version.package_id, exc_info=True)
            outcome.failed = f"{version.key}: {type(exc).__name__}: {exc}"
        return outcome

    def _metadata_bytes(self, version: ArticleVersion, transfer: Transfer) -> bytes:
        cached = self.cache / version.package_id / f"{version.package_id}.json"
        if cached.is_file() and version.etag and MD5.match(version.etag) and file_md5(cached) == version.etag:
            transfer.cached_files += 1
            return cached.read_bytes()
        return get_bytes(self.bucket, version.key, version.etag, self.options.retry, transfer, MAX_METADATA_BYTES)

    def _fetch(self, version: ArticleVersion, meta: CloudMetadata, raw_metadata: bytes, transfer: Transfer) -> ArticlePackage:
        pid = version.package_id
        folder = self.cache / pid
        json_path = folder / f"{pid}.json"
        if not (json_path.is_file() and json_path.read_bytes() == raw_metadata):
            write_atomic(json_path, raw_metadata)
        xml_path = fetch_to(self.bucket, meta.xml.key, folder / meta.xml.name, meta.xml.md5, self.options.retry, transfer)
        media: dict[str, Callable[[], bytes]] = {}
        suffixes = self.options.media_suffixes
        for ref in meta.media:
            if suffixes is not None and not ref.name.lower().endswith(tuple(s.lower() for s in suffixes)):
                continue
            media[ref.name] = OnDisk(fetch_to(self.bucket, ref.key, folder / ref.name, ref.md5, self.options.retry, transfer))
        return ArticlePackage(package_id=pid, xml=xml_path.read_bytes(), media=media, origin=f"{self.bucket.url}/{pid}/",
                              metadata=meta.values, skips=[(BAD_METADATA, p) for p in meta.problems])


# --- specs -----------------------------------------------------------------------------------

SPEC_KEYS = ("license", "pmcids", "since", "limit", "inventory", "state", "cache", "client", "endpoint", "include_non_oa", "all_media")


def default_cache_dir() -> Path:
    """``$PMC_HUB_CACHE/pmc-cloud``, else ``~/.cache/pmc-hub/pmc-cloud``."""
    root = os.environ.get("PMC_HUB_CACHE") or Path.home() / ".cache" / "pmc-hub"
    return Path(root) / "pmc-cloud"


def options_from_spec(spec: str) -> CloudOptions:
    """A source spec as `pmc_hub.sources` receives it -> `CloudOptions`; a `SpecError` names what is wrong.

    ``s3://pmc-oa-opendata``, ``https://pmc-oa-opendata.s3.amazonaws.com`` or, for a local
    S3-compatible server, ``http://127.0.0.1:5000/pmc-oa-opendata`` (path-style); options as a
    query: ``?license=commercial,noncommercial&since=2026-11-01&pmcids=FILE&limit=N``
    ``&inventory=latest&state=FILE&cache=DIR&client=s3&include_non_oa=1&all_media=1``.
    """
    try:
        parts = urllib.parse.urlsplit(spec)
        parts.port  # noqa: B018  (raises ValueError for a bad port)
    except ValueError as exc:
        raise SpecError(f"{spec}: not a URL ({exc})") from None
    query = {k: v[-1] for k, v in urllib.parse.parse_qs(parts.query, keep_blank_values=True).items()}
    unknown = sorted(set(query) - set(SPEC_KEYS))
    if unknown:
        raise SpecError(f"{spec}: unknown option(s) {', '.join(map(repr, unknown))}; valid options: {', '.join(SPEC_KEYS)}")
    endpoint = query.get("endpoint")
    if parts.scheme == "s3":
        bucket = parts.netloc or BUCKET
    elif parts.netloc.endswith(".s3.amazonaws.com"):
        bucket = parts.netloc[: -len(".s3.amazonaws.com")]
    elif parts.scheme in ("http", "https"):
        bucket = parts.path.strip("/").split("/")[0] or BUCKET
        endpoint = endpoint or f"{parts.scheme}://{parts.netloc}"
    else:
        raise SpecError(f"{spec}: not a PMC Cloud spec (s3://BUCKET or an http(s) bucket URL)")
    client = query.get("client", "https")
    if client not in CLIENTS:
        raise SpecError(f"{spec}: client={client!r}: use one of {', '.join(CLIENTS)}")
    limit = query.get("limit")
    if limit and not limit.isdigit():
        raise SpecError(f"{spec}: limit={limit!r} is not a whole number")
    flag = lambda name: query.get(name, "").lower() in ("1", "true", "yes")  # noqa: E731
    try:
        selection = Selection(
            licenses=frozenset(g.strip() for g in query["license"].split(",") if g.strip()) if query.get("license") else None,
            pmcids=read_pmcid_file(Path(query["pmcids"])) if query.get("pmcids") else None,
            since=parse_since(query["since"]) if query.get("since") else None,
            open_access_only=not flag("include_non_oa"),
            limit=int(limit) if limit else None,
        )
        endpoint = check_endpoint(endpoint) if endpoint else None
    except SpecError as exc:
        raise SpecError(f"{spec}: {exc}") from None
    return CloudOptions(
        cache_dir=Path(query["cache"]) if query.get("cache") else default_cache_dir(),
        client=client, endpoint=endpoint, bucket=bucket, selection=selection,
        state_file=Path(query["state"]) if query.get("state") else None, inventory=query.get("inventory") or None,
        media_suffixes=None if flag("all_media") else IMAGE_SUFFIXES,
    )


def open_cloud_source(spec: str) -> Iterator[ArticlePackage]:
    """Packages of a PMC Cloud spec (see `options_from_spec`); a version that could not be fetched
    comes as a package without XML whose skip names the reason, so the build report counts it."""
    source = CloudSource(options_from_spec(spec))
    yield from source.packages()
    r = source.report
    for pid, reason in r.failed:
        yield ArticlePackage(pid, b"", {}, f"{source.bucket.url}/{pid}", {}, [(DOWNLOAD_FAILED, reason)])
    log.info("PMC Cloud %s: %d articles yielded, %d skipped by metadata filters, %d failed, %d unchanged, "
             "%d removed, %d superseded", source.bucket.url, len(r.yielded), len(r.skipped), len(r.failed),
             r.unchanged, len(r.removed), len(r.superseded))
