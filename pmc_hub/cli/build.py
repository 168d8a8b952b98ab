"""`pmc-hub build SOURCE... --out DIR`."""
from __future__ import annotations

import argparse
from pathlib import Path

from ..build import build
from ..config import (DEFAULT_FOLDER_FILES, DEFAULT_REPO_FILES, DEFAULT_ROW_GROUP_ROWS, DEFAULT_SHARD_BYTES, BuildConfig,
                      RunOptions, ShardLayout)
from ..output import REPORT_FILE


def _shard(text: str) -> tuple[int, int]:
    try:
        index, count = (int(x) for x in text.split("/"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"--shard wants I/N (e.g. 0/8), not {text!r}") from None
    if not 0 <= index < count:
        raise argparse.ArgumentTypeError(f"--shard {text}: I must be in 0..N-1")
    return index, count


def add_layout_arguments(p: argparse.ArgumentParser) -> None:
    """The shard layout flags, the same for every command that writes shards."""
    p.add_argument("--shard-size", type=int, default=DEFAULT_SHARD_BYTES // 2**20, metavar="MB",
                   help=f"Parquet shard size in MB (default {DEFAULT_SHARD_BYTES // 2**20})")
    p.add_argument("--row-group-rows", type=int, default=DEFAULT_ROW_GROUP_ROWS,
                   help=f"rows per Parquet row group (default {DEFAULT_ROW_GROUP_ROWS})")
    p.add_argument("--max-folder-files", type=int, default=DEFAULT_FOLDER_FILES, metavar="N",
                   help=f"shards per folder before a release opens another (default {DEFAULT_FOLDER_FILES}; "
                        "the Hub asks for fewer than 10,000 entries per folder)")
    p.add_argument("--max-repo-files", type=int, default=DEFAULT_REPO_FILES, metavar="N",
                   help=f"files a dataset folder may hold in all (default {DEFAULT_REPO_FILES}; the Hub's limit is 100,000)")


def layout_of(args: argparse.Namespace) -> ShardLayout:
    return ShardLayout(args.shard_size * 2**20, args.row_group_rows, args.max_folder_files, args.max_repo_files)


def add_dedup_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--no-dedup", action="store_true",
                   help="keep exact and near-duplicate images (by default only the first copy is kept)")
    p.add_argument("--dedup-distance", type=int, default=6, metavar="BITS",
                   help="pHash bits within which two images are near duplicates (default 6)")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("build", help="build a Hub-ready dataset folder from PMC OA articles",
                       description="Build figure-caption datasets (configs commercial, noncommercial, other, articles). "
                                   "With no SOURCE, builds the bundled sample articles.")
    p.add_argument("sources", nargs="*", metavar="SOURCE",
                   help="article folder, folder of article folders or PMC Cloud layout, .tar.gz package(s), .xml file, "
                        "a .txt list of these, or an s3:// / https:// PMC Cloud location")
    p.add_argument("--out", type=Path, default=Path("pmc-hub-out"), help="output folder (default: pmc-hub-out)")
    p.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    p.add_argument("--shard", type=_shard, help="build only share I of N of the articles (job arrays), e.g. 3/16")
    add_layout_arguments(p)
    p.add_argument("--release", help="release name: the shards' folder and the Hub tag (default: the month, YYYY-MM)")
    p.add_argument("--checkpoint-every", type=int, metavar="N",
                   help="also record progress every N articles (default: whenever a shard is full), so a killed "
                        "build loses less when resumed")
    p.add_argument("--article-seconds", type=float, default=300.0, metavar="S",
                   help="time budget of one article in a worker; past it the article is skipped (default 300)")
    p.add_argument("--article-memory", type=int, default=4096, metavar="MB",
                   help="memory budget of one article in a worker; past it the article is skipped (default 4096)")
    p.add_argument("--mesh-xml", nargs="+", type=Path, default=[], metavar="FILE",
                   help="PubMed baseline/update XML files (.xml or .xml.gz) to fill article_mesh_terms by PMID")
    p.add_argument("--mesh-eutils", action="store_true",
                   help="fill article_mesh_terms from PubMed E-utilities (set NCBI_API_KEY for 10 requests/s)")
    p.add_argument("--labels", choices=("rules", "none"), default="rules",
                   help="fill the image label fields from caption and inline-reference rules (default) or not at all")
    p.add_argument("--label-model", metavar="PATH_OR_ID",
                   help="CLIP-like model (transformers) for zero-shot image labels, applied after the rules")
    add_dedup_arguments(p)
    p.add_argument("--benchmark", type=int, default=0, metavar="N",
                   help="carve a held-out, article-disjoint retrieval test split of N pairs (config `benchmark`)")
    p.add_argument("--benchmark-seed", type=int, default=0)
    p.add_argument("--subfigures", action="store_true",
                   help="also split compound figures into subfigure-subcaption pairs (configs subfigures_<license group>)")
    p.add_argument("--subfigure-model", metavar="PATH_OR_ID",
                   help="transformers object detector for --subfigures (default: the CPU splitter)")
    p.add_argument("--engine", choices=("process", "ray"), default="process",
                   help="run the per-article stage in local processes (default) or as Ray Data tasks")
    p.add_argument("--ray-address", help="Ray cluster to join (e.g. auto); default: start a local Ray")
    p.add_argument("--webdataset", type=Path, metavar="DIR",
                   help="also write the figure configs as WebDataset tar shards (jpg/png + txt + json) into DIR")
    p.add_argument("--fresh", action="store_true", help="start over instead of resuming an unfinished build in --out")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    config = BuildConfig(
        sources=tuple(args.sources), shard=args.shard, release=args.release, layout=layout_of(args),
        mesh_files=tuple(args.mesh_xml), mesh_eutils=args.mesh_eutils, labels=args.labels, label_model=args.label_model,
        subfigures=args.subfigures or bool(args.subfigure_model), subfigure_model=args.subfigure_model,
        dedup=not args.no_dedup, dedup_distance=args.dedup_distance, benchmark=args.benchmark,
        benchmark_seed=args.benchmark_seed)
    run_options = RunOptions(
        out_dir=args.out, workers=args.workers, engine=args.engine, ray_address=args.ray_address,
        article_seconds=args.article_seconds, article_memory_mb=args.article_memory,
        checkpoint_articles=args.checkpoint_every, webdataset_dir=args.webdataset, fresh=args.fresh,
        progress=not args.no_progress)
    report = build(config, run_options)
    print_summary(report, args.out)
    if args.webdataset:
        print(f"WebDataset shards: {args.webdataset}")
    return 0


def print_summary(report, out) -> None:
    print(f"{report.articles_in} articles, {report.images_in} figure images in; "
          f"{report.images_written} images written in {report.elapsed_seconds:.1f}s to {out}")
    for config, splits in report.configs.items():
        print(f"  {config:<14} " + ", ".join(f"{split}: {n} rows" for split, n in splits.items()))
    if report.skip_counts:
        print("  skipped: " + ", ".join(f"{reason}: {n}" for reason, n in sorted(report.skip_counts.items())))
        print(f"  (every skip with its article: {out / REPORT_FILE})")
    print(f'load it: datasets.load_dataset("{out}", "commercial", split="train")')
