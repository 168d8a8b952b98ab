"""The synthetic corpus: reproducible, realistic PMC Cloud / legacy tarball layouts."""
from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
from lxml import etree
from PIL import Image

from pmc_hub import jats, licenses, sources
from pmc_hub.synthetic_corpus import CorpusError, CorpusOptions, iter_articles, make_article, write_corpus

ROOT = Path(__file__).resolve().parent.parent
SMALL = dict(min_side=300, max_side=500)  # small images keep the tests fast


@pytest.fixture(scope="module")
def cloud(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("corpus")
    write_corpus(CorpusOptions(out_dir=out, articles=24, seed=7, **SMALL))
    return out


def test_same_seed_same_article_other_seed_differs():
    a, b = make_article(3, CorpusOptions(out_dir=Path("."), seed=1, **SMALL)), make_article(3, CorpusOptions(out_dir=Path("."), seed=1, **SMALL))
    c = make_article(3, CorpusOptions(out_dir=Path("."), seed=2, **SMALL))
    assert a.xml == b.xml and a.images == b.images
    assert a.xml != c.xml
    stream = list(iter_articles(CorpusOptions(out_dir=Path("."), articles=4, seed=1, **SMALL)))
    assert [x.pmcid for x in stream] == ["PMC90000000", "PMC90000001", "PMC90000002", "PMC90000003"]
    assert stream[3].xml == a.xml


def test_cloud_layout_files_and_metadata(cloud):
    folders = sorted(p for p in cloud.iterdir() if p.name.startswith("PMC"))
    assert len(folders) == 24
    summary = json.loads((cloud / "corpus.json").read_text())
    assert summary["articles"] == 24
    figures = 0
    for folder in folders:
        base = folder.name
        assert base.endswith(".1")
        meta = json.loads((folder / f"{base}.json").read_text())
        assert meta == json.loads((cloud / "metadata" / f"{base}.json").read_text())
        assert meta["pmcid"] + ".1" == base and meta["is_pmc_openaccess"] is True
        assert (folder / f"{base}.txt").stat().st_size > 0
        for url in meta["media_urls"]:
            name, md5 = url.split("/")[-1].split("?md5=")
            assert url.startswith(f"s3://pmc-oa-opendata/{base}/")
            assert hashlib.md5((folder / name).read_bytes()).hexdigest() == md5
        images = [p for p in folder.iterdir() if p.suffix in (".jpg", ".png")]
        assert len(images) == len(meta["media_urls"]) <= 12
        figures += len(images)
        for image in images:
            with Image.open(image) as im:
                assert im.format == {".jpg": "JPEG", ".png": "PNG"}[image.suffix]
                assert 300 <= min(im.size) and max(im.size) <= 500
    assert figures == summary["figures"] > 24
    assert set(summary["licenses"]) >= {"CC BY", "CC BY-NC", "CC0"}


def test_jats_is_parsed_by_our_parser_with_figures_and_citations(cloud):
    for folder in sorted(p for p in cloud.iterdir() if p.name.startswith("PMC"))[:10]:
        meta = json.loads((folder / f"{folder.name}.json").read_text())
        article = jats.parse((folder / f"{folder.name}.xml").read_bytes())
        assert article.pmcid == meta["pmcid"] and article.pmid == meta["pmid"] and article.doi == meta["doi"]
        hrefs = {Path(u.split("?")[0]).stem for u in meta["media_urls"]}
        assert {g.href for f in article.figures for g in f.graphics} == hrefs
        for fig in article.figures:
            assert fig.caption and fig.label.startswith("Figure ")
        root = etree.parse(str(folder / f"{folder.name}.xml")).getroot()
        cited = {x.get("rid") for x in root.iter("xref") if x.get("ref-type") == "fig" and x.getparent().tag == "p"}
        assert cited == {f.figure_id for f in article.figures}, f"{folder.name}: every figure is cited from the body"
        expected = {"CC BY": "commercial", "CC0": "commercial", "CC BY-NC": "noncommercial",
                    "CC BY-NC-ND": "noncommercial", None: "other"}[meta["license_code"]]
        url = next((lic.url for lic in article.licenses if lic.url), None)
        assert (licenses.category_of_url(url) if url else "other") == expected


def test_xml_declares_a_dtd_that_safe_parsing_never_loads(cloud):
    xml = next(cloud.glob("PMC*/PMC*.xml")).read_bytes()
    assert b"<!DOCTYPE article PUBLIC" in xml
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    assert etree.fromstring(xml, parser).tag == "article"


def test_sources_read_the_cloud_layout(cloud):
    packages = list(sources.open_sources([cloud]))
    assert len(packages) == 24
    first = packages[0]
    assert first.package_id == "PMC90000000.1" and first.metadata["pmcid"] == "PMC90000000"


def test_targz_layout_is_deterministic_and_readable(tmp_path):
    for run in ("a", "b"):
        write_corpus(CorpusOptions(out_dir=tmp_path / run, articles=3, seed=3, layout="targz", **SMALL))
    names = sorted(p.name for p in (tmp_path / "a").glob("*.tar.gz"))
    assert names == ["PMC90000000.tar.gz", "PMC90000001.tar.gz", "PMC90000002.tar.gz"]
    for name in names:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    with tarfile.open(tmp_path / "a" / names[0]) as tar:
        members = tar.getnames()
    assert members[0] == "PMC90000000/synth-90000000.nxml"
    assert all(m.startswith("PMC90000000/") for m in members)
    packages = list(sources.open_sources([tmp_path / "a"]))
    assert len(packages) == 3
    assert all(len(p.media) == len(jats.parse(p.xml).figures) for p in packages)


def test_both_layouts_hold_the_same_articles(tmp_path):
    write_corpus(CorpusOptions(out_dir=tmp_path, articles=2, layout="both", **SMALL))
    xml = (tmp_path / "cloud" / "PMC90000001.1" / "PMC90000001.1.xml").read_bytes()
    with tarfile.open(tmp_path / "targz" / "PMC90000001.tar.gz") as tar:
        assert tar.extractfile("PMC90000001/synth-90000001.nxml").read() == xml


def test_parallel_generation_equals_serial(tmp_path):
    write_corpus(CorpusOptions(out_dir=tmp_path / "s", articles=4, seed=5, **SMALL))
    write_corpus(CorpusOptions(out_dir=tmp_path / "p", articles=4, seed=5, workers=2, **SMALL))
    for f in (tmp_path / "s").rglob("*"):
        if f.is_file() and f.name != "corpus.json":
            assert f.read_bytes() == (tmp_path / "p" / f.relative_to(tmp_path / "s")).read_bytes()


def test_bad_options_are_named(tmp_path):
    with pytest.raises(CorpusError, match="layout 'zip'"):
        write_corpus(CorpusOptions(out_dir=tmp_path, layout="zip"))
    bad = tmp_path / "bad.xml"
    bad.write_text("<article><front/></article>")
    with pytest.raises(CorpusError, match="bad.xml: not a JATS article"):
        write_corpus(CorpusOptions(out_dir=tmp_path, articles=1, templates=[bad]))


def test_make_corpus_script(tmp_path):
    out = subprocess.run([sys.executable, str(ROOT / "scripts" / "make_corpus.py"), str(tmp_path), "--articles", "2",
                          "--max-side", "400", "--seed", "9"], capture_output=True, text=True, check=True).stdout
    assert json.loads(out)["articles"] == 2
    assert len(list(tmp_path.glob("PMC*.1"))) == 2


@pytest.mark.slow
def test_bench_script_at_tiny_size_writes_every_section(tmp_path):
    out = tmp_path / "bench.json"
    subprocess.run([sys.executable, str(ROOT / "scripts" / "bench.py"), "--articles", "3", "--max-side", "400",
                    "--workers", "1", "--repeat", "1", "--work-dir", str(tmp_path / "work"), "--json", str(out)],
                   capture_output=True, text=True, check=True, timeout=300)
    report = json.loads(out.read_text())
    assert {"machine", "corpus", "parse", "work_floor", "build", "build_vs_floor", "projection", "read",
            "stage_breakdown"} <= set(report)
    steps = report["stage_breakdown"]
    assert {"jats_extraction", "image_inspection", "labels", "validation", "arrow_handover", "other"} <= set(steps)
    assert steps["stage_total"] >= steps["image_inspection"] > 0 and steps["floor_image_work"] > 0
    assert report["work_floor"]["images"] == report["corpus"]["figures"]
    assert report["build_vs_floor"]["build_vs_floor_wall"] > 0 and report["build_vs_floor"]["build_vs_floor_cpu"] > 0
    assert report["corpus"]["articles"] == 3
    assert {"pmc_hub_ms_per_article", "pubmed_parser_ms_per_article", "speedup_vs_pubmed_parser"} <= set(report["parse"])
    one = report["build"]["workers_1"]
    assert one["figures_written"] == report["corpus"]["figures"] > 0
    assert {"articles_per_s_per_core", "figures_per_s_per_core", "input_mb_per_s", "peak_rss_tree_mb"} <= set(one)
    assert report["read"]["parquet"]["decoded"]["rows"] == report["read"]["webdataset"]["decoded"]["rows"] == one["figures_written"]
    assert report["projection"]["cpu_hours_build"] > 0
