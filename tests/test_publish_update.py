"""A monthly release end to end: build, publish, `update` the same folder with a newer source,
publish again. Only the release's new and rewritten files go up, and each tag loads its release."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from datasets import load_dataset

from conftest import corpus_months, run_build
from hub_server import hub  # noqa: F401  (fixture)
from pmc_hub.config import RunOptions
from pmc_hub.output import read_manifest
from pmc_hub.publish import PublishOptions, publish
from pmc_hub.update import update

REPO = "pmc/figures"
CONFIGS = ("commercial", "noncommercial", "other", "articles")


@pytest.fixture(scope="module")
def months(tmp_path_factory) -> tuple[Path, Path]:
    return corpus_months(tmp_path_factory.mktemp("months"), articles=12, seed=11, new=4, updated=3, removed=2, max_side=300, max_figures=3)


def keys(source, config: str, **kw) -> list[str]:
    ds = load_dataset(str(source), config, split="train", **kw)
    return sorted(ds["image_key" if config != "articles" else "article_accession_id"])


def test_an_updated_folder_publishes_only_its_release_and_both_tags_load(hub, months, tmp_path):
    out = tmp_path / "out"
    run_build([months[0]], out, release="2026-11")
    first = tmp_path / "first"
    shutil.copytree(out, first)  # release A as it was, to compare with its tag later
    hub.use_token("hf_alice")
    publish(PublishOptions(out, REPO, gated="manual"))
    before = read_manifest(out).files

    update([str(months[1])], RunOptions(out_dir=out, progress=False), release="2026-12")
    result = publish(PublishOptions(out, REPO, gated="manual"))

    after = read_manifest(out).files
    changed = {p for p in after if p not in before or after[p].sha256 != before[p].sha256}
    assert set(result.plan.added) | set(result.plan.updated) == changed
    assert not result.plan.deleted  # a release only adds files or rewrites them in place
    assert any("/2026-11/" in p for p in result.plan.updated)  # shards that held removed or updated rows
    assert all(p in before for p in result.plan.updated)
    assert any("/2026-12/" in p for p in result.plan.added) and "releases/2026-12.json" in result.plan.added
    assert result.tagged == "2026-12" and set(hub.tags(REPO)) == {"2026-11", "2026-12"}

    present = [c for c in CONFIGS if read_manifest(first).configs().get(c)]
    assert present
    for config in present:
        assert keys(REPO, config, revision="2026-11") == keys(first, config), config
    for config in (c for c in CONFIGS if read_manifest(out).configs().get(c)):
        assert keys(REPO, config, revision="2026-12") == keys(out, config), config
        assert keys(REPO, config) == keys(out, config), config
