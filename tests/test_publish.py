"""`pmc-hub publish` against the loopback Hub (tests/hub_server.py), with the real clients."""
from __future__ import annotations

import json
import subprocess
import sys
import shutil
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from datasets import load_dataset
from datasets.exceptions import DatasetNotFoundError
from huggingface_hub import HfApi, hf_hub_download
from huggingface_hub.errors import GatedRepoError, RepositoryNotFoundError

from hub_server import hub  # noqa: F401  (fixture)
from pmc_hub import cli
from conftest import run_build
from pmc_hub.output import default_release, shard_files
from pmc_hub.publish import PublishError, PublishOptions, publish

REPO = "pmc/figures"


@pytest.fixture(scope="module")
def built_once(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("build") / "out"
    run_build([], out)
    return out


@pytest.fixture
def built(built_once, tmp_path) -> Path:
    """A fresh copy of the bundled-sample build (tests change it)."""
    return Path(shutil.copytree(built_once, tmp_path / "out"))


def published_paths(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file() and ".pmc-hub" not in p.parts}


def test_publish_then_load_dataset_returns_the_same_rows(hub, built):
    hub.use_token("hf_alice")
    result = publish(PublishOptions(built, REPO))

    assert result.plan.create_repo and result.commits
    remote = hub.files(REPO)
    assert set(remote) == published_paths(built) | {".gitattributes"}
    assert not any(p.startswith(".pmc-hub") for p in remote)
    assert all(remote[p] == (built / p).read_bytes() for p in published_paths(built))

    local = pq.read_table(built / "commercial").to_pydict()
    ds = load_dataset(REPO, "commercial", split="train")
    assert ds["image_key"] == local["image_key"]
    assert ds["caption"] == local["caption"]
    assert ds[0]["image"].size == (local["image_size"][0]["width"], local["image_size"][0]["height"])

    streamed = load_dataset(REPO, "commercial", split="train", streaming=True)
    assert [row["image_key"] for row in streamed] == local["image_key"]


def test_second_publish_of_an_unchanged_folder_uploads_nothing(hub, built):
    hub.use_token("hf_alice")
    publish(PublishOptions(built, REPO))
    uploads, commits = len(hub.lfs_uploads), len(hub.commits(REPO))

    again = publish(PublishOptions(built, REPO))

    assert again.commits == [] and not again.plan.has_changes
    assert sorted(again.plan.unchanged) == sorted(published_paths(built))
    assert len(hub.lfs_uploads) == uploads and len(hub.commits(REPO)) == commits


def test_republish_adds_updates_and_deletes_only_what_changed(hub, built):
    hub.use_token("hf_alice")
    publish(PublishOptions(built, REPO))
    report = json.loads((built / "build_report.json").read_text())
    report["note"] = "rebuilt"
    (built / "build_report.json").write_text(json.dumps(report))
    shard = shard_files(built, "articles")[0]
    renamed = shard.with_name("train-00000-of-00001-b.parquet")
    shard.rename(renamed)
    uploads_before = len(hub.lfs_uploads)

    result = publish(PublishOptions(built, REPO))

    plan = result.plan
    assert plan.updated == ["build_report.json"]
    assert plan.added == [renamed.relative_to(built).as_posix()]
    assert plan.deleted == [shard.relative_to(built).as_posix()]
    assert set(hub.files(REPO)) == published_paths(built) | {".gitattributes"}
    assert len(hub.lfs_uploads) == uploads_before  # same bytes under a new name: the Hub already has them


def test_gated_repo_refuses_a_user_without_access_and_serves_an_accepted_one(hub, built, tmp_path):
    hub.use_token("hf_alice")
    publish(PublishOptions(built, REPO, gated="manual"))
    assert HfApi().dataset_info(REPO).gated == "manual"
    shard = next(p for p in hub.files(REPO) if p.startswith("commercial/"))

    hub.use_token("hf_bob")
    with pytest.raises(GatedRepoError):
        hf_hub_download(REPO, shard, repo_type="dataset")
    with pytest.raises(DatasetNotFoundError, match="is a gated dataset"):
        load_dataset(REPO, "commercial", split="train")

    hub.request_access(REPO, "bob", {"affiliation": "Example University", "intended_use": "research"})
    hub.use_token("hf_alice")
    pending = list(HfApi().list_pending_access_requests(REPO, repo_type="dataset"))
    assert [(r.username, r.fields["affiliation"]) for r in pending] == [("bob", "Example University")]
    HfApi().accept_access_request(REPO, "bob", repo_type="dataset")

    hub.use_token("hf_bob")
    ds = load_dataset(REPO, "commercial", split="train")
    assert ds.num_rows == pq.read_metadata(built / shard).num_rows


def test_upload_cut_off_mid_way_resumes_without_resending_finished_files(hub, built):
    hub.use_token("hf_alice")
    options = PublishOptions(built, REPO, batch_files=1)  # articles shard, commercial shard, then card+report
    hub.fail_upload(nth=2, kind="commit")

    with pytest.raises(PublishError, match="run the same command again") as info:
        publish(options)
    assert "1 commit(s) are in place" in str(info.value)
    committed = set(hub.files(REPO))
    assert any(p.startswith("articles/") for p in committed) and "README.md" not in committed
    uploads_after_cut = Counter(hub.lfs_uploads)

    result = publish(options)

    assert any(p.startswith("articles/") for p in result.plan.unchanged)
    assert set(hub.files(REPO)) == published_paths(built) | {".gitattributes"}
    assert Counter(hub.lfs_uploads) == uploads_after_cut  # the cut-off shard's bytes had arrived already
    assert all(n == 1 for n in Counter(hub.lfs_uploads).values())
    assert load_dataset(REPO, "commercial", split="train").num_rows == pq.read_metadata(
        shard_files(built, "commercial")[0]).num_rows


def test_a_dropped_lfs_upload_is_retried_and_sent_once(hub, built):
    hub.use_token("hf_alice")
    hub.fail_upload(nth=1, kind="lfs")

    publish(PublishOptions(built, REPO))

    assert set(hub.files(REPO)) == published_paths(built) | {".gitattributes"}
    assert all(n == 1 for n in Counter(hub.lfs_uploads).values())


def test_dry_run_changes_nothing_on_the_hub(hub, built):
    hub.use_token("hf_alice")
    result = publish(PublishOptions(built, REPO, gated="manual", dry_run=True))

    assert result.dry_run and result.plan.create_repo and result.plan.changes_gating
    assert sorted(result.plan.added) == sorted(published_paths(built))
    assert hub.mutations == [] and REPO not in hub.repos

    publish(PublishOptions(built, REPO))
    (built / "build_report.json").write_text("{}")
    mutations = list(hub.mutations)
    again = publish(PublishOptions(built, REPO, gated="auto", private=True, dry_run=True))
    assert again.plan.updated == ["build_report.json"] and again.plan.make_private
    assert hub.mutations == mutations
    assert hub.repos[REPO].gated is False and not hub.repos[REPO].private


def test_private_repo_on_a_new_branch(hub, built):
    hub.use_token("hf_alice")
    result = publish(PublishOptions(built, REPO, private=True, revision="staging"))

    assert result.plan.create_branch
    assert set(hub.files(REPO, "staging")) == published_paths(built) | {".gitattributes"}
    assert set(hub.files(REPO, "main")) == {".gitattributes"}
    hub.use_token(None)
    with pytest.raises(RepositoryNotFoundError):
        HfApi().dataset_info(REPO)


@pytest.mark.parametrize("token, message", [
    (None, "no Hugging Face token found"),
    ("hf_wrong", "token was rejected"),
    ("hf_bob", "cannot write to namespace 'pmc'"),
    ("hf_reader", "read-only"),
])
def test_unusable_tokens_give_clear_errors_and_change_nothing(hub, built, token, message):
    hub.use_token(token)
    with pytest.raises(PublishError, match=message) as info:
        publish(PublishOptions(built, REPO))
    assert "hf_" not in str(info.value)  # never the token
    assert hub.mutations == []


def test_invalid_card_yaml_is_refused_before_any_upload(hub, built):
    hub.use_token("hf_alice")
    readme = built / "README.md"
    readme.write_text("---\nconfigs: [unclosed\n---\n# card\n")
    with pytest.raises(PublishError, match="README.md: card metadata cannot be parsed"):
        publish(PublishOptions(built, REPO))

    readme.write_text("---\nconfigs: commercial/*.parquet\n---\n# card\n")
    with pytest.raises(PublishError, match="the Hub rejects the card metadata"):
        publish(PublishOptions(built, REPO))
    assert hub.mutations == []


def test_cli_dry_run_prints_the_plan_and_never_the_token(hub, built, capsys):
    hub.use_token("hf_alice")
    code = cli.main(["publish", str(built), "--repo", REPO, "--gated", "manual", "--dry-run"])

    out, err = capsys.readouterr()
    assert code == 0, err
    assert f"create dataset repo {REPO}" in out and "set gating: off -> manual" in out
    assert f"add commercial/{default_release()}/train-000000.parquet" in out
    assert "hf_alice" not in out + err
    assert hub.mutations == []


def test_cli_publishes_and_reports_errors(hub, built, capsys):
    hub.use_token("hf_bob")
    assert cli.main(["publish", str(built), "--repo", REPO]) == 1
    assert "cannot write to namespace" in capsys.readouterr().err

    hub.use_token("hf_alice")
    assert cli.main(["publish", str(built), "--repo", REPO, "--gated", "auto"]) == 0
    out = capsys.readouterr().out
    assert "published in 2 commit(s)" in out and f"added {len(published_paths(built))}" in out
    assert hub.repos[REPO].gated == "auto"


def test_console_script_reads_endpoint_and_token_from_the_environment(hub, built):
    # a fresh process: huggingface_hub reads HF_ENDPOINT / HF_TOKEN at import, as for a real user
    hub.use_token("hf_alice")
    proc = subprocess.run([sys.executable, "-m", "pmc_hub.cli", "publish", str(built), "--repo", REPO, "--private"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "hf_alice" not in proc.stdout + proc.stderr
    assert hub.repos[REPO].private
    assert set(hub.files(REPO)) == published_paths(built) | {".gitattributes"}


def test_an_unfinished_build_is_not_published(hub, tmp_path):
    from pmc_hub.publish import PublishError, PublishOptions, plan_publish
    from huggingface_hub import HfApi

    folder = tmp_path / "half"
    (folder / ".pmc-hub").mkdir(parents=True)
    (folder / ".pmc-hub" / "state.json").write_text('{"complete": false, "fingerprint": "x"}')
    with pytest.raises(PublishError, match="unfinished"):
        plan_publish(HfApi(), PublishOptions(folder=folder, repo_id="alice/half"))
    assert not hub.mutations
