"""MeSH terms from real PubMed records: local files and a loopback E-utilities efetch server."""
from __future__ import annotations

import gzip

import pytest

from cloud_fixtures import PUBMED, EfetchServer
from pmc_hub.mesh import MeshError, MeshLookup, PubmedFiles, RateLimiter, normalize_pmid, parse_pubmed
from pmc_hub.remote import RetryPolicy

FAST = RetryPolicy(attempts=3, backoff=0.01, max_backoff=0.05)
SAMPLE_FILES = sorted(PUBMED.glob("*.xml"))

# From 26846451.xml's MeshHeadingList, in PubMed's order.
EXPECTED_26846451 = [
    "Adult", "Bacteria", "Bacteriuria", "Cluster Analysis", "Extracellular Vesicles", "Female", "Humans",
    "Metagenome", "Metagenomics", "Pregnancy", "RNA, Ribosomal, 16S", "Young Adult",
]
WITHOUT_MESH = ["29540945", "34567890", "36789012", "37456789", "38123456"]


def test_descriptor_terms_from_pubmed_files():
    lookup = MeshLookup.from_files(SAMPLE_FILES)
    terms = lookup.terms(["26846451", "27350240", "29540945", "99999999"])
    assert terms["26846451"] == EXPECTED_26846451
    assert terms["27350240"] == ["Motion Perception", "Neurosciences"]
    assert terms["29540945"] is None  # PubMed has no MeSH for it: None, never []
    assert terms["99999999"] is None  # unknown PMID
    assert all(lookup.terms(WITHOUT_MESH)[p] is None for p in WITHOUT_MESH)
    with_mesh = lookup.terms(r.pmid for f in SAMPLE_FILES for r in parse_pubmed(f))
    assert sum(t is not None for t in with_mesh.values()) == 10


def test_qualifiers_and_major_topics():
    rec = next(parse_pubmed(PUBMED / "26846451.xml"))
    bacteria = next(h for h in rec.headings if h.descriptor == "Bacteria")
    assert bacteria.ui == "D001419" and not bacteria.major and bacteria.is_major
    assert [(q.name, q.major) for q in bacteria.qualifiers] == [("classification", False), ("genetics", True), ("metabolism", True)]
    qualified = MeshLookup.from_files(SAMPLE_FILES, style="qualified").terms(["26846451"])["26846451"]
    assert "Bacteria/classification" in qualified and "Adult" in qualified and "Bacteria" not in qualified
    major = MeshLookup.from_files(SAMPLE_FILES, major_only=True).terms(["26846451"])["26846451"]
    assert major == ["Bacteria", "Bacteriuria", "Extracellular Vesicles", "Metagenome", "Metagenomics", "RNA, Ribosomal, 16S"]


def test_gzipped_baseline_then_update_file_with_a_deletion(tmp_path):
    baseline = tmp_path / "pubmed26n0001.xml.gz"
    baseline.write_bytes(gzip.compress((PUBMED / "25760099.xml").read_bytes()))
    update = tmp_path / "pubmed26n1300.xml"
    update.write_text("<PubmedArticleSet><DeleteCitation><PMID Version=\"1\">25760099</PMID></DeleteCitation></PubmedArticleSet>")
    assert MeshLookup.from_files([baseline]).terms(["25760099"])["25760099"][:2] == ["Economic Competition", "Germany"]
    assert MeshLookup.from_files([baseline, update]).terms(["25760099"])["25760099"] is None
    # Only the PMIDs asked for are indexed; asking for others is an error, not a silent None.
    files = PubmedFiles(SAMPLE_FILES, pmids=["26846451"])
    with pytest.raises(MeshError, match="27350240"):
        MeshLookup(files).terms(["27350240"])


def test_untrusted_xml_is_parsed_without_entities_dtd_or_network(tmp_path):
    evil = tmp_path / "evil.xml"
    evil.write_text(
        '<?xml version="1.0"?><!DOCTYPE PubmedArticleSet [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
        "<PubmedArticleSet><PubmedArticle><MedlineCitation><PMID>1</PMID><MeshHeadingList><MeshHeading>"
        '<DescriptorName UI="D1" MajorTopicYN="N">Humans&xxe;</DescriptorName></MeshHeading></MeshHeadingList>'
        "</MedlineCitation></PubmedArticle></PubmedArticleSet>")
    terms = MeshLookup.from_files([evil]).terms(["1"])["1"]
    assert terms and not any("root:" in t for t in terms)
    broken = tmp_path / "broken.xml"
    broken.write_text("<PubmedArticleSet><PubmedArticle>")
    with pytest.raises(MeshError, match="broken.xml"):
        MeshLookup.from_files([broken]).terms(["1"])
    with pytest.raises(MeshError, match="not found"):
        PubmedFiles([tmp_path / "missing.xml.gz"])


def test_efetch_batches_by_pmid_and_matches_out_of_order_answers():
    with EfetchServer() as server:
        server.fail = 1  # one 429 first: retried
        lookup = MeshLookup.from_eutils(server.url, api_key="KEY", rate=1000, retry=FAST)
        known = list(server.records)
        unknown = [str(40000000 + i) for i in range(190)]
        pmids = unknown[:100] + known + unknown[100:]
        terms = lookup.terms(pmids)
        real_calls = [c for c in server.calls[1:]]
        assert [len(c["id"].split(",")) for c in real_calls] == [200, 5]
        assert all(c["db"] == "pubmed" and c["retmode"] == "xml" and c["api_key"] == "KEY" for c in real_calls)
        assert terms["26846451"] == EXPECTED_26846451
        assert terms["27350240"] == ["Motion Perception", "Neurosciences"]
        assert all(terms[p] is None for p in unknown + WITHOUT_MESH)
        # Same answers as the files, whatever the order of request and response.
        from_files = MeshLookup.from_files(SAMPLE_FILES).terms(known)
        assert MeshLookup.from_eutils(server.url, rate=1000, batch_size=4).terms(list(reversed(known))) == from_files
        # Cached: asking again sends nothing.
        sent = len(server.calls)
        lookup.terms(known)
        assert len(server.calls) == sent


def test_efetch_gives_up_with_a_clear_error():
    with EfetchServer() as server:
        server.fail = 10
        lookup = MeshLookup.from_eutils(server.url, rate=1000, retry=FAST)
        with pytest.raises(MeshError, match=r"efetch PMIDs 26846451\.\.26846451.*429"):
            lookup.terms(["26846451"])


def test_apply_sets_mesh_terms_on_rows_by_pmid():
    rows = [
        {"article_accession_id": "PMC4892867", "image_key": "a/f1", "article_pmid": "26846451", "article_mesh_terms": None},
        {"article_accession_id": "PMC4892867", "image_key": "a/f2", "article_pmid": "26846451", "article_mesh_terms": None},
        {"article_accession_id": "PMC5844442", "image_key": "b/f1", "article_pmid": "29540945", "article_mesh_terms": None},
        {"article_accession_id": "PMC1", "image_key": "c/f1", "article_pmid": None, "article_mesh_terms": None},
        {"article_accession_id": "PMC2", "image_key": "d/f1", "article_pmid": "n/a", "article_mesh_terms": None},
        {"article_accession_id": "PMC5556699", "image_key": "e/f1", "article_pmid": 28495875, "article_mesh_terms": None},
    ]
    out = list(MeshLookup.from_files(SAMPLE_FILES).apply(iter(rows), batch_size=4))
    assert [r["image_key"] for r in out] == ["a/f1", "a/f2", "b/f1", "c/f1", "d/f1", "e/f1"]
    assert out[0]["article_mesh_terms"] == EXPECTED_26846451 == out[1]["article_mesh_terms"]
    assert out[0]["article_mesh_terms"] is not out[1]["article_mesh_terms"]
    assert [r["article_mesh_terms"] for r in out[2:5]] == [None, None, None]
    assert "Interleukin-13" in out[5]["article_mesh_terms"]


def test_rate_limiter_spaces_requests():
    now = [100.0]
    slept = []

    def sleep(s):
        slept.append(round(s, 6))
        now[0] += s

    limiter = RateLimiter(3, clock=lambda: now[0], sleep=sleep)
    for _ in range(4):
        limiter.wait()
    assert slept == [round(1 / 3, 6)] * 3
    now[0] += 10
    limiter.wait()
    assert len(slept) == 3


def test_bad_pmids_and_options_are_rejected():
    assert normalize_pmid(" 00123 ") == "123"
    with pytest.raises(ValueError, match="not a PMID: 'PMC123'"):
        normalize_pmid("PMC123")
    with pytest.raises(ValueError, match="style"):
        MeshLookup.from_files(SAMPLE_FILES, style="tree")
    with pytest.raises(ValueError, match="batch_size"):
        MeshLookup.from_eutils("http://127.0.0.1:9/", batch_size=500)


def test_a_missing_mesh_file_is_a_one_line_usage_error(tmp_path, capsys):
    from cli_checks import one_line_error
    from pmc_hub import cli

    missing = tmp_path / "pubmed26n0001.xml.gz"
    rc = cli.main(["build", "--out", str(tmp_path / "out"), "--no-progress", "--mesh-xml", str(missing)])
    assert rc == 2  # a file named on the command line: a usage error
    assert f"PubMed XML file(s) not found: {missing}" in one_line_error(capsys)
