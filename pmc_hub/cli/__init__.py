"""The `pmc-hub` command line: one module per command, each with ``register(subparsers)``.

One handler ends every error a user can cause: `pmc_hub.errors.PmcHubError` (and an OS error such
as a folder that cannot be written) prints ``error: <one line>`` and exits with 1 for data errors or
2 for usage errors; argparse's own usage errors exit 2 as well.
"""
from __future__ import annotations

import argparse
import logging
import sys

from ..version import __version__
from ..errors import PmcHubError, one_line
from . import access, build, card, evaluate, fetch, labels, merge, publish, subfigures, update

COMMANDS = (build, update, merge, card, publish, fetch, access, evaluate, labels, subfigures)
RESUMABLE = ("build", "update")  # an interrupted one of these resumes when run again


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="pmc-hub", description="PMC Open Access -> Hugging Face datasets.")
    p.add_argument("--version", action="version", version=f"pmc-hub {__version__}")
    p.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    for command in COMMANDS:
        command.register(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    cli = parser()
    args = cli.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    if not getattr(args, "func", None):
        cli.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except PmcHubError as exc:
        print(f"error: {one_line(exc)}", file=sys.stderr)
        return exc.exit_code
    except OSError as exc:  # a folder that cannot be written, a file that vanished...
        print(f"error: {one_line(exc)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        hint = "; run the same command again to resume" if args.command in RESUMABLE else ""
        print(f"interrupted{hint}", file=sys.stderr)
        return 130
