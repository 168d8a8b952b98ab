"""Gated-access review: pending access requests + a written policy -> accept / reject / a human.

`decide` is a pure function of a `Policy` and a `Request`. `review` lists the pending requests of
a Hub dataset, decides each, acts on the decisions (unless it is a dry run) and appends every
decision to a JSON-lines audit log. A request is never decided twice: one already recorded in
the audit log as accepted or rejected is skipped, and the pending list is read again right
before acting, so a request someone else handled meanwhile is left alone. The Hub has no webhook
for access requests, so `watch` polls.
"""
from __future__ import annotations

import json
import logging
import os
import re
import time
import unicodedata
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Optional

import httpx2  # huggingface_hub's HTTP client: its network errors are how an unreachable Hub shows
import jsonschema
import yaml
from huggingface_hub import HfApi
from huggingface_hub.errors import HfHubHTTPError

from .errors import DataError, UsageError
from .schema import load_schema

log = logging.getLogger(__name__)

ACCEPT, REJECT, HUMAN = "accept", "reject", "human"
STATUSES = ("pending", "accepted", "rejected")
MAX_REASON_CHARS = 200  # the Hub's limit on a rejection reason
DEFAULT_DENIED = "Your request does not meet this dataset's access policy."
DEFAULT_BAD_ANSWERS = "Your request is missing required answers or agreements:"
REVOKED = "Access revoked by the dataset maintainers."
_TICKED = {"true", "on", "yes", "1", "checked", "x"}


class PolicyError(UsageError, ValueError):
    """A policy file that cannot be read or does not match schemas/access_policy.schema.json."""


class AccessError(DataError, RuntimeError):
    """A Hub access-request call that failed (unreachable, not gated, no write access, unknown user...),
    or an audit log that cannot be read."""


HUB_ERRORS = (HfHubHTTPError, httpx2.HTTPError)  # an error answer, or no answer at all


@dataclass(frozen=True)
class FieldRule:
    label: str
    checked: bool = False
    min_chars: int = 0
    one_of: tuple[str, ...] = ()
    human_if: tuple[str, ...] = ()


@dataclass(frozen=True)
class Policy:
    fields: tuple[FieldRule, ...] = ()
    allow_users: frozenset[str] = frozenset()
    deny_users: frozenset[str] = frozenset()
    allow_domains: tuple[str, ...] = ()
    deny_domains: tuple[str, ...] = ()
    require_allow_list: bool = False
    on_bad_answers: str = REJECT
    denied_message: str = DEFAULT_DENIED
    bad_answers_message: str = DEFAULT_BAD_ANSWERS


@dataclass(frozen=True)
class Request:
    """One access request, as the Hub lists it."""

    request_id: str
    username: Optional[str]
    email: Optional[str] = None
    fullname: Optional[str] = None
    timestamp: Optional[datetime] = None
    status: str = "pending"
    fields: dict[str, Any] = field(default_factory=dict)

    @property
    def who(self) -> str:
        return self.username or f"request {self.request_id}"


@dataclass(frozen=True)
class Decision:
    request: Request
    action: str  # accept | reject | human
    reason: str  # for the audit log and the reviewer
    message: Optional[str] = None  # the rejection reason the requester sees (rejections only)


# ---------------------------------------------------------------- policy

def parse_policy(data: Any, source: str = "policy") -> Policy:
    """A `Policy` from parsed YAML; `PolicyError` names each problem (unknown keys included)."""
    if not isinstance(data, dict):
        raise PolicyError(f"{source}: a policy is a mapping with at least `version: 1`")
    errors = sorted(jsonschema.Draft202012Validator(load_schema("access_policy")).iter_errors(data),
                    key=lambda e: list(e.absolute_path))
    if errors:
        raise PolicyError(f"{source}: " + "; ".join(
            f"{'/'.join(map(str, e.absolute_path)) or '(top)'}: {e.message}" for e in errors))
    rules = tuple(
        FieldRule(label=label, checked=bool(spec.get("checked")), min_chars=int(spec.get("min_chars", 0)),
                  one_of=tuple(spec.get("one_of", ())), human_if=tuple(spec.get("human_if", ())))
        for label, spec in (data.get("fields") or {}).items())
    users, domains, messages = data.get("users") or {}, data.get("email_domains") or {}, data.get("messages") or {}
    return Policy(
        fields=rules,
        allow_users=frozenset(_policy_entry(canonical_user, u, source) for u in users.get("allow", ())),
        deny_users=frozenset(_policy_entry(canonical_user, u, source) for u in users.get("deny", ())),
        allow_domains=tuple(_policy_entry(canonical_domain, d, source) for d in domains.get("allow", ())),
        deny_domains=tuple(_policy_entry(canonical_domain, d, source) for d in domains.get("deny", ())),
        require_allow_list=bool(data.get("require_allow_list", False)),
        on_bad_answers=data.get("on_bad_answers", REJECT),
        denied_message=messages.get("denied", DEFAULT_DENIED),
        bad_answers_message=messages.get("bad_answers", DEFAULT_BAD_ANSWERS),
    )


def _policy_entry(canonical: Callable[[str], "Canonical"], entry: str, source: str) -> str:
    found = canonical(entry)
    if found.value is None:
        raise PolicyError(f"{source}: {found.problem}")
    return found.value


def load_policy(path: Path) -> Policy:
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as e:
        raise PolicyError(f"{path}: cannot read policy: {e}") from e
    return parse_policy(data, source=str(path))


# ---------------------------------------------------------------- names, compared as a person reads them

_USERNAME = re.compile(r"[a-z0-9][a-z0-9._-]*")
_DOMAIN = re.compile(r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}")


@dataclass(frozen=True)
class Canonical:
    """A user name or email domain in the form lists are matched on.

    ``value`` is None when nothing comparable could be made of the input; ``problem`` says why the
    input cannot be taken as given (then no allow list may accept it: a person decides)."""

    value: Optional[str]
    problem: Optional[str] = None


def fold(text: str) -> str:
    """``text`` as a reader sees it: NFKC, format characters (zero-width space, BOM, soft hyphen,
    bidi marks) removed, whitespace runs as one space, trimmed, casefolded."""
    text = unicodedata.normalize("NFKC", text)
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Cf")
    return unicodedata.normalize("NFKC", " ".join(text.split()).casefold())


def canonical_user(name: Optional[str]) -> Canonical:
    """A Hub user name, folded (`fold`, without spaces)."""
    if not name:
        return Canonical(None)
    value = fold(name).replace(" ", "")
    if not _USERNAME.fullmatch(value):
        return Canonical(None, f"user name {name!r} is not a Hub user name")
    if value != name.casefold():
        return Canonical(value, f"user name {name!r} holds spaces, invisible or look-alike characters")
    return Canonical(value)


def canonical_domain(domain: Optional[str]) -> Canonical:
    """A domain name, folded (`fold`, without spaces) and in its IDNA (``xn--``) form."""
    if not domain:
        return Canonical(None)
    folded = fold(domain).replace(" ", "").lstrip("@").strip(".")
    try:
        value = folded.encode("idna").decode("ascii").lower()
    except UnicodeError:
        value = ""
    if not _DOMAIN.fullmatch(value):
        return Canonical(None, f"{domain!r} is not a valid domain name")
    return Canonical(value, None if folded == domain.casefold() else
                     f"domain {domain!r} holds spaces, invisible or look-alike characters")


def canonical_email_domain(email: Optional[str]) -> Canonical:
    """The `canonical_domain` of an email address's domain."""
    if not email:
        return Canonical(None)
    local, at, domain = email.rpartition("@")
    if not at or "@" in local or not fold(local) or not fold(domain):
        return Canonical(None, f"email {email!r} is not an address")
    found = canonical_domain(domain)
    problem = found.problem or (None if fold(email).replace(" ", "") == email.casefold() else
                                f"email {email!r} holds spaces, invisible or look-alike characters")
    return Canonical(found.value, problem)


def _domain_matches(host: Optional[str], domains: Iterable[str]) -> Optional[str]:
    if not host:
        return None
    return next((d for d in domains if host == d or host.endswith("." + d)), None)


# ---------------------------------------------------------------- deciding (pure)


def _answer_problem(rule: FieldRule, answers: dict[str, Any]) -> tuple[Optional[str], bool]:
    """(problem, needs_human) for one gate field."""
    value = answers.get(rule.label)
    if value is None or (isinstance(value, str) and not value.strip()):
        return f"{rule.label}: no answer", False
    text = str(value).strip()
    if rule.checked and not (value is True or fold(text) in _TICKED):
        return f"{rule.label}: not ticked", False
    if rule.human_if and fold(text) in {fold(v) for v in rule.human_if}:
        return f"{rule.label}: {text!r} needs a person", True
    if rule.one_of and fold(text) not in {fold(v) for v in rule.one_of}:
        return f"{rule.label}: {text!r} is not one of {', '.join(rule.one_of)}", False
    if rule.min_chars and len(text) < rule.min_chars:
        return f"{rule.label}: {len(text)} characters, at least {rule.min_chars} needed", False
    return None, False


def _clip(text: str) -> str:
    return text if len(text) <= MAX_REASON_CHARS else text[:MAX_REASON_CHARS - 3].rstrip() + "..."


def decide(policy: Policy, request: Request) -> Decision:
    """Deny lists first, then names that cannot be taken as given (a person decides), then the
    required answers, then the allow lists. Names are compared in their canonical form."""
    user = canonical_user(request.username)
    host = canonical_email_domain(request.email)
    if user.value and user.value in policy.deny_users:
        return Decision(request, REJECT, f"user {request.username!r} is on the deny list", _clip(policy.denied_message))
    if (domain := _domain_matches(host.value, policy.deny_domains)):
        return Decision(request, REJECT, f"email domain {domain} is on the deny list", _clip(policy.denied_message))
    if user.problem or host.problem:
        return Decision(request, HUMAN, "; ".join(p for p in (user.problem, host.problem) if p))
    answers = request.fields or {}
    problems, human = [], []
    for rule in policy.fields:
        problem, needs_human = _answer_problem(rule, answers)
        if problem:
            (human if needs_human else problems).append(problem)
    if problems:
        reason = "; ".join(problems)
        if policy.on_bad_answers == HUMAN:
            return Decision(request, HUMAN, reason)
        labels = ", ".join(p.split(":")[0] for p in problems)
        return Decision(request, REJECT, reason, _clip(f"{policy.bad_answers_message} {labels}"))
    if human:
        return Decision(request, HUMAN, "; ".join(human))
    if user.value and user.value in policy.allow_users:
        return Decision(request, ACCEPT, f"user {request.username} is on the allow list")
    if (domain := _domain_matches(host.value, policy.allow_domains)):
        return Decision(request, ACCEPT, f"email domain {domain} is on the allow list")
    if policy.require_allow_list:
        return Decision(request, HUMAN, "answers pass; user and email domain are on no allow list")
    return Decision(request, ACCEPT, "all required answers given" if policy.fields else "no rule applies; policy accepts")


# ---------------------------------------------------------------- audit log

class AuditLog:
    """Append-only JSON lines, one per decision; also the memory of what was already decided."""

    def __init__(self, path: Optional[Path]):
        self.path = Path(path) if path else None

    def entries(self) -> Iterator[dict]:
        if not self.path or not self.path.is_file():
            return
        with open(self.path, encoding="utf-8") as fh:
            for n, line in enumerate(fh, 1):
                if line.strip():
                    try:
                        entry = json.loads(line)
                    except (ValueError, RecursionError) as e:
                        raise AccessError(f"{self.path}:{n}: not a JSON line ({e}); fix or move the audit log") from None
                    if not isinstance(entry, dict) or not isinstance(entry.get("request_id"), str):
                        raise AccessError(f"{self.path}:{n}: not an audit entry (no request_id); fix or move the audit log")
                    yield entry

    def recorded(self, repo_id: str) -> dict[str, str]:
        """request id -> last recorded action (accept/reject/human) for this repo; dry runs excluded."""
        out: dict[str, str] = {}
        for e in self.entries():
            if e.get("repo") != repo_id or e.get("dry_run"):
                continue
            if e.get("applied") or e.get("action") == HUMAN:
                out[e["request_id"]] = e["action"]
        return out

    def append(self, repo_id: str, decision: Decision, *, dry_run: bool, applied: bool, note: str = "") -> dict:
        r = decision.request
        entry = {
            "time": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "repo": repo_id, "request_id": r.request_id, "user": r.username, "fullname": r.fullname,
            "email": r.email, "requested_at": r.timestamp.isoformat() if r.timestamp else None,
            "fields": r.fields, "action": decision.action, "reason": decision.reason,
            "message": decision.message, "dry_run": dry_run, "applied": applied,
        }
        if note:
            entry["note"] = note
        if self.path:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "a", encoding="utf-8") as fh:
                fh.write(json.dumps(entry, ensure_ascii=False, default=str) + "\n")
                fh.flush()
                os.fsync(fh.fileno())
        return entry


# ---------------------------------------------------------------- the Hub side

def _request(r: Any) -> Request:
    return Request(request_id=r.request_id, username=r.username, email=r.email, fullname=r.fullname,
                   timestamp=r.timestamp, status=r.status, fields=dict(r.fields or {}))


def list_requests(api: HfApi, repo_id: str, status: str = "pending") -> list[Request]:
    if status not in STATUSES:
        raise AccessError(f"status {status!r} is not one of {', '.join(STATUSES)}")
    listing = {"pending": api.list_pending_access_requests, "accepted": api.list_accepted_access_requests,
               "rejected": api.list_rejected_access_requests}[status]
    try:
        return [_request(r) for r in listing(repo_id, repo_type="dataset")]
    except HUB_ERRORS as e:
        raise AccessError(f"{repo_id}: cannot list {status} access requests: {e}") from e


def apply(api: HfApi, repo_id: str, decision: Decision) -> None:
    """Accept or reject on the Hub (by username, else by request id)."""
    r = decision.request
    who = {"user": r.username} if r.username else {"request_id": r.request_id}
    try:
        if decision.action == ACCEPT:
            api.accept_access_request(repo_id, **who, repo_type="dataset")
        elif decision.action == REJECT:
            api.reject_access_request(repo_id, **who, repo_type="dataset", rejection_reason=decision.message)
        else:
            raise ValueError(f"nothing to apply for a {decision.action!r} decision")
    except HUB_ERRORS as e:
        raise AccessError(f"{repo_id}: cannot {decision.action} {r.who}: {e}") from e


@dataclass
class ReviewResult:
    decisions: list[Decision] = field(default_factory=list)
    applied: list[Decision] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # request ids not acted on, each logged with why


def review(api: HfApi, repo_id: str, policy: Policy, audit: AuditLog, *, dry_run: bool = False) -> ReviewResult:
    """One pass over the pending requests. A dry run only lists (no call that changes anything)."""
    result = ReviewResult()
    recorded = audit.recorded(repo_id)
    fresh: Optional[set[str]] = None
    for request in list_requests(api, repo_id, "pending"):
        previous = recorded.get(request.request_id)
        if previous in (ACCEPT, REJECT):
            # Decided before (the Hub has not caught up, or someone reset it): a person's call now.
            log.warning("%s: %s already %sed in the audit log; not deciding again", repo_id, request.who, previous)
            result.skipped.append(request.request_id)
            continue
        decision = decide(policy, request)
        result.decisions.append(decision)
        if decision.action == HUMAN:
            if previous != HUMAN or dry_run:
                audit.append(repo_id, decision, dry_run=dry_run, applied=False)
            continue
        if dry_run:
            audit.append(repo_id, decision, dry_run=True, applied=False)
            continue
        if fresh is None:  # re-read the state once, right before the first change of this pass
            fresh = {r.request_id for r in list_requests(api, repo_id, "pending")}
        if request.request_id not in fresh:
            audit.append(repo_id, decision, dry_run=False, applied=False, note="no longer pending; left alone")
            result.skipped.append(request.request_id)
            continue
        apply(api, repo_id, decision)
        audit.append(repo_id, decision, dry_run=False, applied=True)
        result.applied.append(decision)
    return result


def watch(api: HfApi, repo_id: str, policy: Policy, audit: AuditLog, *, interval: float, dry_run: bool = False,
          rounds: Optional[int] = None, on_result: Callable[[ReviewResult], None] = lambda r: None,
          sleep: Callable[[float], None] = time.sleep) -> None:
    """Review every ``interval`` seconds until interrupted (or ``rounds`` passes)."""
    n = 0
    while rounds is None or n < rounds:
        try:
            on_result(review(api, repo_id, policy, audit, dry_run=dry_run))
        except AccessError as e:  # a transient Hub error must not end a long watch
            log.error("%s", e)
        n += 1
        if rounds is None or n < rounds:
            sleep(interval)


def grant(api: HfApi, repo_id: str, user: str) -> None:
    try:
        api.grant_access(repo_id, user, repo_type="dataset")
    except HUB_ERRORS as e:
        raise AccessError(f"{repo_id}: cannot grant access to {user}: {e}") from e


def revoke(api: HfApi, repo_id: str, user: str, message: str = REVOKED) -> None:
    """Move ``user`` to the rejected list (the Hub's way to revoke a granted access)."""
    try:
        api.reject_access_request(repo_id, user, repo_type="dataset", rejection_reason=_clip(message))
    except HUB_ERRORS as e:
        raise AccessError(f"{repo_id}: cannot revoke access of {user}: {e}") from e


def request_dict(r: Request) -> dict:
    d = asdict(r)
    d["timestamp"] = r.timestamp.isoformat() if r.timestamp else None
    return d
