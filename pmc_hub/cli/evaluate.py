"""`pmc-hub eval retrieval|subfigures`: one subcommand per evaluation (heavy imports, torch and
models, stay inside the functions that run)."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..errors import UsageError


def register(subparsers) -> None:
    p = subparsers.add_parser("eval", help="evaluate models: image-text retrieval on a benchmark, subfigure boxes",
                              description="Evaluate models on a benchmark split, or score subfigure boxes.")
    sub = p.add_subparsers(dest="eval_command", metavar="EVALUATION")
    register_retrieval(sub)
    register_subfigures(sub)
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


def register_subfigures(sub) -> None:
    p = sub.add_parser(
        "subfigures", help="subfigure boxes: ImageCLEF accuracy, precision/recall@0.5, AP@0.5, mAP@0.5:0.95",
        description="Score predicted subfigure boxes against true panels. Both files are COCO JSON: the truth a "
                    "dataset file (images + annotations), the predictions a results list "
                    "([{image_id, bbox: [x, y, w, h], score}]) or a dataset file with scored annotations "
                    "(`pmc-hub subfigures detect` writes them).")
    p.add_argument("--pred", required=True, help="predicted boxes (COCO results or dataset JSON)")
    p.add_argument("--truth", required=True, help="true panel boxes (COCO dataset JSON)")
    p.add_argument("--out", help="also write the scores here as JSON")
    p.set_defaults(func=run_subfigures)


def run_subfigures(args: argparse.Namespace) -> int:
    from ..subfigures.metrics import evaluate_coco_files

    data = evaluate_coco_files(args.pred, args.truth).to_dict()
    if args.out:
        Path(args.out).write_text(json.dumps(data, indent=1), encoding="utf-8")
    width = max(map(len, data))
    for k, v in data.items():
        print(f"{k:<{width}}  {v:.4f}" if isinstance(v, float) else f"{k:<{width}}  {v}")
    return 0
