"""Article rows handed from a worker process to the build's main process as Arrow files.

A worker converts an article's rows to one Arrow table per config (`article_tables`, in parallel,
where a row that cannot be stored becomes that article's skip), writes them to a spool folder
and sends only their paths; the main process memory-maps them. Image bytes are not pickled, piped
and unpickled row by row: the main process stays a thin writer, which is what lets the build
scale with workers.
"""
from __future__ import annotations

import importlib.abc
import os
import shutil
import sys
from collections import defaultdict
from pathlib import Path

import pyarrow as pa

from .models import ArticleResult, Skip
from .output import ARTICLES, STATE_DIR, figure_config, schema_of
from .report import UNWRITABLE
from .schema import to_table

SPOOL_DIR = f"{STATE_DIR}/spool"
_STORE_ERRORS = (pa.ArrowException, UnicodeError, OverflowError, TypeError, ValueError)


class _NoPandas(importlib.abc.MetaPathFinder):
    """An import finder that says pandas is not there (see `convert_without_pandas`)."""

    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] == "pandas":
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


def convert_without_pandas() -> None:
    """For a build worker, which converts only Python values: pyarrow's first conversion asks
    whether the values are a pandas object and imports pandas to find out (0.2 s of CPU and about
    45 MB in every worker, for an answer that is always no). Here that first question is asked
    while pandas cannot be imported, and pyarrow keeps the answer; pandas stays importable for
    anything that imports it itself. Nothing is done where pandas is imported already."""
    if "pandas" in sys.modules:
        return
    finder = _NoPandas()
    sys.meta_path.insert(0, finder)
    try:
        pa.array([])
    finally:
        sys.meta_path.remove(finder)


def article_tables(result: ArticleResult) -> ArticleResult:
    """The result with its rows as one Arrow table per config (rows dropped); an article whose
    rows cannot be stored keeps its counts and gets one `unwritable record` skip instead."""
    if result.tables:
        return result
    rows: dict[str, list[dict]] = defaultdict(list)
    for row in result.figure_rows:
        rows[figure_config(row["license_category"])].append(row)  # only a commercial license reaches commercial
    for row in result.subfigure_rows:
        rows[figure_config(row["license_category"], subfigure=True)].append(row)
    if result.article_row is not None:
        rows[ARTICLES].append(result.article_row)
    try:
        tables = {config: to_table(r, schema_of(config)) for config, r in rows.items()}
    except _STORE_ERRORS as exc:
        return without_rows(result, Skip(result.article_id, UNWRITABLE, f"{type(exc).__name__}: {' '.join(str(exc).split())[:300]}"))
    return ArticleResult(result.origin, result.article_id, skips=result.skips, figures_in=result.figures_in,
                         images_in=result.images_in, license_category=result.license_category,
                         license_code=result.license_code, version=result.version, tables=tables)


def without_rows(result: ArticleResult, skip: Skip) -> ArticleResult:
    """The result of an article none of whose rows is written, with the reason."""
    return ArticleResult(result.origin, result.article_id, figures_in=result.figures_in, images_in=result.images_in,
                         version=result.version, skips=[skip])


def spool(result: ArticleResult, folder: Path, seq: int) -> ArticleResult:
    """Write the result's tables to ``folder`` and keep only their paths."""
    result = article_tables(result)
    for config, table in result.tables.items():
        path = Path(folder) / f"{seq:09d}-{config}.arrow"
        with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
            writer.write_table(table)
        result.spooled[config] = str(path)
    result.tables = {}
    return result


def unspool(result: ArticleResult) -> ArticleResult:
    """Map a spooled result's tables back (no copy, no per-row work) and remove the files; the
    mapped memory stays valid for as long as the tables use it."""
    for config, path in result.spooled.items():
        with pa.memory_map(path) as source:
            result.tables[config] = pa.ipc.open_file(source).read_all()
        os.unlink(path)
    result.spooled = {}
    return result


def fresh_spool(out_dir: Path) -> Path:
    """An empty spool folder under the build's state (a killed build's leftovers removed)."""
    folder = Path(out_dir) / SPOOL_DIR
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder
