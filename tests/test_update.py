"""Issue 11: monthly releases. An update of a built folder with a newer source adds only files (or
rewrites shards in place), never renames, stays within the Hub's folder and file limits, and ends
with exactly the rows of a from-scratch build of the newer source."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from conftest import corpus_months, run_build, shard_rows
from pmc_hub.build import BuildError
from pmc_hub.config import RunOptions, ShardLayout
from pmc_hub.output import OutputError, read_manifest
from pmc_hub.update import update

CONFIGS = ("commercial", "noncommercial", "other", "articles")


def _key(row: dict) -> str:
    return row.get("image_key") or row["article_accession_id"]


def rows_by_key(out: Path) -> dict[str, dict]:
    return {c: {_key(r): r for r in shard_rows(out, c)} for c in CONFIGS}


@pytest.fixture(scope="module")
def months(tmp_path_factory) -> tuple[Path, Path]:
    # (seed 3: 7 near-duplicate images, 6 of them across the 3 shard jobs of the merge test)
    return corpus_months(tmp_path_factory.mktemp("months"), articles=30, seed=3, new=5, updated=4, removed=3, max_side=400,
                         max_figures=12)


@pytest.fixture(scope="module")
def scratch(months, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("scratch") / "out"
    run_build([months[1]], out, release="2026-12")
    return out


def _updated(months, tmp_path: Path, **layout) -> Path:
    out = tmp_path / "out"
    run_build([months[0]], out, release="2026-11", layout=ShardLayout(**layout))
    update([str(months[1])], RunOptions(out_dir=out, progress=False), release="2026-12")
    return out


def test_update_gives_the_rows_of_a_from_scratch_build(months, scratch, tmp_path):
    out = _updated(months, tmp_path)
    got, want = rows_by_key(out), rows_by_key(scratch)
    for config in CONFIGS:
        assert got[config].keys() == want[config].keys(), config
        assert all(got[config][k] == want[config][k] for k in want[config]), config
    ours, theirs = json.loads((out / "build_report.json").read_text()), json.loads((scratch / "build_report.json").read_text())
    for key in ("articles_in", "articles_written", "images_in", "images_written", "configs", "licenses"):
        assert ours[key] == theirs[key], key
    record = json.loads((out / "releases" / "2026-12.json").read_text())
    assert {k: record["articles"][k] for k in ("added", "updated", "removed")} == {"added": 5, "updated": 4, "removed": 3}
    assert read_manifest(out).releases == ["2026-11", "2026-12"]
    assert "`2026-12`" in (out / "README.md").read_text() and "`2026-11`" in (out / "README.md").read_text()


def test_a_release_only_adds_files_and_rewrites_in_place(months, tmp_path):
    out = tmp_path / "out"
    run_build([months[0]], out, release="2026-11")
    before = read_manifest(out).files
    update([str(months[1])], RunOptions(out_dir=out, progress=False), release="2026-12")
    after = read_manifest(out).files
    record = json.loads((out / "releases" / "2026-12.json").read_text())
    rewritten = {p for paths in record["updated"].values() for p in paths}
    added = {p for paths in record["added"].values() for p in paths}
    removed = {p for paths in record["removed"].values() for p in paths}
    for path, entry in before.items():
        if path.endswith(".parquet"):
            assert path in after or path in removed  # never renamed
            if path in after and path not in rewritten:
                assert after[path] == entry  # untouched
    assert all(p.split("/")[1] == "2026-12" for p in added) and added.isdisjoint(before)
    assert rewritten and all(p.split("/")[1] == "2026-11" for p in rewritten)


def test_folder_and_repository_limits_hold_by_construction(months, tmp_path):
    out = _updated(months, tmp_path, shard_bytes=40_000, max_folder_files=2)
    files = read_manifest(out).files
    folders: dict[str, int] = {}
    for path in files:
        parent = str(Path(path).parent)
        folders[parent] = folders.get(parent, 0) + 1
    assert max(folders.values()) <= 2 and len(folders) > 8  # many small shards, spread over folders
    assert any(p.count("/") == 2 and p.split("/")[1].endswith(".1") for p in files)  # overflowed into <release>.1/
    loaded = {c: len(shard_rows(out, c)) for c in CONFIGS}
    assert loaded == {c: n["train"] for c, n in json.loads((out / "build_report.json").read_text())["configs"].items()
                      if c in CONFIGS}
    with pytest.raises(OutputError, match="over the limit of 5 for one Hub repository"):
        run_build([months[0]], tmp_path / "small", layout=ShardLayout(shard_bytes=40_000, max_repo_files=5))


def test_update_needs_only_the_shards_it_rewrites(months, tmp_path, scratch):
    out = tmp_path / "out"
    run_build([months[0]], out, release="2026-11", layout=ShardLayout(shard_bytes=60_000))
    full, lean = shutil.copytree(out, tmp_path / "full"), shutil.copytree(out, tmp_path / "lean")
    update([str(months[1])], RunOptions(out_dir=full, progress=False), release="2026-12")
    record = json.loads((full / "releases" / "2026-12.json").read_text())
    needed = {p for paths in (*record["updated"].values(), *record["removed"].values()) for p in paths}
    spare = [p for p in read_manifest(out).files if p.endswith(".parquet") and p not in needed]
    assert spare and needed
    for p in spare:
        (lean / p).unlink()  # a maintainer who keeps only what an update touches
    update([str(months[1])], RunOptions(out_dir=lean, progress=False), release="2026-12")
    shards = lambda folder: {p: f for p, f in read_manifest(folder).files.items() if p.endswith(".parquet")}  # noqa: E731
    assert shards(lean) == shards(full)  # the same dataset, shard for shard
    for p in spare:
        assert not (lean / p).exists()
    short = shutil.copytree(out, tmp_path / "short")
    (short / sorted(needed)[0]).unlink()
    with pytest.raises(BuildError, match="is needed to remove the rows"):
        update([str(months[1])], RunOptions(out_dir=short, progress=False), release="2026-12")


def test_a_killed_update_resumes_to_the_same_rows(months, scratch, tmp_path, monkeypatch):
    from pmc_hub.state import BuildState

    out = tmp_path / "out"
    run_build([months[0]], out, release="2026-11")
    real = BuildState.record
    monkeypatch.setattr(BuildState, "record", lambda self, entry: (real(self, entry), (_ for _ in ()).throw(SystemExit())))
    with pytest.raises(SystemExit):
        update([str(months[1])], RunOptions(out_dir=out, progress=False, checkpoint_articles=2), release="2026-12")
    monkeypatch.setattr(BuildState, "record", real)
    update([str(months[1])], RunOptions(out_dir=out, progress=False, checkpoint_articles=2), release="2026-12")
    got, want = rows_by_key(out), rows_by_key(scratch)
    assert all(got[c].keys() == want[c].keys() for c in CONFIGS)


def test_benchmark_articles_stay_out_of_train_in_later_releases(months, tmp_path):
    out = tmp_path / "out"
    report = run_build([months[0]], out, release="2026-11", benchmark=4)
    test_articles = {r["article_accession_id"] for r in shard_rows(out, "benchmark", "test")}
    assert len(test_articles) >= 1 and report.benchmark["test_rows"] == 4
    update([str(months[1])], RunOptions(out_dir=out, progress=False), release="2026-12")
    for config in CONFIGS:
        assert not test_articles & {r["article_accession_id"] for r in shard_rows(out, config)}, config
    assert len(shard_rows(out, "benchmark", "test")) == 4


def test_update_errors_are_one_line(months, tmp_path, capsys):
    from pmc_hub.cli import main

    assert main(["update", str(tmp_path / "nothing"), str(months[1])]) == 1
    assert "not a finished pmc-hub build" in capsys.readouterr().err
    out = tmp_path / "out"
    run_build([months[0]], out, release="2026-11")
    assert main(["update", str(out), str(months[1]), "--release", "2026-11", "--no-progress"]) == 1
    assert "already has a release '2026-11'" in capsys.readouterr().err
    assert main(["update", str(out), str(tmp_path / "missing"), "--no-progress"]) == 2


def test_a_merge_of_shard_jobs_takes_updates_like_a_build(months, scratch, tmp_path):
    from pmc_hub.merge import merge_builds

    jobs = [tmp_path / f"job{i}" for i in range(3)]
    for i, job in enumerate(jobs):
        run_build([months[0]], job, shard=(i, 3), release="2026-11")
    merged = tmp_path / "merged"
    merge_builds(jobs, merged)
    single = tmp_path / "single"
    run_build([months[0]], single, release="2026-11")
    # cross-job duplicates are decided in source order: the merge keeps what one build keeps, but an
    # image its own job dropped (a duplicate of one the whole build drops: a chain of near copies)
    # cannot come back until an update rebuilds its article
    from pmc_hub.index import ReleaseIndex

    dropped_in_jobs = {k for job in jobs for e in ReleaseIndex.read(job).articles.values() for k, *_, kept in e.images if not kept}
    got, want = rows_by_key(merged), rows_by_key(single)
    for config in CONFIGS:
        assert got[config].keys() <= want[config].keys() and (want[config].keys() - got[config].keys()) <= dropped_in_jobs
    assert sum(len(want[c]) - len(got[c]) for c in CONFIGS) <= 1
    # the merged index holds every skip once: its summaries count what the merged report counts
    from pmc_hub.report import BuildReport

    recount = BuildReport()
    for entry in ReleaseIndex.read(merged).articles.values():
        recount.add(entry.summary)
    assert recount.skip_counts == BuildReport.read(merged).skip_counts
    update([str(months[1])], RunOptions(out_dir=merged, progress=False), release="2026-12")
    # only articles whose duplicate decision flipped are built again (7 near duplicates in this corpus)
    assert json.loads((merged / "releases" / "2026-12.json").read_text())["articles"]["rebuilt"] <= 7
    got, want = rows_by_key(merged), rows_by_key(scratch)
    for config in CONFIGS:
        assert got[config].keys() == want[config].keys(), config


def test_articles_built_again_run_in_a_worker_under_the_budgets(months, scratch, tmp_path, monkeypatch):
    # an unchanged article whose duplicate decision flipped is built again like any other article:
    # in a worker under the per-article time and memory budgets, never in the main process
    from pmc_hub import stage

    def not_here(*args, **kwargs):
        raise AssertionError("an article was built in the main process")

    out = tmp_path / "out"
    run_build([months[0]], out, release="2026-11")
    monkeypatch.setattr(stage.ArticleStage, "__init__", not_here)
    update([str(months[1])], RunOptions(out_dir=out, progress=False), release="2026-12")
    assert json.loads((out / "releases" / "2026-12.json").read_text())["articles"]["rebuilt"] >= 1
    got, want = rows_by_key(out), rows_by_key(scratch)
    assert all(got[c].keys() == want[c].keys() for c in CONFIGS)
