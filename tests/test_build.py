"""End to end: sources -> build -> load_dataset, the build report, bad input, resume and workers."""
from __future__ import annotations

import importlib
import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import datasets
import pyarrow.parquet as pq
import pytest

from conftest import DATA, SAMPLES, jats_article as _article, jats_fig as _fig, jpeg_bytes, pmc_article_folder, run_build, shard_rows
from pmc_hub import jats
from pmc_hub.build import BuildError
from pmc_hub.config import BuildConfig
from pmc_hub.output import default_release, shard_files
from pmc_hub.resources import sample_dir
from pmc_hub.schema import features


def expected_bundled_figures() -> set[tuple[str, str]]:
    """(doi, image file) of every figure image in the bundled articles, read straight from their XML."""
    found = set()
    for folder in sample_dir().iterdir():
        if folder.is_dir():
            article = jats.parse(next(folder.glob("*.xml")).read_bytes())
            for fig in article.figures:
                for g in fig.graphics:
                    found.add((article.doi, g.href))
    return found


def test_bundled_sample_loads_with_every_figure_typed(tmp_path):
    out = tmp_path / "out"
    report = run_build([], out)
    assert report.skip_counts == {}
    expected = expected_bundled_figures()
    assert len(expected) == 46

    ds = datasets.load_dataset(str(out), "commercial", split="train")
    assert ds.features == features("figure")
    assert {(r["article_doi"], r["image_file_name"]) for r in ds.select_columns(["article_doi", "image_file_name"])} == expected
    row = ds[0]
    assert row["image"].size == (row["image_size"]["width"], row["image_size"]["height"])
    assert row["caption"] and row["license_category"] == "commercial"
    assert row["article_mesh_terms"] is None
    for r in ds.select_columns(["image_primary_label", "image_label_id", "image_label_source"]):
        labelled = r["image_primary_label"] is not None  # the label fields come together, or not at all
        assert (r["image_label_id"] is not None, r["image_label_source"] is not None) == (labelled, labelled), r
    assert all(v != "None" for v in row.values() if isinstance(v, str))
    assert isinstance(row["image_set"], list) and row["figure_id"] in row["image_set"]
    assert isinstance(row["article_reference_count"], int)

    streamed = list(datasets.load_dataset(str(out), "commercial", split="train", streaming=True))
    assert len(streamed) == len(ds)
    assert streamed[0]["image"].size == row["image"].size
    assert {r["image_key"] for r in streamed} == set(ds["image_key"])

    articles = datasets.load_dataset(str(out), "articles", split="train")
    assert len(articles) == 6 and all(len(t) > 10_000 for t in articles["article_text"])
    assert "article_text" not in ds.column_names  # full text lives once per article


def test_original_image_bytes_are_kept(tmp_path):
    out = tmp_path / "out"
    run_build([sample_dir() / "ijm-00202"], out)
    table = pq.read_table(shard_files(out, "commercial")[0])
    for image, name in zip(table["image"].to_pylist(), table["image_file_name"].to_pylist()):
        assert image["bytes"] == (sample_dir() / "ijm-00202" / name).read_bytes()


def test_license_groups_go_to_their_configs(tmp_path, mixed_license_corpus):
    out = tmp_path / "out"
    report = run_build([mixed_license_corpus], out)
    assert set(report.configs) == {"commercial", "noncommercial", "other", "articles"}
    for config in ("commercial", "noncommercial", "other"):
        ds = datasets.load_dataset(str(out), config, split="train")
        assert set(ds["license_category"]) == {config}
    nc = datasets.load_dataset(str(out), "noncommercial", split="train")
    assert set(nc["article_accession_id"]) == {"PMC2958468"}
    assert report.licenses == {"commercial": 3, "noncommercial": 1, "other": 1}
    card = (out / "README.md").read_text()
    assert "config_name: noncommercial" in card and "config_name: other" in card


def test_commercial_config_holds_only_commercial_rows_whatever_the_sources(tmp_path):
    """Build the whole NC bulk package next to commercial articles: nothing NC reaches commercial."""
    corpus = tmp_path / "c"
    corpus.mkdir()
    pmc_article_folder("PMC3166277", corpus)
    shutil.copy(SAMPLES / "bulk/oa_noncomm_xml.incr.2024-12-22.tar.gz", corpus)
    out = tmp_path / "out"
    report = run_build([corpus], out)
    assert report.articles_in == 96
    rows = shard_rows(out, "commercial")
    assert {r["article_accession_id"] for r in rows} == {"PMC3166277"}
    articles = datasets.load_dataset(str(out), "articles", split="train")
    assert sum(1 for c in articles["license_category"] if c == "noncommercial") == 95


# --- bad input --------------------------------------------------------------------------------

@pytest.fixture
def bad_corpus(tmp_path) -> Path:
    root = tmp_path / "bad"
    root.mkdir()

    def article(name: str, xml: bytes, files: dict[str, bytes] = {}):
        folder = root / name
        folder.mkdir()
        (folder / f"{name}.nxml").write_bytes(xml)
        for fname, data in files.items():
            (folder / fname).write_bytes(data)

    article("PMC1", b"<article><front><article-meta><title-group>broken")  # malformed
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-CONTENT")
    article("PMC2", _article("2", _fig("f1", "g1", "About &xxe; here."),
                             f'<!DOCTYPE article [<!ENTITY xxe SYSTEM "file://{secret}">]>'), {"g1.jpg": jpeg_bytes(2)})
    article("PMC3", _article("3", _fig("f1", "g1"), '<!DOCTYPE article PUBLIC "-//NLM//DTD JATS//EN" "http://203.0.113.9/x.dtd">'),
            {"g1.jpg": jpeg_bytes(3)})
    article("PMC4", _article("4", _fig("f1", "nothere") + _fig("f2", "g2")), {"g2.jpg": jpeg_bytes(4)})  # missing image
    article("PMC5", _article("5", _fig("f1", "g1") + _fig("f2", "g2")), {"g1.jpg": jpeg_bytes(5)[:200], "g2.jpg": b""})
    article("PMC6", _article("6", _fig("f1", "g1", "") + _fig("f2", None)), {"g1.jpg": jpeg_bytes(6)})  # empty caption, no graphic
    (root / "PMC7.nxml").write_bytes(b"")  # zero-byte XML
    # a legacy package with a member that points outside its folder
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in [("PMC8/PMC8.nxml", _article("8", _fig("f1", "g1"))), ("PMC8/g1.jpg", jpeg_bytes(8)),
                           ("../../escape.txt", b"owned"), ("/abs/path.txt", b"owned")]:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    (root / "PMC8.tar.gz").write_bytes(buf.getvalue())
    return root


def test_bad_input_is_reported_and_the_build_goes_on(tmp_path, bad_corpus):
    out = tmp_path / "work" / "out"
    before = {p for p in tmp_path.rglob("*")}
    report = run_build([bad_corpus], out)
    reasons = {(s["article"], s["figure"], s["reason"]) for s in report.skipped}
    assert ("PMC1", None, "bad XML") in reasons
    assert ("PMC4", "f1", "missing image") in reasons
    assert ("PMC5", "f1", "unreadable image") in reasons
    assert ("PMC5", "f2", "empty image") in reasons
    assert ("PMC6", "f1", "no caption") in reasons
    assert ("PMC6", "f2", "no graphic") in reasons
    assert ("PMC7", None, "bad XML") in reasons  # zero-byte file
    unsafe = [s for s in report.skipped if s["reason"] == "unsafe tar member"]
    assert len(unsafe) == 2 and all("PMC8.tar.gz" in s["detail"] for s in unsafe)
    assert all(s["detail"] for s in report.skipped)

    rows = datasets.load_dataset(str(out), "commercial", split="train")
    assert sorted(rows["image_key"]) == ["PMC2/f1/g1.jpg", "PMC3/f1/g1.jpg", "PMC4/f2/g2.jpg", "PMC8/f1/g1.jpg"]
    assert all("TOP-SECRET" not in c for c in rows["caption"])
    saved = json.loads((out / "build_report.json").read_text())
    assert saved["skip_counts"] == report.skip_counts and saved["images_written"] == 4
    # nothing was written outside the output folder
    after = {p for p in tmp_path.rglob("*")}
    assert {p for p in after - before if out not in p.parents and p != out} == {tmp_path / "work"}
    assert not (tmp_path / "escape.txt").exists() and not Path("/abs/path.txt").exists()


def test_invalid_records_are_rejected():
    from pmc_hub.schema import InvalidRecord, validate

    ds_row = {k: None for k in features("figure")}
    with pytest.raises(InvalidRecord) as e:
        validate("figure", ds_row, "PMC1")
    assert "PMC1" in str(e.value) and any("image" in err for err in e.value.errors)


def test_invalid_row_is_counted_not_written(tmp_path, bad_corpus, monkeypatch):
    from pmc_hub import records

    original = records.figure_row

    def corrupt(*args):
        row = original(*args)
        if row["article_accession_id"] == "PMC3":
            row["article_date"] = "March 2020"  # not ISO
        return row

    monkeypatch.setattr(records, "figure_row", corrupt)  # in this process: run the per-article stage here
    from pmc_hub.sources import open_sources
    from pmc_hub.stage import ArticleStage

    stage = ArticleStage(BuildConfig())
    results = {r.article_id: r for r in map(stage, open_sources([bad_corpus]))}
    invalid = [s for r in results.values() for s in r.skips if s.reason == "invalid record"]
    assert [(s.article, s.figure) for s in invalid] == [("PMC3", "f1")]
    assert "article_date" in invalid[0].detail
    assert results["PMC3"].figure_rows == [] and len(results["PMC4"].figure_rows) == 1


# --- resume, workers, rebuilds ----------------------------------------------------------------

@pytest.fixture
def corpus40(tmp_path) -> Path:
    root = tmp_path / "corpus40"
    root.mkdir()
    for name in ("PMC3166277", "PMC2958468", "PMC2599765", "PMC1240052", "PMC4222443", "PMC5828200",
                 "PMC7289599", "PMC3441633", "oai-pmh/PMC9000000.xml", "oai-pmh/PMC10400000.xml"):
        pmc_article_folder(name, root)
    for xml in sorted((SAMPLES / "europepmc-2026").glob("*.xml")):
        shutil.copy(xml, root)
    return root


def table_rows(out: Path) -> dict[str, list]:
    return {config: shard_rows(out, config) for config in ("commercial", "noncommercial", "other", "articles")}


def test_killed_build_resumes_to_the_same_rows(tmp_path, corpus40):
    reference = tmp_path / "ref"
    ref_report = run_build([corpus40], reference)

    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "pmc_hub.cli", "build", str(corpus40), "--out", str(out), "--no-progress", "--checkpoint-every", "3"]
    for kill_after_batches in (2, 6):
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        journal = out / ".pmc-hub" / "journal.jsonl"
        deadline = time.time() + 120
        while time.time() < deadline and proc.poll() is None:
            if journal.exists() and journal.read_text().count("\n") >= kill_after_batches:
                break
            time.sleep(0.005)
        assert proc.poll() is None, "the build finished before it could be killed"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    assert not (out / "build_report.json").exists()
    done = subprocess.run(cmd, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr

    got, want = table_rows(out), table_rows(reference)
    for config in want:
        assert [r.get("image_key") or r["article_accession_id"] for r in got[config]] == [r.get("image_key") or r["article_accession_id"] for r in want[config]]
        for a, b in zip(got[config], want[config]):
            assert {k: v for k, v in a.items() if v != b[k]} == {}
    assert got == want  # same rows, same order, no duplicate, none missing
    report = json.loads((out / "build_report.json").read_text())
    for key in ("articles_in", "images_in", "images_written", "configs", "skip_counts", "licenses"):
        assert report[key] == json.loads(ref_report.to_json())[key]


def test_workers_give_the_same_output(tmp_path, corpus40):
    one = tmp_path / "one"
    two = tmp_path / "two"
    run_build([corpus40], one)
    run_build([corpus40], two, workers=2)
    assert table_rows(one) == table_rows(two)


def test_shards_partition_the_articles_and_merge_back(tmp_path, corpus40):
    from pmc_hub.merge import MergeError, merge_builds

    whole_report = run_build([corpus40], tmp_path / "all")
    whole = table_rows(tmp_path / "all")
    shard_dirs = [tmp_path / f"s{i}" for i in range(3)]
    for i, d in enumerate(shard_dirs):
        run_build([corpus40], d, shard=(i, 3))
    parts = [table_rows(d) for d in shard_dirs]

    def key(r):
        return r.get("image_key") or r["article_accession_id"]

    for config in whole:
        assert sorted(key(r) for p in parts for r in p[config]) == sorted(key(r) for r in whole[config])
    merged = merge_builds(shard_dirs, tmp_path / "merged")
    assert (merged.articles_in, merged.images_written, merged.configs) == (
        whole_report.articles_in, whole_report.images_written, whole_report.configs)
    for config in ("commercial", "articles"):
        ds = datasets.load_dataset(str(tmp_path / "merged"), config, split="train")
        assert sorted(ds["image_key" if config != "articles" else "article_accession_id"]) == sorted(key(r) for r in whole[config])
    with pytest.raises(MergeError, match="more than one input"):
        merge_builds([shard_dirs[0], shard_dirs[0]], tmp_path / "twice")


def test_rebuilt_folder_never_serves_stale_rows(tmp_path, mixed_license_corpus, monkeypatch):
    """datasets caches a local folder by name; a rebuild into the same folder must still load fresh rows."""
    out = tmp_path / "out"
    cache = tmp_path / "shared_cache"
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", cache)
    run_build([], out)
    first = datasets.load_dataset(str(out), "commercial", split="train", cache_dir=str(cache))
    assert len(first) == 46
    run_build([mixed_license_corpus], out)
    second = datasets.load_dataset(str(out), "commercial", split="train", cache_dir=str(cache))
    assert set(second["article_accession_id"]) == {"PMC3166277", "PMC2599765", "PMC1240052"}


def test_unfinished_build_with_other_sources_is_refused(tmp_path, corpus40, mixed_license_corpus):
    out = tmp_path / "out"
    state = out / ".pmc-hub"
    state.mkdir(parents=True)
    config = BuildConfig(sources=(str(corpus40),)).with_release(default_release())
    (state / "state.json").write_text(json.dumps({"fingerprint": config.fingerprint(), "release": config.release,
                                                  "complete": False}))
    with pytest.raises(BuildError, match="--fresh"):
        run_build([mixed_license_corpus], out)
    assert run_build([mixed_license_corpus], out, fresh=True).articles_in == 5


def test_cli_build_prints_summary(tmp_path):
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "pmc_hub.cli", "build", "--out", str(out), "--no-progress"],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "46 images written" in proc.stdout and "commercial" in proc.stdout
    bad = subprocess.run([sys.executable, "-m", "pmc_hub.cli", "build", str(tmp_path / "nope"), "--out", str(out)],
                         capture_output=True, text=True)
    # a source that does not exist is a usage error (exit 2), found before the finished build is touched
    assert bad.returncode == 2 and "no such file or folder" in bad.stderr
    assert datasets.load_dataset(str(out), "commercial", split="train").num_rows == 46


def test_mesh_terms_are_matched_by_pmid(tmp_path, mixed_license_corpus):
    from pmc_hub.mesh import parse_pubmed

    real = (SAMPLES / "pubmed-mesh" / "25760099.xml").read_text(encoding="utf-8")
    terms = next(parse_pubmed(real.encode())).terms()
    assert terms
    # the same real record, filed under the PMID of one corpus article (PMC3166277)
    pubmed = tmp_path / "pubmed.xml"
    pubmed.write_text(real.replace(">25760099<", ">21810267<"), encoding="utf-8")
    out = tmp_path / "out"
    run_build([mixed_license_corpus], out, mesh_files=[pubmed])
    rows = datasets.load_dataset(str(out), "commercial", split="train").select_columns(["article_accession_id", "article_mesh_terms"])
    for row in rows:
        assert row["article_mesh_terms"] == (terms if row["article_accession_id"] == "PMC3166277" else None)
    articles = datasets.load_dataset(str(out), "articles", split="train")
    assert {a["article_accession_id"]: a["article_mesh_terms"] for a in articles}["PMC3166277"] == terms


def _placed_before_each_result(monkeypatch) -> list[int]:
    """How many articles the build had written each time it took the next result from its engine."""
    build_module = importlib.import_module("pmc_hub.build")

    written, seen = [0], []
    real_add, real_engine = build_module.RowWriter._add, build_module.make_engine

    def add(self, summary):
        written[0] += 1
        return real_add(self, summary)

    class Watched:
        def __init__(self, engine):
            self.engine = engine

        def results(self, packages):
            for result in self.engine.results(packages):
                seen.append(written[0])
                yield result

        def close(self):
            self.engine.close()

    monkeypatch.setattr(build_module.RowWriter, "_add", add)
    monkeypatch.setattr(build_module, "make_engine", lambda config, run: Watched(real_engine(config, run)))
    return seen


def test_each_article_is_written_before_the_next_result_is_taken(tmp_path, mixed_license_corpus, monkeypatch):
    seen = _placed_before_each_result(monkeypatch)
    run_build([mixed_license_corpus], tmp_path / "out")
    assert seen == [0, 1, 2, 3, 4]  # (the workers build on meanwhile)


def test_the_next_package_is_read_while_the_worker_builds(mixed_license_corpus):
    from pmc_hub.engines.local import LocalEngine
    from pmc_hub.sources import open_sources

    read = []

    def packages():
        for package in open_sources([str(mixed_license_corpus)]):
            read.append(package.origin or package.package_id)
            yield package

    engine = LocalEngine(BuildConfig(sources=(str(mixed_license_corpus),), labels="none"), workers=1)
    got = []
    for result in engine.results(packages()):
        got.append(result.origin)
        assert len(read) == min(len(got) + 1, 5)  # one package ahead of the results, never more
    assert got == read and len(got) == 5  # in source order


def test_mesh_terms_reach_every_batch_of_articles(tmp_path, mixed_license_corpus, monkeypatch):
    from pmc_hub.mesh import parse_pubmed

    build_module = importlib.import_module("pmc_hub.build")

    real = (SAMPLES / "pubmed-mesh" / "25760099.xml").read_text(encoding="utf-8")
    terms = next(parse_pubmed(real.encode())).terms()
    pubmed = []  # the same real record, filed under the PMIDs of two corpus articles
    for pmid in ("16187797", "21810267"):  # PMC1240052, PMC3166277
        pubmed.append(tmp_path / f"{pmid}.xml")
        pubmed[-1].write_text(real.replace(">25760099<", f">{pmid}<"), encoding="utf-8")
    monkeypatch.setattr(build_module, "MESH_BATCH", 2)  # 5 articles: batches of 2, 2 and 1
    seen = _placed_before_each_result(monkeypatch)
    run_build([mixed_license_corpus], tmp_path / "out", mesh_files=pubmed)
    assert seen == [0, 0, 2, 2, 4]
    got = {r["article_accession_id"]: r["article_mesh_terms"] for r in shard_rows(tmp_path / "out", "articles")}
    assert len(got) == 5
    assert {a for a, t in got.items() if t is not None} == {"PMC1240052", "PMC3166277"}
    assert all(t == terms for t in got.values() if t is not None)


def test_preloading_leaves_the_end_nothing_to_import_or_compile(tmp_path):
    """What `preload_end` does in the background is what the release index's write and the first
    card would otherwise import (the card's text is the same either way), and never pandas."""
    # (the modules a build's main process holds by its end: the engine's stage, the end's own modules)
    probe = ("import sys, json; from pathlib import Path; from pmc_hub.build import preload_end; "
             "import pmc_hub.engines.local, pmc_hub.finish; before = set(sys.modules); "
             "preload_end().join(); after = set(sys.modules); from pmc_hub.index import ReleaseIndex; "
             "out = Path(sys.argv[1]); ReleaseIndex.read(out).write(Path(sys.argv[2])); "
             "from pmc_hub import cards; from pmc_hub.output import read_manifest; "
             "text = cards.render_card(out, cards.load_report(out), read_manifest(out).files); "
             "print(json.dumps([len(after - before) > 0, sorted(set(sys.modules) - after), text]))")
    out = tmp_path / "out"
    run_build([sample_dir()], out)
    done = subprocess.run([sys.executable, "-c", probe, str(out), str(tmp_path / "again")], capture_output=True, text=True, check=True)
    preloaded, imported_later, text = json.loads(done.stdout)
    assert preloaded and imported_later == []  # it imported what the index and the card need; they, nothing (no pandas)
    assert text == (out / "README.md").read_text(encoding="utf-8")


def test_webdataset_output_beside_parquet(tmp_path, mixed_license_corpus):
    wds_lib = pytest.importorskip("webdataset")
    out, wds = tmp_path / "out", tmp_path / "wds"
    report = run_build([mixed_license_corpus], out, webdataset_dir=wds)
    for config in ("commercial", "noncommercial", "other"):
        parquet_rows = datasets.load_dataset(str(out), config, split="train")
        tar_rows = datasets.load_dataset(str(wds), config, split="train")
        assert len(tar_rows) == len(parquet_rows) == report.configs[config]["train"]
        assert set(tar_rows["txt"]) == set(parquet_rows["caption"])
    shards = sorted(str(p) for p in (wds / "commercial").glob("*.tar"))
    assert shards
    keys = [s["__key__"] for s in wds_lib.WebDataset(shards, shardshuffle=False)]
    assert keys and all("." not in k for k in keys)


def test_subfigures_config_holds_crops_with_subcaptions(tmp_path):
    out = tmp_path / "out"
    report = run_build([sample_dir() / "plosone-0178565", sample_dir() / "elife-30274-v1"], out, subfigures=True)
    subs = datasets.load_dataset(str(out), "subfigures_commercial", split="train")
    figures = datasets.load_dataset(str(out), "commercial", split="train")
    assert len(subs) == report.configs["subfigures_commercial"]["train"] >= len(figures)
    parents = {r["image_key"]: r for r in figures}
    assert set(subs["parent_image_key"]) <= set(parents)
    for row in subs:
        parent = parents[row["parent_image_key"]]
        x0, y0, x1, y1 = row["subfigure_box"]
        assert row["image"].size == (x1 - x0, y1 - y0)
        assert row["license_category"] == "commercial"
        # a subcaption is made of its caption's words (shared words may join a panel's own)
        assert row["subcaption"] and set(re.findall(r"\w+", row["subcaption"])) <= set(re.findall(r"\w+", parent["caption"]))
    assert any(row["alignment_method"] != "full-caption" for row in subs)


def test_default_labels_cover_every_figure_and_agree_with_the_hand_labels(tmp_path):
    from pmc_hub.labels import load_taxonomy
    from pmc_hub.labels.evaluate import load_labelled

    out = tmp_path / "out"
    run_build([], out)
    ds = datasets.load_dataset(str(out), "commercial", split="train")
    rows = list(ds.select_columns(["image_key", "image_file_name", "article_doi", "image_primary_label", "image_label_source",
                                   "image_label_score", "image_label_id", "image_panel_type"]))
    taxonomy = load_taxonomy()
    labelled = [r for r in rows if r["image_primary_label"] is not None]
    assert len(labelled) >= 0.95 * len(rows)  # issue 15: >= 95% get a primary label (45 of 46 here)
    assert all(r["image_panel_type"] in ("single", "multiple") for r in rows)  # ... and every figure a panel type
    for r in labelled:
        assert r["image_label_id"] == taxonomy.primary_named(r["image_primary_label"]).id
        assert r["image_label_source"] in ("caption", "image", "caption+image") and 0.5 <= r["image_label_score"] < 1
    # the bundled figures are hand-labelled in tests/data/figures/labels.json (looked at, not guessed)
    truth = {(Path(f.file).parent.name, Path(f.file).name): f for f in load_labelled(DATA / "figures" / "labels.json")}
    by_folder = {jats.parse(next(d.glob("*.xml")).read_bytes()).doi: d.name for d in sample_dir().iterdir() if d.is_dir()}
    judged = [(r, truth[(by_folder[r["article_doi"]], r["image_file_name"])]) for r in rows]
    agree = sum(r["image_primary_label"] == t.primary for r, t in judged if r in labelled) / len(labelled)
    panels = sum(r["image_panel_type"] == t.panel_type for r, t in judged) / len(judged)
    assert agree >= 0.85 and panels >= 0.9, (agree, panels)
    unlabelled = run_build([], tmp_path / "plain", labels="none")
    plain = datasets.load_dataset(str(tmp_path / "plain"), "commercial", split="train")
    assert set(plain["image_primary_label"]) == {None} and unlabelled.images_written == len(ds)


def test_duplicate_images_across_articles_are_kept_once_and_reported(tmp_path):
    from PIL import Image

    corpus = tmp_path / "c"
    corpus.mkdir()
    first = pmc_article_folder("PMC3166277", corpus)
    second = pmc_article_folder("PMC2599765", corpus)
    original = sorted(first.glob("*.jpg"))[0]
    target = sorted(second.glob("*.jpg"))[0]
    with Image.open(original) as im:  # the same figure, re-encoded at another quality and size
        im.resize((im.width // 2, im.height // 2)).save(target, "JPEG", quality=70)
    out = tmp_path / "out"
    report = run_build([corpus], out)
    # sources are read in sorted order: PMC2599765's copy comes first and is the one kept
    dups = [s for s in report.skipped if s["reason"] == "duplicate image"]
    assert len(dups) == 1 and dups[0]["article"] == "PMC3166277" and target.name in dups[0]["detail"]
    ds = datasets.load_dataset(str(out), "commercial", split="train")
    assert len(ds) == report.configs["commercial"]["train"] == 4 + 3 - 1
    assert not any(k.startswith("PMC3166277/") and k.endswith("/" + original.name) for k in ds["image_key"])
    kept_all = run_build([corpus], tmp_path / "all", dedup=False)
    assert kept_all.images_written == 7


def test_benchmark_split_is_article_disjoint(tmp_path):
    out = tmp_path / "out"
    # 5 pairs: stratified by the default labels (12 classes here) they come from 5 of the 6 sample
    # articles, and every figure of a test article leaves train; 8 would empty `commercial`
    report = run_build([], out, benchmark=5)
    test = datasets.load_dataset(str(out), "benchmark", split="test")
    train = datasets.load_dataset(str(out), "commercial", split="train")
    assert len(test) == 5 == report.benchmark["test_rows"] and len(train) > 0
    assert not set(test["article_accession_id"]) & set(train["article_accession_id"])
    assert not set(test["image_hash"]) & set(train["image_hash"])
    saved = json.loads((out / "build_report.json").read_text())
    assert saved["configs"]["benchmark"] == {"test": 5} and "config_name: benchmark" in (out / "README.md").read_text()


def test_the_same_article_from_two_sources_is_written_once(tmp_path):
    a = pmc_article_folder("PMC3166277", tmp_path / "a")
    b = tmp_path / "b" / "PMC3166277"
    shutil.copytree(a, b)
    report = run_build([a, b], tmp_path / "out")
    assert report.articles_in == 2 and report.articles_written == 1
    (dup,) = [s for s in report.skipped if s["reason"] == "duplicate article"]
    # both files are named: the one kept (a) and the copy skipped (b)
    assert dup["article"] == "PMC3166277" and str(a / "PMC3166277.nxml") in dup["detail"]
    assert dup["detail"].index(str(a)) < dup["detail"].index(str(b)) and "is not written" in dup["detail"]
    assert report.configs["commercial"]["train"] == 4 and report.figures_in == 8


def test_a_journal_line_cut_off_by_a_crash_is_dropped_before_resuming(tmp_path, mixed_license_corpus, monkeypatch):
    from pmc_hub.state import BuildState

    reference = table_rows((run_build([mixed_license_corpus], tmp_path / "ref"), tmp_path / "ref")[1])
    out = tmp_path / "out"
    real_record = BuildState.record
    calls = []

    def dies_half_way_through_the_second_line(self, entry):
        calls.append(entry["checkpoint"])
        if len(calls) < 2:
            return real_record(self, entry)
        with open(self.journal_path, "a", encoding="utf-8") as fh:
            line = json.dumps(entry)
            fh.write(line[: len(line) // 2])
        raise SystemExit("killed while writing the journal")

    monkeypatch.setattr(BuildState, "record", dies_half_way_through_the_second_line)
    with pytest.raises(SystemExit):
        run_build([mixed_license_corpus], out, checkpoint_articles=2)
    monkeypatch.setattr(BuildState, "record", real_record)
    report = run_build([mixed_license_corpus], out, checkpoint_articles=2)
    assert report.articles_in == 5
    journal = out / ".pmc-hub" / "journal.jsonl"
    assert [json.loads(line)["checkpoint"] for line in journal.read_text().splitlines()] == [0, 1, 2]
    assert table_rows(out) == reference


def test_merge_removes_duplicates_across_shard_builds(tmp_path):
    from pmc_hub.merge import merge_builds

    a, b = tmp_path / "a", tmp_path / "b"
    first = pmc_article_folder("PMC3166277", a)
    second = pmc_article_folder("PMC2599765", b)
    copy = sorted(second.glob("*.jpg"))[0]
    copy.write_bytes(sorted(first.glob("*.jpg"))[0].read_bytes())  # the same image in both builds
    run_build([a], tmp_path / "out_a")
    run_build([b], tmp_path / "out_b")
    merged = merge_builds([tmp_path / "out_a", tmp_path / "out_b"], tmp_path / "merged")
    assert merged.configs["commercial"]["train"] == 4 + 3 - 1
    assert merged.skip_counts.get("duplicate image") == 1
    ds = datasets.load_dataset(str(tmp_path / "merged"), "commercial", split="train")
    assert len(ds) == 6 and len(set(ds["image_hash"])) == 6


def test_rebuild_with_the_same_row_counts_still_loads_new_rows(tmp_path, monkeypatch):
    corpus = tmp_path / "c"
    folder = pmc_article_folder("PMC3166277", corpus)
    out, cache = tmp_path / "out", tmp_path / "shared_cache"
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", cache)
    run_build([corpus], out)
    first = datasets.load_dataset(str(out), "commercial", split="train", cache_dir=str(cache))
    image = sorted(folder.glob("*.jpg"))[0]
    image.write_bytes(jpeg_bytes(999, size=(400, 300)))  # same figure, new image: same row count
    run_build([corpus], out)
    second = datasets.load_dataset(str(out), "commercial", split="train", cache_dir=str(cache))
    assert len(second) == len(first) == 4
    assert set(second["image_hash"]) != set(first["image_hash"])


def _each_article_in_the_shard_its_index_names(out: Path) -> int:
    """Every article of every figure shard is where the release index says its rows are; returns
    the number of shards."""
    import pyarrow.parquet as pq

    from pmc_hub.index import ReleaseIndex
    from pmc_hub.output import read_manifest

    where = {(e.article_id, config): path for e in ReleaseIndex.read(out).articles.values() for config, path in e.files.items()}
    manifest, shards = read_manifest(out), 0
    for config in ("commercial", "noncommercial", "other"):
        for path in manifest.shards(config):
            shards += 1
            for article in set(pq.read_table(out / path, columns=["article_accession_id"]).column(0).to_pylist()):
                assert where[(article, config)] == path, (article, config)
    return shards


def _built(corpus: Path, out: Path, layout) -> Path:
    run_build([corpus], out, layout=layout)
    return out


def test_no_shard_ends_inside_an_articles_rows(tmp_path, corpus40):
    # the release index records one shard per config and article: an update rewrites that shard
    # alone, so rows of the article left in another would outlive their article
    from pmc_hub.config import ShardLayout
    from pmc_hub.merge import merge_builds

    small = ShardLayout(shard_bytes=150_000, row_group_rows=2)  # many shards; rows read two at a time
    assert _each_article_in_the_shard_its_index_names(_built(corpus40, tmp_path / "built", small)) > 6
    jobs = [tmp_path / f"s{i}" for i in range(2)]
    for i, d in enumerate(jobs):
        run_build([corpus40], d, shard=(i, 2))
    merge_builds(jobs, tmp_path / "merged", layout=small)
    assert _each_article_in_the_shard_its_index_names(tmp_path / "merged") > 6


def test_shards_synced_in_the_background_are_whole_and_hashed_as_written(tmp_path, monkeypatch):
    import hashlib

    import pyarrow as pa

    from pmc_hub import writers
    from pmc_hub.config import ShardLayout

    synced = []
    monkeypatch.setattr(writers, "SYNC_BYTES", 4096)  # a background sync every few row groups
    monkeypatch.setattr(writers, "_DATASYNC", lambda fd: synced.append(os.fstat(fd).st_size))
    schema = pa.schema([("key", pa.string()), ("data", pa.binary())])
    rows = [{"key": f"k{i}", "data": os.urandom(700)} for i in range(60)]
    tables = {name: [pa.Table.from_pylist(rows[i:i + 7], schema=schema) for i in range(0, 60, 7)] for name in ("a", "b")}
    shards = writers.ShardSet(tmp_path, "r1", ShardLayout(row_group_rows=10), {}, lambda config: "figure")
    monkeypatch.setattr(writers, "arrow_schema", lambda name: schema)
    monkeypatch.setattr(writers, "compression", lambda name: "ZSTD")
    monkeypatch.setattr(writers, "encoded_columns", lambda name: ["key"])
    for i in range(len(tables["a"])):
        for name in ("a", "b"):
            shards.add(name, tables[name][i])
    written = shards.close()  # both shards closed at once, in threads
    assert len(synced) >= 2 and all(size >= 4096 for size in synced)  # each shard's first sync at least, of data flushed first
    for name in ("a", "b"):
        path = tmp_path / written[name].path
        assert written[name].sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
        assert written[name].size == path.stat().st_size and written[name].rows == 60
        parquet = pq.ParquetFile(path)
        assert [parquet.metadata.row_group(i).num_rows for i in range(parquet.metadata.num_row_groups)] == [10] * 6
        assert parquet.read().to_pylist() == rows
    assert not list(tmp_path.rglob("*.tmp"))


_TABLES_DIGEST = """
import hashlib, sys
import pyarrow as pa
from pmc_hub.config import BuildConfig
from pmc_hub.resources import sample_dir
from pmc_hub.sources import open_sources
from pmc_hub.spool import article_tables, convert_without_pandas
from pmc_hub.stage import ArticleStage
def digest():
    stage, h = ArticleStage(BuildConfig(sources=(str(sample_dir()),))), hashlib.sha256()
    for package in open_sources((str(sample_dir()),)):
        for config, table in sorted(article_tables(stage(package)).tables.items()):
            sink = pa.BufferOutputStream()
            with pa.ipc.new_stream(sink, table.schema) as writer:
                writer.write_table(table)
            h.update(config.encode() + sink.getvalue().to_pybytes())
    return h.hexdigest()
"""


def test_workers_convert_rows_without_importing_pandas_to_the_same_tables():
    probe = _TABLES_DIGEST + ("convert_without_pandas(); d = digest(); print(d, 'pandas' in sys.modules); "
                              "import pandas; print(pandas.DataFrame({'a': [1]}).shape)")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    (digest_without, imported), shape = (line.split() for line in done.stdout.splitlines())
    assert imported == "False" and shape == ["(1,", "1)"]  # never imported, and still importable
    namespace: dict = {}
    exec(_TABLES_DIGEST, namespace)
    assert "pandas" in sys.modules  # (here, as in any process that imported datasets)
    assert digest_without == namespace["digest"]()


def test_reading_article_folders_asks_the_file_system_nothing_per_file(tmp_path, monkeypatch):
    """Each article folder is listed once and the entries' types come with the listing: the
    packages are the same, and the `stat` calls do not grow with the files read."""
    corpus = tmp_path / "corpus"
    shutil.copytree(sample_dir(), corpus)
    from pmc_hub.sources import open_sources

    expected = [(p.package_id, sorted(p.media), p.metadata, p.skips) for p in open_sources([corpus])]
    files = sum(1 for p in corpus.rglob("*") if p.is_file())
    calls = []
    real_stat = os.stat
    monkeypatch.setattr(os, "stat", lambda *a, **k: calls.append(a[0]) or real_stat(*a, **k))
    got = [(p.package_id, sorted(p.media), p.metadata, p.skips) for p in open_sources([corpus])]
    assert got == expected and len(expected) >= 5 and files > 20
    assert len(calls) <= 3, calls  # the source itself (exists, is_file), not its files
