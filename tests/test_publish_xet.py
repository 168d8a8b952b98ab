"""Publish on the path users really run: uploads through Xet (hf_xet is always installed), against
the loopback Hub's CAS (tests/xet_cas.py), and the one-line errors when the Xet side fails."""
from __future__ import annotations


import pytest
from datasets import load_dataset

from hub_server import xet_hub  # noqa: F401  (fixture)
from publish_fixtures import built, built_once  # noqa: F401  (fixtures)
from pmc_hub.output import read_manifest
from pmc_hub.publish import PublishError, PublishOptions, publish

REPO = "pmc/figures"
RESUME = "run the same command again"


@pytest.fixture
def quick_xet_retries(monkeypatch):
    """hf_xet retries a failing CAS for minutes by default; one attempt is enough to see the error."""
    monkeypatch.setenv("HF_XET_CLIENT_RETRY_MAX_ATTEMPTS", "1")


def test_publish_through_xet_gives_the_same_rows(xet_hub, built):
    xet_hub.use_token("hf_alice")
    result = publish(PublishOptions(built, REPO, gated="manual"))

    manifest = read_manifest(built)
    shards = {f.sha256 for p, f in manifest.files.items() if p.endswith(".parquet")}
    assert xet_hub.lfs_uploads == []  # nothing took the LFS path
    assert shards <= set(xet_hub.xet_files)  # every shard was rebuilt from the xorbs hf_xet sent
    assert set(xet_hub.files(REPO)) == set(manifest.files) | {".gitattributes"}
    assert all(xet_hub.files(REPO)[p] == (built / p).read_bytes() for p in manifest.files)
    assert result.tagged == "2026-11"
    local = load_dataset(str(built), "commercial", split="train")["image_key"]
    assert load_dataset(REPO, "commercial", split="train", revision="2026-11")["image_key"] == local


def test_a_cas_that_refuses_the_upload_is_one_line_without_a_resume_hint(xet_hub, built, quick_xet_retries):
    xet_hub.use_token("hf_alice")
    xet_hub.fail_request(r"^/cas/v1/xorbs/", 403, times=100, message="token scope does not cover this repo")
    with pytest.raises(PublishError) as info:
        publish(PublishOptions(built, REPO, gated="manual"))
    message = str(info.value)
    assert message.startswith("pmc/figures: the Xet storage service refused uploading the files of commit 1/2 (403")
    assert "although the Hub granted write access" in message and "HF_HUB_DISABLE_XET=1" in message
    assert "\n" not in message and RESUME not in message
    assert "README.md" not in xet_hub.files(REPO)


def test_an_unreachable_cas_says_how_to_upload_without_xet(xet_hub, built, quick_xet_retries):
    xet_hub.use_token("hf_alice")
    xet_hub.cas_url = "http://127.0.0.1:9/cas"  # nothing listens there: a blocked storage host
    with pytest.raises(PublishError, match=r"the Xet storage service failed while uploading the files of commit "
                                           r"1/2 \(.*\); if this machine cannot reach it .* HF_HUB_DISABLE_XET=1") as info:
        publish(PublishOptions(built, REPO, gated="manual"))
    assert "\n" not in str(info.value)


def test_a_cas_server_error_says_to_resume(xet_hub, built, quick_xet_retries):
    xet_hub.use_token("hf_alice")
    xet_hub.fail_request(r"^/cas/v1/xorbs/", 500, times=100, message="storage backend down")
    with pytest.raises(PublishError, match=r"the Xet storage service failed while uploading the files of commit 1/2 "
                                           r"\(500: .*\); 0 of 2 commit\(s\) are in place; run the same command again"):
        publish(PublishOptions(built, REPO, gated="manual"))


def test_a_refused_xet_write_token_is_the_hubs_answer(xet_hub, built, quick_xet_retries):
    xet_hub.use_token("hf_alice")
    xet_hub.fail_request(r"/xet-write-token/", 403, times=100, message="no write access")
    with pytest.raises(PublishError, match=r"pmc/figures: the Hub refused uploading the files of commit 1/2 \(403") as info:
        publish(PublishOptions(built, REPO, gated="manual"))
    assert RESUME not in str(info.value)
