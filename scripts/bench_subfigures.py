#!/usr/bin/env python
"""Score and time a subfigure detector on generated compound figures.

    python scripts/bench_subfigures.py --count 1000 [--model PATH_OR_ID] [--panels DIR] [--seed 1234] [--json out.json]

Reports the ImageCLEF accuracy (all figures, figures with gaps, figures without gaps),
precision/recall@0.5, AP@0.5, mAP@0.5:0.95 and figures per second (one process, one core for
the classical splitter; decoding the figures is not timed).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

from pmc_hub.subfigures import metrics
from pmc_hub.subfigures.detector import load_detector
from pmc_hub.subfigures.synthetic import FolderPanels, make_figure


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--count", type=int, default=500)
    p.add_argument("--seed", type=int, default=1234)
    p.add_argument("--model", default=None, help="transformers model folder or Hub id (default: classical splitter)")
    p.add_argument("--panels", help="compose panels from the images under this folder (default: procedural)")
    p.add_argument("--json", help="write the results here")
    args = p.parse_args(argv)
    detector = load_detector(args.model)
    panels = FolderPanels(args.panels) if args.panels else None
    figs = [make_figure(args.seed, i, panels=panels) for i in range(args.count)]
    start = time.perf_counter()
    preds = detector.detect([f.image for f in figs])
    seconds = time.perf_counter() - start
    truths = [f.boxes for f in figs]
    gap = [k for k, f in enumerate(figs) if not f.no_gap]
    nogap = [k for k, f in enumerate(figs) if f.no_gap]
    result = {
        "detector": detector.name,
        "seed": args.seed,
        "panels": args.panels or "procedural",
        **metrics.score(preds, truths).to_dict(),
        "imageclef_accuracy_with_gaps": metrics.imageclef_accuracy([preds[k] for k in gap], [truths[k] for k in gap]),
        "figures_with_gaps": len(gap),
        "imageclef_accuracy_no_gaps": metrics.imageclef_accuracy([preds[k] for k in nogap], [truths[k] for k in nogap]),
        "figures_no_gaps": len(nogap),
        "figures_per_second": args.count / seconds,
        "cpu_count": os.cpu_count(),
    }
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(result, fh, indent=1)
    for k, v in result.items():
        print(f"{k:<30} {v:.4f}" if isinstance(v, float) else f"{k:<30} {v}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
