"""Every way the Hub can fail a publish ends in one line, exit 1, no token, and says to run the
command again only when that can help (the loopback Hub injects each failure)."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from hub_server import hub  # noqa: F401  (fixture)
from publish_fixtures import built, built_once  # noqa: F401  (fixtures)
from pmc_hub import cli
from pmc_hub.publish import PublishError, PublishOptions, publish

REPO = "pmc/figures"
RESUME = "run the same command again"


def cli_publish(folder: Path, capsys) -> tuple[int, str]:
    """Exit code and the error line (the last line of stderr; progress bars come before it)."""
    code = cli.main(["publish", str(folder), "--repo", REPO, "--gated", "manual"])
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return code, err.strip().splitlines()[-1]


@pytest.mark.parametrize("path, status, server_says, expected, transient", [
    (r"/commit/", 401, "Invalid credentials in Authorization header",
     r"rejected the Hugging Face token \(401\) while committing 1/2: it is invalid, expired or revoked", False),
    (r"/preupload/", 403, "This fine-grained token is missing the repo.write permission on pmc/figures",
     r"pmc/figures: the Hub refused uploading the files of commit 1/2 \(403: .*repo\.write.*\); the token may not write here", False),
    (r"/commit/", 404, "Repository not found", r"not found \(404\) while committing 1/2", False),
    (r"/commit/", 412, "A commit has happened since", r"someone else changed the repo during the publish \(412", True),
    (r"/commit/", 429, "Too many requests", r"rate-limiting this account \(429 while committing 1/2\)", True),
    (r"/commit/", 500, "Internal error", r"the Hub failed while committing 1/2 \(500: Internal error\); 0 of 2 commit", True),
    (r"/commit/", 422, "Unprocessable", r"the Hub refused committing 1/2 \(422: Unprocessable\)$", False),
    (r"/commit/", 0, "", r"the connection to the Hub failed while committing 1/2", True),
    (r"/commit/", 200, '{"success": true}',
     r"unexpected answer from the Hub while committing 1/2 \(KeyError: 'commitUrl'\)", False),
    (r"/preupload/", 200, '{"files": "not a list"}',
     r"unexpected answer from the Hub while uploading the files of commit 1/2 \(ValueError: preupload_info is improperly formatted", False),
])
def test_each_failure_is_one_line_and_says_to_resume_only_when_it_helps(hub, built, capsys, path, status,
                                                                         server_says, expected, transient):
    hub.use_token("hf_alice")
    hub.fail_request(path, status, message=server_says)

    code, err = cli_publish(built, capsys)

    assert code == 1
    assert err.startswith("error: ") and "hf_alice" not in err
    assert re.search(expected, err), err
    assert (RESUME in err) is transient


def test_a_fine_grained_token_without_write_access_is_refused_before_any_change(hub, built):
    hub.use_token(hub.add_user("dan", orgs=["pmc"], scopes={"pmc": ["repo.content.read"]}))
    with pytest.raises(PublishError, match=r"lacks the `repo.write` permission on 'pmc' \(granted there: "
                                           r"repo.content.read\)") as info:
        publish(PublishOptions(built, REPO, gated="manual"))
    assert RESUME not in str(info.value)
    assert hub.mutations == []

    hub.use_token(hub.add_user("erin", orgs=["pmc"], scopes={"pmc": ["repo.content.read", "repo.write"]}))
    assert publish(PublishOptions(built, REPO, gated="manual")).tagged == "2026-11"


def test_a_failed_tag_is_created_by_the_next_run_without_committing_again(hub, built):
    hub.use_token("hf_alice")
    hub.fail_request(r"/tag/", 503, message="busy")
    with pytest.raises(PublishError, match=r"while tagging release 2026-11 \(503: busy\); all 2 commit\(s\) are in "
                                           r"place; run the same command again to resume"):
        publish(PublishOptions(built, REPO, gated="manual"))
    commits = len(hub.commits(REPO))

    again = publish(PublishOptions(built, REPO, gated="manual"))

    assert again.commits == [] and again.tagged == "2026-11"
    assert len(hub.commits(REPO)) == commits and hub.tags(REPO)["2026-11"] == hub.commits(REPO)[0].sha
