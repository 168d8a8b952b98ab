"""JATS parsing on real sample articles, plus small hand-written cases for rarer markup."""
from __future__ import annotations

import pytest

from conftest import SAMPLES
from pmc_hub import jats
from pmc_hub.resources import sample_dir


def parse_sample(rel: str) -> jats.Article:
    path = SAMPLES / rel if (SAMPLES / rel).exists() else sample_dir() / rel
    return jats.parse(path.read_bytes())


def test_pmc_article_metadata():
    a = parse_sample("PMC3460867/PMC3460867.nxml")
    assert a.pmcid == "PMC3460867"
    assert a.pmid == "23029536"
    assert a.doi == "10.1371/journal.pone.0046493"
    assert a.journal == "PLoS ONE"
    assert a.issn == "1932-6203"
    assert a.publisher == "Public Library of Science"
    assert a.article_type == "research-article"
    assert a.date == "2012-09-28"  # the epub date, not ppub or pmc-release
    assert "Biochemistry" in a.subjects
    # <italic>Mycobacterium tuberculosis</italic> inside the title joins without extra spaces
    assert a.title == ("MmPPOX Inhibits Mycobacterium tuberculosis Lipolytic Enzymes Belonging to the "
                       "Hormone-Sensitive Lipase Family and Alters Mycobacterial Growth")
    assert a.abstract and len(a.abstract) > 200
    assert len(a.references) == 58
    assert all(r.text for r in a.references)
    assert sum(1 for r in a.references if r.pmid) > 30
    assert a.authors and all(" " in name for name in a.authors)
    assert len(a.figures) == 4
    assert "\n\n" in a.text and "Introduction" in a.text


def test_new_2026_jats_form():
    a = parse_sample("europepmc-2026/PMC13125388.xml")
    assert a.pmcid == "PMC13125388" and a.pmid == "42050768"
    assert a.date == "2026-04-28"  # <pub-date> without attributes
    # Wiley <alternatives>: one image offered as .jpg and .gif
    g = a.figures[0].graphics
    assert len(g) == 1 and g[0].href.endswith(".jpg") and g[0].alternates == ["RCM-40-e70073-g003.gif"]
    lic = a.licenses[0]
    assert lic.url == "https://creativecommons.org/licenses/by-nc-nd/4.0/"


def test_namespaced_jats_in_oai_envelope():
    a = parse_sample("oai-pmh/PMC10000000.xml")
    assert a.pmcid == "PMC10000000"
    assert a.journal == "Chicago Medical Examiner"
    assert a.date == "1867-01"
    assert a.licenses[0].url == "https://creativecommons.org/publicdomain/mark/1.0/"


def test_figure_captions_flatten_markup_with_spacing():
    a = parse_sample("PMC3460867/PMC3460867.nxml")
    cap = a.figures[0].caption
    assert a.figures[0].label == "Figure 1"
    # <title> then <p>: separated by one space; <bold>A</bold>, stays attached; the label is not repeated
    assert cap.startswith("Chemical structure of inhibitors. Chemical structures of A, THL and B, MmPPOX.")
    assert "  " not in cap and not cap.startswith("Figure 1")


def test_inline_references_each_paragraph_once_and_nested_xrefs():
    a = parse_sample("PMC3460867/PMC3460867.nxml")
    fig1 = a.figures[0]
    # "Figure <bold>1A</bold>" and "Figure <bold>1B</bold>" stand in the same paragraph: it counts once
    assert len(fig1.contexts) == len(set(fig1.contexts))
    assert any("Tetrahydrolipstatin" in c for c in fig1.contexts)
    # a caption's own text is never taken as context
    assert all(c != fig1.caption for c in fig1.contexts)


ARTICLE = """<?xml version="1.0"?>
<article xmlns:xlink="http://www.w3.org/1999/xlink" article-type="research-article">
<front><journal-meta><journal-title-group><journal-title>J Test</journal-title></journal-title-group></journal-meta>
<article-meta><article-id pub-id-type="pmc">123</article-id>
<title-group><article-title>A <italic>test</italic> article</article-title></title-group>
{dates}
</article-meta></front>
<body><sec><title>Results</title>
<p>Panels are shown in <xref ref-type="fig" rid="f2">Figs 2</xref>&#x2013;<xref ref-type="fig" rid="f4">4</xref>.</p>
<p>Also <xref ref-type="fig" rid="f1">Figure 1</xref> and again <xref ref-type="fig" rid="f1"><italic>Fig. 1B</italic></xref>.</p>
<p>The group <xref ref-type="fig" rid="g5">Figure 5</xref> and a span <xref ref-type="fig" rid="f1">Figures 1-2</xref>.</p>
<fig id="f1"><label>Figure 1</label><caption><title>Title one.</title><p>Body <bold>bold</bold>text and <sub>sub</sub>.</p></caption><graphic xlink:href="g1"/></fig>
<fig id="f2"><label>Figure 2</label><caption><p>Two.</p></caption><graphic xlink:href="g2a"/><graphic xlink:href="g2b"/></fig>
<fig id="f3"><label>Figure 3</label><caption><p>Three.</p></caption><alternatives><graphic xlink:href="g3.gif"/><graphic xlink:href="g3.jpg"/></alternatives></fig>
<fig id="f4"><label>Figure 4</label><caption><p>Four.</p></caption></fig>
<fig-group id="g5"><caption><p>Group caption.</p></caption>
  <fig id="f5a"><label>Figure 5A</label><graphic xlink:href="g5a"/></fig>
  <fig id="f5b"><label>Figure 5B</label><caption><p>Own caption.</p></caption><graphic xlink:href="g5b"/></fig>
</fig-group>
</sec></body></article>"""


def make(dates: str = "") -> jats.Article:
    return jats.parse(ARTICLE.format(dates=dates).encode())


def test_ranges_fig_groups_and_graphics():
    a = make()
    figs = {f.figure_id: f for f in a.figures}
    assert list(figs) == ["f1", "f2", "f3", "f4", "f5a", "f5b"]
    assert a.title == "A test article"
    assert figs["f1"].caption == "Title one. Body boldtext and sub."
    # "Figs 2-4" written as two xrefs cites figure 3 too
    assert figs["f3"].contexts == ["Panels are shown in Figs 2–4."]
    assert figs["f4"].contexts == figs["f3"].contexts
    # the paragraph citing f1 twice is there once; "Figures 1-2" in one xref cites f2 as well
    assert len(figs["f1"].contexts) == 2
    assert any("Figures 1-2" in c for c in figs["f2"].contexts)
    # several graphics per fig, and <alternatives> as one image with a fallback
    assert [g.href for g in figs["f2"].graphics] == ["g2a", "g2b"]
    assert figs["f3"].graphics[0].href == "g3.gif" and figs["f3"].graphics[0].alternates == ["g3.jpg"]
    assert figs["f4"].graphics == []
    # a fig in a fig-group without a caption takes the group's; a fig-group xref cites its figs
    assert figs["f5a"].caption == "Group caption." and figs["f5b"].caption == "Own caption."
    assert figs["f5a"].contexts and figs["f5a"].contexts == figs["f5b"].contexts
    assert a.pmcid == "PMC123"


@pytest.mark.parametrize("dates, expected", [
    ('<pub-date pub-type="ppub"><month>3</month><year>2010</year></pub-date>'
     '<pub-date pub-type="epub"><day>5</day><month>2</month><year>2010</year></pub-date>', "2010-02-05"),
    ('<pub-date pub-type="collection"><season>Spring</season><year>2004</year></pub-date>', "2004-03"),
    ('<pub-date pub-type="ppub"><season>Sep-Oct</season><year>2023</year></pub-date>', "2023-09"),
    ('<pub-date date-type="pub" publication-format="electronic"><year>2021</year></pub-date>'
     '<pub-date pub-type="pmc-release"><day>1</day><month>1</month><year>2022</year></pub-date>', "2021"),
    ('<pub-date pub-type="epub"><month>Jan</month><year>1999</year></pub-date>', "1999-01"),
    ("", None),
])
def test_publication_dates(dates, expected):
    assert make(dates).date == expected


def test_malformed_xml_is_a_clear_error():
    with pytest.raises(jats.JATSError, match="malformed XML"):
        jats.parse(b"<article><front></article>")
    with pytest.raises(jats.JATSError, match="no <article>"):
        jats.parse(b"<html><body/></html>")
    with pytest.raises(jats.JATSError):
        jats.parse(b"")


def test_xxe_entities_are_never_expanded(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-CONTENT")
    xml = f"""<?xml version="1.0"?>
<!DOCTYPE article [<!ENTITY xxe SYSTEM "file://{secret}"><!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>
<article><front><article-meta><title-group><article-title>&xxe; &lol2;</article-title></title-group></article-meta></front>
<body><p>&xxe;</p></body></article>""".encode()
    a = jats.parse(xml)
    assert "TOP-SECRET" not in (a.title or "") and "TOP-SECRET" not in a.text
    assert "lollol" not in (a.title or "")


def test_remote_dtd_is_not_fetched():
    # A DOCTYPE pointing at an unreachable host: with no_network and no DTD loading, parsing
    # succeeds at once instead of trying the network.
    xml = b"""<?xml version="1.0"?>
<!DOCTYPE article PUBLIC "-//NLM//DTD JATS//EN" "http://203.0.113.1/never/JATS-archivearticle1.dtd">
<article><front><article-meta><article-id pub-id-type="pmid">1</article-id></article-meta></front></article>"""
    assert jats.parse(xml).pmid == "1"


def test_publisher_jats_without_pmcid_uses_doi_and_figures():
    a = parse_sample("elife-30274-v1/elife-30274-v1.xml")
    assert a.pmcid is None and a.doi == "10.7554/eLife.30274"
    assert [f.figure_id for f in a.figures] == ["fig1", "fig2", "fig2s1", "fig2s2", "fig3"]
    assert all(f.graphics and f.caption for f in a.figures)


def test_citation():
    a = parse_sample("PMC3460867/PMC3460867.nxml")
    assert jats.citation(a) == "PLoS ONE. 2012;7(9):e46493. doi:10.1371/journal.pone.0046493"


# Every character str.split() splits at that XML can hold, beyond the whitespace libxml2 collapses.
OTHER_WHITESPACE = sorted({c for c in map(chr, range(0x110000)) if c.isspace()} - set(" \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f"))


@pytest.mark.parametrize("space", OTHER_WHITESPACE, ids=lambda c: f"U+{ord(c):04X}")
def test_text_collapses_every_unicode_space_like_str_split(space):
    xml = (f"<article><front><article-meta><title-group><article-title>A{space}{space}B {space}C{space}"
           f"</article-title></title-group></article-meta></front></article>").encode()
    el = jats.parse_xml(xml).find("front/article-meta/title-group/article-title")
    assert jats.text_of(el) == "A B C"
    # the other texts flattened beside it keep their own spacing, and the separator never leaks
    assert jats.texts_of([el, el.getparent()]) == ["A B C", "A B C"]
