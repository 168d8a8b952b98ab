"""The typed objects that move between pipeline stages.

source -> ArticlePackage -> jats.parse -> Article -> media.inspect -> FigureImage
-> records.figure_rows -> dict rows (the schema in schemas/figure.schema.json), gathered with
every skip in one `ArticleResult` per package by the per-article stage (`pmc_hub.stage`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Optional


class InMemory:
    """A picklable media loader for bytes already read (tar members, downloads)."""

    __slots__ = ("data",)

    def __init__(self, data: bytes):
        self.data = data

    def __call__(self) -> bytes:
        return self.data


class OnDisk:
    """A picklable media loader that reads a file when called."""

    __slots__ = ("path",)

    def __init__(self, path):
        self.path = path

    def __call__(self) -> bytes:
        with open(self.path, "rb") as fh:
            return fh.read()


@dataclass
class ArticlePackage:
    """One article as a source yields it: its XML bytes and a way to read its media files.

    ``media`` maps a file name (as stored, e.g. ``fig1.jpg``) to a zero-argument callable
    returning the bytes, so nothing is read until a figure needs it.
    """

    package_id: str
    xml: bytes
    media: dict[str, Callable[[], bytes]] = field(default_factory=dict)
    origin: str = ""
    metadata: dict = field(default_factory=dict)  # e.g. PMC Cloud metadata JSON
    skips: list[tuple[str, str]] = field(default_factory=list)  # (reason, detail) found while reading
    reopen: Optional[Callable[[], "ArticlePackage"]] = None  # reads it again from its source (folders), if it can


@dataclass
class LicenseStatement:
    license_type: Optional[str] = None  # <license license-type="...">
    url: Optional[str] = None  # xlink:href or ali:license_ref
    text: Optional[str] = None  # free text of <license-p> / copyright statement


@dataclass
class Reference:
    ref_id: Optional[str]
    text: str
    pmid: Optional[str] = None
    doi: Optional[str] = None


@dataclass
class Graphic:
    href: str
    graphic_id: Optional[str] = None
    alternates: list[str] = field(default_factory=list)  # other hrefs of the same image (<alternatives>)


@dataclass
class Figure:
    figure_id: str
    label: Optional[str]
    caption: str
    graphics: list[Graphic]
    contexts: list[str] = field(default_factory=list)  # citing paragraphs, each once


@dataclass
class Article:
    pmcid: Optional[str] = None
    pmid: Optional[str] = None
    doi: Optional[str] = None
    title: Optional[str] = None
    journal: Optional[str] = None
    issn: Optional[str] = None
    publisher: Optional[str] = None
    date: Optional[str] = None  # ISO: YYYY, YYYY-MM or YYYY-MM-DD
    volume: Optional[str] = None
    issue: Optional[str] = None
    fpage: Optional[str] = None
    lpage: Optional[str] = None
    elocation: Optional[str] = None
    article_type: Optional[str] = None
    subjects: list[str] = field(default_factory=list)
    keywords: list[str] = field(default_factory=list)
    abstract: Optional[str] = None
    authors: list[str] = field(default_factory=list)
    licenses: list[LicenseStatement] = field(default_factory=list)
    references: list[Reference] = field(default_factory=list)
    text: str = ""
    figures: list[Figure] = field(default_factory=list)


@dataclass
class FigureImage:
    file_name: str
    data: bytes
    format: str  # Pillow format name: JPEG, PNG, TIFF, GIF...
    width: int
    height: int
    sha256: str
    phash: str  # 64-bit perceptual hash as 16 hex digits
    thumbnail: Any = field(default=None, repr=False, compare=False)  # media.Thumbnail: what the image labeler reads


@dataclass
class Skip:
    """Something that went in and was not written, with the reason (one of `pmc_hub.report`'s)."""

    article: str
    reason: str
    detail: str = ""
    figure: Optional[str] = None

    def __str__(self) -> str:
        where = f"{self.article}/{self.figure}" if self.figure else self.article
        return f"{where}: {self.reason}" + (f" ({self.detail})" if self.detail else "")


@dataclass
class ArticleResult:
    """What the per-article stage made of one package: rows per kind plus every skip."""

    origin: str
    article_id: str
    figure_rows: list[dict] = field(default_factory=list)
    subfigure_rows: list[dict] = field(default_factory=list)
    article_row: Optional[dict] = None
    skips: list[Skip] = field(default_factory=list)
    figures_in: int = 0
    images_in: int = 0
    license_category: Optional[str] = None
    license_code: Optional[str] = None
    version: Optional[str] = None  # the package's id and XML hash, for incremental updates
    tables: dict = field(default_factory=dict)  # config -> pyarrow.Table: the rows once converted for writing
    spooled: dict = field(default_factory=dict)  # config -> Arrow file a worker left them in (pmc_hub.spool)

    @property
    def written(self) -> bool:
        """Whether the article has its row (it is written unless the build finds it a duplicate)."""
        return self.article_row is not None or "articles" in self.tables or "articles" in self.spooled
