"""JATS fidelity on publisher patterns (issue 12, defects 1-5): one minimal fixture per pattern
in tests/data/jats, plus the smaller variants of each as inline cases."""
from __future__ import annotations

import pytest

from conftest import DATA
from pmc_hub import jats

FIXTURES = DATA / "jats"


def fixture(name: str) -> jats.Article:
    return jats.parse((FIXTURES / name).read_bytes())


def figures(article: jats.Article) -> dict[str, jats.Figure]:
    return {f.figure_id: f for f in article.figures}


def citing(article: jats.Article, words: str) -> set[str]:
    """Ids of the figures whose contexts hold the paragraph containing ``words``."""
    return {f.figure_id for f in article.figures if any(words in c for c in f.contexts)}


def minimal(meta: str = "", body: str = "") -> bytes:
    return (f'<article xmlns:xlink="http://www.w3.org/1999/xlink"><front><article-meta>{meta}'
            f'</article-meta></front><body>{body}</body></article>').encode()


# --- 1. publication dates: both vocabularies, electronic publication first ---------------------

def test_date_type_electronic_publication_wins_over_collection_and_print():
    a = fixture("date-type-electronic.xml")
    assert a.date == "2020-08-27"


@pytest.mark.parametrize("dates, expected", [
    # JATS 1.1+ vocabulary against the older one, in both document orders
    ('<pub-date pub-type="ppub"><month>3</month><year>2010</year></pub-date>'
     '<pub-date date-type="pub" publication-format="electronic"><day>5</day><month>2</month><year>2010</year></pub-date>', "2010-02-05"),
    ('<pub-date date-type="publication" publication-format="electronic"><day>7</day><month>1</month><year>2011</year></pub-date>'
     '<pub-date pub-type="epub-ppub"><month>3</month><year>2011</year></pub-date>', "2011-01-07"),
    # a publication date without a format is a publication still: above the collection year
    ('<pub-date pub-type="collection"><year>2012</year></pub-date>'
     '<pub-date date-type="pub"><day>9</day><month>9</month><year>2012</year></pub-date>', "2012-09-09"),
    # a collection in the new vocabulary, above a pmc-release date
    ('<pub-date pub-type="pmc-release"><day>1</day><month>1</month><year>2014</year></pub-date>'
     '<pub-date date-type="collection" publication-format="print"><month>6</month><year>2013</year></pub-date>', "2013-06"),
    # a day that does not exist in its month keeps year and month only
    ('<pub-date pub-type="epub"><day>31</day><month>2</month><year>2015</year></pub-date>', "2015-02"),
])
def test_date_vocabularies_are_ranked_together(dates, expected):
    assert jats.parse(minimal(dates)).date == expected


# --- 2. a space before a "." or "," that starts a number stays ----------------------------------

def test_space_before_a_leading_decimal_point_is_kept():
    a = fixture("decimal-spaces.xml")
    caption = a.figures[0].caption
    assert caption == ("Loadings by item (M = .80). Item loadings of .45, .20 and .15; error bars show "
                       "the SD (P = .9930).")
    assert a.title == "Effect sizes of r = .30 and below"
    for text in (a.text, a.figures[0].contexts[0]):
        assert "(P = .9930)" in text and "(M = .80)" in text and ".45, .20 and .15" in text
    # a space before punctuation that does not start a number still goes
    assert "see Figure 1." in a.text
    assert "r = .61, p < .001; the remaining" in a.text and "(Figure 1)." in a.text


# --- 3. figure ranges stay within one kind and numbering ----------------------------------------

def test_range_across_two_xrefs_skips_figure_supplements():
    a = fixture("figure-supplements.xml")
    assert citing(a, "Both conditions are shown in") == {"fig1", "fig2"}


def test_supplements_and_appendix_figures_are_their_own_series():
    a = fixture("figure-supplements.xml")
    assert citing(a, "Controls are in") == {"fig1s1"}
    assert citing(a, "An overview of all results") == {"fig1", "fig2", "fig3"}
    assert citing(a, "Raw traces") == {"fig1s1", "fig1s2"}
    assert citing(a, "Simulations are in") == {"app1fig1", "app1fig2"}
    # a dash between figures of two different kinds is no range
    assert citing(a, "Compare Figure 2") == {"fig2", "app1fig2"}
    assert figures(a)["fig2s1"].contexts == []


@pytest.mark.parametrize("xrefs, expected", [
    # "Figs. 4 to 2": a comparison, not a range
    ('<xref ref-type="fig" rid="f4">Figs. 4</xref> to <xref ref-type="fig" rid="f2">2</xref>', {"f2", "f4"}),
    ('<xref ref-type="fig" rid="f2">Figs. 2</xref> to <xref ref-type="fig" rid="f4">4</xref>', {"f2", "f3", "f4"}),
    # "Figure 1-2" is a label (extended data 2 of figure 1), not figures 1 to 2
    ('<xref ref-type="fig" rid="e12">Figure 1-2A</xref>', {"e12"}),
    ('<xref ref-type="fig" rid="s1">Figures S1–S3</xref>', {"s1", "s2", "s3"}),
])
def test_range_forms(xrefs, expected):
    figs = "".join(f'<fig id="f{n}"><label>Figure {n}</label></fig>' for n in range(1, 6))
    figs += "".join(f'<fig id="s{n}"><label>Figure S{n}.</label></fig>' for n in range(1, 5))
    figs += '<fig id="e11"><label>Figure 1-1.</label></fig><fig id="e12"><label>Figure 1-2.</label></fig>'
    a = jats.parse(minimal(body=f"<p>Shown in {xrefs}.</p>{figs}"))
    assert citing(a, "Shown in") == expected


# --- 4. footnote / affiliation / correspondence markers leave titles and captions ---------------

def test_markers_are_dropped_from_titles_and_captions():
    a = fixture("title-markers.xml")
    assert a.title == "Gene X regulates Y: is it the Sleeping Beauty?"
    assert a.figures[0].caption == "Growth curves. Cells grew fast in both media (1)."
    assert a.text.startswith("Methods\n\n")
    assert a.authors == ["Jane Doe"]


# --- 5. TeX kept where it is a formula's only form ------------------------------------------------

def test_tex_only_formulas_are_kept_as_dollar_tex():
    a = fixture("tex-only-formula.xml")
    sentence = r"summarized as follows: $y = \alpha x + \beta$ where $\alpha$ is the slope."
    assert sentence in a.text
    assert any(sentence in c for c in a.figures[0].contexts)
    assert a.figures[0].caption == r"Fit of $y = \alpha x$ to the data."
    assert "documentclass" not in a.text


def test_tex_beside_mathml_or_an_image_is_dropped():
    a = fixture("tex-only-formula.xml")
    assert "MathML with a TeX twin: E=mc2 holds." in a.text  # the MathML's text, once
    assert "mc^2" not in a.text
    assert "image with a TeX twin: holds too." in a.text
    assert "F = ma" not in a.text


@pytest.mark.parametrize("formula, expected", [
    ("<inline-formula><alternatives><tex-math>x^2</tex-math></alternatives></inline-formula>", "Let $x^2$ be."),
    ('<inline-formula><alternatives><tex-math>x^2</tex-math><inline-graphic xlink:href="i1"/></alternatives></inline-formula>',
     "Let be."),
    ("<inline-formula><alternatives><mml:math><mml:msup><mml:mi>y</mml:mi><mml:mn>2</mml:mn></mml:msup></mml:math>"
     "<tex-math>y^2</tex-math></alternatives></inline-formula>", "Let y2 be."),
    ("<inline-formula><tex-math>\\(z\\)</tex-math></inline-formula>", "Let $z$ be."),
    ("<inline-formula><tex-math>  </tex-math></inline-formula>", "Let be."),
])
def test_tex_in_alternatives(formula, expected):
    body = f'<p>Let {formula} be.</p>'
    xml = minimal(body=body).replace(b"<article ", b'<article xmlns:mml="http://www.w3.org/1998/Math/MathML" ')
    assert jats.parse(xml).text == expected


# --- markup that carries no words: comments, processing instructions, CDATA, encodings ---------

MARKUP = ('<article-title>Heat<!-- a comment --> shock <?pi x?><![CDATA[<proteins> & stress]]></article-title>',
          '<p>Fig<!--x-->ure <?pi?>one shows <![CDATA[T]]>-cells.</p><?pi between?><!-- between --><p>Two.</p>'
          '<fig id="f1"><label>Fig<!--x-->ure 1</label><caption><p>A <![CDATA[CD4+]]> cell.</p></caption></fig>')


def markup_article(encoding: str) -> bytes:
    meta, body = MARKUP
    text = minimal(meta=f"<title-group>{meta}</title-group>", body=body).decode()
    return f'<?xml version="1.0" encoding="{encoding}"?>\n<?xml-stylesheet href="x.xsl"?>\n{text}'.encode(encoding)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16", "utf-16-be", "iso-8859-1"])
def test_comments_pis_and_cdata_carry_no_words_in_any_encoding(encoding):
    a = jats.parse(markup_article(encoding))
    assert a.title == "Heat shock <proteins> & stress"
    assert a.text == "Figure one shows T-cells.\n\nTwo."
    [fig] = a.figures
    assert (fig.label, fig.caption) == ("Figure 1", "A CD4+ cell.")


# --- tables: their cells are no body text, but figures in or around them are read --------------

def test_tables_in_the_body_hold_no_text_but_their_figures_and_groups_count():
    body = ('<p>Before<table-wrap id="t1"><label>Table 1</label><table><tr><td>cell</td><td>text</td></tr></table>'
            '</table-wrap>, after, see <xref ref-type="fig" rid="f1">Figure 1</xref> and <xref ref-type="fig" rid="g1">2</xref>.</p>'
            '<table-wrap id="t2"><table><tr><td><fig id="f1"><label>Figure 1</label><caption><p>In a <italic>table</italic>.</p>'
            '</caption></fig></td><td><fig-group id="g1"><fig id="f2"><label>Figure 2</label></fig></fig-group></td></tr></table></table-wrap>'
            '<fig id="f3"><label>Figure 3</label><caption><title>Doses</title><table-wrap><table><tr><td>1 mg</td><td>2 mg</td>'
            '</tr></table></table-wrap></caption></fig>')
    a = jats.parse(minimal(body=body))
    assert a.text == "Before, after, see Figure 1 and 2."
    assert [(f.label, f.caption) for f in a.figures] == [("Figure 1", "In a table."), ("Figure 2", ""), ("Figure 3", "Doses 1 mg 2 mg")]
    assert citing(a, "see Figure 1") == {"f1", "f2"}
