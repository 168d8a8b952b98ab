#!/usr/bin/env python
"""Whether a change made to the labeler kept every output: record what one version of the code
computes for every figure, then compare another version's record with it, exactly.

    PYTHONPATH=/path/to/old/checkout python scripts/check_labels_identical.py record old.json [--corpus DIR]
    python scripts/check_labels_identical.py compare old.json [--corpus DIR]

The code measured is whichever `pmc_hub` Python imports (PYTHONPATH picks an old checkout, e.g.
one made with `git archive`). The figures: the development set (`evaluate.DEVELOPMENT_FILES`),
the bundled sample's figures with their real captions and citing paragraphs, the figures of a
`scripts/make_corpus.py` corpus with --corpus, and synthetic arrays of awkward shapes (1x1 to
384x260: noise, sparse strokes, blocks, black). For each one: the image features (`FEATURES`, every
bit), the content blocks of the thumbnail and the panel blocks of the grey image, the caption
evidence (caption alone and with the citing paragraphs), the caption rules' scan of caption and
paragraphs together, and every label field the content labeler and the rule labeler write (label,
secondary labels, source, score, panel type and subtype). The record holds a SHA-256 of each value,
so it is small and the comparison exact; exit status 1 names what differs.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

import pmc_hub
from pmc_hub.config import BuildConfig
from pmc_hub.labels import ContentLabeler, RuleLabeler
from pmc_hub.labels import content as content_module
from pmc_hub.labels.evaluate import development_paths, figure_rows, load_labelled
from pmc_hub.labels.panel import PAGE_LEVEL, PANEL_SEAMS, content_blocks
from pmc_hub.resources import sample_dir
from pmc_hub.sources import open_sources
from pmc_hub.stage import ArticleStage

ROOT = Path(pmc_hub.__file__).resolve().parents[1]
LABEL_FIELDS = ("image_primary_label", "image_secondary_label", "image_label_source", "image_label_score",
                "image_panel_type", "image_panel_subtype", "image_label_id")


def digest(value: Any) -> str:
    """A SHA-256 of a value's exact content: arrays by dtype, shape and bytes, the rest by repr."""
    if isinstance(value, np.ndarray):
        value = (value.dtype.str, value.shape, value.tobytes())
    elif isinstance(value, tuple):
        value = tuple(digest(v) if isinstance(v, np.ndarray) else v for v in value)
    return hashlib.sha256(repr(value).encode()).hexdigest()[:32]


class Recorder:
    """Wraps what the content labeler calls, and labels rows, recording every value by figure."""

    def __init__(self) -> None:
        self.values: dict[str, str] = {}
        self.key = ""
        self.rules = RuleLabeler()
        self.labeler = ContentLabeler(rules=self.rules)
        features, blocks = content_module.image_features, content_module.panel_blocks

        def recorded_features(thumb, grey, width, height):
            out = features(thumb, grey, width, height)
            self.put("features", out)
            self.put("thumbnail blocks", content_blocks(thumb.min(axis=2) > PAGE_LEVEL))
            return out

        def recorded_blocks(grey, seams=PANEL_SEAMS):
            out = blocks(grey, seams)
            self.put("panel blocks" if seams is not None else "gutter blocks", out)
            return out

        content_module.image_features, content_module.panel_blocks = recorded_features, recorded_blocks

    def put(self, what: str, value: Any) -> None:
        name = f"{self.key} | {what}"
        while name in self.values:  # the same image twice (a figure reused): number the repeats
            name += "'"
        self.values[name] = digest(value)

    def label(self, rows: list[dict], thumbnails: dict) -> None:
        labeler = self.labeler.for_thumbnails(thumbnails)
        for row in rows:
            self.key = row.get("image_key") or "?"
            out = labeler.label_row(row)
            self.put("content labels", tuple(out.get(k) for k in LABEL_FIELDS))
            for context in (False, True):
                ev = self.rules.evidence(row, context=context)  # the title's set sorted: its order is the hash seed's
                self.put(f"evidence (paragraphs: {context})",
                         (ev.classes, ev.first_at, ev.cues, ev.panel_type, sorted(ev.title)))
            out = self.rules.label_row(row)
            self.put("rule labels", tuple(out.get(k) for k in LABEL_FIELDS))
            self.put("scan", self.rules._rules.scan(" ".join(row.get("image_context") or []) + " " + (row.get("caption") or "")))

    def stage(self, spec: Path) -> int:
        """The figure rows and thumbnails a build's stage makes of a source, labelled here."""
        stage = ArticleStage(BuildConfig(sources=(str(spec),), labels="none"))
        made: list[tuple[list[dict], dict]] = []
        stage._label = lambda rows, thumbnails: made.append((rows, dict(thumbnails))) or rows
        for package in open_sources((str(spec),)):
            stage(package)
        for rows, thumbnails in made:
            self.label(rows, thumbnails)
        return sum(len(rows) for rows, _ in made)

    def synthetic(self) -> int:
        rng = np.random.default_rng(0)
        shapes = [(1, 1), (2, 2), (3, 3), (2, 40), (40, 2), (3, 50), (5, 7), (17, 31), (64, 64), (100, 37),
                  (97, 211), (384, 260)]
        for h, w in shapes:
            for kind in ("noise", "strokes", "blocks", "black"):
                thumb = np.zeros((h, w, 3), dtype=np.uint8)
                if kind == "noise":
                    thumb = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
                elif kind == "strokes":
                    thumb = np.where(rng.random((h, w, 1)) < 0.8, 255, rng.integers(0, 256, (h, w, 3))).astype(np.uint8)
                elif kind == "blocks":
                    thumb[:] = 255
                    thumb[h // 4:h // 2, w // 5:w // 2] = 10
                    thumb[h // 2 + 1:, w // 2 + 2:] = 60
                self.key = f"synthetic {h}x{w} {kind}"
                grey = thumb.mean(axis=2).astype(np.uint8)
                content_module.image_features(thumb, grey, 3 * w, 2 * h)
                content_module.panel_blocks(grey)
                content_module.panel_blocks(grey, None)
        return len(shapes) * 4


def record(corpus: Path | None) -> dict:
    recorder = Recorder()
    figures = load_labelled(*development_paths(ROOT))
    rows, thumbnails = figure_rows(figures, ROOT)
    recorder.label(rows, thumbnails)
    counts = {"development": len(rows), "sample": recorder.stage(sample_dir())}
    if corpus is not None:
        counts["corpus"] = recorder.stage(corpus)
    counts["synthetic"] = recorder.synthetic()
    return {"code": str(ROOT), "figures": counts, "values": recorder.values}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("mode", choices=("record", "compare"))
    ap.add_argument("file", type=Path)
    ap.add_argument("--corpus", type=Path, help="a scripts/make_corpus.py corpus whose figures to add")
    args = ap.parse_args()
    now = record(args.corpus)
    print(f"code: {now['code']}; figures: {now['figures']}; values: {len(now['values'])}")
    if args.mode == "record":
        args.file.write_text(json.dumps(now, indent=0, sort_keys=True))
        return 0
    before = json.loads(args.file.read_text())
    if before["figures"] != now["figures"]:
        print(f"different figures: {before['figures']} then, {now['figures']} now")
        return 1
    differ = sorted(k for k in before["values"].keys() | now["values"].keys()
                    if before["values"].get(k) != now["values"].get(k))
    for name in differ[:20]:
        print(f"differs: {name}")
    print(f"{len(now['values'])} values compared with {args.file} (code {before['code']}): "
          + ("all identical" if not differ else f"{len(differ)} differ"))
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
