"""License classification: codes, URLs of every CC version, free text, and the safety property."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import SAMPLES
from pmc_hub import jats, licenses
from pmc_hub.licenses import COMMERCIAL, NONCOMMERCIAL, OTHER, classify


@pytest.mark.parametrize("code, category", [
    ("CC0", COMMERCIAL), ("CC BY", COMMERCIAL), ("CC BY-SA", COMMERCIAL), ("CC BY-ND", COMMERCIAL),
    ("CC BY-NC", NONCOMMERCIAL), ("CC BY-NC-SA", NONCOMMERCIAL), ("CC BY-NC-ND", NONCOMMERCIAL),
    ("NO-CC CODE", OTHER), ("TDM", OTHER), ("cc by 4.0", COMMERCIAL), ("something new", OTHER),
])
def test_pmc_codes(code, category):
    assert classify(code=code).category == category


@pytest.mark.parametrize("url, category, code", [
    ("http://creativecommons.org/licenses/by/2.0", COMMERCIAL, "CC BY 2.0"),
    ("https://creativecommons.org/licenses/by/3.0/igo/", COMMERCIAL, "CC BY 3.0 IGO"),
    ("http://creativecommons.org/licenses/by/2.5/es/", COMMERCIAL, "CC BY 2.5"),
    ("https://creativecommons.org/licenses/by-sa/4.0/", COMMERCIAL, "CC BY-SA 4.0"),
    ("https://creativecommons.org/licenses/by-nd/3.0/", COMMERCIAL, "CC BY-ND 3.0"),
    ("https://creativecommons.org/licenses/by-nc/4.0/", NONCOMMERCIAL, "CC BY-NC 4.0"),
    ("http://creativecommons.org/licenses/by-nc-sa/3.0/", NONCOMMERCIAL, "CC BY-NC-SA 3.0"),
    ("https://creativecommons.org/licenses/by-nc-nd/3.0/igo/", NONCOMMERCIAL, "CC BY-NC-ND 3.0 IGO"),
    ("https://creativecommons.org/publicdomain/zero/1.0/", COMMERCIAL, "CC0"),
    ("https://creativecommons.org/publicdomain/mark/1.0/", COMMERCIAL, "PDM"),
    ("https://www.elsevier.com/tdm/userlicense/1.0/", OTHER, None),
])
def test_urls(url, category, code):
    decision = classify(url=url)
    assert decision.category == category
    assert decision.code == code
    assert decision.url == url


@pytest.mark.parametrize("text, category", [
    ("This is an open-access article distributed under the terms of the Creative Commons Attribution License", COMMERCIAL),
    ("distributed under the Creative Commons Attribution-NonCommercial-ShareAlike 3.0 Unported license", NONCOMMERCIAL),
    ("the use is non\u2010commercial and no modifications or adaptations are made", NONCOMMERCIAL),
    ("This is an open access article under the terms of the http://creativecommons.org/licenses/by-nc-nd/4.0/ License", NONCOMMERCIAL),
    ("This is an open-access article distributed under the terms of the Creative Commons Public Domain declaration", COMMERCIAL),
    ("Copyright \u00a9 2004 Mattoon et al; licensee BioMed Central Ltd.", None),
])
def test_free_text(text, category):
    assert licenses.category_of_text(text) == category


def test_most_restrictive_signal_wins():
    # a CC BY URL whose text restricts to noncommercial use
    d = classify(url="http://creativecommons.org/licenses/by/4.0/", text="permits unrestricted non-commercial use")
    assert d.category == NONCOMMERCIAL
    # PMC's code says CC BY but the XML says NC
    assert classify(code="CC BY", url="https://creativecommons.org/licenses/by-nc/4.0/").category == NONCOMMERCIAL
    # an unknown URL beside a CC BY code: unknown terms are not commercial
    assert classify(code="CC BY", url="https://publisher.example/terms").category == OTHER
    assert classify().category == OTHER


@pytest.mark.parametrize("folder, category", [
    ("PMC3166277", COMMERCIAL),  # CC BY 2.0 URL
    ("PMC2958468", NONCOMMERCIAL),  # CC BY-NC-SA 3.0
    ("PMC2599765", COMMERCIAL),  # US government work, public domain
    ("PMC1240052", COMMERCIAL),  # CC BY only in <copyright-statement> (older PLOS)
    ("PMC534114", COMMERCIAL),  # license-type="open-access" says nothing; its URL is CC BY 2.0
    ("PMC13320716", COMMERCIAL),  # ali:license_ref
    ("oai-pmh/PMC9000000.xml", OTHER),  # PMC's COVID-era terms: not a CC license
    ("oai-pmh/PMC9500000.xml", NONCOMMERCIAL),
])
def test_real_articles(folder, category):
    path = SAMPLES / folder
    article = jats.parse((path if path.is_file() else next(path.glob("*.nxml"))).read_bytes())
    statements = [(s.license_type, s.url, s.text) for s in article.licenses]
    assert classify(extra=statements).category == category


NC_SIGNALS = st.sampled_from([
    ("code", "CC BY-NC"), ("code", "CC BY-NC-ND"), ("code", "TDM"), ("code", "NO-CC CODE"), ("code", "bogus"),
    ("url", "https://creativecommons.org/licenses/by-nc/4.0/"), ("url", "http://creativecommons.org/licenses/by-nc-sa/2.0/uk/"),
    ("url", "https://publisher.example/license"),
    ("text", "Creative Commons Attribution-NonCommercial 4.0"), ("text", "for non-commercial purposes only"),
])
ANY_SIGNAL = st.one_of(NC_SIGNALS, st.sampled_from([
    ("code", "CC BY"), ("code", "CC0"), ("url", "https://creativecommons.org/licenses/by/4.0/"),
    ("url", "https://creativecommons.org/publicdomain/zero/1.0/"), ("text", "Creative Commons Attribution License"),
    ("text", "Copyright the authors"), ("type", "open-access"),
]), st.tuples(st.sampled_from(["code", "url", "text", "type"]), st.text(max_size=40)))


def _classify(signals):
    code = next((v for k, v in signals if k == "code"), None)
    extra = [(v if k == "type" else None, v if k == "url" else None, v if k == "text" else None) for k, v in signals if k != "code"]
    return classify(code=code, extra=extra)


@settings(max_examples=400, deadline=None)
@given(st.lists(ANY_SIGNAL, max_size=5), NC_SIGNALS, st.lists(ANY_SIGNAL, max_size=5))
def test_property_no_restricted_signal_reaches_commercial(before, restricted, after):
    """Whatever else an article says, one noncommercial or unknown-terms signal keeps it out of commercial.
    (A second `code` is not a signal PMC can give, so only the first code counts.)"""
    signals = before + [restricted] + after
    if restricted[0] == "code":
        signals = [s for s in signals if s[0] != "code" or s is restricted]
        signals.remove(restricted)
        signals.insert(0, restricted)
    assert _classify(signals).category != COMMERCIAL


@settings(max_examples=300, deadline=None)
@given(st.lists(ANY_SIGNAL, max_size=6), st.randoms(use_true_random=False))
def test_property_the_most_restrictive_signal_decides_in_any_order(signals, rnd):
    """The decision is the most restrictive of what each signal says on its own (a signal that says
    nothing counts for nothing; no signal at all is `other`), whatever their order."""
    code = next((s for s in signals if s[0] == "code"), None)
    signals = [s for s in signals if s[0] != "code" or s is code]  # PMC gives one code at most
    alone = [c for s in signals for _, c in _classify([s]).signals]
    expected = max(alone, key=[COMMERCIAL, NONCOMMERCIAL, OTHER].index) if alone else OTHER
    shuffled = list(signals)
    rnd.shuffle(shuffled)
    assert _classify(signals).category == _classify(shuffled).category == expected
