#!/usr/bin/env python
"""What labelling costs per figure on one core, beyond the decode the build already does.

    python scripts/bench_labels.py [--repeats 5] [--json bench_labels.json]

On the real figures of the development set (`pmc_hub.labels.evaluate.DEVELOPMENT_FILES`) and the captions
and citing paragraphs of the test articles, CPU time (min of --repeats runs, one process pinned
to one core):
- already paid by every build: the reduced decode (JPEG draft / box-reduce) and the pHash;
- new for labelling: the RGB thumbnail and the grey image (`media.Thumbnail`) from that decode,
  and the content labeler
  (caption rules + image statistics + model + panel type) per figure, on the figures' own
  captions and on rows carrying real captions and citing paragraphs as a build's do (the
  content labeler reads the caption only);
- the caption rules alone (`RuleLabeler`, which also reads the citing paragraphs), per figure row.
"""
from __future__ import annotations

import argparse
import io
import itertools
import json
import os
import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from PIL import Image  # noqa: E402

from pmc_hub import jats, media  # noqa: E402
from pmc_hub.labels import ContentLabeler, RuleLabeler  # noqa: E402
from pmc_hub.labels.evaluate import development_paths, figure_rows, load_labelled  # noqa: E402


def cpu_ms(fn, items, repeats: int) -> float:
    """Best CPU time per item in milliseconds."""
    best = float("inf")
    for _ in range(repeats):
        start = time.process_time()
        for item in items:
            fn(item)
        best = min(best, time.process_time() - start)
    return 1000 * best / len(items)


def reduced(data: bytes):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        im = Image.open(io.BytesIO(data))
        return media.reduced_decode(im)


def caption_rows() -> list[dict]:
    rows = []
    for path in sorted((ROOT / "tests/data/samples").rglob("*.*xml")):
        try:
            article = jats.parse(path.read_bytes())
        except jats.JATSError:
            continue
        rows += [{"caption": f.caption, "image_context": list(f.contexts)} for f in article.figures]
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})

    figures = load_labelled(*development_paths(ROOT))
    rows, thumbnails = figure_rows(figures, ROOT)
    blobs = [r["image"]["bytes"] for r in rows]
    decoded = [reduced(b) for b in blobs]
    labeler = ContentLabeler().for_thumbnails(thumbnails)
    texts = caption_rows()
    rules = RuleLabeler()

    results = {
        "figures": len(rows), "caption_rows": len(texts),
        "decode_ms (already paid)": cpu_ms(reduced, blobs, args.repeats),
        "phash_ms (already paid)": cpu_ms(lambda d: media.phash_of(d[0]), decoded, args.repeats),
        "thumbnail_ms (RGB thumbnail + grey image)": cpu_ms(
            lambda d: (media.rgb_thumbnail(d[1] if d[1] is not None else d[0]), media.grey_detail(d[0])), decoded, args.repeats),
        "content_labeler_ms": cpu_ms(labeler.label_row, rows, args.repeats),
        # the same figures with the caption and citing paragraphs of real figures (build rows carry both)
        "content_labeler_ms (with citing paragraphs)": cpu_ms(labeler.label_row, [
            dict(r, caption=t["caption"], image_context=t["image_context"]) for r, t in zip(rows, itertools.cycle(texts))],
            args.repeats),
        "caption_rules_ms_per_row": cpu_ms(rules.label_row, texts, args.repeats),
        "caption_chars_per_row": sum(len(t["caption"]) + len(" ".join(t["image_context"])) for t in texts) / len(texts),
    }
    results["labelling_ms (thumbnails + content labeler with citing paragraphs)"] = (
        results["thumbnail_ms (RGB thumbnail + grey image)"] + results["content_labeler_ms (with citing paragraphs)"])
    width = max(map(len, results))
    for key, value in results.items():
        print(f"{key:<{width}}  {value:.3f}" if isinstance(value, float) else f"{key:<{width}}  {value}")
    if args.json:
        args.json.write_text(json.dumps({k: round(v, 4) if isinstance(v, float) else v for k, v in results.items()}, indent=1))


if __name__ == "__main__":
    main()
