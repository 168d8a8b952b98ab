#!/usr/bin/env python
"""Score and time a subfigure detector on generated compound figures, or on the real development set.

    python scripts/bench_subfigures.py --count 1000 [--model PATH_OR_ID] [--panels DIR] [--seed 1234] [--json out.json] [--figures boxes.jsonl]
    python scripts/bench_subfigures.py --real tests/data/figures/subfigures.coco.json [--captions] [--split tune] [--model PATH_OR_ID] [--json out.json] [--figures per_figure.jsonl]
    python scripts/bench_subfigures.py ... --figures after.jsonl --same-as before.jsonl

Generated figures: the ImageCLEF accuracy (all figures, figures with gaps, figures without gaps),
precision/recall@0.5, AP@0.5, mAP@0.5:0.95 and figures per second (one process; decoding the
figures is not timed).

Real figures (``--real``): ImageCLEF accuracy of the compound figures (all, tune, holdout, and
each split by round: rounds 1-3, 5, 7, 9, 11, 15 and 18; drawn figures without a round count
with rounds 1-3), the
share of single-panel figures left as one box, panel letters read (precision, recall), the right
subcaptions of the lettered panels (from the caption alone, with the true boxes and the letters read
on them, with the detected boxes), the right subcaptions of the held-out eLife captions
(subcaptions.elife.json beside the COCO file), and CPU figures per second per core with label
detection on (process time of the detector on decoded images, one BLAS/OpenMP thread unless
OMP_NUM_THREADS says otherwise), and its
CPU seconds per figure.

``--same-as`` compares the boxes and letters just written with ``--figures`` to an earlier run's
file (same command, other code): a change meant to make the splitter faster must change no box.
With ``--captions`` the detector is given each figure's caption from the COCO file (caption-guided);
without it, the image alone. ``--split tune`` runs the detector on the tune figures only.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

# CPU per figure is process time: a thread pool of numpy's BLAS or OpenMP spinning on the other core
# would double it (52 against 28 ms a figure on the development set here), so one thread unless
# the caller says otherwise (before numpy is first imported)
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

from PIL import Image  # noqa: E402

from pmc_hub.subfigures import metrics  # noqa: E402
from pmc_hub.subfigures.align import align  # noqa: E402
from pmc_hub.subfigures.boxes import Box  # noqa: E402
from pmc_hub.subfigures.detector import load_detector  # noqa: E402
from pmc_hub.subfigures.subcaptions import split_caption  # noqa: E402
from pmc_hub.subfigures.synthetic import FolderPanels, make_figure  # noqa: E402


# the rounds that added figures of new sources, whose letters are also scored apart (`real`)
SOURCE_ROUNDS = (11, 15, 18)

def synthetic(args) -> dict:
    detector = load_detector(args.model)
    panels = FolderPanels(args.panels) if args.panels else None
    figs = [make_figure(args.seed, i, panels=panels) for i in range(args.count)]
    start = time.perf_counter()
    preds = detector.detect([f.image for f in figs])
    seconds = time.perf_counter() - start
    if args.figures:
        rows = [{"id": i, "boxes": _boxes(boxes)} for i, boxes in enumerate(preds)]
        Path(args.figures).write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    truths = [f.boxes for f in figs]
    gap = [k for k, f in enumerate(figs) if not f.no_gap]
    nogap = [k for k, f in enumerate(figs) if f.no_gap]
    return {
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


def real(args) -> dict:
    coco_path = Path(args.real)
    root = _repo_root(coco_path)
    coco = json.loads(coco_path.read_text(encoding="utf-8"))
    anns: dict[int, list[dict]] = {}
    for a in coco["annotations"]:
        anns.setdefault(a["image_id"], []).append(a)
    if args.split:
        # score one split only: the other's figures are not even run (tuning never sees holdout)
        coco["images"] = [im for im in coco["images"] if im["split"] == args.split]
    detector = load_detector(args.model)
    found, seconds = {}, 0.0
    for im in coco["images"]:
        with Image.open(root / im["file_name"]) as f:
            f.load()
            image = f.convert("RGB")
        captions = [im.get("caption")] if args.captions else None
        start = time.process_time()
        found[im["id"]] = detector.detect([image], captions)[0]
        seconds += time.process_time() - start
    out: dict = {"detector": detector.name, "captions": bool(args.captions), "figures": len(coco["images"])}
    for split, chosen in _groups(coco["images"]).items():
        compound = [im["id"] for im in chosen if im["kind"] == "compound"]
        single = [im["id"] for im in chosen if im["kind"] == "single"]
        truths = [[Box.from_xywh(a["bbox"]) for a in anns[i]] for i in compound]
        out[f"compound_{split}"] = len(compound)
        out[f"imageclef_accuracy_{split}"] = metrics.imageclef_accuracy([found[i] for i in compound], truths)
        out[f"single_{split}"] = len(single)
        out[f"single_one_box_{split}"] = sum(len(found[i]) == 1 for i in single) / max(1, len(single))
    if args.figures:
        _write_figures(Path(args.figures), coco["images"], anns, found)
    out.update(_letters(coco["images"], anns, found))
    groups = _groups(coco["images"])
    for group in ("r1-9", *(f"{split}_r{added}" for added in SOURCE_ROUNDS for split in ("tune", "holdout"))):
        if group in groups and len(groups[group]) < len(coco["images"]):
            out.update({f"{k}_{group}": v for k, v in _letters(groups[group], anns, found).items()})
    out.update(_subcaptions(coco, anns, found))
    elife = coco_path.parent / "subcaptions.elife.json"
    if elife.exists():
        captions = json.loads(elife.read_text(encoding="utf-8"))["captions"]
        right = total = 0
        for c in captions:
            split = split_caption(c["caption"])
            for letter in c["subcaptions"]:
                sub = split.for_label(letter.lower())
                right += metrics.subcaption_right(sub.text if sub else "", letter, c["subcaptions"], c["caption"])
                total += 1
        out["subcaptions_elife_heldout"] = right / total
    out["cpu_figures_per_second"] = len(coco["images"]) / seconds
    out["cpu_ms_per_figure"] = 1000 * seconds / len(coco["images"])
    return out


def _write_figures(path: Path, images: list[dict], anns: dict[int, list[dict]], found: dict[int, list[Box]]) -> None:
    """One line per figure: its id, file, split, round, kind, score (ImageCLEF for a compound
    figure, 1 or 0 for a single panel kept whole or not) and the boxes found with their letters."""
    rows = []
    for im in images:
        boxes = found[im["id"]]
        truth = [Box.from_xywh(a["bbox"]) for a in anns[im["id"]]]
        score = metrics.imageclef_figure_score(boxes, truth) if im["kind"] == "compound" else float(len(boxes) == 1)
        rows.append({"id": im["id"], "file_name": im["file_name"], "split": im["split"], "round": im.get("round"),
                     "kind": im["kind"], "true_boxes": len(truth), "score": score, "boxes": _boxes(boxes)})
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


def _boxes(boxes: list[Box]) -> list[list]:
    return [[b.x0, b.y0, b.x1, b.y1, b.label] for b in boxes]


def changed_figures(before: Path, after: Path) -> list[str]:
    """The figures (ids) whose boxes or letters differ between two ``--figures`` files."""
    def boxes(path: Path) -> dict:
        rows = (json.loads(line) for line in path.read_text(encoding="utf-8").splitlines())
        return {r["id"]: r["boxes"] for r in rows}
    old, new = boxes(before), boxes(after)
    return [str(i) for i in sorted(old.keys() | new.keys()) if old.get(i) != new.get(i)]


def _groups(images: list[dict]) -> dict[str, list[dict]]:
    """The figures scored together: all, each split, and each split by the rounds that added them
    (rounds 5 and 7 added figures no one had looked at while tuning, rounds 1-3 a holdout that was
    seen, round 11 figures of three new sources, round 15 figures of three new repositories, round 18
    figures of seven), and
    rounds 1-9 together (``r1-9``)."""
    groups = {"all": images}
    for split in ("tune", "holdout"):
        groups[split] = [im for im in images if im["split"] == split]
        groups[f"{split}_r1-3"] = [im for im in groups[split] if im.get("round", 0) <= 3]
        for added in (5, 7, 9, *SOURCE_ROUNDS):
            groups[f"{split}_r{added}"] = [im for im in groups[split] if im.get("round") == added]
    groups["r1-9"] = [im for im in images if im.get("round", 0) <= 9]
    return {name: chosen for name, chosen in groups.items() if chosen}


def _repo_root(coco_path: Path) -> Path:
    """The folder the COCO file's file names are relative to: the repository root above it."""
    for folder in coco_path.resolve().parents:
        if (folder / "pyproject.toml").exists():
            return folder
    return Path.cwd()


def _letters(images: list[dict], anns: dict[int, list[dict]], found: dict[int, list[Box]]) -> dict:
    """Letters the detector put on its boxes against the letters drawn: a letter is right when a
    box carrying it overlaps the true panel drawn with it (IoU >= 0.5)."""
    right = read = drawn = 0
    for im in images:
        boxes = found[im["id"]]
        read += sum(b.label is not None for b in boxes)
        for a in anns[im["id"]]:
            if a["label"]:
                drawn += 1
                true = Box.from_xywh(a["bbox"])
                right += any(b.label == a["label"].lower() and b.iou(true) >= 0.5 for b in boxes)
    return {"letters_drawn": drawn, "panel_letters_precision": right / max(1, read), "panel_letters_recall": right / max(1, drawn)}


def _subcaptions(coco: dict, anns: dict[int, list[dict]], found: dict[int, list[Box]]) -> dict:
    """Right subcaptions of the lettered panels: from the caption alone (the text the caption
    gives the panel's letter), and as aligned to the true boxes carrying the letters the detector
    read on them, and to the detected boxes (the box overlapping the true panel most, IoU >= 0.5)."""
    counts = {"caption": 0, "true_boxes": 0, "detected_boxes": 0}
    total = 0
    for im in coco["images"]:
        truth = {k.lower(): v for k, v in (im.get("subcaptions") or {}).items()}
        if not truth:
            continue
        split = split_caption(im["caption"])
        true = [(Box.from_xywh(a["bbox"]), (a["label"] or "").lower()) for a in anns[im["id"]]]
        lettered = [Box(b.x0, b.y0, b.x1, b.y1, label=_read(b, found[im["id"]])) for b, _ in true]
        aligned = {"true_boxes": align(lettered, split), "detected_boxes": align(found[im["id"]], split)}
        for box, letter in true:
            if letter not in truth:
                continue
            total += 1
            sub = split.for_label(letter)
            counts["caption"] += metrics.subcaption_right(sub.text if sub else "", letter, truth, im["caption"])
            for name, alignments in aligned.items():
                hit = max(alignments, key=lambda a: a.box.iou(box))
                counts[name] += hit.box.iou(box) >= 0.5 and metrics.subcaption_right(hit.subcaption, letter, truth, im["caption"])
    return {"lettered_panels": total, **{f"subcaptions_{k}": v / max(1, total) for k, v in counts.items()}}


def _read(true: Box, found: list[Box]) -> str | None:
    """The letter the detector read on the detected box matching a true box (IoU >= 0.5)."""
    best = max(found, key=lambda b: b.iou(true))
    return best.label if best.iou(true) >= 0.5 else None


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--real", help="score on this real COCO set instead (tests/data/figures/subfigures.coco.json)")
    p.add_argument("--captions", action="store_true", help="--real: give the detector each figure's caption")
    p.add_argument("--split", choices=("tune", "holdout"), help="--real: run and score this split only")
    p.add_argument("--count", type=int, default=500)
    p.add_argument("--seed", type=int, default=1234)
    p.add_argument("--model", default=None, help="transformers model folder or Hub id (default: classical splitter)")
    p.add_argument("--panels", help="compose panels from the images under this folder (default: procedural)")
    p.add_argument("--json", help="write the results here")
    p.add_argument("--figures", help="write each figure's boxes (--real: and score) here (JSON lines)")
    p.add_argument("--same-as", help="with --figures: an earlier --figures file whose boxes must be the same")
    args = p.parse_args(argv)
    if args.same_as and not args.figures:
        p.error("--same-as needs --figures")
    result = real(args) if args.real else synthetic(args)
    if args.same_as:
        changed = changed_figures(Path(args.same_as), Path(args.figures))
        result["figures_changed"] = len(changed)
        if changed:
            print("figures whose boxes changed: " + " ".join(changed))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(result, fh, indent=1)
    for k, v in result.items():
        print(f"{k:<30} {v:.4f}" if isinstance(v, float) else f"{k:<30} {v}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
