"""Issue 9: no article can stall, exhaust or corrupt a build. Each test makes a small hostile input
and checks that the article is reported, every other article's rows are written, and the build
ends in bounded time and memory (bounds here are hang detectors, far above the real cost)."""
from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import datasets
import pytest
from PIL import Image

from conftest import jats_article, jats_fig, jpeg_bytes, pmc_article_folder, run_build, shard_rows
from pmc_hub import sources
from pmc_hub.build import BuildError
from pmc_hub.config import BuildConfig
from pmc_hub.models import Graphic
from pmc_hub.output import OutputError
from pmc_hub.stage import ArticleStage

CLI = [sys.executable, "-m", "pmc_hub.cli"]


def keys(out: Path, config: str = "commercial") -> list[str]:
    return sorted(r["image_key"] for r in shard_rows(out, config))


def reasons(report) -> set[tuple[str, str]]:
    return {(s["article"], s["reason"]) for s in report.skipped}


@pytest.fixture
def two_articles(tmp_path) -> Path:
    root = tmp_path / "two"
    for name in ("PMC3166277", "PMC2599765"):
        pmc_article_folder(name, root)
    return root


# --- 9.1: bad metadata values --------------------------------------------------------------------

def test_hostile_metadata_json_never_stops_the_build(tmp_path, two_articles):
    """PMC Cloud layout with a metadata JSON full of wrong types, a lone surrogate and another
    article's pmcid: the article is built from what is usable, the real article keeps its id."""
    folder = two_articles / "PMC4222443.1"
    src = pmc_article_folder("PMC4222443", tmp_path / "src")
    shutil.copytree(src, folder)
    next(folder.glob("*.nxml")).rename(folder / "PMC4222443.1.xml")
    (folder / "PMC4222443.1.json").write_text(json.dumps(
        {"pmcid": "PMC3166277", "pmid": "\ud800", "doi": "\ud800x", "xml_url": 12345, "media_urls": 7,
         "license_code": ["CC BY"], "version": "x", "title": {"deep": [[[]]]}}), encoding="utf-8")
    out = tmp_path / "out"
    report = run_build([two_articles], out)
    assert report.articles_in == 3 and report.articles_written == 3
    articles = {r["article_accession_id"]: r for r in shard_rows(out, "articles")}
    assert set(articles) == {"PMC3166277", "PMC2599765", "PMC4222443"}  # the real PMC3166277 is not "duplicate"
    hostile = articles["PMC4222443"]
    assert hostile["license_category"] == "other"  # a license_code that is no code is an unknown license
    assert hostile["article_pmid"] != "\ud800" and "\ud800" not in (hostile["article_doi"] or "")
    assert "duplicate article" not in {r for _, r in reasons(report)}


def test_an_article_that_cannot_be_stored_is_reported_alone(two_articles):
    """Rows are converted for writing article by article (in the worker): one row Parquet cannot
    store (text no encoding can write) makes that article one skip, with its counts kept."""
    from pmc_hub.spool import article_tables

    stage = ArticleStage(BuildConfig())
    good, bad = (stage(p) for p in sources.open_sources([two_articles]))
    bad.figure_rows[0]["caption"] = "broken \ud800 text"
    converted = article_tables(bad)
    assert [s.reason for s in converted.skips] == ["unwritable record"] and not converted.tables
    assert converted.images_in == bad.images_in and not converted.written
    assert set(article_tables(good).tables) == {"commercial", "articles"}


def test_an_exception_anywhere_in_the_stage_is_one_articles_skip(two_articles, monkeypatch):
    from pmc_hub import records

    real = records.figure_row

    def explodes(shared, article, figure, image):
        if shared["article_accession_id"] == "PMC2599765":
            raise RecursionError("maximum recursion depth exceeded")
        return real(shared, article, figure, image)

    monkeypatch.setattr(records, "figure_row", explodes)
    stage = ArticleStage(BuildConfig())
    results = {r.article_id: r for r in map(stage, sources.open_sources([two_articles]))}
    (skip,) = results["PMC2599765"].skips
    assert skip.reason == "article failed" and "RecursionError" in skip.detail and "making rows" in skip.detail
    assert results["PMC2599765"].figure_rows == [] and len(results["PMC3166277"].figure_rows) == 4


# --- per-article budgets ---------------------------------------------------------------------------

def _with_big_png(root: Path, name: str, figures: int = 1) -> None:
    """An article of ``figures`` figures, each a 9000 x 9000 PNG: under the decompression-bomb
    guard, 240 MB and about a second to decode each."""
    folder = root / name
    folder.mkdir()
    figs = "".join(jats_fig(f"f{i}", "big") for i in range(figures))
    (folder / f"{name}.nxml").write_bytes(jats_article(name.removeprefix("PMC"), figs))
    buf = io.BytesIO()
    Image.new("RGB", (9000, 9000), (200, 30, 30)).save(buf, "PNG", compress_level=1)
    (folder / "big.png").write_bytes(buf.getvalue())


@pytest.mark.parametrize("budget, figures, reason", [
    ({"article_seconds": 3}, 12, "article timed out"),  # about 12 s of decoding; the others take well under 1 s
    ({"article_memory_mb": 120}, 1, "article over memory budget"),  # 240 MB decoded
])
def test_an_article_over_its_budget_is_stopped_and_reported(tmp_path, two_articles, budget, figures, reason):
    _with_big_png(two_articles, "PMC1240052", figures)
    out = tmp_path / "out"
    report = run_build([two_articles], out, **budget)
    assert ("PMC1240052", reason) in reasons(report)
    assert {k.split("/")[0] for k in keys(out)} == {"PMC3166277", "PMC2599765"}


# --- 9.4: two builds on one folder ---------------------------------------------------------------

def test_a_second_build_on_a_folder_in_use_is_refused_and_the_first_finishes(tmp_path):
    corpus = tmp_path / "corpus"
    for name in ("PMC3166277", "PMC2599765", "PMC2958468", "PMC1240052"):
        pmc_article_folder(name, corpus)
    _with_big_png(corpus, "PMC9999999")  # keeps the first build busy for a second or two
    out = tmp_path / "out"
    first = subprocess.Popen([*CLI, "build", str(corpus), "--out", str(out), "--no-progress"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lock = out / ".pmc-hub" / "lock"
    deadline = time.time() + 60
    while time.time() < deadline and not (lock.exists() and lock.read_text()):
        time.sleep(0.01)
    second = subprocess.run([*CLI, "build", str(corpus), "--out", str(out), "--no-progress"], capture_output=True, text=True)
    assert second.returncode == 1
    assert second.stderr.strip().splitlines()[-1].startswith("error: ") and "in use by pmc-hub build (pid" in second.stderr
    assert "Traceback" not in second.stderr
    _, err = first.communicate(timeout=300)
    assert first.returncode == 0, err
    assert datasets.load_dataset(str(out), "articles", split="train").num_rows == 5


# --- 9.6: links in folder sources -------------------------------------------------------------------

def test_links_in_folder_sources_are_reported_never_followed(tmp_path, two_articles):
    secret = tmp_path / "private.jpg"
    secret.write_bytes(jpeg_bytes(77))
    figure = sorted((two_articles / "PMC3166277").glob("*.jpg"))[0]
    figure.unlink()
    figure.symlink_to(secret)  # a figure that links outside the tree
    outside = tmp_path / "outside"
    pmc_article_folder("PMC2958468", outside)
    (two_articles / "linked-folder").symlink_to(outside / "PMC2958468", target_is_directory=True)
    (two_articles / "loop").mkdir()
    (two_articles / "loop" / "again").symlink_to(two_articles / "loop", target_is_directory=True)
    out = tmp_path / "out"
    report = run_build([two_articles], out)
    got = reasons(report)
    assert ("PMC3166277", "unsafe link") in got and ("linked-folder", "unsafe link") in got and ("again", "unsafe link") in got
    assert all(r["image_hash"] != __import__("hashlib").sha256(secret.read_bytes()).hexdigest()
               for r in shard_rows(out, "commercial"))
    assert "PMC2958468" not in {r["article_accession_id"] for r in shard_rows(out, "articles")}
    assert len(keys(out)) == 3 + 3  # PMC3166277 lost its linked figure, PMC2599765 is whole


# --- 9.7: tarballs in bounded memory ------------------------------------------------------------------

def test_tarball_members_are_read_within_the_package_budget(tmp_path, monkeypatch):
    import tracemalloc

    monkeypatch.setattr(sources, "MAX_MEMBER_BYTES", 2 << 20)
    monkeypatch.setattr(sources, "MAX_PACKAGE_BYTES", 3 << 20)
    folder = pmc_article_folder("PMC2599765", tmp_path / "src")
    pkg = tmp_path / "PMC2599765.tar.gz"
    zeros = b"\0" * (5 << 20)
    with tarfile.open(pkg, "w:gz") as tar:
        for p in sorted(folder.iterdir()):
            tar.add(p, arcname=f"PMC2599765/{p.name}")
        for name, data in (("big.tif", zeros), ("supplement.mp4", zeros * 40), ("a.png", zeros[: 1500 << 10]),
                           ("b.png", zeros[: 1500 << 10]), ("c.png", zeros[: 1500 << 10])):
            info = tarfile.TarInfo(f"PMC2599765/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    assert pkg.stat().st_size < 500_000  # 210 MB of members in a small archive
    tracemalloc.start()
    (package,) = list(sources.open_source(pkg))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    # members beyond the budget and non-images were never kept: what remains is gzip's own buffers
    assert peak < 48 << 20
    assert "supplement.mp4" not in package.media and "big.tif" not in package.media
    too_large = [d for r, d in package.skips if r == "member too large"]
    assert any("big.tif" in d for d in too_large) and sum(n in package.media for n in ("a.png", "b.png", "c.png")) == 1


# --- 9.9: folders the build does not own ----------------------------------------------------------

def test_a_folder_with_files_pmc_hub_did_not_write_is_refused_untouched(tmp_path, two_articles):
    out = tmp_path / "out"
    (out / "commercial").mkdir(parents=True)
    (out / "README.md").write_text("my notes")
    (out / "commercial" / "mine.parquet").write_bytes(b"user data")
    proc = subprocess.run([*CLI, "build", str(two_articles), "--out", str(out), "--no-progress"], capture_output=True, text=True)
    assert proc.returncode == 1 and "did not write (README.md, commercial/mine.parquet)" in proc.stderr
    assert (out / "README.md").read_text() == "my notes" and (out / "commercial" / "mine.parquet").read_bytes() == b"user data"


def test_webdataset_folder_with_foreign_files_is_refused_before_the_build(tmp_path, two_articles):
    wds = tmp_path / "wds"
    (wds / "commercial").mkdir(parents=True)
    (wds / "commercial" / "keep.tar").write_bytes(b"x")
    with pytest.raises(OutputError, match="did not write"):
        run_build([two_articles], tmp_path / "out", webdataset_dir=wds)
    assert (wds / "commercial" / "keep.tar").read_bytes() == b"x" and not (tmp_path / "out" / "commercial").exists()


def test_merge_over_an_older_merge_leaves_no_stale_config(tmp_path, two_articles, mixed_license_corpus):
    from pmc_hub.merge import merge_builds

    run_build([mixed_license_corpus], tmp_path / "a")  # has noncommercial and other
    merged = tmp_path / "merged"
    merge_builds([tmp_path / "a"], merged)
    assert (merged / "other").exists()
    run_build([two_articles], tmp_path / "b")  # commercial only
    report = merge_builds([tmp_path / "b"], merged)
    assert set(report.configs) == {"commercial", "articles"}
    assert not (merged / "other").exists() and not (merged / "noncommercial").exists()
    assert "config_name: other" not in (merged / "README.md").read_text()


# --- 9.12 and 9.13: damaged state, sources given twice -------------------------------------------------

def test_damaged_state_is_one_line_and_fresh_starts_over(tmp_path, two_articles):
    out = tmp_path / "out"
    (out / ".pmc-hub").mkdir(parents=True)
    (out / ".pmc-hub" / "state.json").write_text("{not json")
    proc = subprocess.run([*CLI, "build", str(two_articles), "--out", str(out), "--no-progress"], capture_output=True, text=True)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "state.json is damaged" in proc.stderr and "--fresh" in proc.stderr
    fresh = subprocess.run([*CLI, "build", str(two_articles), "--out", str(out), "--no-progress", "--fresh"],
                           capture_output=True, text=True)
    assert fresh.returncode == 0, fresh.stderr


def test_a_damaged_record_of_a_shard_edit_is_one_line(tmp_path):
    # the carve's and the update's resumable records: a damaged one is told, never a raw JSON error
    from pmc_hub.state import BuildState

    for edit in ("benchmark", "update"):
        folder = tmp_path / ".pmc-hub" / edit
        folder.mkdir(parents=True)
        (folder / "prepared.json").write_text('{"renames": [')
        with pytest.raises(OutputError, match=rf"{edit}/prepared.json is damaged.*--fresh"):
            BuildState(tmp_path).edit_record(edit, "prepared")
        assert BuildState(tmp_path).edit_record(edit, "done") is None


def test_journal_lines_repeated_or_out_of_order(tmp_path, two_articles, monkeypatch):
    from pmc_hub.state import BuildState

    reference = run_build([two_articles], tmp_path / "ref")
    out = tmp_path / "out"
    real = BuildState.record
    monkeypatch.setattr(BuildState, "record", lambda self, entry: (real(self, entry), real(self, entry),
                                                                    (_ for _ in ()).throw(SystemExit("killed"))))
    with pytest.raises(SystemExit):
        run_build([two_articles], out, checkpoint_articles=1)
    monkeypatch.setattr(BuildState, "record", real)
    journal = out / ".pmc-hub" / "journal.jsonl"
    assert journal.read_text().count("\n") == 2  # the same line twice
    resumed = run_build([two_articles], out, checkpoint_articles=1)
    assert keys(out) == keys(tmp_path / "ref") and resumed.images_written == reference.images_written

    # a line whose checkpoint number is out of order: a damaged journal, never rows twice
    out2 = tmp_path / "out2"
    monkeypatch.setattr(BuildState, "record", lambda self, entry: (real(self, entry), (_ for _ in ()).throw(SystemExit())))
    with pytest.raises(SystemExit):
        run_build([two_articles], out2, checkpoint_articles=1)
    monkeypatch.setattr(BuildState, "record", real)
    line = json.loads((out2 / ".pmc-hub" / "journal.jsonl").read_text())
    line["checkpoint"] = 5
    (out2 / ".pmc-hub" / "journal.jsonl").write_text(json.dumps(line) + "\n")
    with pytest.raises(OutputError, match="journal.jsonl line 1 is damaged.*--fresh"):
        run_build([two_articles], out2, checkpoint_articles=1)


def test_a_source_given_twice_resumes_to_the_same_report(tmp_path, two_articles, monkeypatch):
    from pmc_hub.state import BuildState

    reference = json.loads(run_build([two_articles, two_articles], tmp_path / "ref", checkpoint_articles=1).to_json())
    out = tmp_path / "out"
    real = BuildState.record
    calls = []

    def dies_after_three(self, entry):
        real(self, entry)
        calls.append(1)
        if len(calls) == 3:
            raise SystemExit("killed")

    monkeypatch.setattr(BuildState, "record", dies_after_three)
    with pytest.raises(SystemExit):
        run_build([two_articles, two_articles], out, checkpoint_articles=1)
    monkeypatch.setattr(BuildState, "record", real)
    resumed = json.loads(run_build([two_articles, two_articles], out, checkpoint_articles=1).to_json())
    for key in ("articles_in", "articles_written", "images_in", "images_written", "configs", "skip_counts"):
        assert resumed[key] == reference[key], key
    assert resumed["skip_counts"] == {"duplicate article": 2}


def test_unfinished_build_with_other_options_is_one_line(tmp_path, two_articles, mixed_license_corpus, monkeypatch):
    from pmc_hub.state import BuildState

    monkeypatch.setattr(BuildState, "record", lambda self, entry: (_ for _ in ()).throw(SystemExit()))
    with pytest.raises(SystemExit):
        run_build([two_articles], tmp_path / "out", checkpoint_articles=1)
    monkeypatch.undo()
    with pytest.raises(BuildError, match="unfinished build with other sources"):
        run_build([mixed_license_corpus], tmp_path / "out")


# --- 9.16: image look-up in a large package -------------------------------------------------------------

def test_resolving_figures_in_a_package_of_50000_files_is_linear():
    from pmc_hub.media import MediaIndex

    names = [f"supp/file{i:05d}.dat" for i in range(50_000)] + [f"fig{i}.jpg" for i in range(300)]
    start = time.perf_counter()
    index = MediaIndex(names)
    found = [index.resolve(Graphic(f"fig{i}")) for i in range(300)]
    assert found == [f"fig{i}.jpg" for i in range(300)]
    assert time.perf_counter() - start < 5  # was 14 s scanning every name per figure
