"""`pmc-hub publish` against the loopback Hub (tests/hub_server.py), with the real clients."""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from datasets import load_dataset
from datasets.exceptions import DatasetNotFoundError
from huggingface_hub import HfApi, hf_hub_download
from huggingface_hub.errors import GatedRepoError, RepositoryNotFoundError

from conftest import pmc_article_folder
from hub_server import hub  # noqa: F401  (fixture)
from publish_fixtures import build_release, built, built_once  # noqa: F401  (fixtures)
from pmc_hub import cli
from pmc_hub.output import MANIFEST_FILE, OutputError, OwnedFile, locked, read_manifest, shard_files, write_manifest
from pmc_hub.publish import PublishError, PublishOptions, plan_publish, publish
from pmc_hub.resources import sample_dir

REPO = "pmc/figures"


@pytest.fixture(scope="module")
def release_b_once(tmp_path_factory) -> Path:
    """A later release: three of the sample's articles plus a CC BY-NC-SA one (a new config)."""
    root = tmp_path_factory.mktemp("corpus_b")
    for name in ("elife-30274-v1", "elife-46472-v3", "plosone-0091296"):
        shutil.copytree(sample_dir() / name, root / name)
    pmc_article_folder("PMC2958468", root)
    return build_release(tmp_path_factory.mktemp("build_b") / "out", "2026-12", [root])


@pytest.fixture
def release_b(release_b_once, tmp_path) -> Path:
    return Path(shutil.copytree(release_b_once, tmp_path / "out_b", symlinks=True))


def owned(folder: Path) -> set[str]:
    return set(read_manifest(folder).files)


def gated(folder: Path, **kw) -> PublishOptions:
    """The build writes a gated card: publish it gated (alice, a pmc member, can always read)."""
    return PublishOptions(folder, REPO, gated="manual", **kw)


def reown(folder: Path, path: str) -> None:
    """Record a hand edit of ``path`` in the manifest, as a build that wrote it would."""
    manifest = read_manifest(folder)
    data = (folder / path).read_bytes()
    manifest.files[path] = OwnedFile(len(data), hashlib.sha256(data).hexdigest())
    write_manifest(folder, manifest)


def rows(folder_or_repo, config: str, **kw) -> list[str]:
    return sorted(load_dataset(str(folder_or_repo), config, split="train", **kw)["image_key"])


def test_publish_then_load_dataset_returns_the_same_rows(hub, built):
    hub.use_token("hf_alice")
    result = publish(gated(built))

    assert result.plan.create_repo and result.commits and result.tagged == "2026-11"
    remote = hub.files(REPO)
    assert set(remote) == owned(built) | {".gitattributes"}
    assert not any(p.startswith(".pmc-hub") for p in remote)
    assert all(remote[p] == (built / p).read_bytes() for p in owned(built))
    assert hub.tags(REPO) == {"2026-11": hub.commits(REPO)[0].sha}

    local = pq.read_table(shard_files(built, "commercial")[0]).to_pydict()
    ds = load_dataset(REPO, "commercial", split="train")
    assert ds["image_key"] == local["image_key"]
    assert ds["caption"] == local["caption"]
    assert ds[0]["image"].size == (local["image_size"][0]["width"], local["image_size"][0]["height"])

    streamed = load_dataset(REPO, "commercial", split="train", streaming=True)
    assert [row["image_key"] for row in streamed] == local["image_key"]


def test_second_publish_of_an_unchanged_folder_uploads_nothing(hub, built):
    hub.use_token("hf_alice")
    publish(gated(built))
    uploads, commits = len(hub.lfs_uploads), len(hub.commits(REPO))

    again = publish(gated(built))

    assert again.commits == [] and not again.plan.has_changes and again.tagged is None
    assert again.plan.tag_in_place
    assert sorted(again.plan.unchanged) == sorted(owned(built))
    assert len(hub.lfs_uploads) == uploads and len(hub.commits(REPO)) == commits


def test_only_the_manifest_files_go_up_and_links_are_never_followed(hub, built, tmp_path):
    private = tmp_path / "private.txt"
    private.write_text("secret of the maintainer")
    (built / "notes.txt").write_text("a maintainer's notes")
    (built / "commercial" / "2026-11" / "train-000001.parquet").write_bytes(b"not the build's")
    (built / "secret.txt").symlink_to(private)
    (built / "linked").symlink_to(tmp_path)
    hub.use_token("hf_alice")

    publish(gated(built))

    remote = hub.files(REPO)
    assert set(remote) == owned(built) | {".gitattributes"}
    assert not any(b"secret of the maintainer" in data for data in remote.values())


def test_a_manifest_file_replaced_by_a_link_is_refused(hub, built, tmp_path):
    report = built / "build_report.json"
    copy = tmp_path / "report-copy.json"
    shutil.copy(report, copy)  # the very same bytes, so only the link itself is wrong
    report.unlink()
    report.symlink_to(copy)
    hub.use_token("hf_alice")

    with pytest.raises(PublishError, match=r"build_report.json: is a symlink") as info:
        publish(gated(built))
    assert "\n" not in str(info.value)
    assert hub.mutations == []


def _grow(p: Path) -> None:
    p.write_bytes(p.read_bytes() + b"x")


def _flip(p: Path) -> None:
    data = bytearray(p.read_bytes())
    data[len(data) // 2] ^= 0xFF
    p.write_bytes(bytes(data))


def _folder(p: Path) -> None:
    p.unlink()
    p.mkdir()


def _fifo(p: Path) -> None:
    p.unlink()
    os.mkfifo(p)


@pytest.mark.parametrize("damage, message", [
    (_grow, r"changed after the build \(\d+ bytes, the manifest says \d+\)"),
    (_flip, r"changed after the build \(its SHA-256 is not the manifest's\)"),
    (_folder, "not a regular file"),
    (_fifo, "not a regular file"),
])
def test_manifest_files_that_changed_after_the_build_are_refused(hub, built, damage, message):
    shard = shard_files(built, "commercial")[0]
    damage(shard)
    hub.use_token("hf_alice")
    with pytest.raises(PublishError, match=message) as info:
        publish(gated(built))
    assert shard.name in str(info.value)
    assert hub.mutations == []


def test_a_symlinked_folder_on_a_manifest_path_is_refused(hub, built, tmp_path):
    moved = tmp_path / "elsewhere"
    shutil.move(built / "commercial", moved)
    (built / "commercial").symlink_to(moved)
    hub.use_token("hf_alice")
    with pytest.raises(PublishError, match="a folder on its path is a symlink"):
        publish(gated(built))
    assert hub.mutations == []


def test_a_missing_file_is_fine_only_when_the_hub_holds_it(hub, built):
    hub.use_token("hf_alice")
    publish(gated(built))
    shard = shard_files(built, "commercial")[0]
    path = shard.relative_to(built).as_posix()
    remote_before = hub.files(REPO)
    shard.unlink()  # a maintainer who keeps only the newest files
    (built / "releases" / "2026-11.json").unlink()  # a small file the Hub stores in git, not LFS

    again = publish(gated(built))
    assert {path, "releases/2026-11.json"} <= set(again.plan.unchanged) and not again.plan.has_changes
    assert hub.files(REPO) == remote_before

    with pytest.raises(PublishError, match=rf"{path}: missing, and pmc/other does not hold it"):
        publish(PublishOptions(built, "pmc/other", gated="manual"))
    assert "pmc/other" not in hub.repos


def test_folders_that_are_not_a_finished_build_are_refused(hub, built, tmp_path):
    hub.use_token("hf_alice")
    with pytest.raises(PublishError, match=r"no finished pmc-hub build here \(\.pmc-hub/manifest\.json is missing\)"):
        publish(PublishOptions(tmp_path, REPO))

    manifest = read_manifest(built)
    manifest.complete = False
    write_manifest(built, manifest)
    with pytest.raises(PublishError, match="unfinished; run the same `pmc-hub build` again"):
        publish(gated(built))

    (built / MANIFEST_FILE).write_text('{"files": {"README.md": {"size": "x"')
    with pytest.raises(OutputError, match=r"manifest\.json is damaged") as info:
        publish(gated(built))
    assert "\n" not in str(info.value)
    assert hub.mutations == []


def test_a_damaged_state_file_does_not_matter_the_manifest_proves_the_files(hub, built):
    (built / ".pmc-hub" / "state.json").write_text("{not json")
    hub.use_token("hf_alice")
    publish(gated(built))
    assert set(hub.files(REPO)) == owned(built) | {".gitattributes"}


def test_a_manifest_path_outside_the_folder_is_refused(hub, built):
    manifest = read_manifest(built)
    manifest.files["../outside.txt"] = OwnedFile(1, "0" * 64)
    write_manifest(built, manifest)
    hub.use_token("hf_alice")
    with pytest.raises(PublishError, match=r"lists '\.\./outside\.txt', which is not a file of the build"):
        publish(gated(built))


def test_each_release_stays_loadable_at_its_tag(hub, built, release_b):
    hub.use_token("hf_alice")
    first = publish(gated(built))
    second = publish(gated(release_b))

    assert first.tagged == "2026-11" and second.tagged == "2026-12"
    assert set(hub.tags(REPO)) == {"2026-11", "2026-12"}
    assert set(hub.files(REPO, "2026-11")) == owned(built) | {".gitattributes"}
    assert set(hub.files(REPO)) == owned(release_b) | {".gitattributes"}
    assert "noncommercial/2026-12/train-000000.parquet" in second.plan.added
    assert rows(built, "commercial") != rows(release_b, "commercial")

    assert rows(REPO, "commercial", revision="2026-11") == rows(built, "commercial")
    assert rows(REPO, "commercial", revision="2026-12") == rows(release_b, "commercial")
    assert rows(REPO, "commercial") == rows(release_b, "commercial")
    assert rows(REPO, "noncommercial", revision="2026-12") == rows(release_b, "noncommercial")
    with pytest.raises(ValueError, match="noncommercial"):  # release A has no noncommercial config
        rows(REPO, "noncommercial", revision="2026-11")


def test_a_release_tag_is_never_moved(hub, built, release_b):
    hub.use_token("hf_alice")
    publish(gated(built))
    manifest = read_manifest(release_b)
    manifest.releases = ["2026-11"]  # B's files under A's name
    write_manifest(release_b, manifest)
    mutations = list(hub.mutations)

    with pytest.raises(PublishError, match="tag 2026-11 already points at commit .* a published release never changes"):
        publish(gated(release_b))
    assert hub.mutations == mutations


def test_data_goes_up_in_bounded_commits_and_the_card_last(hub, built, release_b):
    hub.use_token("hf_alice")
    publish(gated(built, batch_files=1))
    commits = hub.commits(REPO)[::-1][1:]  # oldest first, without the repo's initial commit
    before = [set(c.files) for c in hub.commits(REPO)[::-1]]
    added = [b - a for a, b in zip(before, before[1:])]
    assert [c.title for c in commits] == ["pmc-hub publish: batch 1/3", "pmc-hub publish: batch 2/3",
                                         "pmc-hub publish: card, report"]
    assert all(len(a) == 1 for a in added[:2])
    assert added[2] == {"README.md", "build_report.json", "releases/2026-11.json"}

    result = publish(gated(release_b, batch_bytes=1))  # every data file in a commit of its own
    assert len(result.commits) == len([p for p in result.plan.added + result.plan.updated if p.endswith(".parquet")]) + 1
    assert hub.tags(REPO)["2026-12"] == result.commits[-1]


def test_upload_cut_off_mid_way_resumes_without_resending_finished_files(hub, built):
    hub.use_token("hf_alice")
    options = gated(built, batch_files=1)  # articles shard, commercial shard, then card+report
    hub.fail_upload(nth=2, kind="commit")

    with pytest.raises(PublishError, match="run the same command again to resume") as info:
        publish(options)
    assert "1 of 3 commit(s) are in place" in str(info.value)
    committed = set(hub.files(REPO))
    assert any(p.startswith("articles/") for p in committed) and "README.md" not in committed
    assert hub.tags(REPO) == {}
    uploads_after_cut = Counter(hub.lfs_uploads)

    result = publish(options)

    assert any(p.startswith("articles/") for p in result.plan.unchanged)
    assert set(hub.files(REPO)) == owned(built) | {".gitattributes"}
    assert Counter(hub.lfs_uploads) == uploads_after_cut  # the cut-off shard's bytes had arrived already
    assert all(n == 1 for n in Counter(hub.lfs_uploads).values())
    assert result.tagged == "2026-11"
    assert load_dataset(REPO, "commercial", split="train").num_rows == pq.read_metadata(
        shard_files(built, "commercial")[0]).num_rows


def test_a_dropped_lfs_upload_is_retried_and_sent_once(hub, built):
    hub.use_token("hf_alice")
    hub.fail_upload(nth=1, kind="lfs")

    publish(gated(built))

    assert set(hub.files(REPO)) == owned(built) | {".gitattributes"}
    assert all(n == 1 for n in Counter(hub.lfs_uploads).values())


def test_dry_run_changes_nothing_on_the_hub(hub, built, release_b):
    hub.use_token("hf_alice")
    result = publish(gated(built, dry_run=True))

    assert result.dry_run and result.plan.create_repo and result.plan.changes_gating
    assert sorted(result.plan.added) == sorted(owned(built))
    assert "tag 2026-11: create" in result.describe()
    assert hub.mutations == [] and REPO not in hub.repos

    publish(gated(built))
    mutations = list(hub.mutations)
    again = publish(PublishOptions(release_b, REPO, gated="auto", private=True, dry_run=True))
    assert "build_report.json" in again.plan.updated and again.plan.make_private
    assert hub.mutations == mutations
    assert hub.repos[REPO].gated == "manual" and not hub.repos[REPO].private


def test_private_repo_on_a_new_branch(hub, built):
    hub.use_token("hf_alice")
    result = publish(gated(built, private=True, revision="staging"))

    assert result.plan.create_branch
    assert set(hub.files(REPO, "staging")) == owned(built) | {".gitattributes"}
    assert set(hub.files(REPO, "main")) == {".gitattributes"}
    assert hub.tags(REPO)["2026-11"] == hub.commits(REPO, "staging")[0].sha
    hub.use_token(None)
    with pytest.raises(RepositoryNotFoundError):
        HfApi().dataset_info(REPO)


def test_gated_repo_refuses_a_user_without_access_and_serves_an_accepted_one(hub, built):
    hub.use_token("hf_alice")
    publish(gated(built))
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


def test_a_gated_card_is_not_published_ungated_by_accident(hub, built):
    hub.use_token("hf_alice")
    with pytest.raises(PublishError, match=r"README.md: the card asks for gated access .* pass --gated manual") as info:
        publish(PublishOptions(built, REPO))
    assert "--no-gate" in str(info.value)
    assert hub.mutations == []

    hub.create_repo(REPO, owner_token="hf_alice", gated="auto")  # gated already: nothing to ask
    publish(PublishOptions(built, REPO))
    assert hub.repos[REPO].gated == "auto"


def test_an_ungated_card_needs_no_gating(hub, built):
    assert cli.main(["card", str(built), "--no-gate"]) == 0
    reown(built, "README.md")
    hub.use_token("hf_alice")
    publish(PublishOptions(built, REPO))
    assert hub.repos[REPO].gated is False
    hub.use_token(None)  # public and ungated: anyone reads it
    assert rows(REPO, "commercial") == rows(built, "commercial")


@pytest.mark.parametrize("token, message", [
    (None, "no Hugging Face token found"),
    ("hf_wrong", r"rejected the Hugging Face token \(401\)"),
    ("hf_bob", "cannot write to namespace 'pmc'"),
    ("hf_reader", "read-only"),
])
def test_unusable_tokens_give_clear_errors_and_change_nothing(hub, built, token, message):
    hub.use_token(token)
    with pytest.raises(PublishError, match=message) as info:
        publish(gated(built))
    assert "hf_" not in str(info.value)  # never the token
    assert hub.mutations == []


def test_invalid_card_yaml_is_refused_before_any_upload(hub, built):
    hub.use_token("hf_alice")
    readme = built / "README.md"
    readme.write_text("---\nconfigs: [unclosed\n---\n# card\n")
    reown(built, "README.md")
    with pytest.raises(PublishError, match="README.md: card metadata cannot be parsed"):
        publish(gated(built))

    readme.write_text("---\nconfigs: commercial/*.parquet\n---\n# card\n")
    reown(built, "README.md")
    with pytest.raises(PublishError, match="the Hub rejects the card metadata"):
        publish(gated(built))
    assert hub.mutations == []


def test_cli_dry_run_prints_the_plan_and_never_the_token(hub, built, capsys):
    hub.use_token("hf_alice")
    code = cli.main(["publish", str(built), "--repo", REPO, "--gated", "manual", "--dry-run"])

    out, err = capsys.readouterr()
    assert code == 0, err
    assert f"create dataset repo {REPO}" in out and "set gating: off -> manual" in out
    assert "add commercial/2026-11/train-000000.parquet" in out and "tag 2026-11: create" in out
    assert "hf_alice" not in out + err
    assert hub.mutations == []


def test_cli_publishes_and_reports_errors_on_one_line(hub, built, capsys):
    hub.use_token("hf_bob")
    assert cli.main(["publish", str(built), "--repo", REPO, "--gated", "auto"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "cannot write to namespace" in err and err.count("\n") == 1
    assert cli.main(["publish", str(built), "--repo", REPO, "--batch-files", "0"]) == 2

    hub.use_token("hf_alice")
    assert cli.main(["publish", str(built), "--repo", REPO, "--gated", "auto"]) == 0
    out = capsys.readouterr().out
    assert "published in 2 commit(s)" in out and f"added {len(owned(built))}" in out
    assert hub.repos[REPO].gated == "auto" and "2026-11" in hub.tags(REPO)


def test_console_script_reads_endpoint_and_token_from_the_environment(hub, built):
    # a fresh process: huggingface_hub reads HF_ENDPOINT / HF_TOKEN at import, as for a real user
    hub.use_token("hf_alice")
    proc = subprocess.run([sys.executable, "-m", "pmc_hub.cli", "publish", str(built), "--repo", REPO, "--private",
                           "--gated", "manual"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "hf_alice" not in proc.stdout + proc.stderr
    assert hub.repos[REPO].private
    assert set(hub.files(REPO)) == owned(built) | {".gitattributes"}


def test_plan_needs_no_network_to_refuse_a_bad_folder(tmp_path):
    # no hub fixture: any Hub call would fail; the folder is refused first
    with pytest.raises(PublishError, match="no finished pmc-hub build"):
        plan_publish(HfApi(endpoint="http://127.0.0.1:9"), PublishOptions(tmp_path, REPO))


def test_a_folder_a_build_is_writing_is_not_published(hub, built):
    hub.use_token("hf_alice")
    with locked(built, "build"):
        with pytest.raises(OutputError, match="is in use by pmc-hub build"):
            publish(gated(built))
    assert hub.mutations == []
