"""The GeneratorBasedBuilder yields the same rows as the CLI's Parquet output."""
from __future__ import annotations

import datasets

from conftest import run_build
from pmc_hub.builder import FiguresBuilder


def test_builder_configs_match_the_build(tmp_path, mixed_license_corpus):
    out = tmp_path / "out"
    run_build([mixed_license_corpus], out)
    for config in ("commercial", "noncommercial", "other", "articles"):
        builder = FiguresBuilder(config_name=config, sources=(str(mixed_license_corpus),), cache_dir=str(tmp_path / "cache"))
        builder.download_and_prepare()
        ours = builder.as_dataset(split="train")
        built = datasets.load_dataset(str(out), config, split="train")
        key = "article_accession_id" if config == "articles" else "image_key"
        assert sorted(ours[key]) == sorted(built[key])
        assert ours.features == built.features
