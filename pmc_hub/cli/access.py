"""`pmc-hub access review|list|grant|revoke`: gated-access requests of a Hub dataset.

Errors (`access.PolicyError`: exit 2; `access.AccessError`: exit 1) end in one line from the CLI."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from huggingface_hub import HfApi

from .. import access
from ..errors import UsageError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("access", help="review and manage access requests of a gated Hub dataset")
    acts = p.add_subparsers(dest="access_command", metavar="ACTION", required=True)

    r = acts.add_parser("review", help="decide pending requests by a policy file")
    r.add_argument("--repo", required=True, help="ORG/NAME of the dataset repo")
    r.add_argument("--policy", required=True, type=Path, help="policy YAML (schemas/access_policy.schema.json)")
    r.add_argument("--dry-run", action="store_true", help="decide and log, but accept or reject nothing")
    r.add_argument("--watch", type=float, metavar="SECONDS", help="poll every SECONDS until interrupted")
    r.add_argument("--audit-log", type=Path, default=Path("access-audit.jsonl"), metavar="FILE",
                   help="JSON-lines log of every decision (default: access-audit.jsonl)")
    r.set_defaults(func=run_review)

    ls = acts.add_parser("list", help="list access requests")
    ls.add_argument("--repo", required=True)
    ls.add_argument("--status", choices=access.STATUSES, default="pending")
    ls.add_argument("--json", action="store_true", help="one JSON array instead of a table")
    ls.set_defaults(func=run_list)

    for name, help_text in (("grant", "give USER access without a request"), ("revoke", "take USER's access away")):
        g = acts.add_parser(name, help=help_text)
        g.add_argument("--repo", required=True)
        g.add_argument("user")
        g.set_defaults(func=run_grant if name == "grant" else run_revoke)


def _print_result(result: access.ReviewResult, dry_run: bool) -> None:
    verb = "would" if dry_run else "did"
    for d in result.decisions:
        print(f"{d.request.who}\t{verb} {d.action}\t{d.reason}")


def run_review(args: argparse.Namespace) -> int:
    if args.watch is not None and args.watch <= 0:
        raise UsageError(f"--watch needs a positive number of seconds, not {args.watch}")
    policy = access.load_policy(args.policy)
    audit = access.AuditLog(args.audit_log)
    api = HfApi()
    if args.watch:
        access.watch(api, args.repo, policy, audit, interval=args.watch, dry_run=args.dry_run,
                     on_result=lambda res: _print_result(res, args.dry_run))
    else:
        _print_result(access.review(api, args.repo, policy, audit, dry_run=args.dry_run), args.dry_run)
    return 0


def run_list(args: argparse.Namespace) -> int:
    requests = access.list_requests(HfApi(), args.repo, args.status)
    if args.json:
        print(json.dumps([access.request_dict(r) for r in requests], indent=1, ensure_ascii=False, default=str))
        return 0
    print("user\temail\trequested\tstatus\tanswers")
    for r in requests:
        when = r.timestamp.isoformat(timespec="seconds") if r.timestamp else "-"
        print(f"{r.who}\t{r.email or '-'}\t{when}\t{r.status}\t{json.dumps(r.fields, ensure_ascii=False)}")
    return 0


def run_grant(args: argparse.Namespace) -> int:
    access.grant(HfApi(), args.repo, args.user)
    print(f"granted access to {args.user} on {args.repo}")
    return 0


def run_revoke(args: argparse.Namespace) -> int:
    access.revoke(HfApi(), args.repo, args.user)
    print(f"revoked access of {args.user} on {args.repo}")
    return 0
