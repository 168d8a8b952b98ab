"""The release index of a build folder (``.pmc-hub/index/``): what an update needs from earlier
releases without their shards on disk.

- ``articles.parquet``: one row per article package ever built here and still current: its key
  (the PMC id of a PMC package, else the package name), version, article id, the shard of each
  config holding its rows, whether it is held out for the benchmark, and its report summary.
- ``images.parquet``: every kept figure image (key, SHA-256, pHash, article), in the order the
  duplicate index took them, so an update keeps new copies of published images out.
"""
from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterable, Iterator, Optional

import pyarrow as pa
import pyarrow.parquet as pq

from .config import BuildConfig, ShardLayout
from .output import FIGURE_CONFIGS, STATE_DIR, OutputError
from .records import package_pmcid

INDEX_DIR = f"{STATE_DIR}/index"

_ARTICLES = pa.schema([("key", pa.string()), ("version", pa.string()), ("article_id", pa.string()),
                       ("release", pa.string()), ("files", pa.string()), ("heldout", pa.bool_()), ("summary", pa.string())])
_IMAGES = pa.schema([("image_key", pa.string()), ("image_hash", pa.string()), ("image_phash", pa.string()),
                     ("article_id", pa.string())])


def package_key(package_id: str) -> str:
    """The article a package is a version of: ``PMC123`` for ``PMC123.2``, else the package name."""
    return package_pmcid(package_id) or package_id


@dataclass
class IndexedArticle:
    key: str
    version: str
    article_id: str
    release: str
    files: dict[str, str] = field(default_factory=dict)  # config -> shard path holding its rows
    heldout: bool = False
    summary: dict = field(default_factory=dict)


@dataclass
class ReleaseIndex:
    articles: dict[str, IndexedArticle] = field(default_factory=dict)  # key -> entry
    images: list[tuple[str, str, Optional[str], str]] = field(default_factory=list)  # kept, in order
    config: Optional[BuildConfig] = None  # what the folder is built with: an update builds the same way

    def write(self, out_dir: Path) -> None:
        folder = Path(out_dir) / INDEX_DIR
        folder.mkdir(parents=True, exist_ok=True)
        rows = [{"key": a.key, "version": a.version, "article_id": a.article_id, "release": a.release,
                 "files": json.dumps(a.files), "heldout": a.heldout, "summary": json.dumps(a.summary)}
                for a in self.articles.values()]
        _write(folder / "articles.parquet", pa.Table.from_pylist(rows, schema=_ARTICLES))
        images = pa.Table.from_arrays([pa.array(c, pa.string()) for c in zip(*self.images)] if self.images
                                      else [pa.array([], pa.string())] * 4, schema=_IMAGES)
        _write(folder / "images.parquet", images)
        if self.config is not None:
            tmp = folder / "config.json.tmp"
            tmp.write_text(json.dumps(asdict(self.config)), encoding="utf-8")
            os.replace(tmp, folder / "config.json")

    @classmethod
    def read(cls, out_dir: Path) -> "ReleaseIndex":
        folder = Path(out_dir) / INDEX_DIR
        if not (folder / "articles.parquet").is_file():
            raise OutputError(f"{out_dir}: no release index ({INDEX_DIR}); it was built by an older pmc-hub: rebuild it once")
        try:
            index = cls()
            for r in pq.read_table(folder / "articles.parquet").to_pylist():
                index.articles[r["key"]] = IndexedArticle(r["key"], r["version"], r["article_id"], r["release"],
                                                          json.loads(r["files"]), r["heldout"], json.loads(r["summary"]))
            table = pq.read_table(folder / "images.parquet")
            index.images = list(zip(*(table.column(i).to_pylist() for i in range(4))))
            raw = json.loads((folder / "config.json").read_text(encoding="utf-8"))
            index.config = BuildConfig(**{**raw, "layout": ShardLayout(**raw["layout"]),
                                          "shard": tuple(raw["shard"]) if raw["shard"] else None})
        except (OSError, ValueError, KeyError, TypeError, pa.ArrowException) as exc:
            raise OutputError(f"{folder} is damaged ({type(exc).__name__}); rebuild the folder") from None
        return index


def _write(path: Path, table: pa.Table) -> None:
    tmp = path.with_name(path.name + ".tmp")
    pq.write_table(table, tmp, compression="zstd")
    os.replace(tmp, path)


def summary_key(summary: dict) -> str:
    """The index key of a journal summary (from its ``version``: ``package@hash``)."""
    return package_key((summary.get("version") or summary["article_id"]).split("@")[0])


def add_checkpoints(index: ReleaseIndex, out_dir: Path, checkpoints: Iterable[dict]) -> None:
    """Add the articles and kept images of a journal's checkpoints (their shards are on disk).
    A package skipped as a duplicate never replaces the entry of the article it duplicates."""
    for cp in checkpoints:
        by_article: dict[str, list[tuple]] = {}
        for config, written in cp["files"].items():
            if config in FIGURE_CONFIGS:
                table = pq.read_table(Path(out_dir) / written["path"],
                                      columns=["image_key", "image_hash", "image_phash", "article_accession_id"])
                for row in zip(*(table.column(i).to_pylist() for i in range(4))):
                    by_article.setdefault(row[3], []).append(row)
        for summary in cp["articles"]:
            key = summary_key(summary)
            if key in index.articles and not summary["article_written"] and index.articles[key].summary.get("article_written"):
                continue
            files = {config: cp["files"][config]["path"] for config in summary["rows"] if config in cp["files"]}
            index.articles[key] = IndexedArticle(key, summary.get("version") or "", summary["article_id"], cp["release"],
                                                 files, summary=summary)
            if summary["article_written"]:
                index.images.extend(by_article.pop(summary["article_id"], ()))
