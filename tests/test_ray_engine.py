"""The Ray Data backend gives the process backend's results, in order, on a local Ray instance."""
from __future__ import annotations

import pickle

import pytest

ray = pytest.importorskip("ray")
pytest.importorskip("ray.data")

from conftest import run_build, shard_rows  # noqa: E402
from pmc_hub.config import BuildConfig  # noqa: E402
from pmc_hub.engines import ray_engine  # noqa: E402
from pmc_hub.stage import ArticleStage  # noqa: E402
from pmc_hub.models import InMemory, OnDisk  # noqa: E402
from pmc_hub.sources import open_sources  # noqa: E402

@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def _stable(result):
    return (result.origin, result.article_id, result.figure_rows, result.article_row, result.skips, result.figures_in,
            result.images_in, result.license_category, result.license_code)


def test_results_equal_the_process_backend_in_order(local_ray):
    config = BuildConfig()
    packages = list(open_sources([]))  # the bundled sample: 6 real articles with images
    expected = [ArticleStage(config)(p) for p in packages]
    got = list(ray_engine.RayEngine(config, window=4).results(iter(packages)))  # two windows
    assert [r.article_id for r in got] == [r.article_id for r in expected]
    assert sum(len(r.figure_rows) for r in got) == sum(len(r.figure_rows) for r in expected) > 40
    assert [_stable(r) for r in got] == [_stable(r) for r in expected]
    for g, e in zip(got, expected):
        for gr, er in zip(g.figure_rows, e.figure_rows):
            assert gr["image"]["bytes"] == er["image"]["bytes"]
            assert type(gr["image_label_score"]) is type(er["image_label_score"])


def test_full_build_through_ray_writes_the_same_rows(local_ray, tmp_path):

    run_build([], tmp_path / "proc")
    report = run_build([], tmp_path / "ray", engine="ray")
    assert report.configs["commercial"]["train"] > 40
    for config in ("commercial", "articles"):
        assert shard_rows(tmp_path / "proc", config) == shard_rows(tmp_path / "ray", config), config


def test_portable_reads_media_into_memory(tmp_path):
    (tmp_path / "a.jpg").write_bytes(b"\xff\xd8data")
    from pmc_hub.models import ArticlePackage

    pkg = ArticlePackage("PMC1", b"<article/>", {"a.jpg": OnDisk(tmp_path / "a.jpg")}, "origin", {"pmcid": "PMC1"})
    moved = pickle.loads(pickle.dumps(ray_engine.portable(pkg)))
    (tmp_path / "a.jpg").unlink()  # a worker on another machine cannot see the file
    assert isinstance(moved.media["a.jpg"], InMemory) and moved.media["a.jpg"]() == b"\xff\xd8data"
    assert (moved.package_id, moved.origin, moved.metadata) == ("PMC1", "origin", {"pmcid": "PMC1"})

