"""Carving the held-out benchmark split from a real built folder (the bundled sample articles)."""
from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from figure_rows import figure_row, reencode
from pmc_hub.benchmark import BenchmarkError, allocate, carve_benchmark
from pmc_hub.build import BuildOptions, build
from pmc_hub.cards import write_card
from pmc_hub.labels import RuleLabeler
from pmc_hub.media import hamming
from pmc_hub.report import BuildReport
from pmc_hub.writers import ShardLayout, write_part


def _rows(out: Path, config: str, split: str = "train") -> list[dict]:
    files = sorted((out / config).glob(f"{split}-*.parquet"))
    return [r for f in files for r in pq.read_table(f).to_pylist()]


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """Sample build, labelled by the caption rules, plus a noncommercial config holding
    re-encoded copies of every commercial image (cross-config near duplicates)."""
    out = tmp_path_factory.mktemp("built")
    build(BuildOptions(sources=[], out_dir=out, workers=1, progress=False))
    shard = out / "commercial" / "train-00000-of-00001.parquet"
    labelled = list(RuleLabeler().label(_rows(out, "commercial")))
    write_part(labelled, "figure", shard, ShardLayout())
    copies = [figure_row(reencode(r["image"]["bytes"], "JPEG", 0.7, 60), article=f"NC{i}", figure_id="F1",
                         file_name="copy.jpg", license_category="noncommercial") for i, r in enumerate(labelled)]
    write_part(copies, "figure", out / "noncommercial" / "train-00000-of-00001.parquet", ShardLayout())
    report = BuildReport.read(out)
    report.configs["noncommercial"] = {"train": len(copies)}
    report.files["noncommercial"] = ["noncommercial/train-00000-of-00001.parquet"]
    report.write(out)
    write_card(out, json.loads(report.to_json()))
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
    assert json.loads((folder / "benchmark_report.json").read_text())["dropped_counts"] == report.counts()

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
    with pytest.raises(BenchmarkError, match="overwrite a built config"):
        carve_benchmark(folder, 3, config="commercial")
    carve_benchmark(folder, 3, write_card=False)
    with pytest.raises(BenchmarkError, match="'benchmark' already exists"):
        carve_benchmark(folder, 3)
