"""Fuzzing whole builds (issue 9): real sample JATS and PMC Cloud metadata JSON, mutated by
hypothesis (types, truncation, huge numbers, control characters, deep nesting). Whatever an
example holds, the build finishes, every input article is written or in the report, and the clean
control article beside them is always written. PMC_HUB_FUZZ_EXAMPLES=500 runs a longer campaign."""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import SAMPLES, jpeg_bytes, run_build, shard_rows
from pmc_hub import jats

SEEDS = [SAMPLES / "PMC3166277" / "PMC3166277.nxml", SAMPLES / "PMC2599765" / "PMC2599765.nxml",
         SAMPLES / "europepmc-2026" / "PMC13125388.xml", SAMPLES / "oai-pmh" / "PMC9000000.xml"]
JUNK = ["\x00", "\x1b[2J", "\ufffe", "99999999999999999999999", "-1", "&xxe;", "<", "]]>", "<xref ref-type=\"fig\" rid=\"F1\">Figures 1-99999999999</xref>",
        "<sec>" * 3000, "</article>", "<?xml version='1.0'?>", "<!DOCTYPE a [<!ENTITY b 'c'>]>", "\ud800"]
json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=40)
                           | st.sampled_from(JUNK), lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=12)
METADATA_FIELDS = ["pmcid", "version", "pmid", "doi", "title", "license_code", "xml_url", "media_urls", "is_pmc_openaccess"]


@st.composite
def mutated_xml(draw) -> bytes:
    text = draw(st.sampled_from(SEEDS)).read_text(encoding="utf-8")
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["truncate", "insert", "delete", "duplicate", "number"]))
        at = draw(st.integers(0, len(text)))
        if kind == "truncate":
            text = text[:at]
        elif kind == "insert":
            text = text[:at] + draw(st.sampled_from(JUNK) | st.text(max_size=20)) + text[at:]
        elif kind == "delete":
            text = text[:at] + text[at + draw(st.integers(1, 400)):]
        elif kind == "duplicate":
            text = text[:at] + text[at:at + draw(st.integers(1, 2000))] * draw(st.integers(2, 30)) + text[at:]
        else:
            text = text.replace("<label>", f"<label>{draw(st.integers(-10**30, 10**30))}", 1)
    return text.encode("utf-8", "surrogatepass")


@st.composite
def metadata(draw) -> bytes:
    fields = draw(st.dictionaries(st.sampled_from(METADATA_FIELDS), json_values, max_size=len(METADATA_FIELDS)))
    raw = json.dumps(fields)
    return raw[: draw(st.integers(0, len(raw)))].encode() if draw(st.booleans()) and raw else raw.encode()


def _article(root: Path, name: str, xml: bytes, meta: bytes | None) -> None:
    folder = root / name
    folder.mkdir()
    (folder / f"{name}.xml").write_bytes(xml)
    if meta is not None:
        (folder / f"{name}.json").write_bytes(meta)
    try:
        hrefs = {g.href for f in jats.parse(xml).figures for g in f.graphics}
    except jats.JATSError:
        hrefs = set()
    for i, href in enumerate(sorted(hrefs)[:5]):
        safe = href.replace("/", "_")[:80] or f"g{i}"
        (folder / f"{safe}.jpg").write_bytes(jpeg_bytes(i))


@settings(max_examples=int(os.environ.get("PMC_HUB_FUZZ_EXAMPLES", 25)), deadline=None,
          suppress_health_check=list(HealthCheck), derandomize="PMC_HUB_FUZZ_EXAMPLES" not in os.environ)
@given(st.lists(st.tuples(mutated_xml(), st.none() | metadata()), min_size=1, max_size=3))
def test_mutated_articles_never_stop_a_build(articles):
    work = Path(tempfile.mkdtemp(prefix="fuzz-"))
    try:
        corpus = work / "corpus"
        corpus.mkdir()
        control = corpus / "PMC3166277"
        shutil.copytree(SAMPLES / "PMC3166277", control)
        for g in sorted({g.href for f in jats.parse(next(control.glob("*.nxml")).read_bytes()).figures for g in f.graphics}):
            (control / f"{g}.jpg").write_bytes(jpeg_bytes(hash(g) % 1000))
        names = [f"PMC9{i:07d}.1" for i in range(len(articles))]
        for name, (xml, meta) in zip(names, articles):
            _article(corpus, name, xml, meta)
        out = work / "out"
        report = run_build([corpus], out, article_seconds=60)
        assert report.articles_in == len(articles) + 1
        written = {r["article_accession_id"] for r in shard_rows(out, "articles")}
        reported = {s["article"] for s in report.skipped}
        for name in names:  # reported under its package (PMC9.1) or its article id (PMC9)
            assert {name, name.split(".")[0]} & (written | reported), name
        assert "PMC3166277" in written
        assert {r["article_accession_id"] for r in shard_rows(out, "commercial")} >= {"PMC3166277"}
        assert (out / ".pmc-hub" / "manifest.json").is_file()
    finally:
        shutil.rmtree(work, ignore_errors=True)
