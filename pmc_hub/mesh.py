"""MeSH terms by PMID, from PubMed: local baseline/update XML files or E-utilities efetch.

JATS carries no MeSH; PubMed does, in ``MedlineCitation/MeshHeadingList``. Records are matched by
their own ``MedlineCitation/PMID``, never by position in a response.

Term form (what lands in ``article_mesh_terms``): the descriptor names, each once, in PubMed's
order (``style="descriptor"``, the default, as the schema says). ``style="qualified"`` gives
``Descriptor/Qualifier`` pairs instead (a bare descriptor when it has no qualifier), the form
PubMed displays. The major-topic flag (``MajorTopicYN`` on the descriptor or any qualifier) is kept
on `MeshHeading` and ``major_only=True`` keeps only major topics. An article PubMed has no MeSH
for, or does not know, gets None: an empty list is never made up.
"""
from __future__ import annotations

import gzip
import http.client
import io
import logging
import threading
import time
import urllib.parse
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator, Optional, Protocol, Union

from lxml import etree

from .errors import DataError, UsageError
from .remote import RemoteError, RetryPolicy, TransientError, build_request, open_url, with_retries

log = logging.getLogger(__name__)

EFETCH_URL = "https://eutils.ncbi.nlm.nih.gov/entrez/eutils/efetch.fcgi"
MAX_BATCH = 200  # PMIDs per efetch request
STYLES = ("descriptor", "qualified")


class MeshError(DataError):
    """PubMed data could not be read or fetched; the message names the file or request."""


class MeshFilesMissing(UsageError, MeshError):
    """PubMed XML files named on the command line do not exist (a usage error: exit 2)."""


@dataclass(frozen=True)
class MeshQualifier:
    name: str
    ui: Optional[str] = None
    major: bool = False


@dataclass(frozen=True)
class MeshHeading:
    descriptor: str
    ui: Optional[str] = None
    major: bool = False  # MajorTopicYN of the descriptor itself
    qualifiers: tuple[MeshQualifier, ...] = ()

    @property
    def is_major(self) -> bool:
        """Major topic as PubMed marks it (``*``): the descriptor or any of its qualifiers."""
        return self.major or any(q.major for q in self.qualifiers)

    def labels(self, style: str = "descriptor", major_only: bool = False) -> list[str]:
        if style == "descriptor":
            return [self.descriptor] if not major_only or self.is_major else []
        if not self.qualifiers:
            return [self.descriptor] if not major_only or self.major else []
        return [f"{self.descriptor}/{q.name}" for q in self.qualifiers if not major_only or self.major or q.major]


@dataclass(frozen=True)
class PubmedMesh:
    """One PubMed record's MeSH: ``headings`` is None when the record has no MeshHeadingList."""

    pmid: str
    headings: Optional[tuple[MeshHeading, ...]]
    deleted: bool = False  # a DeleteCitation entry of an update file

    def terms(self, style: str = "descriptor", major_only: bool = False) -> Optional[list[str]]:
        if style not in STYLES:
            raise ValueError(f"unknown MeSH term style {style!r}: use one of {STYLES}")
        if not self.headings:
            return None
        out: list[str] = []
        for heading in self.headings:
            for label in heading.labels(style, major_only):
                if label not in out:
                    out.append(label)
        return out


# --- parsing ---------------------------------------------------------------------------------

_RECORD_TAGS = ("PubmedArticle", "PubmedBookArticle", "DeleteCitation")


def _yes(el: etree._Element) -> bool:
    return el.get("MajorTopicYN", "N").upper() == "Y"


def _heading(el: etree._Element) -> Optional[MeshHeading]:
    desc = el.find("DescriptorName")
    if desc is None or not (desc.text or "").strip():
        return None
    quals = tuple(MeshQualifier(q.text.strip(), q.get("UI"), _yes(q)) for q in el.findall("QualifierName") if (q.text or "").strip())
    return MeshHeading(desc.text.strip(), desc.get("UI"), _yes(desc), quals)


def _record(el: etree._Element) -> Iterator[PubmedMesh]:
    if el.tag == "DeleteCitation":
        for pmid in el.findall("PMID"):
            if (pmid.text or "").strip():
                yield PubmedMesh(pmid.text.strip(), None, deleted=True)
        return
    citation = el.find("MedlineCitation") if el.tag == "PubmedArticle" else el.find("BookDocument")
    pmid = citation.find("PMID") if citation is not None else None
    if pmid is None or not (pmid.text or "").strip():
        return
    mesh_list = citation.find("MeshHeadingList")
    headings = None
    if mesh_list is not None:
        headings = tuple(h for h in map(_heading, mesh_list.findall("MeshHeading")) if h) or None
    yield PubmedMesh(pmid.text.strip(), headings)


def parse_pubmed(source: Union[str, Path, bytes]) -> Iterator[PubmedMesh]:
    """Stream the MeSH of every record of a PubmedArticleSet (a path, ``.gz`` or not, or bytes).

    Parsed incrementally (baseline files hold 30,000 records) and safely: no DTD, no network, no
    entity expansion (PubMed files declare an external DTD; it is never loaded).
    """
    name = "<bytes>" if isinstance(source, bytes) else str(source)
    opener: Callable = (lambda: io.BytesIO(source)) if isinstance(source, bytes) else (
        (lambda: gzip.open(source, "rb")) if str(source).endswith(".gz") else (lambda: open(source, "rb")))
    try:
        with opener() as fh:
            events = etree.iterparse(fh, events=("end",), tag=_RECORD_TAGS, resolve_entities=False,
                                     no_network=True, load_dtd=False, huge_tree=False, remove_comments=True)
            for _, el in events:
                yield from _record(el)
                el.clear()
                while el.getprevious() is not None:
                    del el.getparent()[0]
    except (etree.XMLSyntaxError, OSError, EOFError) as exc:
        raise MeshError(f"{name}: unreadable PubMed XML: {exc}") from None


# --- sources ---------------------------------------------------------------------------------


class PubmedSource(Protocol):
    def fetch(self, pmids: list[str]) -> dict[str, PubmedMesh]: ...


class PubmedFiles:
    """Local PubMed baseline/update XML files, read in the order given (baseline first): a later
    record of a PMID replaces an earlier one and a DeleteCitation removes it.

    The files are scanned once, on the first lookup. With ``pmids`` only those records are kept
    (pass the PMIDs of the build's articles when reading the full baseline); without, every
    record with MeSH is kept in memory.
    """

    def __init__(self, paths: Iterable[Union[str, Path]], pmids: Optional[Iterable[str]] = None):
        self.paths = [Path(p) for p in paths]
        missing = [str(p) for p in self.paths if not p.is_file()]
        if missing:
            raise MeshFilesMissing(f"PubMed XML file(s) not found: {', '.join(missing)}; check the --mesh-xml paths")
        self.wanted = {normalize_pmid(p) for p in pmids} if pmids is not None else None
        self._index: Optional[dict[str, PubmedMesh]] = None

    def _load(self) -> dict[str, PubmedMesh]:
        index: dict[str, PubmedMesh] = {}
        for path in self.paths:
            for rec in parse_pubmed(path):
                if self.wanted is not None and rec.pmid not in self.wanted:
                    continue
                if rec.deleted:
                    index.pop(rec.pmid, None)
                else:
                    index[rec.pmid] = rec
        return index

    def fetch(self, pmids: list[str]) -> dict[str, PubmedMesh]:
        if self._index is None:
            self._index = self._load()
        if self.wanted is not None and any(p not in self.wanted for p in pmids):
            outside = sorted(p for p in pmids if p not in self.wanted)[:5]
            raise MeshError(f"PMIDs {outside} were not in the pmids given to PubmedFiles; they were not indexed")
        return {p: self._index[p] for p in pmids if p in self._index}


class RateLimiter:
    """At most ``per_second`` calls per second (spaced evenly), across threads."""

    def __init__(self, per_second: float, clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep):
        if per_second <= 0:
            raise ValueError(f"rate must be positive, got {per_second}")
        self.interval = 1.0 / per_second
        self._clock, self._sleep = clock, sleep
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self) -> None:
        with self._lock:
            now = self._clock()
            if now < self._next:
                self._sleep(self._next - now)
                now = self._next
            self._next = now + self.interval


class Efetch:
    """PubMed E-utilities efetch (``db=pubmed``, XML), batched, rate-limited and retried.

    NCBI allows 3 requests/s without an API key and 10 with one; ``rate`` overrides. ``base_url``
    points tests (or a mirror) elsewhere. Batches go as POST forms, as NCBI advises for long ID lists.
    Redirects are followed only within the host of ``base_url`` (see `pmc_hub.remote`).
    """

    def __init__(self, base_url: str = EFETCH_URL, api_key: Optional[str] = None, email: Optional[str] = None,
                 tool: str = "pmc-hub", batch_size: int = MAX_BATCH, rate: Optional[float] = None,
                 retry: RetryPolicy = RetryPolicy(), timeout: float = 60.0):
        if not 1 <= batch_size <= MAX_BATCH:
            raise ValueError(f"batch_size must be 1..{MAX_BATCH}, got {batch_size}")
        self.base_url, self.api_key, self.email, self.tool = base_url, api_key, email, tool
        self.batch_size, self.retry, self.timeout = batch_size, retry, timeout
        self.limiter = RateLimiter(rate or (10.0 if api_key else 3.0))
        self.requests = 0

    def _form(self, batch: list[str]) -> bytes:
        form = {"db": "pubmed", "retmode": "xml", "id": ",".join(batch), "tool": self.tool}
        if self.email:
            form["email"] = self.email
        if self.api_key:
            form["api_key"] = self.api_key
        return urllib.parse.urlencode(form).encode()

    def _request(self, batch: list[str]) -> bytes:
        self.limiter.wait()
        self.requests += 1
        req = build_request(self.base_url, self._form(batch), {"Content-Type": "application/x-www-form-urlencoded"})
        with open_url(req, self.timeout) as resp:
            try:
                return resp.read()
            except (OSError, http.client.HTTPException) as exc:
                raise TransientError(f"efetch: response cut short: {exc}") from None

    def fetch(self, pmids: list[str]) -> dict[str, PubmedMesh]:
        found: dict[str, PubmedMesh] = {}
        wanted = set(pmids)
        for start in range(0, len(pmids), self.batch_size):
            batch = pmids[start:start + self.batch_size]
            try:
                body = with_retries(lambda: self._request(batch), self.retry, f"efetch PMIDs {batch[0]}..{batch[-1]}")
            except RemoteError as exc:
                raise MeshError(str(exc)) from None
            for rec in parse_pubmed(body):
                if rec.pmid in wanted and not rec.deleted:
                    found[rec.pmid] = rec
        return found


# --- lookup and enrichment -------------------------------------------------------------------


def normalize_pmid(value) -> str:
    """``"12345"``, ``12345`` or ``" 12345 "`` -> ``"12345"``; anything else is a ValueError naming it."""
    text = str(value).strip()
    if not text.isdigit() or int(text) == 0:
        raise ValueError(f"not a PMID: {value!r}")
    return str(int(text))


class MeshLookup:
    """PMID -> MeSH terms from a `PubmedFiles` or `Efetch` source, with a bounded cache."""

    def __init__(self, source: PubmedSource, style: str = "descriptor", major_only: bool = False, cache_size: int = 100_000):
        if style not in STYLES:
            raise ValueError(f"unknown MeSH term style {style!r}: use one of {STYLES}")
        self.source, self.style, self.major_only = source, style, major_only
        self._cache: OrderedDict[str, Optional[PubmedMesh]] = OrderedDict()
        self._cache_size = cache_size

    @classmethod
    def from_files(cls, paths: Iterable[Union[str, Path]], pmids: Optional[Iterable[str]] = None, **kw) -> "MeshLookup":
        return cls(PubmedFiles(paths, pmids), **kw)

    @classmethod
    def from_eutils(cls, base_url: str = EFETCH_URL, api_key: Optional[str] = None, email: Optional[str] = None, **kw) -> "MeshLookup":
        efetch_kw = {k: kw.pop(k) for k in ("batch_size", "rate", "retry", "timeout") if k in kw}
        return cls(Efetch(base_url, api_key, email, **efetch_kw), **kw)

    def records(self, pmids: Iterable) -> dict[str, Optional[PubmedMesh]]:
        wanted = list(dict.fromkeys(normalize_pmid(p) for p in pmids))
        missing = [p for p in wanted if p not in self._cache]
        if missing:
            found = self.source.fetch(missing)
            for p in missing:
                self._cache[p] = found.get(p)
        out = {}
        for p in wanted:
            self._cache.move_to_end(p)
            out[p] = self._cache[p]
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return out

    def terms(self, pmids: Iterable) -> dict[str, Optional[list[str]]]:
        """PMID -> terms; None where PubMed has no MeSH for the PMID or does not know it."""
        return {p: (rec.terms(self.style, self.major_only) if rec else None) for p, rec in self.records(pmids).items()}

    def apply(self, rows: Iterable[dict], batch_size: int = MAX_BATCH) -> Iterator[dict]:
        """Set ``article_mesh_terms`` on figure/article rows (by ``article_pmid``), streaming in batches.

        Rows without a usable PMID get None. Row order is kept.
        """
        batch: list[dict] = []
        for row in rows:
            batch.append(row)
            if len(batch) >= batch_size:
                yield from self._apply_batch(batch)
                batch = []
        if batch:
            yield from self._apply_batch(batch)

    def _apply_batch(self, rows: list[dict]) -> list[dict]:
        pmids = {}
        for row in rows:
            try:
                pmids[id(row)] = normalize_pmid(row.get("article_pmid")) if row.get("article_pmid") is not None else None
            except ValueError:
                log.warning("%s: article_pmid %r is not a PMID; no MeSH looked up",
                            row.get("article_accession_id") or row.get("image_key"), row.get("article_pmid"))
                pmids[id(row)] = None
        terms = self.terms(p for p in pmids.values() if p)
        for row in rows:
            pmid = pmids[id(row)]
            found = terms.get(pmid) if pmid else None
            row["article_mesh_terms"] = list(found) if found is not None else None
        return rows
