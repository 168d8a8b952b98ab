"""`pmc-hub card DIR`: (re)write a built folder's README.md from its build_report.json and files."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("card", help="(re)write the dataset card (README.md) of a built folder")
    p.add_argument("dir", type=Path, help="a folder written by `pmc-hub build`")
    p.add_argument("--gate-fields", type=Path, metavar="FILE",
                   help="YAML {label: text|checkbox|country|date|{type: select, options: [...]}} for the access form")
    p.add_argument("--pretty-name", help="the card's title")
    p.add_argument("--repo-id", default="ORG/NAME", help="Hub repo id used in the loading examples")
    p.add_argument("--no-gate", action="store_true", help="write an ungated card")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from .. import cards  # (here: jinja2 and yaml only for this command)

    options = cards.CardOptions(repo_id=args.repo_id, gated=not args.no_gate)
    if args.pretty_name:
        options.pretty_name = args.pretty_name
    if args.gate_fields:
        options.gate_fields = cards.load_gate_fields(args.gate_fields)
    print(cards.write_card(args.dir, options))
    if options.gated:  # `publish` refuses a gated card on an ungated repo unless told how to gate it
        print("the card is gated: publish it with `pmc-hub publish ... --gated manual` (or `--gated auto`)", file=sys.stderr)
    return 0
