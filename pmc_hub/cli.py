"""The `pmc-hub` command line."""
from __future__ import annotations

import argparse
import importlib
import logging
import sys

from . import __version__
from .errors import PmcHubError, one_line

# Each name is a module in pmc_hub.commands with register(subparsers).
COMMANDS = ["build", "card", "publish", "fetch", "access", "eval", "merge", "labels"]


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="pmc-hub", description="PMC Open Access -> Hugging Face datasets.")
    p.add_argument("--version", action="version", version=f"pmc-hub {__version__}")
    p.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"pmc_hub.commands.{name}").register(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    if not getattr(args, "func", None):
        parser().print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except PmcHubError as exc:
        print(f"error: {one_line(exc)}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        hint = "; run the same command again to resume" if args.command == "build" else ""
        print(f"interrupted{hint}", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
