"""The loopback Hub answers the real huggingface_hub client the way the Hub does."""
from __future__ import annotations

import hashlib

import httpx2
import pytest
from huggingface_hub import (
    CommitOperationAdd,
    DatasetCard,
    HfApi,
    get_hf_file_metadata,
    hf_hub_download,
    hf_hub_url,
)
from huggingface_hub.errors import (
    EntryNotFoundError,
    GatedRepoError,
    HfHubHTTPError,
    LocalTokenNotFoundError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)

from hub_server import git_blob_sha1, hub, xet_hub  # noqa: F401  (fixtures)

REPO = "pmc/demo"
PAYLOAD = bytes(range(256)) * 40  # binary: stored through LFS


def add(path: str, data: bytes) -> CommitOperationAdd:
    return CommitOperationAdd(path_in_repo=path, path_or_fileobj=data)


@pytest.fixture
def api(hub) -> HfApi:
    hub.use_token("hf_alice")
    api = HfApi()
    api.create_repo(REPO, repo_type="dataset")
    api.create_commit(REPO, [add("data/x.bin", PAYLOAD), add("notes.txt", b"hello\n")],
                      commit_message="data", repo_type="dataset")
    return api


def test_whoami_needs_a_known_token(hub):
    hub.use_token("hf_bob")
    me = HfApi().whoami()
    assert me["name"] == "bob" and me["orgs"] == []
    hub.use_token("hf_nope")
    with pytest.raises(HfHubHTTPError, match="Invalid user token") as info:
        HfApi().whoami()
    assert info.value.response.status_code == 401
    hub.use_token(None)
    with pytest.raises(LocalTokenNotFoundError):
        HfApi().whoami()


def test_create_repo_conflict_and_foreign_namespace(api, hub):
    with pytest.raises(HfHubHTTPError) as info:
        api.create_repo(REPO, repo_type="dataset")
    assert info.value.response.status_code == 409
    api.create_repo(REPO, repo_type="dataset", exist_ok=True)
    with pytest.raises(HfHubHTTPError) as info:
        api.create_repo("bob/mine", repo_type="dataset")
    assert info.value.response.status_code == 403


def test_commits_store_files_with_lfs_and_git_oids(api, hub):
    tree = {f.path: f for f in api.list_repo_tree(REPO, recursive=True, repo_type="dataset")}
    assert set(tree) == {".gitattributes", "data", "data/x.bin", "notes.txt"}
    assert tree["data/x.bin"].lfs.sha256 == hashlib.sha256(PAYLOAD).hexdigest()
    assert tree["notes.txt"].lfs is None and tree["notes.txt"].blob_id == git_blob_sha1(b"hello\n")
    top = [f.path for f in api.list_repo_tree(REPO, repo_type="dataset")]
    assert sorted(top) == [".gitattributes", "data", "notes.txt"]
    info = api.dataset_info(REPO, files_metadata=True)
    assert info.sha == hub.commits(REPO)[0].sha
    assert {s.rfilename: s.size for s in info.siblings}["data/x.bin"] == len(PAYLOAD)
    assert [p.path for p in api.get_paths_info(REPO, ["notes.txt", "data", "missing"], repo_type="dataset")] == ["notes.txt", "data"]


def test_stale_parent_commit_is_refused(api, hub):
    parent = api.dataset_info(REPO).sha
    api.create_commit(REPO, [add("a.txt", b"a")], commit_message="a", repo_type="dataset", parent_commit=parent)
    with pytest.raises(HfHubHTTPError) as info:
        api.create_commit(REPO, [add("b.txt", b"b")], commit_message="b", repo_type="dataset", parent_commit=parent)
    assert info.value.response.status_code == 412
    assert "b.txt" not in hub.files(REPO)


def test_resolve_serves_head_get_and_ranges(api, hub):
    sha = api.dataset_info(REPO).sha
    meta = get_hf_file_metadata(hf_hub_url(REPO, "data/x.bin", repo_type="dataset"))
    assert meta.commit_hash == sha and meta.size == len(PAYLOAD)
    assert meta.etag == hashlib.sha256(PAYLOAD).hexdigest()
    path = hf_hub_download(REPO, "data/x.bin", repo_type="dataset", revision=sha)
    assert open(path, "rb").read() == PAYLOAD
    r = httpx2.get(f"{hub.url}/datasets/{REPO}/resolve/main/data/x.bin", headers={"Range": "bytes=10-19"})
    assert r.status_code == 206 and r.content == PAYLOAD[10:20]
    assert r.headers["Content-Range"] == f"bytes 10-19/{len(PAYLOAD)}"


def test_missing_things_raise_the_clients_own_errors(api, hub):
    with pytest.raises(EntryNotFoundError):
        hf_hub_download(REPO, "nope.txt", repo_type="dataset")
    with pytest.raises(RevisionNotFoundError):
        api.dataset_info(REPO, revision="no-such-branch")
    with pytest.raises(RepositoryNotFoundError):
        api.dataset_info("pmc/nothing")


def test_settings_gate_and_hide_the_repo(api, hub):
    api.update_repo_settings(REPO, gated="manual", repo_type="dataset")
    hub.use_token("hf_bob")
    with pytest.raises(GatedRepoError):
        hf_hub_download(REPO, "notes.txt", repo_type="dataset")
    assert HfApi().dataset_info(REPO).gated == "manual"
    hub.use_token("hf_alice")
    api.update_repo_settings(REPO, gated=False, private=True, repo_type="dataset")
    hub.use_token("hf_bob")
    with pytest.raises(RepositoryNotFoundError):
        HfApi().dataset_info(REPO)


def test_access_requests_list_with_pagination_and_handle(api, hub):
    api.update_repo_settings(REPO, gated="manual", repo_type="dataset")
    hub.page_size = 2
    users = ["bob", "carol", "dave", "erin", "frank"]
    for name in users[2:]:
        hub.add_user(name)
    for name in users:
        hub.request_access(REPO, name, {"affiliation": f"{name} lab"})

    pending = list(api.list_pending_access_requests(REPO, repo_type="dataset"))
    assert sorted(r.username for r in pending) == users
    assert {r.username: r.fields["affiliation"] for r in pending}["carol"] == "carol lab"

    api.accept_access_request(REPO, "bob", repo_type="dataset")
    api.reject_access_request(REPO, "carol", repo_type="dataset", rejection_reason="no affiliation given")
    api.cancel_access_request(REPO, "bob", repo_type="dataset")
    api.grant_access(REPO, "reader", repo_type="dataset")
    assert hub.access_status(REPO, "bob") == "pending"
    assert hub.rejection_reason(REPO, "carol") == "no affiliation given"
    assert [r.username for r in api.list_accepted_access_requests(REPO, repo_type="dataset")] == ["reader"]
    assert [r.username for r in api.list_rejected_access_requests(REPO, repo_type="dataset")] == ["carol"]
    with pytest.raises(HfHubHTTPError) as info:
        api.reject_access_request(REPO, "carol", repo_type="dataset", rejection_reason="again")
    assert info.value.response.status_code == 404

    hub.use_token("hf_bob")  # not an admin of the repo
    with pytest.raises(HfHubHTTPError) as info:
        list(HfApi().list_pending_access_requests(REPO, repo_type="dataset"))
    assert info.value.response.status_code == 403


def test_auto_gating_accepts_requests_at_once(api, hub):
    api.update_repo_settings(REPO, gated="auto", repo_type="dataset")
    hub.request_access(REPO, "bob")
    hub.use_token("hf_bob")
    assert open(hf_hub_download(REPO, "notes.txt", repo_type="dataset"), "rb").read() == b"hello\n"


def test_dropped_commit_fails_the_client_and_changes_nothing(api, hub):
    before = hub.commits(REPO)[0].sha
    hub.fail_upload(nth=1, kind="commit")
    with pytest.raises(httpx2.TransportError):
        api.create_commit(REPO, [add("c.txt", b"c")], commit_message="c", repo_type="dataset")
    assert hub.commits(REPO)[0].sha == before
    api.create_commit(REPO, [add("c.txt", b"c")], commit_message="c", repo_type="dataset")
    assert hub.files(REPO)["c.txt"] == b"c"


def test_validate_yaml_rejects_bad_card_metadata(hub):
    DatasetCard("---\nlicense: cc-by-4.0\nconfigs:\n- config_name: a\n  data_files: a/*.parquet\n---\n").validate(repo_type="dataset")
    with pytest.raises(ValueError, match="configs"):
        DatasetCard("---\nconfigs: a/*.parquet\n---\n").validate(repo_type="dataset")
    assert hub.mutations == []


def test_test_side_helpers_set_up_a_gated_repo_without_http(hub):
    hub.create_repo("pmc/gated", owner_token="hf_alice", gated="manual")
    hub.request_access("pmc/gated", "bob", {"intended_use": "research"})
    assert hub.access_status("pmc/gated", "bob") == "pending" and hub.mutations == []
    hub.use_token(None)
    with pytest.raises(GatedRepoError) as info:
        hf_hub_download("pmc/gated", ".gitattributes", repo_type="dataset")
    assert info.value.response.status_code == 401
    hub.set_access("pmc/gated", "bob", "accepted")
    hub.use_token("hf_bob")
    assert hf_hub_download("pmc/gated", ".gitattributes", repo_type="dataset")
    with pytest.raises(ValueError, match="cannot create"):
        hub.create_repo("pmc/other", owner_token="hf_bob")


def test_tags_pin_a_revision_for_every_read(api, hub):
    first = api.dataset_info(REPO).sha
    api.create_tag(REPO, tag="2026-11", repo_type="dataset")
    api.create_commit(REPO, [add("notes.txt", b"changed\n")], commit_message="change", repo_type="dataset")

    refs = api.list_repo_refs(REPO, repo_type="dataset")
    assert [(t.name, t.target_commit) for t in refs.tags] == [("2026-11", first)]
    assert api.dataset_info(REPO, revision="2026-11").sha == first
    assert open(hf_hub_download(REPO, "notes.txt", repo_type="dataset", revision="2026-11"), "rb").read() == b"hello\n"
    assert open(hf_hub_download(REPO, "notes.txt", repo_type="dataset"), "rb").read() == b"changed\n"
    tree = {f.path for f in api.list_repo_tree(REPO, recursive=True, revision="2026-11", repo_type="dataset")}
    assert "data/x.bin" in tree
    assert [p.path for p in api.get_paths_info(REPO, ["notes.txt"], revision="2026-11", repo_type="dataset")] == ["notes.txt"]
    with pytest.raises(HfHubHTTPError) as info:
        api.create_tag(REPO, tag="2026-11", repo_type="dataset")
    assert info.value.response.status_code == 409
    api.delete_tag(REPO, tag="2026-11", repo_type="dataset")
    assert hub.tags(REPO) == {}


def test_fine_grained_token_writes_only_where_a_scope_allows(api, hub):
    hub.use_token(hub.add_user("dan", orgs=["pmc"], scopes={"pmc": ["repo.content.read"]}))
    me = HfApi().whoami()
    assert me["auth"]["accessToken"]["role"] == "fineGrained"
    assert me["auth"]["accessToken"]["fineGrained"]["scoped"] == [
        {"entity": {"type": "org", "name": "pmc"}, "permissions": ["repo.content.read"]}]
    with pytest.raises(HfHubHTTPError, match="repo.write") as info:
        HfApi().create_commit(REPO, [add("d.txt", b"d")], commit_message="d", repo_type="dataset")
    assert info.value.response.status_code == 403
    hub.use_token(hub.add_user("erin", orgs=["pmc"], scopes={REPO: ["repo.write"]}))
    HfApi().create_commit(REPO, [add("d.txt", b"d")], commit_message="d", repo_type="dataset")
    assert hub.files(REPO)["d.txt"] == b"d"


def test_injected_request_failures(api, hub):
    hub.fail_request(r"/commit/", 503, message="try later")
    with pytest.raises(HfHubHTTPError, match="try later") as info:
        api.create_commit(REPO, [add("e.txt", b"e")], commit_message="e", repo_type="dataset")
    assert info.value.response.status_code == 503
    api.create_commit(REPO, [add("e.txt", b"e")], commit_message="e", repo_type="dataset")  # once only
    hub.fail_request(r"/preupload/", 0)  # dropped: the client retries this call by itself
    api.create_commit(REPO, [add("f.txt", b"f")], commit_message="f", repo_type="dataset")
    assert [p for _, p, _ in hub.requests].count(f"/api/datasets/{REPO}/preupload/main") >= 3


def test_xet_upload_goes_through_the_loopback_cas(xet_hub):
    xet_hub.use_token("hf_alice")
    api = HfApi()
    api.create_repo(REPO, repo_type="dataset")
    big = bytes(range(256)) * 4096 + b"tail" * 50_000  # several chunks, some compressible
    api.create_commit(REPO, [add("data/x.bin", big), add("data/y.parquet", PAYLOAD)], commit_message="xet",
                      repo_type="dataset")

    assert sorted(xet_hub.xet_files) == sorted({hashlib.sha256(big).hexdigest(), hashlib.sha256(PAYLOAD).hexdigest()})
    assert xet_hub.lfs_uploads == []  # nothing went through the LFS batch API
    assert any(path.startswith("/cas/v1/xorbs/") for _, path, _ in xet_hub.requests)
    assert xet_hub.files(REPO)["data/x.bin"] == big
    assert open(hf_hub_download(REPO, "data/y.parquet", repo_type="dataset"), "rb").read() == PAYLOAD


def test_xet_write_token_needs_write_access_and_the_cas_needs_the_token(xet_hub):
    xet_hub.create_repo(REPO, owner_token="hf_alice")
    url = f"{xet_hub.url}/api/datasets/{REPO}/xet-write-token/main"
    assert httpx2.get(url, headers={"Authorization": "Bearer hf_reader"}).status_code == 403
    granted = httpx2.get(url, headers={"Authorization": "Bearer hf_alice"})
    assert granted.status_code == 200 and granted.json()["casUrl"] == f"{xet_hub.url}/cas"
    assert httpx2.post(f"{xet_hub.url}/cas/v1/shards", content=b"x").status_code == 401
    assert httpx2.post(f"{xet_hub.url}/cas/v1/shards", content=b"not a shard",
                       headers={"Authorization": f"Bearer {granted.json()['accessToken']}"}).status_code == 400
    assert xet_hub.xet_files == []
