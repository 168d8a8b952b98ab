#!/usr/bin/env python
"""Measure the labelers on the hand-labelled development set (docs/taxonomy.md reports this).

    python scripts/eval_labels.py [--labels FILE ...] [--part holdout] [--round 8 | --exclude-round 7]
                                  [--errors] [--json out.json]
    python scripts/eval_labels.py --panel-cv    # the tuning figures only


On the development set (`pmc_hub.labels.evaluate.DEVELOPMENT_FILES`: labels.json and the worn
second fresh set, labels.fresh2.json) or the labels files given, for the tuning part, the held-out
part and both: primary-label coverage and precision, per
class, and panel-type accuracy, for the default content labeler (caption + image) on every
figure and on the captioned ones (the only ones a build writes), the same without captions
(image only: every decision of the image model, the floor that keeps unsure image-only labels
unwritten left out), and the caption rules alone.

``--panel-cv`` reads the tuning part only: panel-type accuracy of the panel search without seams
and with each setting of `SEAM_GRID` (`pmc_hub.labels.panel.Seams`), and the grouped
cross-validated accuracy of choosing the setting on the other folds' articles (the folds of
``scripts/fit_content_model.py``).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pmc_hub.labels import ContentLabeler, RuleLabeler  # noqa: E402
from pmc_hub.labels.evaluate import (Evaluation, LabelledFigure, development_paths, evaluate,  # noqa: E402
                                     figure_rows, load_labelled)
from pmc_hub.labels.panel import PANEL_SEAMS, Seams  # noqa: E402

# The seam settings --panel-cv compares (None: blank gutters only, the panel search of round 5).
SEAM_GRID: list[Seams | None] = [None] + [Seams(solid, sparse, lines) for solid in (0.9, 0.95, 0.98)
                                          for sparse in (0.2, 0.5, 0.85) for lines in (1, 2, 3)]


def table(name: str, result: Evaluation) -> str:
    lines = [f"### {name}: precision {result.precision:.3f} ({result.correct}/{result.labelled}), coverage "
             f"{result.coverage:.3f} ({result.labelled}/{result.figures}), panel type {result.panel_accuracy:.3f}",
             "", "| class | figures | labelled | predicted | right | precision | recall |", "|---|---|---|---|---|---|---|"]
    for cls, s in sorted(result.classes.items(), key=lambda kv: -kv[1].n):
        prec = "-" if s.precision is None else f"{s.precision:.2f}"
        rec = "-" if s.recall is None else f"{s.recall:.2f}"
        lines.append(f"| {cls} | {s.n} | {s.labelled} | {s.predicted} | {s.correct} | {prec} | {rec} |")
    return "\n".join(lines)


def panel_cv(figures: list[LabelledFigure]) -> None:
    """Panel-type accuracy of each `SEAM_GRID` setting on the tuning figures, and of choosing one
    by grouped cross-validation (the best on nine folds' articles, scored on the tenth)."""
    from fit_content_model import folds_of  # noqa: PLC0415 - the fit's folds, only for this option

    tune = [f for f in figures if f.split == "tune"]
    rows, thumbs = figure_rows(tune, ROOT)
    right = {}
    for seams in SEAM_GRID:
        labelled = ContentLabeler(panel_seams=seams).for_thumbnails(thumbs).label(rows)
        right[seams] = [row.get("image_panel_type") == f.panel_type for f, row in zip(tune, labelled)]
        mark = "  (PANEL_SEAMS)" if seams == PANEL_SEAMS else ""
        print(f"{seams or 'gutters only'}: {sum(right[seams])} of {len(tune)}{mark}")
    folds = folds_of([f.article for f in tune])
    chosen = 0
    for fold in sorted(set(folds)):
        best = max(SEAM_GRID, key=lambda s: sum(r for r, k in zip(right[s], folds) if k != fold))
        chosen += sum(r for r, k in zip(right[best], folds) if k == fold)
    print(f"cross-validated, setting chosen on the other folds: {chosen} of {len(tune)} ({chosen / len(tune):.3f})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--labels", type=Path, nargs="+", default=development_paths(ROOT),
                    help="labels files (default: the development set, evaluate.DEVELOPMENT_FILES)")
    ap.add_argument("--part", choices=("tune", "holdout", "all"), help="only this part (default: each)")
    ap.add_argument("--round", type=int, help="only the figures this round of the labels file added (e.g. 7, the fresh test set)")
    ap.add_argument("--exclude-round", type=int, help="leave out the figures this round added")
    ap.add_argument("--errors", action="store_true", help="list every wrong primary label")
    ap.add_argument("--json", type=Path, help="also write the headline numbers here")
    ap.add_argument("--panel-cv", action="store_true", help="only the panel search's seam settings, on the tuning part")
    args = ap.parse_args()

    figures = [f for f in load_labelled(*args.labels)
               if (args.round is None or f.round == args.round) and (args.exclude_round is None or f.round != args.exclude_round)]
    if args.panel_cv:
        panel_cv(figures)
        return
    content = ContentLabeler()
    # the image model's own decisions: with no caption nothing is written below the floor
    image_alone = ContentLabeler(model=dict(content.model, min_image_score=0.0))
    summary = {}
    parts = {"tune": ("tune",), "holdout": ("holdout",), "all": ("tune", "holdout")}
    for name in ([args.part] if args.part else parts):
        part = [f for f in figures if f.split in parts[name]]
        rows, thumbs = figure_rows(part, ROOT)
        captioned = [i for i, f in enumerate(part) if f.caption]
        runs = {"caption + image (default)": (content.for_thumbnails(thumbs), part, rows),
                "captioned figures, caption + image": (content.for_thumbnails(thumbs), [part[i] for i in captioned],
                                                       [rows[i] for i in captioned]),
                "image only (captions removed, no floor)": (image_alone.for_thumbnails(thumbs), part,
                                                            [dict(r, caption="") for r in rows]),
                "caption rules only": (RuleLabeler(), part, rows)}
        for run, (labeler, truth, data) in runs.items():
            result = evaluate(labeler, truth, data)
            summary[f"{name}: {run}"] = {"precision": round(result.precision, 3), "coverage": round(result.coverage, 3),
                                         "panel_accuracy": round(result.panel_accuracy, 3), "figures": result.figures}
            print(table(f"{name} ({len(truth)} figures), {run}", result), "\n")
        if args.errors:
            for fig, row in zip(part, content.for_thumbnails(thumbs).label(rows)):
                if row.get("image_primary_label") != fig.primary or row.get("image_panel_type") != fig.panel_type:
                    print(f"  {fig.primary!r} -> {row.get('image_primary_label')!r} ({row.get('image_label_source')}, "
                          f"{row.get('image_label_score')}) panel {fig.panel_type}->{row.get('image_panel_type')}  {fig.file}")
            print()
    if args.json:
        args.json.write_text(json.dumps(summary, indent=1) + "\n")


if __name__ == "__main__":
    main()
