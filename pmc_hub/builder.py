"""The figures dataset as a `datasets.GeneratorBasedBuilder`: one BuilderConfig per config of a build.

It runs the build's own per-article stage (`pmc_hub.stage.ArticleStage`) with the build's options
(labels, subfigures, duplicate removal) and yields the rows of its config, so a user can go from
articles to an Arrow `Dataset` in one call without the Parquet folder:

    builder = FiguresBuilder(config_name="commercial", sources=("articles/",), cache_dir=...)
    builder.download_and_prepare()
    ds = builder.as_dataset(split="train")

Keys are structured, ``Key(source index, row index)``, like the packaged Parquet builder's.
(`datasets` >= 4 runs no loading scripts from the Hub; publish the folder `pmc-hub build` writes.)
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator

import datasets
from datasets.builder import Key

from .build import in_shard
from .config import BuildConfig
from .dedup import DuplicateIndex, keep_first
from .output import ARTICLES, FIGURE_CONFIGS, SUBFIGURE_CONFIGS, figure_config, schema_of
from .schema import features
from .resources import sample_dir
from .sources import open_source
from .stage import ArticleStage


@dataclass
class FiguresConfig(datasets.BuilderConfig):
    """``name`` is a config of a build: a license group, ``subfigures_<group>`` or ``articles``.
    ``build`` is what to build, as for `pmc_hub.build.build` (its sources: ``sources``)."""

    sources: tuple[str, ...] = ()  # paths / URLs; empty = the bundled sample
    build: BuildConfig = field(default_factory=BuildConfig)


class FiguresBuilder(datasets.GeneratorBasedBuilder):
    BUILDER_CONFIG_CLASS = FiguresConfig
    BUILDER_CONFIGS = [FiguresConfig(name=name, description=f"{name} rows of a pmc-hub build")
                       for name in (*FIGURE_CONFIGS, ARTICLES, *SUBFIGURE_CONFIGS)]
    DEFAULT_CONFIG_NAME = FIGURE_CONFIGS[0]

    def _info(self) -> datasets.DatasetInfo:
        return datasets.DatasetInfo(description=self.config.description, features=features(schema_of(self.config.name)),
                                    homepage="https://pmc.ncbi.nlm.nih.gov/tools/openftlist/")

    def _split_generators(self, dl_manager) -> list[datasets.SplitGenerator]:
        sources = [str(s) for s in self.config.sources] or [str(sample_dir())]
        return [datasets.SplitGenerator(name=datasets.Split.TRAIN, gen_kwargs={"sources": sources})]

    def _generate_examples(self, sources: list[str]) -> Iterator[tuple[Key, dict]]:
        config = self.config.build
        if self.config.name in SUBFIGURE_CONFIGS and not config.subfigures:
            raise ValueError(f"config {self.config.name!r} needs build=BuildConfig(subfigures=True)")
        stage = ArticleStage(config)
        index = DuplicateIndex(config.dedup_distance) if config.dedup else None
        seen: set[str] = set()
        n = 0
        for source_id, spec in enumerate(sources):
            for package in open_source(spec):
                if not in_shard(package, config.shard):
                    continue
                for row in self._rows(stage(package), index, seen):
                    yield Key(source_id, n), row
                    n += 1

    def _rows(self, result, index, seen: set[str]) -> Iterator[dict]:
        """This config's rows of one article, after the build's article and image dedup."""
        if result.article_row is None or result.article_id in seen:
            return
        seen.add(result.article_id)
        figures = result.figure_rows
        if index is not None:
            mask, _ = keep_first(index, ((r["image_key"], r["image_hash"], r["image_phash"]) for r in figures))
            figures = [r for r, keep in zip(figures, mask) if keep]
        if self.config.name == ARTICLES:
            yield result.article_row
            return
        kept = {r["image_key"] for r in figures}
        yield from (r for r in figures if figure_config(r["license_category"]) == self.config.name)
        yield from (r for r in result.subfigure_rows if r["parent_image_key"] in kept
                    and figure_config(r["license_category"], subfigure=True) == self.config.name)
