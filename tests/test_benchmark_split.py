"""Carving the held-out benchmark split from a real built folder (the bundled sample articles)."""
from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

import pytest

from conftest import run_build, shard_rows
from figure_rows import reencode, sample_images
from pmc_hub.benchmark import BenchmarkError, allocate, carve_benchmark
from pmc_hub.media import hamming
from pmc_hub.report import BuildReport
from pmc_hub.resources import sample_dir

NC_ARTICLE = """<?xml version="1.0"?>
<article xmlns:xlink="http://www.w3.org/1999/xlink"><front><article-meta>
<article-id pub-id-type="pmc">{aid}</article-id><title-group><article-title>Copy {aid}</article-title></title-group>
<pub-date pub-type="epub"><year>2021</year></pub-date><permissions>
<license xlink:href="https://creativecommons.org/licenses/by-nc/4.0/"><license-p>CC BY-NC</license-p></license>
</permissions></article-meta></front><body><fig id="F1"><label>Figure 1</label><caption><p>A re-encoded copy.</p>
</caption><graphic xlink:href="copy.jpg"/></fig></body></article>"""


def _rows(out: Path, config: str, split: str = "train") -> list[dict]:
    return shard_rows(out, config, split)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    """The bundled sample plus one noncommercial article per sample image, holding a re-encoded
    copy of it (cross-config near duplicates)."""
    root = tmp_path_factory.mktemp("corpus")
    shutil.copytree(sample_dir(), root / "sample")
    for i, image in enumerate(sample_images()):
        folder = root / "copies" / f"PMC9{i:03d}"
        folder.mkdir(parents=True)
        (folder / f"PMC9{i:03d}.nxml").write_text(NC_ARTICLE.format(aid=f"PMC9{i:03d}"))
        (folder / "copy.jpg").write_bytes(reencode(image.read_bytes(), "JPEG", 0.7, 60))
    return root


@pytest.fixture(scope="module")
def built(corpus, tmp_path_factory) -> Path:
    """The corpus built with every copy kept (no build-time dedup), labelled by the caption rules."""
    out = tmp_path_factory.mktemp("built") / "out"
    run_build([corpus / "sample", corpus / "copies"], out, dedup=False)
    return out


@pytest.fixture
def folder(built, tmp_path) -> Path:
    return Path(shutil.copytree(built, tmp_path / "out"))


def test_carve_is_stratified_article_disjoint_and_deduplicated(folder, tmp_path, monkeypatch):
    before = _rows(folder, "commercial")
    labels = Counter(r["image_primary_label"] or "(unlabelled)" for r in before)
    assert len(labels) >= 3  # the sample has several content classes to stratify on

    report = carve_benchmark(folder, 12, seed=5)

    test = _rows(folder, "benchmark", "test")
    train = _rows(folder, "commercial") + _rows(folder, "noncommercial")
    assert len(test) == report.test_rows == 12
    assert dict(Counter(r["image_primary_label"] or "(unlabelled)" for r in test)) == report.strata
    assert report.strata == {k: v for k, v in allocate(dict(labels), 12).items() if v}
    test_articles = {r["article_accession_id"] for r in test}
    assert not test_articles & {r["article_accession_id"] for r in train}
    for t in test:
        for r in train:
            assert r["image_hash"] != t["image_hash"]
            assert hamming(r["image_phash"], t["image_phash"]) > report.max_distance, (r["image_key"], t["image_key"])
    # every commercial row is in test, in train, or listed as dropped with its reason
    dropped = {d["key"]: d["reason"] for d in report.dropped}
    assert len(before) == len(test) + len(_rows(folder, "commercial")) + sum(
        1 for k in dropped if k.startswith(tuple(test_articles)))
    assert {"article in benchmark", "near duplicate of benchmark image"} <= set(dropped.values())
    assert report.train_rows_after["noncommercial"] == report.train_rows_before["noncommercial"] - 12

    build_report = BuildReport.read(folder)
    assert build_report.configs["benchmark"] == {"test": 12}
    # (on this 6-article sample, 12 stratified pairs can take every article: an emptied config is removed)
    assert build_report.configs.get("commercial", {"train": 0}) == {"train": report.train_rows_after["commercial"]}
    assert BuildReport.read(folder).benchmark["dropped_counts"] == report.counts()

    # the re-rendered card makes the new config loadable
    from datasets import load_dataset

    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "cache"))
    ds = load_dataset(str(folder), "benchmark", split="test", cache_dir=str(tmp_path / "cache"))
    assert ds.num_rows == 12 and ds[0]["image"].size[0] > 0
    assert ds["image_key"] == [r["image_key"] for r in test]


def test_same_seed_same_split_other_seed_differs(built, tmp_path):
    keys = []
    for name, seed in (("a", 1), ("b", 1), ("c", 2)):
        out = Path(shutil.copytree(built, tmp_path / name))
        carve_benchmark(out, 8, seed=seed, write_card=False)
        keys.append([r["image_key"] for r in _rows(out, "benchmark", "test")])
    assert keys[0] == keys[1] and keys[0] != keys[2]


def test_allocate_is_proportional_largest_remainder():
    # 10 of 20: exact halves; 5 of (7, 2, 1): 3.5, 1.0, 0.5 -> 3 + 1 + 0, then the .5s by name
    assert allocate({"a": 10, "b": 6, "c": 4}, 10) == {"a": 5, "b": 3, "c": 2}
    assert allocate({"x": 7, "y": 2, "z": 1}, 5) == {"x": 4, "y": 1, "z": 0}
    assert allocate({"x": 1, "y": 1}, 2) == {"x": 1, "y": 1}


def test_bad_requests_name_the_problem(folder):
    with pytest.raises(BenchmarkError, match="asked for 1000 test pairs but only"):
        carve_benchmark(folder, 1000)
    with pytest.raises(BenchmarkError, match="source config.*other"):
        carve_benchmark(folder, 3, source_configs=("other",))
    carve_benchmark(folder, 3, write_card=False)
    with pytest.raises(BenchmarkError, match="'benchmark' already exists"):
        carve_benchmark(folder, 3)


def test_build_with_benchmark_resumes_from_any_kill_point_and_never_leaks(corpus, tmp_path, monkeypatch):
    """Kill the carve at each of its writes and renames; the re-run ends with the uninterrupted
    result, and no test image or article is left in any train config."""
    import os

    from pmc_hub import benchmark, ownership
    from pmc_hub.state import BuildState

    sources = [corpus / "sample", corpus / "copies"]
    reference = tmp_path / "ref"
    run_build(sources, reference, dedup=False, benchmark=10, benchmark_seed=3)
    want = {c: sorted(r.get("image_key") or r["article_accession_id"] for r in _rows(reference, c, s))
            for c, s in (("commercial", "train"), ("noncommercial", "train"), ("articles", "train"), ("benchmark", "test"))}
    points = {"write": 0, "rename": 0}
    real_write, real_replace, real_save = benchmark.write_file, os.replace, BuildState.save_edit_record

    for kind in ("write", "rename"):
        k = 0
        while True:
            out = tmp_path / f"{kind}{k}"
            calls = {"n": 0}

            def dying(real):
                def f(*a, **kw):
                    calls["n"] += 1
                    if calls["n"] == k + 1:
                        raise SystemExit(f"killed at {kind} {k}")
                    return real(*a, **kw)
                return f

            if kind == "write":
                monkeypatch.setattr(benchmark, "write_file", dying(real_write))
            else:  # the carve's renames, and the saves of its resumable record (each a rename)
                fake_os = type("os", (), {"replace": staticmethod(dying(real_replace)),
                                          "__getattr__": lambda self, name: getattr(os, name)})()
                monkeypatch.setattr(ownership, "os", fake_os)
                monkeypatch.setattr(BuildState, "save_edit_record", dying(real_save))
            try:
                run_build(sources, out, dedup=False, benchmark=10, benchmark_seed=3)
                died = False
            except SystemExit:
                died = True
            monkeypatch.setattr(benchmark, "write_file", real_write)
            monkeypatch.setattr(ownership, "os", os)
            monkeypatch.setattr(BuildState, "save_edit_record", real_save)
            if not died:
                break
            points[kind] += 1
            run_build(sources, out, dedup=False, benchmark=10, benchmark_seed=3)  # the same command again
            got = {c: sorted(r.get("image_key") or r["article_accession_id"] for r in _rows(out, c, s))
                   for c, s in (("commercial", "train"), ("noncommercial", "train"), ("articles", "train"), ("benchmark", "test"))}
            assert got == want, (kind, k)
            k += 1
    assert points["write"] >= 3 and points["rename"] >= 3
    test = _rows(reference, "benchmark", "test")
    test_articles = {r["article_accession_id"] for r in test}
    for config in ("commercial", "noncommercial", "other", "articles"):
        assert not test_articles & {r["article_accession_id"] for r in _rows(reference, config)}
    for r in _rows(reference, "commercial") + _rows(reference, "noncommercial"):
        assert all(hamming(r["image_phash"], t["image_phash"]) > 6 for t in test)


def test_rebuilding_a_finished_benchmark_folder_works_and_without_benchmark_removes_it(corpus, tmp_path):
    sources = [corpus / "sample", corpus / "copies"]
    out = tmp_path / "out"
    run_build(sources, out, dedup=False, benchmark=10)
    again = run_build(sources, out, dedup=False, benchmark=10)  # the same command on the finished folder
    assert again.configs["benchmark"] == {"test": 10}
    plain = run_build(sources, out, dedup=False)
    assert "benchmark" not in plain.configs and not (out / "benchmark").exists()
    assert "config_name: benchmark" not in (out / "README.md").read_text()
