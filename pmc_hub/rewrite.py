"""Rewrite a finished folder's shards in place (e.g. new labels): each shard passes through a
change function a row group at a time and is replaced atomically; the manifest, report and card
follow. The folder is locked meanwhile."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Callable, Iterable

import pyarrow as pa

from .output import CARD_FILE, OutputError, locked, read_manifest, record_files, schema_of, write_owned_text
from .schema import to_table
from .writers import read_tables, write_file


def rewrite_shards(out_dir: Path, configs: Iterable[str], change: Callable[[list[dict]], list[dict]]) -> int:
    """Pass every row of ``configs`` through ``change`` (same rows, same order); returns the rows seen."""
    from .config import ShardLayout
    from .report import BuildReport

    out_dir = Path(out_dir)
    with locked(out_dir, "rewrite"):
        manifest = read_manifest(out_dir)
        if manifest is None or not manifest.complete:
            raise OutputError(f"{out_dir}: not a finished pmc-hub build (no complete manifest)")
        report = BuildReport.read(out_dir)
        opts = report.options
        layout = ShardLayout(**{k: opts[k] for k in ("shard_bytes", "row_group_rows", "max_folder_files", "max_repo_files") if k in opts})
        count, entries = 0, {}
        for config in configs:
            schema = schema_of(config)
            for rel in manifest.shards(config):
                def changed() -> Iterable[pa.Table]:
                    nonlocal count
                    for table in read_tables(out_dir / rel, layout.row_group_rows):
                        count += table.num_rows
                        yield to_table(change(table.to_pylist()), schema)

                w = write_file(out_dir, rel, schema, changed(), layout)
                entries[rel] = w.owned()
        manifest = record_files(out_dir, entries)
        if (out_dir / CARD_FILE).is_file():
            from .cards import render_card

            text = render_card(out_dir, json.loads(report.to_json()), manifest.files)
            record_files(out_dir, {CARD_FILE: write_owned_text(out_dir, CARD_FILE, text)})
    return count
