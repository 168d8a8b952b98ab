"""JATS / NLM XML -> `Article`, parsed once, safely (no network, no DTD, no entity expansion)."""
from __future__ import annotations

import re
from typing import Iterable, Iterator, Optional

from lxml import etree

from .models import Article, Figure, Graphic, LicenseStatement, Reference

XLINK_HREF = "{http://www.w3.org/1999/xlink}href"
ALI_LICENSE_REF = "{http://www.niso.org/schemas/ali/1.0/}license_ref"
# Namespaces whose elements keep their qualified tag (everything else is JATS and is unqualified).
_FOREIGN_NS = ("http://www.w3.org/1998/Math/MathML", "http://www.niso.org/schemas/ali/1.0/", "http://www.w3.org/1999/xlink")


class JATSError(ValueError):
    """The XML is not a usable JATS article (malformed, or no <article>)."""


def _parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False,
        huge_tree=False, remove_comments=True, remove_pis=True,
    )


def parse_xml(data: bytes) -> etree._Element:
    """Parse untrusted XML and return its <article> element with JATS namespaces removed."""
    try:
        root = etree.fromstring(data, _parser())
    except etree.XMLSyntaxError as exc:
        raise JATSError(f"malformed XML: {exc}") from None
    if root is None:
        raise JATSError("empty XML document")
    article = root if root.tag == "article" else next(
        (el for el in root.iter(etree.Element) if etree.QName(el).localname == "article"), None)
    if article is None:
        raise JATSError("no <article> element")
    if isinstance(article.tag, str) and article.tag.startswith("{"):
        for el in article.iter(etree.Element):  # namespaced JATS (OAI-PMH): unqualify its tags
            ns = etree.QName(el).namespace
            if ns and ns not in _FOREIGN_NS:
                el.tag = etree.QName(el).localname
    _prepare(article)
    return article


# Elements that separate words when flattened; everything else is inline.
_BLOCK = (
    "p title label caption sec list list-item def-item def-list term td th tr table thead tbody "
    "disp-formula disp-quote boxed-text fig table-wrap ref mixed-citation element-citation "
    "article-title source year volume issue fpage lpage name person-group etal pub-id "
    "given-names surname kwd subject break license-p copyright-statement"
).split()
_SKIP = ("tex-math", "alt-text", "long-desc", "object-id")
_NO_TEXT = ("graphic", "inline-graphic", "media")


def _prepare(article: etree._Element) -> None:
    """Make the tree's plain text right once, so `text_of` is a single C-level serialisation:
    drop text that is not content, keep one form of each <alternatives>, and put a space
    around every block element."""
    etree.strip_elements(article, *_SKIP, with_tail=True)
    for ref in list(article.iter(etree.Entity)):  # unexpanded entity references carry no content
        _remove(ref)
    for alt in article.iter("alternatives"):
        kept = False
        for child in list(alt):
            if not isinstance(child.tag, str) or child.tag in _NO_TEXT:
                continue
            if kept:
                _remove(child)
            kept = True
    # Leading spaces in .text are harmless: every reader of text strips or squashes it.
    for el in article.iter(*_BLOCK):
        text, tail = el.text, el.tail
        el.text = " " + text if text else " "
        el.tail = " " + tail if tail else " "


def _remove(el: etree._Element) -> None:
    """Detach an element, keeping the text that follows it."""
    parent = el.getparent()
    if el.tail:
        prev = el.getprevious()
        if prev is not None:
            prev.tail = (prev.tail or "") + el.tail
        else:
            parent.text = (parent.text or "") + el.tail
    parent.remove(el)


def text_of(el: Optional[etree._Element]) -> str:
    """Plain text of a prepared element: inline markup joined, blocks separated by one space."""
    if el is None:
        return ""
    return _squash(etree.tostring(el, method="text", encoding="unicode", with_tail=False))


def _squash(s: str) -> str:
    """One space between words; none inside brackets or before punctuation."""
    s = " ".join(s.split())
    for punct in ",.;:)]":
        s = s.replace(" " + punct, punct)
    return s.replace("( ", "(").replace("[ ", "[")


def _clean(s: Optional[str]) -> Optional[str]:
    s = _squash(s) if s else ""
    return s or None


# --- article metadata -------------------------------------------------------------------------

_MONTHS = {m: i for i, m in enumerate("jan feb mar apr may jun jul aug sep oct nov dec".split(), 1)}
_SEASONS = {"spring": 3, "summer": 6, "fall": 9, "autumn": 9, "winter": 12}


def _month(text: Optional[str]) -> Optional[int]:
    if not text:
        return None
    t = text.strip().lower()
    if t.isdigit():
        return int(t) if 1 <= int(t) <= 12 else None
    t = re.split(r"[-/–\s]", t)[0]
    return _MONTHS.get(t[:3]) or _SEASONS.get(t)


def _date(pub: etree._Element) -> Optional[str]:
    year = (pub.findtext("year") or "").strip()[:4]
    if not re.fullmatch(r"\d{4}", year):
        return None
    month = _month(pub.findtext("month")) or _month(pub.findtext("season"))
    day = (pub.findtext("day") or "").strip()
    if not month:
        return year
    if day.isdigit() and 1 <= int(day) <= 31:
        return f"{year}-{month:02d}-{int(day):02d}"
    return f"{year}-{month:02d}"


def _date_rank(pub: etree._Element) -> int:
    kind = (pub.get("pub-type") or pub.get("date-type") or "").lower()
    fmt = (pub.get("publication-format") or "").lower()
    if kind == "epub" or (kind == "pub" and fmt == "electronic"):
        return 0
    if kind in ("ppub", "epub-ppub") or (kind == "pub" and fmt == "print"):
        return 1
    if kind == "collection":
        return 2
    if not kind:
        return 3
    return 4  # pmc-release, received...


def publication_date(meta: etree._Element) -> Optional[str]:
    """ISO date: epub first, then ppub, collection, an untyped date, anything else."""
    dates = sorted(meta.findall("pub-date"), key=_date_rank)
    return next((d for d in map(_date, dates) if d), None)


def _ids(meta: etree._Element) -> dict[str, str]:
    ids: dict[str, str] = {}
    for el in meta.findall("article-id"):
        kind, value = (el.get("pub-id-type") or "").lower(), (el.text or "").strip()
        if value:
            ids.setdefault(kind, value)
    return ids


def _pmcid(ids: dict[str, str]) -> Optional[str]:
    for kind in ("pmcid", "pmc", "pmcaid"):
        v = ids.get(kind)
        if v:
            v = v.upper()
            return v if v.startswith("PMC") else f"PMC{v}"
    return None


def _licenses(meta: etree._Element) -> list[LicenseStatement]:
    found = []
    for lic in meta.iter("license"):
        url = lic.get(XLINK_HREF) or _first_text(lic, ALI_LICENSE_REF)
        if not url:
            url = next((a.get(XLINK_HREF) for a in lic.iter("ext-link") if "creativecommons.org" in (a.get(XLINK_HREF) or "")), None)
        found.append(LicenseStatement(lic.get("license-type"), url, _clean(text_of(lic))))
    # NLM 2.x puts the statement straight under <article-meta>; older PLOS/BMC state the terms only here.
    for stmt in meta.iter("copyright-statement"):
        if _clean(text_of(stmt)):
            found.append(LicenseStatement(None, None, _clean(text_of(stmt))))
    return found


def _first_text(el: etree._Element, path: str) -> Optional[str]:
    found = el.find(".//" + path)
    return _clean(found.text) if found is not None and found.text else None


def _authors(meta: etree._Element) -> list[str]:
    names = []
    for contrib in meta.iter("contrib"):
        if contrib.get("contrib-type", "author") != "author":
            continue
        name = contrib.find("name")
        if name is not None:
            names.append(_squash(f"{name.findtext('given-names') or ''} {name.findtext('surname') or ''}"))
        elif contrib.find("collab") is not None:
            names.append(text_of(contrib.find("collab")))
        elif contrib.find("string-name") is not None:
            names.append(text_of(contrib.find("string-name")))
    return [n for n in names if n]


def _references(article: etree._Element) -> list[Reference]:
    refs = []
    back = article.find("back")  # sub-articles have their own <back>
    for ref in back.iter("ref") if back is not None else ():
        pmid = doi = None
        for pid in ref.iter("pub-id"):
            kind, value = pid.get("pub-id-type"), (pid.text or "").strip()
            if kind == "pmid" and value and not pmid:
                pmid = value
            elif kind == "doi" and value and not doi:
                doi = value
        citation = next((c for c in ref if c.tag in _CITATIONS), ref)
        refs.append(Reference(ref.get("id"), text_of(citation), pmid, doi))
    return refs


_CITATIONS = ("mixed-citation", "element-citation", "citation", "nlm-citation")


def _abstract(meta: etree._Element) -> Optional[str]:
    abstracts = meta.findall("abstract")
    main = next((a for a in abstracts if not a.get("abstract-type")), abstracts[0] if abstracts else None)
    return _clean(text_of(main)) if main is not None else None


_FLOATS = ("fig", "fig-group", "table-wrap", "table-wrap-group", "supplementary-material")


def body_text(article: etree._Element) -> str:
    """Section titles and paragraphs of the main body, one per block; call after floats are stripped."""
    body = article.find("body")
    if body is None:
        return ""
    blocks = (text_of(el) for el in body.xpath(".//p[not(ancestor::p)] | .//title[not(ancestor::p)]"))
    return "\n\n".join(b for b in blocks if b)


def _ancestors(el: etree._Element, stop: etree._Element) -> Iterator[etree._Element]:
    parent = el.getparent()
    while parent is not None and parent is not stop:
        yield parent
        parent = parent.getparent()


# --- figures ----------------------------------------------------------------------------------

def _caption(fig: etree._Element) -> str:
    cap = fig.find("caption")
    if cap is None and fig.getparent() is not None and fig.getparent().tag == "fig-group":
        cap = fig.getparent().find("caption")
    if cap is None:
        return ""
    title = text_of(cap.find("title"))
    paras = [text_of(p) for p in cap if isinstance(p.tag, str) and p.tag != "title"]
    paras = [p for p in paras if p]
    if title and paras and paras[0].startswith(title):
        title = ""  # some publishers repeat the title as the first sentence
    return _squash(" ".join([title, *paras]))


def _graphics(fig: etree._Element) -> list[Graphic]:
    graphics: list[Graphic] = []
    seen_alternatives = set()
    for g in fig.iter("graphic"):
        if _nested_in_inner_fig(g, fig):
            continue
        href = (g.get(XLINK_HREF) or "").strip()
        if not href:
            continue
        parent = g.getparent()
        if parent is not None and parent.tag == "alternatives":
            if parent in seen_alternatives:
                continue
            seen_alternatives.add(parent)  # the element itself: lxml proxies' id() can be reused
            hrefs = [h for h in ((x.get(XLINK_HREF) or "").strip() for x in parent.iter("graphic")) if h]
            graphics.append(Graphic(hrefs[0], g.get("id"), hrefs[1:]))
        else:
            graphics.append(Graphic(href, g.get("id")))
    return graphics


def _nested_in_inner_fig(g: etree._Element, fig: etree._Element) -> bool:
    return any(a.tag == "fig" for a in _ancestors(g, fig))


def _figure_number(label: Optional[str]) -> Optional[int]:
    m = re.search(r"(\d+)\s*$", label or "")
    return int(m.group(1)) if m else None


_RANGE_DASH = re.compile(r"^\s*(?:[-–—‐‑]|to|through)\s*$", re.I)
_RANGE_IN_TEXT = re.compile(r"(\d+)\s*[A-Za-z]?\s*[-–—‐‑]\s*(\d+)")


def _cited_ids(p: etree._Element, alias: dict[str, list[str]], order: dict[str, int], numbers: dict[int, str]) -> list[str]:
    """Figure ids that paragraph ``p`` cites: each rid, plus every figure inside a cited range."""
    xrefs = [x for x in p.iter("xref") if x.get("ref-type") == "fig"]
    cited: list[str] = []
    for i, x in enumerate(xrefs):
        ids = [fid for rid in (x.get("rid") or "").split() for fid in alias.get(rid, [])]
        cited.extend(ids)
        text = text_of(x)
        m = _RANGE_IN_TEXT.search(text)
        if m:  # one xref whose text spans a range, e.g. "Figs 2-4"
            lo, hi = sorted((int(m.group(1)), int(m.group(2))))
            cited.extend(numbers[n] for n in range(lo, hi + 1) if n in numbers)
        nxt = xrefs[i + 1] if i + 1 < len(xrefs) else None
        if ids and nxt is not None and x.getnext() is nxt and _RANGE_DASH.match(x.tail or ""):
            end = [fid for rid in (nxt.get("rid") or "").split() for fid in alias.get(rid, [])]
            if end:  # <xref>2</xref>–<xref>4</xref>: 3 is cited too
                lo, hi = order[ids[0]], order[end[-1]]
                cited.extend(fid for fid, pos in order.items() if lo < pos < hi)
    return cited


def _figures(article: etree._Element) -> tuple[list[Figure], dict[str, list[str]]]:
    """Every <fig> with label, caption and graphics, and a map from each citable id
    (fig, fig-group, graphic) to the figure ids it stands for."""
    figures: list[Figure] = []
    alias: dict[str, list[str]] = {}
    for n, fig in enumerate(article.iter("fig"), 1):
        fid = fig.get("id") or f"fig-{n}"
        figures.append(Figure(fid, _clean(text_of(fig.find("label"))), _caption(fig), _graphics(fig)))
        alias.setdefault(fid, []).append(fid)
        for g in fig.iter("graphic"):
            if g.get("id"):
                alias.setdefault(g.get("id"), []).append(fid)
    for group in article.iter("fig-group"):
        if group.get("id"):
            alias[group.get("id")] = [f.get("id") for f in group.iter("fig") if f.get("id")]
    return figures, alias


def _add_contexts(article: etree._Element, figures: list[Figure], alias: dict[str, list[str]]) -> None:
    """Attach to each figure the paragraphs citing it (call once floats are stripped)."""
    order = {f.figure_id: i for i, f in enumerate(figures)}
    numbers: dict[int, str] = {}
    for f in figures:
        num = _figure_number(f.label)
        if num is not None:
            numbers.setdefault(num, f.figure_id)
    by_id = {f.figure_id: f for f in figures}
    for p in _citing_paragraphs(article):
        text = text_of(p)
        for fid in dict.fromkeys(_cited_ids(p, alias, order, numbers)):
            fig = by_id.get(fid)
            if fig is not None and text and text not in fig.contexts:
                fig.contexts.append(text)


def _citing_paragraphs(article: etree._Element) -> Iterable[etree._Element]:
    """Innermost <p> elements holding a figure xref, outside captions and tables."""
    seen = set()
    for x in article.iterfind(".//xref[@ref-type='fig']"):
        p = next((a for a in _ancestors(x, article) if a.tag == "p"), None)
        if p is None or p in seen:
            continue
        seen.add(p)  # the element itself: lxml proxies' id() can be reused
        if not any(a.tag in ("caption", "table-wrap") for a in _ancestors(p, article)):
            yield p


# --- the article ------------------------------------------------------------------------------

def parse(data: bytes) -> Article:
    """Parse one article's XML into an `Article`; raises `JATSError` on unusable XML."""
    article = parse_xml(data)
    front = article.find("front")
    meta = front.find("article-meta") if front is not None else None
    if meta is None:
        raise JATSError("no <front>/<article-meta>")
    jmeta = front.find("journal-meta")
    ids = _ids(meta)
    a = Article(
        pmcid=_pmcid(ids),
        pmid=ids.get("pmid"),
        doi=ids.get("doi"),
        title=_clean(text_of(meta.find("title-group/article-title"))),
        date=publication_date(meta),
        volume=_clean(meta.findtext("volume")),
        issue=_clean(meta.findtext("issue")),
        fpage=_clean(meta.findtext("fpage")),
        lpage=_clean(meta.findtext("lpage")),
        elocation=_clean(meta.findtext("elocation-id")),
        article_type=article.get("article-type"),
        subjects=list(dict.fromkeys(s for s in (text_of(x) for x in meta.iterfind("article-categories//subject")) if s)),
        keywords=list(dict.fromkeys(k for k in (text_of(x) for x in meta.iterfind("kwd-group/kwd")) if k)),
        abstract=_abstract(meta),
        authors=_authors(meta),
        licenses=_licenses(meta),
        references=_references(article),
    )
    a.figures, alias = _figures(article)
    etree.strip_elements(article, *_FLOATS, with_tail=False)  # captions are not body text nor context
    _add_contexts(article, a.figures, alias)
    a.text = body_text(article)
    if jmeta is not None:
        a.journal = _clean(text_of(jmeta.find(".//journal-title"))) or _journal_id(jmeta)
        issns = {(i.get("pub-type") or i.get("publication-format") or ""): (i.text or "").strip() for i in jmeta.findall("issn")}
        a.issn = issns.get("epub") or issns.get("electronic") or next(iter(v for v in issns.values() if v), None)
        a.publisher = _clean(text_of(jmeta.find("publisher/publisher-name")))
    return a


def _journal_id(jmeta: etree._Element) -> Optional[str]:
    ids = {j.get("journal-id-type"): (j.text or "").strip() for j in jmeta.findall("journal-id")}
    return ids.get("nlm-ta") or ids.get("iso-abbrev") or next(iter(v for v in ids.values() if v), None)


def citation(a: Article) -> Optional[str]:
    """A short citation: `Journal. 2020;12(3):45-67. doi:...`"""
    if not a.journal:
        return None
    s = a.journal.rstrip(".") + "."
    if a.date:
        s += f" {a.date[:4]}"
    if a.volume:
        s += f";{a.volume}" + (f"({a.issue})" if a.issue else "")
    pages = f"{a.fpage}-{a.lpage}" if a.fpage and a.lpage and a.lpage != a.fpage else (a.fpage or a.elocation)
    if pages:
        s += f":{pages}"
    s += "."
    if a.doi:
        s += f" doi:{a.doi}"
    return s
