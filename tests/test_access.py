"""Access review: the policy as pure logic, then the real client against the loopback Hub."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from huggingface_hub import HfApi

from cli_checks import dead_endpoint, one_line_error
from hub_server import hub  # noqa: F401  (fixture)
from pmc_hub import access
from pmc_hub.access import ACCEPT, HUMAN, REJECT, AuditLog, Request
from pmc_hub.cli import main as cli_main

REPO = "pmc/figures"
AGREE = "I will check the license of each item before reuse"
USE = "Intended use"
DESCRIBE = "Describe how you will use the data"
POLICY = {
    "version": 1,
    "fields": {AGREE: {"checked": True}, USE: {"one_of": ["Research", "Education", "Other"], "human_if": ["Other"]},
               DESCRIBE: {"min_chars": 20}},
    "users": {"deny": ["carol"]},
    "email_domains": {"deny": ["spam.example"]},
}
GOOD = {AGREE: True, USE: "Research", DESCRIBE: "Training a figure-caption retrieval model for a thesis."}


def _policy(**changes) -> access.Policy:
    return access.parse_policy({**POLICY, **changes})


def _req(user="bob", email="bob@uni.edu", **fields) -> Request:
    return Request(request_id=f"r-{user}", username=user, email=email, fields={**GOOD, **fields})


# ---------------------------------------------------------------- pure policy logic

def test_complete_answers_are_accepted():
    d = access.decide(_policy(), _req())
    assert d.action == ACCEPT and d.message is None


def test_unticked_checkbox_and_short_text_are_rejected_with_a_short_reason():
    d = access.decide(_policy(), _req(**{AGREE: False, DESCRIBE: "research"}))
    assert d.action == REJECT
    assert "not ticked" in d.reason and "at least 20" in d.reason
    assert AGREE in d.message and DESCRIBE in d.message and len(d.message) <= access.MAX_REASON_CHARS


def test_missing_answers_are_named():
    d = access.decide(_policy(), Request("r1", "bob", "bob@uni.edu", fields={}))
    assert d.action == REJECT and d.reason.count("no answer") == 3


def test_missing_answers_go_to_a_human_when_the_policy_says_so():
    d = access.decide(_policy(on_bad_answers="human"), Request("r1", "bob", fields={AGREE: "on"}))
    assert d.action == HUMAN and d.message is None


def test_other_use_is_left_to_a_human():
    assert access.decide(_policy(), _req(**{USE: "Other"})).action == HUMAN


def test_deny_lists_win_over_good_answers():
    assert access.decide(_policy(), _req(user="Carol")).action == REJECT
    d = access.decide(_policy(), _req(email="x@mail.spam.example"))
    assert d.action == REJECT and "spam.example" in d.reason and "spam" not in d.message


def test_require_allow_list():
    policy = _policy(require_allow_list=True, users={"allow": ["dave"]}, email_domains={"allow": ["uni.edu"]})
    assert access.decide(policy, _req(user="bob", email="bob@cs.uni.edu")).action == ACCEPT
    assert access.decide(policy, _req(user="dave", email=None)).action == ACCEPT
    assert access.decide(policy, _req(user="eve", email="eve@elsewhere.org")).action == HUMAN
    assert access.decide(policy, _req(user="eve", email="eve@notuni.edu")).action == HUMAN


# Issue 9.15: deny lists hold whatever way a name is written; only a plain name can be allow-listed.
DENY = {"users": {"deny": ["mallory", "Trudy "]}, "email_domains": {"deny": ["evil.com", "xn--bcher-kva.example"]}}


@pytest.mark.parametrize("user", [
    "mallory", "Mallory", "MALLORY", "mallory ", " mallory", "mallory\n", "mallory\t", "mal\u200blory", "\ufeffmallory",
    "mallory\u00ad", "\uff4d\uff41\uff4c\uff4c\uff4f\uff52\uff59", "trudy", "TRUDY\u2060",
])
def test_deny_listed_user_is_rejected_however_written(user):
    d = access.decide(_policy(**DENY), _req(user=user, email="x@uni.edu"))
    assert d.action == REJECT and "deny list" in d.reason


@pytest.mark.parametrize("email", [
    "a@evil.com", "a@evil.com ", "a@evil.com\n", " a@evil.com", "a@evil.com\u200b", "a@EVIL.COM", "a@evil.com.",
    "a@mail.evil.com ", "a@\uff45\uff56\uff49\uff4c.com", "a@evil\u200d.com", "a@b\u00fccher.example", "a@B\u00dcCHER.example",
])
def test_deny_listed_domain_is_rejected_however_written(email):
    d = access.decide(_policy(**DENY), _req(user="bob", email=email))
    assert d.action == REJECT and "deny list" in d.reason


@pytest.mark.parametrize("user, email, why", [
    ("dave\u200b", "dave@uni.edu", "invisible"),  # would match the allow list only once cleaned
    ("dave ", "dave@uni.edu", "spaces"),
    ("d\u0430ve", "dave@uni.edu", "not a Hub user name"),  # Cyrillic a
    ("bob", "bob@uni.edu ", "spaces"),
    ("bob", "bob@uni.edu\u200b", "invisible"),
    ("bob", "bob@evil.com@uni.edu", "not an address"),
    ("bob", "bob@uni.edu>", "not a valid domain name"),
    ("bob", "bob@", "not an address"),
    ("bob", "bob@-.edu", "not a valid domain name"),
])
def test_names_that_cannot_be_taken_as_given_go_to_a_person(user, email, why):
    policy = _policy(users={"allow": ["dave"]}, email_domains={"allow": ["uni.edu"]})
    d = access.decide(policy, _req(user=user, email=email))
    assert d.action == HUMAN and why in d.reason


def test_plain_names_still_match_and_answers_are_compared_cleaned():
    policy = _policy(require_allow_list=True, users={"allow": ["Dave "]}, email_domains={"allow": ["uni.edu"]})
    assert access.decide(policy, _req(user="DAVE", email=None)).action == ACCEPT
    assert access.decide(policy, _req(user="bob", email="Bob@CS.Uni.Edu")).action == ACCEPT
    assert access.decide(_policy(), _req(**{USE: "Other\u200b"})).action == HUMAN  # human_if "Other"
    assert access.decide(_policy(), _req(**{USE: "\uff52esearch "})).action == ACCEPT  # fullwidth r


def test_policy_entries_that_name_nothing_are_errors():
    with pytest.raises(access.PolicyError, match="not a Hub user name"):
        _policy(users={"deny": ["bad name!"]})


@pytest.mark.parametrize("bad, where", [
    ({"version": 1, "fields": {AGREE: {"checkd": True}}}, "checkd"),
    ({"version": 1, "allow_users": ["bob"]}, "allow_users"),
    ({"version": 2}, "version"),
    ({"version": 1, "messages": {"denied": "x" * 201}}, "messages/denied"),
])
def test_bad_policy_is_a_clear_error(tmp_path, bad, where):
    path = tmp_path / "policy.yaml"
    path.write_text(json.dumps(bad))
    with pytest.raises(access.PolicyError, match=where) as err:
        access.load_policy(path)
    assert str(path) in str(err.value)


# ---------------------------------------------------------------- against the loopback Hub

@pytest.fixture
def gated(hub, tmp_path):  # noqa: F811
    hub.create_repo(REPO, owner_token="hf_alice", gated="manual")
    hub.add_user("dave")
    hub.request_access(REPO, "bob", GOOD)
    hub.request_access(REPO, "carol", GOOD)  # deny list
    hub.request_access(REPO, "dave", {**GOOD, AGREE: False, DESCRIBE: "stuff"})
    hub.add_user("erin")
    hub.request_access(REPO, "erin", {**GOOD, USE: "Other"})
    hub.use_token("hf_alice")
    policy = tmp_path / "policy.yaml"
    policy.write_text(json.dumps(POLICY))
    return hub, policy, tmp_path / "audit.jsonl"


def _log(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_review_accepts_rejects_and_leaves_undecided(gated):
    hub, policy, audit = gated
    assert cli_main(["access", "review", "--repo", REPO, "--policy", str(policy), "--audit-log", str(audit)]) == 0
    assert hub.access_status(REPO, "bob") == "accepted"
    assert hub.access_status(REPO, "carol") == "rejected"
    assert hub.rejection_reason(REPO, "carol") == access.DEFAULT_DENIED
    assert hub.access_status(REPO, "dave") == "rejected"
    assert AGREE in hub.rejection_reason(REPO, "dave")
    assert hub.access_status(REPO, "erin") == "pending"

    entries = {e["user"]: e for e in _log(audit)}
    assert {u: e["action"] for u, e in entries.items()} == {"bob": ACCEPT, "carol": REJECT, "dave": REJECT, "erin": HUMAN}
    bob = entries["bob"]
    assert bob["fields"] == GOOD and bob["email"].startswith("bob@")
    assert bob["applied"] is True and bob["dry_run"] is False and bob["repo"] == REPO
    assert bob["time"] and bob["requested_at"] and bob["request_id"]
    assert entries["erin"]["applied"] is False and "needs a person" in entries["erin"]["reason"]


def test_dry_run_changes_nothing_on_the_hub(gated):
    hub, policy, audit = gated
    before = len(hub.mutations)
    assert cli_main(["access", "review", "--repo", REPO, "--policy", str(policy), "--audit-log", str(audit),
                     "--dry-run"]) == 0
    assert hub.mutations[before:] == []
    assert {hub.access_status(REPO, u) for u in ("bob", "carol", "dave", "erin")} == {"pending"}
    assert all(e["dry_run"] and not e["applied"] for e in _log(audit))
    # a dry run is no decision: the real run afterwards still decides everyone
    result = access.review(HfApi(), REPO, access.load_policy(policy), AuditLog(audit))
    assert sorted(d.request.username for d in result.applied) == ["bob", "carol", "dave"]


def test_no_request_is_decided_twice(gated):
    hub, policy, audit = gated
    pol, log = access.load_policy(policy), AuditLog(audit)
    access.review(HfApi(), REPO, pol, log)
    n_entries, n_mutations = len(_log(audit)), len(hub.mutations)
    # someone resets bob's request to pending on the Hub: the audit log says it was decided
    hub.set_access(REPO, "bob", "pending")
    again = access.review(HfApi(), REPO, pol, log)
    assert again.applied == [] and hub.mutations[n_mutations:] == []
    assert hub.access_status(REPO, "bob") == "pending"
    assert len(_log(audit)) == n_entries  # erin, still undecided, is not logged a second time


def test_request_handled_by_someone_else_meanwhile_is_left_alone(gated, monkeypatch):
    hub, policy, audit = gated
    real = access.list_requests
    calls = []

    def racing(api, repo_id, status="pending"):
        calls.append(status)
        if len(calls) == 2:  # between the listing and the first change, a person accepts dave
            hub.set_access(REPO, "dave", "accepted")
        return real(api, repo_id, status)

    monkeypatch.setattr(access, "list_requests", racing)
    result = access.review(HfApi(), REPO, access.load_policy(policy), AuditLog(audit))
    assert hub.access_status(REPO, "dave") == "accepted"
    dave = [e for e in _log(audit) if e["user"] == "dave"]
    assert dave[0]["applied"] is False and "no longer pending" in dave[0]["note"]
    assert "dave" not in {d.request.username for d in result.applied}
    assert {d.request.username for d in result.applied} == {"bob", "carol"}


def test_watch_decides_new_requests_as_they_come(gated):
    hub, policy, audit = gated
    rounds = []

    def sleep(_seconds):
        hub.add_user("frank")
        hub.request_access(REPO, "frank", GOOD)

    access.watch(HfApi(), REPO, access.load_policy(policy), AuditLog(audit), interval=0.01, rounds=2,
                 on_result=rounds.append, sleep=sleep)
    assert hub.access_status(REPO, "frank") == "accepted"
    assert [len(r.applied) for r in rounds] == [3, 1]


def test_list_grant_revoke(gated, capsys):
    hub, _, _ = gated
    assert cli_main(["access", "list", "--repo", REPO, "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert {r["username"] for r in listed} == {"bob", "carol", "dave", "erin"}
    assert next(r for r in listed if r["username"] == "bob")["fields"] == GOOD

    hub.add_user("gina")
    assert cli_main(["access", "grant", "--repo", REPO, "gina"]) == 0
    assert hub.access_status(REPO, "gina") == "accepted"
    assert cli_main(["access", "revoke", "--repo", REPO, "gina"]) == 0
    assert hub.access_status(REPO, "gina") == "rejected"
    assert hub.rejection_reason(REPO, "gina") == access.REVOKED

    capsys.readouterr()
    assert cli_main(["access", "list", "--repo", REPO, "--status", "rejected"]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].startswith("user\t") and any(line.startswith("gina\t") for line in table[1:])


def test_read_only_token_is_a_clear_error(gated, capsys):
    hub, policy, audit = gated
    hub.use_token("hf_reader")
    # A Hub that refuses is a data/remote error (exit 1), said in one line.
    assert cli_main(["access", "review", "--repo", REPO, "--policy", str(policy), "--audit-log", str(audit)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1
    assert REPO in err and "cannot list pending" in err
    assert hub.access_status(REPO, "bob") == "pending"


def test_unknown_policy_field_stops_before_any_call(gated, capsys):
    hub, policy, audit = gated
    policy.write_text(json.dumps({**POLICY, "auto_accept": True}))
    before = len(hub.requests)
    assert cli_main(["access", "review", "--repo", REPO, "--policy", str(policy), "--audit-log", str(audit)]) == 2
    assert "auto_accept" in capsys.readouterr().err
    assert len(hub.requests) == before and not audit.exists()


def test_published_gated_dataset_opens_after_review(hub, tmp_path):  # noqa: F811
    import datasets
    from datasets.exceptions import DatasetNotFoundError

    from conftest import run_build

    out = tmp_path / "out"
    run_build([], out)  # the bundled sample
    hub.use_token("hf_alice")
    assert cli_main(["publish", str(out), "--repo", REPO, "--gated", "manual"]) == 0
    hub.request_access(REPO, "bob", GOOD)
    hub.use_token("hf_bob")
    with pytest.raises(DatasetNotFoundError, match="gated"):
        datasets.load_dataset(REPO, "commercial", split="train")
    hub.use_token("hf_alice")
    policy = tmp_path / "policy.yaml"
    policy.write_text(json.dumps(POLICY))
    assert cli_main(["access", "review", "--repo", REPO, "--policy", str(policy),
                     "--audit-log", str(tmp_path / "audit.jsonl")]) == 0
    hub.use_token("hf_bob")
    ds = datasets.load_dataset(REPO, "commercial", split="train")
    assert len(ds) > 0 and set(ds["license_category"]) == {"commercial"}


def test_access_errors_are_one_line(gated, tmp_path, capsys, monkeypatch):
    hub, policy, audit = gated
    review = ["access", "review", "--repo", REPO, "--policy", str(policy), "--audit-log", str(audit)]
    # a bad spec: a policy file that is not there (usage, exit 2)
    assert cli_main(["access", "review", "--repo", REPO, "--policy", str(tmp_path / "nope.yaml")]) == 2
    assert "nope.yaml: cannot read policy" in one_line_error(capsys)
    assert cli_main(review[:-2] + ["--watch", "-1"]) == 2
    assert "--watch needs a positive number" in one_line_error(capsys)
    # a damaged state file: the audit log (data, exit 1), named with its line
    audit.write_text('{"repo": "pmc/figures", "request_id": "r1", "action": "accept"}\n{"repo": \n')
    assert cli_main(review) == 1
    assert f"{audit}:2: not a JSON line" in one_line_error(capsys)
    audit.write_text("[1, 2]\n")
    assert cli_main(review) == 1
    assert f"{audit}:1: not an audit entry" in one_line_error(capsys)
    assert {hub.access_status(REPO, u) for u in ("bob", "carol")} == {"pending"}
    # an unreachable Hub (huggingface_hub's own retries made instant): data, exit 1
    import time

    from hub_server import point_clients_at

    point_clients_at(dead_endpoint(), tmp_path / "hf_home2", monkeypatch)
    monkeypatch.setattr(time, "sleep", lambda _s: None)
    for argv in (["access", "list", "--repo", REPO], ["access", "grant", "--repo", REPO, "gina"]):
        assert cli_main(argv) == 1
        err = one_line_error(capsys)
        assert REPO in err and "Connection refused" in err
