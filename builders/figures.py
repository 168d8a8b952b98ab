"""The figures dataset as a `datasets.GeneratorBasedBuilder`: one BuilderConfig per license group.

It runs the same per-article stage as `pmc-hub build` (`pmc_hub.build.process_package`) and
yields the rows of its config, so a user can go from articles to an Arrow `Dataset` in one
call without the Parquet folder:

    builder = FiguresBuilder(config_name="commercial", sources=["articles/"], cache_dir=...)
    builder.download_and_prepare()
    ds = builder.as_dataset(split="train")

(`datasets` >= 4 runs no loading scripts from the Hub; publish the Parquet folder that
`pmc-hub build` writes instead.)
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator, Optional

import datasets

from pmc_hub import licenses
from pmc_hub.build import ARTICLES, BuildOptions, in_shard, process_package
from pmc_hub.schema import features
from pmc_hub.sources import open_sources


@dataclass
class FiguresConfig(datasets.BuilderConfig):
    """``name`` is a license group (commercial, noncommercial, other) or ``articles``."""

    sources: list = field(default_factory=list)  # paths / URLs; empty = the bundled sample
    shard: Optional[tuple[int, int]] = None


class FiguresBuilder(datasets.GeneratorBasedBuilder):
    BUILDER_CONFIG_CLASS = FiguresConfig
    BUILDER_CONFIGS = [
        FiguresConfig(name=name, description=f"{name} figure-caption pairs from PMC OA")
        for name in licenses.CATEGORIES
    ] + [FiguresConfig(name=ARTICLES, description="one row per article, with its full text")]
    DEFAULT_CONFIG_NAME = licenses.COMMERCIAL

    def _info(self) -> datasets.DatasetInfo:
        schema = "article" if self.config.name == ARTICLES else "figure"
        return datasets.DatasetInfo(description=self.config.description, features=features(schema),
                                    homepage="https://pmc.ncbi.nlm.nih.gov/tools/openftlist/")

    def _split_generators(self, dl_manager) -> list[datasets.SplitGenerator]:
        return [datasets.SplitGenerator(name=datasets.Split.TRAIN, gen_kwargs={"sources": list(self.config.sources)})]

    def _generate_examples(self, sources: list) -> Iterator[tuple[str, dict]]:
        options = BuildOptions(sources=sources, shard=self.config.shard, progress=False)
        for package in open_sources(sources):
            if not in_shard(package, options.shard):
                continue
            result = process_package(package, options)
            if self.config.name == ARTICLES:
                if result.article_row is not None:
                    yield result.article_id, result.article_row
                continue
            for row in result.figure_rows:
                if row["license_category"] == self.config.name:
                    yield row["image_key"], row
