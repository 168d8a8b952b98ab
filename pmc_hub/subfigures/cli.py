"""`pmc-hub eval subfigures --pred P.json --truth T.json`: score subfigure boxes (COCO JSON in).

Wired by adding ``"pmc_hub.subfigures.cli:register_eval"`` to ``EVALUATORS`` in
pmc_hub/cli/evaluate.py; `pmc-hub subfigures detect` (pmc_hub/cli/subfigures.py) writes the predictions it reads.
"""
from __future__ import annotations

import json

from .metrics import evaluate_coco_files


def register_eval(subparsers) -> None:
    p = subparsers.add_parser(
        "subfigures", help="subfigure boxes: ImageCLEF accuracy, precision/recall@0.5, AP@0.5, mAP@0.5:0.95",
        description="Score predicted subfigure boxes against true panels. Both files are COCO JSON: the truth a "
                    "dataset file (images + annotations), the predictions a results list "
                    "([{image_id, bbox: [x, y, w, h], score}]) or a dataset file with scored annotations.")
    p.add_argument("--pred", required=True, help="predicted boxes (COCO results or dataset JSON)")
    p.add_argument("--truth", required=True, help="true panel boxes (COCO dataset JSON)")
    p.add_argument("--out", help="also write the scores here as JSON")
    p.set_defaults(func=run_eval)


def run_eval(args) -> int:
    data = evaluate_coco_files(args.pred, args.truth).to_dict()  # MetricsInputError: a usage error
    if args.out:
        with open(args.out, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=1)
    width = max(map(len, data))
    for k, v in data.items():
        print(f"{k:<{width}}  {v:.4f}" if isinstance(v, float) else f"{k:<{width}}  {v}")
    return 0
