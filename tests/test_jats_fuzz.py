"""Fuzzing `jats.parse` with mutated real articles: whatever the mutation, the parser returns an
`Article` whose ids, dates and figure ids keep their forms, or raises `JATSError`, within a
bounded time. Mutations: truncation, deleted / duplicated / renamed elements, huge numbers in
labels, xrefs and dates, control and other odd characters, deep nesting, attribute garbage."""
from __future__ import annotations

import copy
import re
import time
from functools import lru_cache

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from lxml import etree

from conftest import SAMPLES
from pmc_hub import jats
from pmc_hub.resources import sample_dir

# Small real articles of different publishers, DTD versions and forms (namespaced OAI-PMH too).
SOURCES = [
    SAMPLES / "PMC2329613/PMC2329613.nxml",  # BioMed Central, NLM Archiving 2.3
    SAMPLES / "f1000-7-1655-v1/f1000-7-1655-v1.xml",  # F1000, JATS 1.2
    SAMPLES / "oai-pmh/PMC5000000.xml",  # namespaced JATS in an OAI envelope
    SAMPLES / "europepmc-2026/PMC13249065.xml",  # Wiley, PMC 2026 form
    SAMPLES / "oai-pmh/PMC10906259.xml",  # PeerJ, JATS 1.3, namespaced, tex-math
    sample_dir() / "elife-30274-v1/elife-30274-v1.xml",  # eLife, JATS 1.1, figure supplements
]
TAGS = ["fig", "fig-group", "xref", "label", "caption", "title", "p", "sec", "alternatives", "tex-math",
        "graphic", "article-title", "pub-date", "article-id", "ref", "pub-id", "body", "front", "article-meta"]
ATTRIBUTES = ["id", "rid", "ref-type", "pub-type", "date-type", "publication-format", "pub-id-type",
              "article-type", "{http://www.w3.org/1999/xlink}href", "license-type"]
NUMBERED = ["label", "xref", "year", "month", "day", "article-id", "pub-id", "volume", "fpage", "season"]
NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")  # chars XML 1.0 cannot hold

xml_text = st.text(max_size=40).map(lambda s: NOT_XML.sub("", s))
huge_numbers = st.one_of(
    st.integers(min_value=-10**30, max_value=10**30).map(str),
    st.integers(min_value=1, max_value=6000).map(lambda n: "9" * n),
    st.tuples(st.integers(0, 10**12), st.integers(0, 10**12)).map(lambda t: f"Figures {t[0]}-{t[1]}"),
    st.integers(1, 5000).map(lambda n: "Figure " + "1-" * n),
    st.sampled_from(["²", "٣", "１２", "0", "00", "-1", "1e400", "NaN", "PMC../../x", "10.1/a b"]),
)
odd_bytes = st.sampled_from([b"\x00", b"\x01", b"\x1f", b"\xc2\x85", b"\xe2\x80\x8b", b"\xe2\x80\xa8",
                             b"\xed\xa0\x80", b"\xef\xbf\xbe", b"\xff", b"&#1;", b"&#x85;", b"&undefined;", b"<", b"]]>"])

mutation = st.one_of(
    st.tuples(st.just("delete"), st.integers(0, 10**6)),
    st.tuples(st.just("duplicate"), st.integers(0, 10**6), st.integers(1, 3)),
    st.tuples(st.just("rename"), st.integers(0, 10**6), st.sampled_from(TAGS)),
    st.tuples(st.just("number"), st.integers(0, 10**6), st.sampled_from(NUMBERED), huge_numbers),
    st.tuples(st.just("text"), st.integers(0, 10**6), xml_text),
    st.tuples(st.just("attribute"), st.integers(0, 10**6), st.sampled_from(ATTRIBUTES), xml_text),
    st.tuples(st.just("nest"), st.integers(0, 10**6), st.sampled_from(["sec", "p", "fig", "caption", "xref"]),
              st.one_of(st.integers(1, 250), st.integers(1, 250), st.integers(1, 250), st.integers(1000, 5000))),
)


@lru_cache(maxsize=None)
def source_bytes(index: int) -> bytes:
    return SOURCES[index].read_bytes()


def apply(root: etree._Element, op: tuple) -> None:
    elements = [el for el in root.iter(etree.Element) if el is not root]
    if not elements:
        return
    kind, pick = op[0], op[1]
    el = elements[pick % len(elements)]
    if kind == "delete":
        el.getparent().remove(el)
    elif kind == "duplicate":
        for _ in range(op[2]):
            el.addnext(copy.deepcopy(el))
    elif kind == "rename":
        el.tag = op[2]
    elif kind == "number":
        targets = [e for e in elements if etree.QName(e).localname == op[2]] or elements
        targets[pick % len(targets)].text = op[3]
    elif kind == "text":
        el.text = op[2]
    elif kind == "attribute":
        el.set(op[2], op[3])
    elif kind == "nest":
        outer = inner = etree.Element(op[2])
        for _ in range(op[3] - 1):
            inner = etree.SubElement(inner, op[2])
        inner.extend(list(el))
        el.append(outer)


@st.composite
def mutated_articles(draw) -> bytes:
    data = source_bytes(draw(st.integers(0, len(SOURCES) - 1)))
    ops = draw(st.lists(mutation, max_size=4))
    if ops:
        root = etree.fromstring(data, etree.XMLParser(resolve_entities=False, load_dtd=False, no_network=True))
        for op in ops:
            apply(root, op)
        data = etree.tostring(root, encoding="utf-8", xml_declaration=True)
    if draw(st.integers(0, 4)) == 0:  # raw bytes no tree can hold: control characters, bad UTF-8, markup
        at = int(len(data) * draw(st.floats(0, 1)))
        data = data[:at] + draw(odd_bytes) + data[at:]
    if draw(st.integers(0, 4)) == 0:
        data = data[:int(len(data) * draw(st.floats(0.01, 0.99)))]
    return data


ISO_DATE = re.compile(r"[0-9]{4}(-[0-9]{2}(-[0-9]{2})?)?")


@settings(max_examples=300, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(mutated_articles())
def test_mutated_articles_parse_or_fail_with_jats_error(data):
    start = time.process_time()
    try:
        article = jats.parse(data)
    except jats.JATSError as exc:
        assert str(exc)
        event("JATSError")
    else:
        event("Article")
        ids = [f.figure_id for f in article.figures]
        assert len(ids) == len(set(ids))
        assert article.pmcid is None or re.fullmatch(r"PMC[0-9]+", article.pmcid)
        assert article.pmid is None or article.pmid.isdigit()
        assert article.doi is None or jats.valid_doi(article.doi) == article.doi
        assert article.date is None or ISO_DATE.fullmatch(article.date)
        assert all(len(f.contexts) == len(set(f.contexts)) for f in article.figures)
    assert time.process_time() - start < 5


# The punctuation rule as one regex: a space goes before ; : ) ] and before a . or , that does not
# start a number, and after ( and [.
PUNCTUATION_RULE = re.compile(r" (?:(?=[;:)\]]|[.,](?!\d))|(?<=[(\[] ))")


@settings(max_examples=500, deadline=None, derandomize=True)
@given(st.text(alphabet=" \t\n([;:.,)]x1", max_size=40))
def test_text_follows_the_punctuation_rule(words):
    xml = f'<article><front><article-meta/></front><body><p>{words}</p></body></article>'.encode()
    assert jats.parse(xml).text == PUNCTUATION_RULE.sub("", " ".join(words.split()))
