"""`pmc-hub eval ...`: one subcommand per evaluation.

Each entry of ``EVALUATORS`` names a ``register(subparsers)`` function ("module:function") that
adds one ``pmc-hub eval NAME`` parser and sets ``func`` on it; adding an evaluation is one line.
Modules are imported when the CLI is built, so keep heavy imports (torch...) inside ``func``.
"""
from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

from ..errors import UsageError

EVALUATORS = [
    "pmc_hub.cli.evaluate:register_retrieval",
    "pmc_hub.subfigures.cli:register_eval",
]


def register(subparsers) -> None:
    p = subparsers.add_parser("eval", help="evaluate models on a built or published benchmark",
                              description="Evaluate models on a benchmark split.")
    sub = p.add_subparsers(dest="eval_command", metavar="EVALUATION")
    for spec in EVALUATORS:
        module, _, function = spec.partition(":")
        getattr(importlib.import_module(module), function)(sub)
    p.set_defaults(func=lambda args: _usage(p))


def _usage(p: argparse.ArgumentParser) -> int:
    p.print_help(sys.stderr)
    return 2


def register_retrieval(sub) -> None:
    p = sub.add_parser(
        "retrieval", help="image-text retrieval: Recall@K, mean/median rank, bootstrap intervals",
        description="Image-to-text and text-to-image retrieval (PMC-9K protocol: one caption per image, "
                    "the whole split as gallery; ties count against the model).")
    p.add_argument("--dataset", help="built folder or Hub dataset repo id")
    p.add_argument("--config", default="benchmark", help="dataset config (default: benchmark)")
    p.add_argument("--split", default="test", help="split (default: test)")
    p.add_argument("--model", help="CLIP-like transformers model: local path or Hub id")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--device", default="auto", help="auto (default), cpu, cuda, cuda:1, mps...")
    p.add_argument("--image-embeddings", type=Path, help="precomputed image embeddings (.npy, n x dim)")
    p.add_argument("--text-embeddings", type=Path, help="precomputed caption embeddings (.npy, n x dim)")
    p.add_argument("--resamples", type=int, default=1000, help="bootstrap resamples (default: 1000)")
    p.add_argument("--seed", type=int, default=0, help="bootstrap seed (default: 0)")
    p.add_argument("--json", type=Path, help="also write the results as JSON here")
    p.add_argument("--save-embeddings", type=Path, metavar="DIR",
                   help="keep the computed embeddings as DIR/images.npy and DIR/texts.npy")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=run_retrieval)


def run_retrieval(args: argparse.Namespace) -> int:
    from ..retrieval import evaluate_embeddings, evaluate_model, format_table, load_embeddings

    if args.image_embeddings is not None or args.text_embeddings is not None:
        if args.image_embeddings is None or args.text_embeddings is None:
            raise UsageError("--image-embeddings and --text-embeddings go together")
        images, texts = load_embeddings(args.image_embeddings, args.text_embeddings)
        meta = {"image_embeddings": str(args.image_embeddings), "text_embeddings": str(args.text_embeddings)}
        result = evaluate_embeddings(images, texts, resamples=args.resamples, seed=args.seed, meta=meta)
    else:
        if not args.dataset or not args.model:
            raise UsageError("give --dataset and --model, or --image-embeddings and --text-embeddings")
        result = evaluate_model(args.dataset, args.config, args.split, args.model, args.batch_size, args.device,
                                resamples=args.resamples, seed=args.seed, progress=not args.no_progress,
                                save_embeddings=args.save_embeddings)
    print(format_table(result))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(result.to_json(), encoding="utf-8")
    return 0
