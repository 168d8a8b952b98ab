"""JATS / NLM XML -> `Article`, parsed once, safely (no network, no DTD, no entity expansion) and
in time linear in the article's size: one pass per concern, no XPath unions, no regex that can
backtrack, ranges expanded only over figures that exist. docs/jats.md lists the rules."""
from __future__ import annotations

import bisect
import datetime
import re
from typing import Iterable, Optional

from lxml import etree

from .errors import DataError
from .models import Article, Figure, Graphic, LicenseStatement, Reference

XLINK_HREF = "{http://www.w3.org/1999/xlink}href"
ALI_LICENSE_REF = "{http://www.niso.org/schemas/ali/1.0/}license_ref"
# Namespaces whose elements keep their qualified tag (everything else is JATS and is unqualified).
_FOREIGN_NS = ("http://www.w3.org/1998/Math/MathML", "http://www.niso.org/schemas/ali/1.0/", "http://www.w3.org/1999/xlink")


class JATSError(DataError, ValueError):
    """The XML is not a usable JATS article (malformed, too deeply nested, or no <article>)."""


def _parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False,
        huge_tree=False, remove_comments=True, remove_pis=True,
    )


def parse_xml(data: bytes) -> etree._Element:
    """Parse untrusted XML and return its <article> element with JATS namespaces removed."""
    try:
        root = etree.fromstring(data, _parser())
    except etree.LxmlError as exc:  # libxml2 also refuses nesting deeper than 256 elements here
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
_SKIP = ("alt-text", "long-desc", "object-id")  # not content: dropped, the text after them kept
_NO_TEXT = ("graphic", "inline-graphic", "media")
# Elements to drop with their content, keeping the text after them: renamed to this tag, then
# removed in one C-level pass (detaching them one by one would re-copy the text that follows).
_DROPPED = "pmc-hub-dropped"
_MATHML = "{http://www.w3.org/1998/Math/MathML}math"
_FORMULA_FORMS = (_MATHML, "math", "graphic", "inline-graphic")  # what makes a <tex-math> redundant
# xref ref-types of footnote, affiliation and correspondence markers: dropped from titles and
# captions (the text around them stays), kept in body paragraphs.
_MARKERS = ("fn", "table-fn", "aff", "corresp")
_TITLES = ("title", "article-title", "caption")  # the block elements holding titles and captions
_TIGHT = ",.;:)]"  # no word separator is needed before these
_WHITESPACE = frozenset(" \t\n\r")  # XML's whitespace: a text starting with it needs no added space
_TIGHT_OR_WHITESPACE = frozenset(_TIGHT) | _WHITESPACE


def _prepare(article: etree._Element) -> None:
    """Make the tree's plain text right once, so `text_of` is one C-level call per element: drop
    text that is not content, keep one form of each formula and <alternatives>, drop markers from
    titles, and separate block elements by whitespace."""
    _clear_unread_tables(article)
    redundant: dict[etree._Element, bool] = {}  # per formula element, so siblings are scanned once
    for el in article.iter("alternatives", "tex-math"):  # one walk: alternatives come before their children
        if el.tag == "alternatives":
            _one_form(el)
        elif (parent := el.getparent()) is not None and parent.tag != "alternatives":
            # (no parent: inside a <tex-math> already flattened, so no longer in the tree)
            if parent not in redundant:
                redundant[parent] = _has_formula_form(parent)
            _tex_formula(el, redundant[parent])
    outside = set(article.iterancestors())  # an envelope's elements hold no title of the article
    for x in article.iter("xref"):
        if x.get("ref-type") in _MARKERS and any(t not in outside for t in x.iterancestors(*_TITLES)):
            x.tag = _DROPPED
    _space_blocks(article)
    # One C-level pass drops them all; unexpanded entity references carry no content either.
    etree.strip_elements(article, _DROPPED, *_SKIP, etree.Entity, with_tail=False)


def _clear_unread_tables(article: etree._Element) -> None:
    """Empty the body's tables that no field reads: `parse` drops them with the other floats before
    it takes the body's text, so preparing their cells is wasted work (a tenth of the blocks of a
    typical article). Each stays, empty, until then, so the text around it is spaced as before. A
    table in a figure or caption is read (labels, captions) and kept, and so is one holding a figure
    or a figure group (figures and the ids citations resolve to)."""
    body = article.find("body")
    for table in list(body.iter("table-wrap")) if body is not None else ():  # a list: clearing ends an iter
        if next(table.iterancestors("fig", "caption"), None) is None and next(table.iter("fig", "fig-group"), None) is None:
            table.clear(keep_tail=True)


def _space_blocks(article: etree._Element) -> None:
    """A space at the start of every block element's text and before its tail (none before a
    tail that starts with punctuation). Every reader of the text collapses or strips whitespace,
    so a text or tail that already starts with whitespace is left as it is: the tree is written
    only where a word would otherwise touch the next one (the loop is most of `_prepare`'s time)."""
    for el in article.iter(*_BLOCK):
        text = el.text
        if not text:
            el.text = " "
        elif text[0] not in _WHITESPACE:
            el.text = " " + text
        tail = el.tail
        if not tail:
            el.tail = " "
        elif tail[0] not in _TIGHT_OR_WHITESPACE:
            el.tail = " " + tail


def _has_formula_form(el: etree._Element) -> bool:
    return any(child.tag in _FORMULA_FORMS for child in el)


def _one_form(alt: etree._Element) -> None:
    """Keep one form of an <alternatives>: its first that has text, a TeX formula only when
    there is no MathML or image of it (images have no text and stay for the figure reader)."""
    redundant_tex = _has_formula_form(alt)
    kept = False
    for child in alt:
        if child.tag == "tex-math":
            _tex_formula(child, redundant_tex)
        if not isinstance(child.tag, str) or child.tag in _NO_TEXT or child.tag == _DROPPED:
            continue
        if kept:
            child.tag = _DROPPED
        kept = True


def _tex_formula(tex: etree._Element, redundant: bool) -> None:
    """A <tex-math> is a formula's text (``$...$``) where it is the formula's only form; beside
    MathML or an image of the same formula it is dropped."""
    if redundant:
        tex.tag = _DROPPED
        return
    source = _tex_source("".join(tex.itertext()))
    tex.clear(keep_tail=True)
    tex.text = f"${source}$" if source else None


def _tex_source(tex: str) -> str:
    """The formula of a TeX snippet: PMC's ``\\documentclass...\\begin{document}$$x$$\\end{document}``
    wrappers and outer math delimiters removed."""
    begin = tex.find(r"\begin{document}")
    if begin >= 0:
        tex = tex[begin + len(r"\begin{document}"):]
        end = tex.rfind(r"\end{document}")
        tex = tex[:end] if end >= 0 else tex
    tex = tex.strip()
    for opening, closing in (("$$", "$$"), ("$", "$"), (r"\[", r"\]"), (r"\(", r"\)")):
        if len(tex) >= len(opening) + len(closing) and tex.startswith(opening) and tex.endswith(closing):
            tex = tex[len(opening):-len(closing)]
            break
    return " ".join(tex.split())


def text_of(el: Optional[etree._Element]) -> str:
    """Plain text of a prepared element: inline markup joined, blocks separated by one space."""
    return "" if el is None else texts_of([el])[0]


def texts_of(elements: list[etree._Element]) -> list[str]:
    """`text_of` each element, squashed together: libxml2 collapses XML whitespace in C, Python
    only the rest (rare), and one pass of the punctuation rule covers all the texts (they have no
    space at either end, so none touches the separator, which is no XML character)."""
    if not elements:
        return []
    joined = _SEPARATOR.join(map(_NORMALIZED, elements))
    if not joined.isascii() and any(c in joined for c in _OTHER_WHITESPACE):
        joined = _SEPARATOR.join(" ".join(text.split()) for text in joined.split(_SEPARATOR))
    return _drop_spaces(joined).split(_SEPARATOR)


_SEPARATOR = "\x00"
_NORMALIZED = etree.XPath("normalize-space()", smart_strings=False)
# What Python's str.split() also splits words at, beyond the XML whitespace libxml2 collapses (and
# the control characters XML cannot hold). Looked for one character at a time: each `in` is a
# C-level scan, together about half the time of one regex character class over the same text.
_OTHER_WHITESPACE = "\x85\xa0\u1680" + "".join(map(chr, range(0x2000, 0x200B))) + "\u2028\u2029\u202f\u205f\u3000"


# Spaces before punctuation, but not before a "." or "," that starts a number ("P = .05", ", .20").
# One literal first, so the regex engine scans for it quickly.
_SPACE_BEFORE_PUNCTUATION = re.compile(r" (?=[;:)\],.])(?![.,]\d)")


def _drop_spaces(s: str) -> str:
    """``s`` without the spaces before punctuation and inside an opening bracket. Dropping one of
    these spaces never decides whether another is dropped, so the rules can run one after the
    other; the brackets by plain replacement, about twice as fast as one regex trying a
    lookbehind at every space."""
    s = _SPACE_BEFORE_PUNCTUATION.sub("", s)
    if "( " in s:
        s = s.replace("( ", "(")
    if "[ " in s:
        s = s.replace("[ ", "[")
    return s


def _squash(s: str) -> str:
    """One space between words; none inside brackets or before punctuation."""
    return _drop_spaces(" ".join(s.split()))


def _clean(s: Optional[str]) -> Optional[str]:
    s = _squash(s) if s else ""
    return s or None


# --- article metadata -------------------------------------------------------------------------

_MONTHS = {m: i for i, m in enumerate("jan feb mar apr may jun jul aug sep oct nov dec".split(), 1)}
_SEASONS = {"spring": 3, "summer": 6, "fall": 9, "autumn": 9, "winter": 12}


def _small_number(text: Optional[str]) -> Optional[int]:
    """A one- or two-digit ASCII number (a month or a day), else None."""
    t = (text or "").strip()
    return int(t) if 0 < len(t) <= 2 and t.isascii() and t.isdigit() else None


def _month(text: Optional[str]) -> Optional[int]:
    if not text:
        return None
    t = text.strip().lower()
    if t.isdigit():
        n = _small_number(t)
        return n if n and n <= 12 else None
    t = re.split(r"[-/–\s]", t, maxsplit=1)[0]
    return _MONTHS.get(t[:3]) or _SEASONS.get(t)


def _date(pub: etree._Element) -> Optional[str]:
    year = (pub.findtext("year") or "").strip()[:4]
    if not re.fullmatch(r"[0-9]{4}", year):
        return None
    month = _month(pub.findtext("month")) or _month(pub.findtext("season"))
    if not month:
        return year
    day = _small_number(pub.findtext("day"))
    try:
        return datetime.date(int(year), month, day).isoformat() if day else f"{year}-{month:02d}"
    except ValueError:  # a day that does not exist in that month (or year 0000)
        return f"{year}-{month:02d}"


# Both vocabularies: NLM/JATS 1.0 `pub-type` and JATS 1.1+ `date-type` + `publication-format`.
_PUBLICATION = ("pub", "publication")


def _date_rank(pub: etree._Element) -> int:
    """0 electronic publication, 1 any other publication (print), 2 collection, 3 untyped,
    4 anything else (pmc-release, preprint, corrected...)."""
    pub_type = (pub.get("pub-type") or "").strip().lower()
    date_type = (pub.get("date-type") or "").strip().lower()
    electronic = (pub.get("publication-format") or "").strip().lower() == "electronic"
    if pub_type == "epub" or (date_type in _PUBLICATION and electronic):
        return 0
    if pub_type in ("ppub", "epub-ppub") or date_type in _PUBLICATION:
        return 1
    if pub_type == "collection" or date_type == "collection":
        return 2
    return 3 if not pub_type and not date_type else 4


def publication_date(meta: etree._Element) -> Optional[str]:
    """ISO date of the first dated <pub-date> by rank: electronic publication, print publication,
    collection, an untyped date, anything else."""
    dates = sorted(meta.findall("pub-date"), key=_date_rank)
    return next((d for d in map(_date, dates) if d), None)


# Ids name files, keys and links downstream: anything not of its id's form is treated as absent.
_PMCID = re.compile(r"(?:PMC)?([0-9]{1,12})", re.I)
_PMID = re.compile(r"[0-9]{1,12}")
_DOI = re.compile(r"10\.[0-9]+(?:\.[0-9]+)*/\S+")
_PMCID_TYPES = ("pmcid", "pmc", "pmcaid")  # in order of preference


def valid_pmcid(value: Optional[str]) -> Optional[str]:
    """``PMC`` + digits from ``PMC123``, ``pmc123`` or ``123``; None for anything else."""
    m = _PMCID.fullmatch((value or "").strip())
    return f"PMC{m.group(1)}" if m else None


def valid_pmid(value: Optional[str]) -> Optional[str]:
    """A PubMed id (digits only), or None."""
    v = (value or "").strip()
    return v if _PMID.fullmatch(v) else None


def valid_doi(value: Optional[str]) -> Optional[str]:
    """A DOI (``10.<digits>/<suffix>``, no whitespace or control characters), or None."""
    v = (value or "").strip()
    return v if _DOI.fullmatch(v) and v.isprintable() else None


_ID_FORMS = {"pmid": valid_pmid, "doi": valid_doi, **{kind: valid_pmcid for kind in _PMCID_TYPES}}


def _ids(meta: etree._Element) -> dict[str, str]:
    """The first valid value of each known <article-id> type, normalised."""
    ids: dict[str, str] = {}
    for el in meta.findall("article-id"):
        kind = (el.get("pub-id-type") or "").lower()
        form = _ID_FORMS.get(kind)
        value = form(el.text) if form and kind not in ids else None
        if value:
            ids[kind] = value
    return ids


def _pmcid(ids: dict[str, str]) -> Optional[str]:
    return next((ids[kind] for kind in _PMCID_TYPES if kind in ids), None)


def _licenses(meta: etree._Element) -> list[LicenseStatement]:
    found = []
    for lic in meta.iter("license"):
        url = lic.get(XLINK_HREF) or _first_text(lic, ALI_LICENSE_REF)
        if not url:
            url = next((a.get(XLINK_HREF) for a in lic.iter("ext-link") if "creativecommons.org" in (a.get(XLINK_HREF) or "")), None)
        found.append(LicenseStatement(lic.get("license-type"), url, text_of(lic) or None))
    # NLM 2.x puts the statement straight under <article-meta>; older PLOS/BMC state the terms only here.
    statements = texts_of(list(meta.iter("copyright-statement")))
    return found + [LicenseStatement(None, None, text) for text in statements if text]


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
    back = article.find("back")  # sub-articles have their own <back>
    if back is None:
        return []
    refs = list(back.iter("ref"))
    first_citation: dict[etree._Element, etree._Element] = {}  # the first citation child of each parent
    for citation in back.iter(*_CITATIONS):
        first_citation.setdefault(citation.getparent(), citation)
    texts = texts_of([first_citation.get(ref, ref) for ref in refs])
    return [Reference(ref.get("id"), text, *_reference_ids(ref)) for ref, text in zip(refs, texts)]


def _reference_ids(ref: etree._Element) -> tuple[Optional[str], Optional[str]]:
    """The first valid PMID and DOI among a reference's <pub-id>s."""
    ids: dict[str, str] = {}
    for pid in ref.iter("pub-id"):
        kind = pid.get("pub-id-type")
        value = _ID_FORMS[kind](pid.text) if kind in ("pmid", "doi") and kind not in ids else None
        if value:
            ids[kind] = value
    return ids.get("pmid"), ids.get("doi")


_CITATIONS = ("mixed-citation", "element-citation", "citation", "nlm-citation")


def _abstract(meta: etree._Element) -> Optional[str]:
    abstracts = meta.findall("abstract")
    main = next((a for a in abstracts if not a.get("abstract-type")), abstracts[0] if abstracts else None)
    return text_of(main) or None


_FLOATS = ("fig", "fig-group", "table-wrap", "table-wrap-group", "supplementary-material")


def _body_blocks(article: etree._Element) -> list[etree._Element]:
    """The body's <p> and <title> elements that are inside no <p>."""
    body = article.find("body")
    return [el for el in body.iter("p", "title") if next(el.iterancestors("p"), None) is None] if body is not None else []


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
    return next(g.iterancestors("fig")) is not fig  # its nearest <fig> is another one, inside


# A range of figures is expanded over at most this many existing figures: real ranges span a
# handful, and each expanded figure gets the citing paragraph, so an unbounded one multiplies output.
_MAX_RANGE_FIGURES = 100
_RANGE_DASH = re.compile(r"^\s*(?:[-–—‐‑]|to|through)\s*$", re.I)
# "2-4", "2A–4", "S1-S3" inside one xref's (squashed) text; numbers of at most 9 digits.
_RANGE_IN_TEXT = re.compile(r"(?<![0-9])([0-9]{1,9}) ?[A-Za-z]? ?[-–—‐‑] ?[A-Za-z]? ?([0-9]{1,9})(?![0-9])")
_LABEL_NUMBER = re.compile(r"(?<![0-9])[0-9]{1,9}(?![0-9])")
_NOT_WORD = re.compile(r"[\W_]+")


def _numbering(label: Optional[str]) -> Optional[tuple[str, int]]:
    """A label's series and number, from its last number: ``("figure#", 2)`` for "Figure 2" and
    "Figure 2B", ``("figure1figuresupplement#", 3)`` for "Figure 1—figure supplement 3",
    ``("figures#", 4)`` for "Figure S4"; None when the label has no number."""
    last = None
    for last in _LABEL_NUMBER.finditer(label or ""):
        pass
    if last is None:
        return None
    prefix = _NOT_WORD.sub("", label[:last.start()].lower())
    suffix = _NOT_WORD.sub("", label[last.end():].lower())
    if len(suffix) == 1 and suffix.isalpha():  # a panel letter: "Figure 5A" is part of figure 5
        suffix = ""
    return f"{prefix}#{suffix}", int(last.group())


class _Citations:
    """Resolves figure xrefs: rids to figure ids, and ranges to the figures of one numbered series
    (same label kind: "Figure N", "Figure S N", "Figure 1—figure supplement N"...) whose numbers
    lie between the ends, so a range never reaches a figure of another kind nor one that is absent."""

    def __init__(self, figures: list[Figure], alias: dict[str, list[str]]):
        self.alias = alias
        self.numbering: dict[str, tuple[str, int]] = {}
        series: dict[str, list[tuple[int, int, str]]] = {}
        for position, figure in enumerate(figures):
            numbering = _numbering(figure.label)
            if numbering:
                self.numbering[figure.figure_id] = numbering
                series.setdefault(numbering[0], []).append((numbering[1], position, figure.figure_id))
        self.series = {kind: sorted(members) for kind, members in series.items()}
        self.numbers = {kind: [number for number, _, _ in members] for kind, members in self.series.items()}

    def ids(self, xref: etree._Element) -> list[str]:
        return [fid for rid in (xref.get("rid") or "").split() for fid in self.alias.get(rid, ())]

    def span(self, kind: str, first: int, last: int) -> list[str]:
        """The figures of series ``kind`` numbered ``first`` to ``last``, by bisection: the cost
        follows the figures found, never the numbers written. A reversed pair ("Figs. 4 to 2") is
        a comparison, not a range."""
        numbers = self.numbers.get(kind, [])
        start, end = bisect.bisect_left(numbers, first), bisect.bisect_right(numbers, last)
        if first > last or end - start > _MAX_RANGE_FIGURES:
            return []
        return [fid for _, _, fid in self.series[kind][start:end]]

    def text_range(self, ids: list[str], text: str) -> list[str]:
        """The figures of a range written inside one xref ("Figs 2-4"). The range must start at a
        cited figure's number, so a label such as "Figure 1-2A" (extended data 2 of figure 1) is
        not read as figures 1 to 2; only the first such range counts."""
        starts = {self.numbering[fid] for fid in ids if fid in self.numbering}
        for m in _RANGE_IN_TEXT.finditer(text):
            first = int(m.group(1))
            kind = next((kind for kind, number in starts if number == first), None)
            if kind is not None:
                return self.span(kind, first, int(m.group(2)))
        return []

    def between(self, first_id: str, last_id: str) -> list[str]:
        """The figures from one cited figure to another, when both are of one numbered series."""
        first, last = self.numbering.get(first_id), self.numbering.get(last_id)
        if first is None or last is None or first[0] != last[0]:
            return []
        return self.span(first[0], first[1], last[1])

    def cited_by(self, p: etree._Element) -> list[str]:
        """Figure ids that paragraph ``p`` cites: each rid, plus every figure inside a cited range."""
        xrefs = [x for x in p.iter("xref") if x.get("ref-type") == "fig"]
        cited: list[str] = []
        for i, x in enumerate(xrefs):
            ids = self.ids(x)
            cited.extend(ids)
            if ids:
                cited.extend(self.text_range(ids, text_of(x)))
            nxt = xrefs[i + 1] if i + 1 < len(xrefs) else None
            if ids and nxt is not None and x.getnext() is nxt and _RANGE_DASH.match(x.tail or ""):
                end = self.ids(nxt)
                if end:  # <xref>2</xref>–<xref>4</xref>: 3 is cited too
                    cited.extend(self.between(ids[0], end[-1]))
        return cited


def _figures(article: etree._Element) -> tuple[list[Figure], dict[str, list[str]]]:
    """Every <fig> with label, caption and graphics, and a map from each citable id
    (fig, fig-group, graphic) to the figure ids it stands for. Figure ids are keys downstream, so
    they are unique: a repeated or clashing id gets the figure's position appended."""
    figures: list[Figure] = []
    alias: dict[str, list[str]] = {}
    id_of: dict[etree._Element, str] = {}
    taken: set[str] = set()
    for n, fig in enumerate(article.iter("fig"), 1):
        xml_id = fig.get("id") or f"fig-{n}"
        fid = xml_id
        while fid in taken:
            fid = f"{fid}-{n}"
        taken.add(fid)
        id_of[fig] = fid
        figures.append(Figure(fid, text_of(fig.find("label")) or None, _caption(fig), _graphics(fig)))
        alias.setdefault(xml_id, []).append(fid)
        for g in fig.iter("graphic"):
            if g.get("id"):
                alias.setdefault(g.get("id"), []).append(fid)
    for group in article.iter("fig-group"):
        if group.get("id"):
            alias[group.get("id")] = [id_of[f] for f in group.iter("fig")]
    return figures, alias


def _add_contexts(figures: list[Figure], alias: dict[str, list[str]], paragraphs: dict[etree._Element, str]) -> None:
    """Attach to each figure the citing paragraphs (element: text) that cite it, each once."""
    citations = _Citations(figures, alias)
    contexts: dict[str, dict[str, None]] = {f.figure_id: {} for f in figures}  # ordered sets
    for p, text in paragraphs.items():
        if text:
            for fid in citations.cited_by(p):
                contexts[fid].setdefault(text)
    for f in figures:
        f.contexts = list(contexts[f.figure_id])


def _citing_paragraphs(article: etree._Element) -> Iterable[etree._Element]:
    """Innermost <p> elements holding a figure xref, outside captions and tables."""
    outside = set(article.iterancestors())  # the article's own ancestors (an envelope) do not count
    seen = set()
    for x in article.iter("xref"):
        p = next(x.iterancestors("p"), None) if x.get("ref-type") == "fig" else None
        if p is None or p in seen or p in outside:
            continue
        seen.add(p)  # the element itself: lxml proxies' id() can be reused
        if all(a in outside for a in p.iterancestors("caption", "table-wrap")):
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
        title=text_of(meta.find("title-group/article-title")) or None,
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
    # Citing paragraphs and body blocks are mostly the same elements: each is flattened once.
    citing, blocks = list(_citing_paragraphs(article)), _body_blocks(article)
    unique = list(dict.fromkeys([*citing, *blocks]))
    text = dict(zip(unique, texts_of(unique)))
    _add_contexts(a.figures, alias, {p: text[p] for p in citing})
    a.text = "\n\n".join(t for t in (text[el] for el in blocks) if t)
    if jmeta is not None:
        a.journal = text_of(jmeta.find(".//journal-title")) or _journal_id(jmeta)
        issns = {(i.get("pub-type") or i.get("publication-format") or ""): (i.text or "").strip() for i in jmeta.findall("issn")}
        a.issn = issns.get("epub") or issns.get("electronic") or next(iter(v for v in issns.values() if v), None)
        a.publisher = text_of(jmeta.find("publisher/publisher-name")) or None
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
