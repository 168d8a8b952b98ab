"""The release index of a build folder (``.pmc-hub/index/``): what an update needs from earlier
releases without their shards on disk.

- ``articles.parquet``: one row per article package built here and still current: its key (the
  PMC id of a PMC package, else the package name), version (package id and XML hash), article id,
  the shard of each config holding its rows, whether it is held out for the benchmark, and its
  journal summary (counts, skips, and every figure image's key, SHA-256, pHash and whether the
  duplicate index kept it), in the order the articles were built;
- ``config.json``: what the folder is built with (an update builds the same way).
"""
from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterable, Optional

import pyarrow as pa
import pyarrow.parquet as pq

from .config import BuildConfig, ShardLayout
from .output import STATE_DIR, OutputError, write_text_atomic
from .records import package_pmcid

INDEX_DIR = f"{STATE_DIR}/index"

_ARTICLES = pa.schema([("key", pa.string()), ("version", pa.string()), ("article_id", pa.string()),
                       ("release", pa.string()), ("files", pa.string()), ("heldout", pa.bool_()), ("summary", pa.string())])


def package_key(package_id: str) -> str:
    """The article a package is a version of: ``PMC123`` for ``PMC123.2``, else the package name."""
    return package_pmcid(package_id) or package_id


def summary_key(summary: dict) -> str:
    """The index key of a journal summary (from its ``version``: ``package@hash``)."""
    return package_key((summary.get("version") or summary["article_id"]).split("@")[0])


@dataclass
class IndexedArticle:
    key: str
    version: str
    article_id: str
    release: str
    files: dict[str, str] = field(default_factory=dict)  # config -> shard path holding its rows
    heldout: bool = False
    summary_json: str = "{}"  # kept as text: a parsed summary costs ~8x the memory, for every article

    @property
    def summary(self) -> dict:
        """Its journal summary (parsed on each access)."""
        return json.loads(self.summary_json)

    @summary.setter
    def summary(self, value: dict) -> None:
        self.summary_json = json.dumps(value, separators=(",", ":"))

    @property
    def images(self) -> list[tuple[str, str, Optional[str], bool]]:
        """Its figure images as built (`summary_images`)."""
        return summary_images(self.summary)


def summary_images(summary: dict) -> list[tuple[str, str, Optional[str], bool]]:
    """A journal summary's figure images as built: (key, SHA-256, pHash, kept by the duplicate index)."""
    return [tuple(image) for image in summary.get("images", ())]


@dataclass
class ReleaseIndex:
    articles: dict[str, IndexedArticle] = field(default_factory=dict)  # key -> entry, in build order
    config: Optional[BuildConfig] = None

    def write(self, out_dir: Path) -> None:
        folder = Path(out_dir) / INDEX_DIR
        folder.mkdir(parents=True, exist_ok=True)
        rows = [{"key": a.key, "version": a.version, "article_id": a.article_id, "release": a.release,
                 "files": json.dumps(a.files), "heldout": a.heldout, "summary": a.summary_json}
                for a in self.articles.values()]
        tmp = folder / "articles.parquet.tmp"
        pq.write_table(pa.Table.from_pylist(rows, schema=_ARTICLES), tmp, compression="zstd")
        os.replace(tmp, folder / "articles.parquet")
        if self.config is not None:
            write_text_atomic(folder / "config.json", json.dumps(asdict(self.config)))

    @classmethod
    def read(cls, out_dir: Path) -> "ReleaseIndex":
        folder = Path(out_dir) / INDEX_DIR
        if not (folder / "articles.parquet").is_file():
            raise OutputError(f"{out_dir}: no release index ({INDEX_DIR}); it was built by an older pmc-hub: rebuild it once")
        try:
            index = cls()
            for r in pq.read_table(folder / "articles.parquet").to_pylist():
                index.articles[r["key"]] = IndexedArticle(r["key"], r["version"], r["article_id"], r["release"],
                                                          json.loads(r["files"]), r["heldout"], r["summary"])
            raw = json.loads((folder / "config.json").read_text(encoding="utf-8"))
            index.config = BuildConfig(**{**raw, "layout": ShardLayout(**raw["layout"]),
                                          "shard": tuple(raw["shard"]) if raw["shard"] else None})
        except (OSError, ValueError, KeyError, TypeError, pa.ArrowException) as exc:
            raise OutputError(f"{folder} is damaged ({type(exc).__name__}); rebuild the folder") from None
        return index


def add_checkpoints(index: ReleaseIndex, checkpoints: Iterable[dict]) -> None:
    """Add the articles of a journal's checkpoints. A package skipped as a duplicate never
    replaces the entry of the article it duplicates."""
    for cp in checkpoints:
        for summary in cp["articles"]:
            key = summary_key(summary)
            if key in index.articles and not summary["article_written"] and index.articles[key].summary.get("article_written"):
                continue
            files = {config: cp["files"][config]["path"] for config in summary["rows"] if config in cp["files"]}
            index.articles.pop(key, None)  # a rebuilt article moves to where it was built again
            entry = index.articles[key] = IndexedArticle(key, summary.get("version") or "", summary["article_id"], cp["release"], files)
            entry.summary = summary
