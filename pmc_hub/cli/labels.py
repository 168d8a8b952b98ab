"""`pmc-hub labels fit|apply`: cluster a build's images, then propagate the maintainer's cluster labels."""
from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import DataError, PmcHubError, UsageError, one_line


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("labels", help="cluster a build's images and propagate cluster labels (BIOMEDICA-style)",
                       description="1) `labels fit` embeds the images with a transformers vision model, runs k-means, "
                                   "and writes the centroids and a cluster-label file with example captions; "
                                   "2) name the clusters in that file; 3) `labels apply` writes image_cluster_id and "
                                   "the labels into every figure row.")
    actions = p.add_subparsers(dest="labels_command", metavar="ACTION", required=True)
    fit = actions.add_parser("fit", help="cluster the image embeddings; write centroids and a label file to fill in")
    fit.add_argument("folder", type=Path)
    fit.add_argument("--model", required=True, help="transformers vision model (path or Hub id)")
    fit.add_argument("--clusters", type=int, required=True, metavar="K")
    fit.add_argument("--sample", type=int, help="fit on the first N images only (all are assigned)")
    fit.add_argument("--centroids", type=Path, default=Path("centroids.npy"))
    fit.add_argument("--label-file", type=Path, default=Path("clusters.yaml"))
    fit.set_defaults(func=run_fit)
    apply = actions.add_parser("apply", help="write cluster ids and the named clusters' labels into the shards")
    apply.add_argument("folder", type=Path)
    apply.add_argument("--model", required=True)
    apply.add_argument("--centroids", type=Path, default=Path("centroids.npy"))
    apply.add_argument("--label-file", type=Path, help="the filled-in cluster-label file")
    apply.set_defaults(func=run_apply)


def run_fit(args: argparse.Namespace) -> int:
    from ..labels import relabel  # (here: every other command starts without the labelers)

    try:
        relabel.fit(args.folder, args.model, args.clusters, args.centroids, args.label_file, args.sample)
    except OSError as exc:
        raise DataError(f"{exc.filename or args.folder}: {exc.strerror or exc}") from None
    print(f"wrote {args.centroids} and {args.label_file}: name each cluster's `primary` (and `secondary`), "
          f"then run `pmc-hub labels apply {args.folder} --model {args.model} --label-file {args.label_file}`")
    return 0


def run_apply(args: argparse.Namespace) -> int:
    if not args.centroids.is_file():
        raise UsageError(f"{args.centroids}: no such centroids file; run `pmc-hub labels fit` first or pass --centroids")
    from ..labels import relabel

    try:
        rows = relabel.apply(args.folder, args.model, args.centroids, args.label_file)
    except (OSError, ValueError) as exc:
        if isinstance(exc, PmcHubError):
            raise
        raise DataError(f"{args.centroids}: not centroids saved by `labels fit`: {one_line(exc)}") from None
    print(f"labelled {rows} figure rows in {args.folder}")
    return 0
