#!/usr/bin/env python
"""Write N synthetic compound figures + COCO annotations (pmc_hub.subfigures.synthetic).

    python scripts/make_compound_figures.py --count 1000 --out data/compound [--panels DIR] [--seed 0]

OUT/images/NNNNNN.png and OUT/annotations.json (category 1 "subfigure"; each image entry also
records `no_gap` and `layout`, each annotation the drawn `panel_label`). With --panels, panels
are crops of the images under DIR (e.g. single-panel figures of a build); otherwise they are
drawn procedurally.
"""
from __future__ import annotations

import argparse
import sys

from pmc_hub.subfigures.synthetic import FolderPanels, SyntheticConfig, write_dataset


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--count", type=int, required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--panels", help="folder of single-panel images to compose (default: procedural panels)")
    p.add_argument("--no-gap-share", type=float, default=0.2)
    p.add_argument("--format", choices=("png", "jpg"), default="png")
    args = p.parse_args(argv)
    cfg = SyntheticConfig(no_gap_share=args.no_gap_share)
    path = write_dataset(args.out, args.count, args.seed, cfg, FolderPanels(args.panels) if args.panels else None, args.format)
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
