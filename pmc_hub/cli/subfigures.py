"""`pmc-hub subfigures detect IMAGE... --out pred.json [--model PATH_OR_ID] [--truth T.json]`:
subfigure boxes for any images, written as COCO results, so any detector can be scored with
`pmc-hub eval subfigures --pred pred.json --truth T.json`."""
from __future__ import annotations

import json
import os
from pathlib import Path

from PIL import Image

from ..errors import UsageError


def register(subparsers) -> None:
    p = subparsers.add_parser("subfigures", help="find the panels of compound figures",
                              description="Subfigure detection on any images.")
    sub = p.add_subparsers(dest="subfigures_command", metavar="ACTION", required=True)
    d = sub.add_parser(
        "detect", help="detect subfigure boxes and write them as COCO results",
        description="Detect the panels of each IMAGE and write COCO results ([{image_id, category_id, bbox: "
                    "[x, y, w, h], score, label}], label: the panel letter read on it or null). Image ids come "
                    "from --truth (matched by file name) or else count from 1 in the order given. When the "
                    "--truth images carry a 'caption', the detector is given it (the panels a caption names "
                    "guide the CPU splitter); --no-captions scores the image alone.")
    d.add_argument("images", nargs="+", type=Path, metavar="IMAGE")
    d.add_argument("--out", required=True, type=Path, help="write the COCO results here")
    d.add_argument("--model", help="transformers object-detection model folder or Hub id (default: the CPU splitter)")
    d.add_argument("--truth", type=Path, help="COCO dataset JSON whose image ids (and captions, where its images "
                                              "carry them) the results use")
    d.add_argument("--no-captions", action="store_true", help="ignore the captions of --truth: detect from the image alone")
    d.add_argument("--batch-size", type=int, default=16, help="images per detector call (default: 16)")
    d.set_defaults(func=run_detect)


def run_detect(args) -> int:
    from ..subfigures.detector import load_detector
    from ..subfigures.metrics import coco_results

    ids, captions = _image_ids(args.images, args.truth)
    if args.no_captions:
        captions = [None] * len(ids)
    detector = load_detector(args.model)
    found = []
    size = max(1, args.batch_size)
    for start in range(0, len(args.images), size):
        found.extend(detector.detect([_open(path) for path in args.images[start:start + size]], captions[start:start + size]))
    results = coco_results(ids, found)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1), encoding="utf-8")
    guided = sum(c is not None for c in captions)
    print(f"{len(results)} boxes in {len(ids)} images ({detector.name}, {guided} with their caption) -> {args.out}")
    return 0


def _open(path: Path) -> Image.Image:
    try:
        image = Image.open(path)
        image.load()
    except (OSError, ValueError, Image.DecompressionBombError) as e:
        raise UsageError(f"{path}: cannot read the image: {e}") from e
    return image


def _image_ids(images: list[Path], truth: Path | None) -> tuple[list[int], list[str | None]]:
    """Each image's id and caption: from the truth file, by its file name (relative to the working
    folder or to the truth file, else by base name when that is unique), the caption where its
    image entry has one; else ids 1, 2... in the order given and no captions."""
    if truth is None:
        return list(range(1, len(images) + 1)), [None] * len(images)
    from ..subfigures.metrics import MetricsInputError, load_coco_captions, load_coco_truth

    try:
        _, names, _ = load_coco_truth(truth)
        captions = load_coco_captions(truth)
    except MetricsInputError as e:
        raise UsageError(str(e)) from e
    by_path: dict[str, int] = {}
    by_base: dict[str, list[int]] = {}
    for image_id, name in names.items():
        for folder in (Path.cwd(), truth.parent):
            by_path.setdefault(os.path.normpath(folder / name), image_id)
        by_base.setdefault(Path(name).name, []).append(image_id)
    ids = []
    for path in images:
        image_id = by_path.get(os.path.normpath(path.absolute()))
        if image_id is None and len(by_base.get(path.name, [])) == 1:
            image_id = by_base[path.name][0]
        if image_id is None:
            raise UsageError(f"{path}: no image of that file name in {truth}; name it as the truth file does")
        ids.append(image_id)
    return ids, [captions.get(image_id) for image_id in ids]
