"""Publish a built output folder to a Hugging Face Hub dataset repo.

``plan_publish`` compares the local folder with the remote tree (sha256 for LFS files, git blob
sha1 for regular ones) and touches nothing; ``execute`` creates the repo or branch, sets gating,
then commits the changed shards in batches and README.md / build_report.json / deletions last,
so the card never points at data that is not there yet. A finished batch stays committed: a
re-run after a cut-off upload plans again and sends only what the remote still lacks (LFS
objects uploaded but not committed are not sent again either: the Hub already holds them).

The token comes from wherever `huggingface_hub` finds it (HF_TOKEN, the login cache) unless one
is passed; it is never printed or logged.
"""
from __future__ import annotations

import hashlib
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Literal, Optional

import httpx2  # huggingface_hub's HTTP client: its network errors are how a cut-off upload shows
from huggingface_hub import CommitOperationAdd, CommitOperationDelete, DatasetCard, HfApi
from huggingface_hub.errors import (
    HfHubHTTPError,
    LocalTokenNotFoundError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)

from .build import build_state
from .errors import DataError

log = logging.getLogger(__name__)

Gating = Literal["manual", "auto"]
KEEP_REMOTE = frozenset({".gitattributes"})  # created by the Hub; never ours to delete
FINAL_FILES = ("README.md", "build_report.json")
_CHUNK = 1 << 20


class PublishError(DataError, RuntimeError):
    """Publishing failed; the message says why and what to do."""


@dataclass
class LocalFile:
    path: str  # path in the repo, POSIX
    local: Path
    size: int
    sha256: str
    git_sha1: str  # git blob id of the content, what the Hub reports for regular files


@dataclass
class PublishOptions:
    folder: Path
    repo_id: str
    gated: Optional[Gating] = None  # None: leave the repo's gating as it is
    private: bool = False  # True: create private / make private; False: leave visibility as it is
    revision: str = "main"
    dry_run: bool = False
    token: Optional[str] = None  # None: let huggingface_hub find it
    batch_files: int = 50
    batch_bytes: int = 2 << 30


@dataclass
class PublishPlan:
    repo_id: str
    revision: str
    user: str
    create_repo: bool
    create_branch: bool
    gated_now: object  # False, "auto" or "manual"; None when the repo does not exist yet
    gated: Optional[Gating]
    make_private: bool
    base_commit: Optional[str]
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    files: dict[str, LocalFile] = field(default_factory=dict)

    @property
    def changes_gating(self) -> bool:
        return self.gated is not None and self.gated != self.gated_now

    @property
    def has_changes(self) -> bool:
        return bool(self.added or self.updated or self.deleted)

    def describe(self) -> list[str]:
        """Human-readable lines: what happens to the repo and to each file."""
        lines = [f"repo {self.repo_id} (revision {self.revision}) as {self.user}"]
        if self.create_repo:
            lines.append(f"create dataset repo {self.repo_id}" + (" (private)" if self.make_private else ""))
        elif self.make_private:
            lines.append("make the repo private")
        if self.create_branch:
            lines.append(f"create branch {self.revision}")
        if self.changes_gating:
            lines.append(f"set gating: {self.gated_now or 'off'} -> {self.gated}")
        lines.append(f"added {len(self.added)}, updated {len(self.updated)}, deleted {len(self.deleted)}, "
                     f"unchanged {len(self.unchanged)}")
        for label, paths in (("add", self.added), ("update", self.updated), ("delete", self.deleted)):
            lines.extend(f"  {label} {p}" for p in paths)
        return lines


@dataclass
class PublishResult:
    plan: PublishPlan
    dry_run: bool
    commits: list[str] = field(default_factory=list)  # commit shas, in order

    def describe(self) -> list[str]:
        head = "dry run, nothing changed:" if self.dry_run else f"published in {len(self.commits)} commit(s):"
        return [head, *self.plan.describe()]


# ---- local side ----------------------------------------------------------------------------
def _hash_file(path: Path, size: int) -> tuple[str, str]:
    sha256, sha1 = hashlib.sha256(), hashlib.sha1(b"blob %d\0" % size)
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            sha256.update(chunk)
            sha1.update(chunk)
    return sha256.hexdigest(), sha1.hexdigest()


def local_files(folder: Path) -> Iterator[LocalFile]:
    """Every file to publish under ``folder``, sorted; hidden paths (``.pmc-hub/`` state...) skipped."""
    folder = Path(folder)
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if name.startswith("."):
                continue
            path = Path(root) / name
            size = path.stat().st_size
            sha256, sha1 = _hash_file(path, size)
            yield LocalFile(path.relative_to(folder).as_posix(), path, size, sha256, sha1)


def check_card(folder: Path) -> DatasetCard:
    """Parse README.md locally, then have the Hub validate its metadata (a read-only call)."""
    readme = Path(folder) / "README.md"
    if not readme.is_file():
        raise PublishError(f"{folder}: no README.md; build the folder first (pmc-hub build) so it has a dataset card")
    try:
        card = DatasetCard.load(readme, repo_type="dataset")
    except Exception as exc:  # yaml errors and ValueError alike
        raise PublishError(f"{readme}: card metadata cannot be parsed: {exc}") from exc
    if not card.data.to_dict().get("configs"):
        raise PublishError(f"{readme}: card metadata has no `configs:`; load_dataset could not find the data")
    try:
        card.validate(repo_type="dataset")
    except ValueError as exc:
        raise PublishError(f"{readme}: the Hub rejects the card metadata: {exc}") from exc
    return card


# ---- remote side ---------------------------------------------------------------------------
def authenticate(api: HfApi) -> dict:
    """whoami, with the two usual failures turned into clear errors (the token is never shown)."""
    try:
        return api.whoami()
    except LocalTokenNotFoundError as exc:
        raise PublishError("no Hugging Face token found: set HF_TOKEN or run `hf auth login`") from exc
    except HfHubHTTPError as exc:
        if exc.response is not None and exc.response.status_code == 401:
            raise PublishError("the Hugging Face token was rejected (401): it is invalid or expired") from exc
        raise PublishError(f"cannot check the token: {exc}") from exc


def check_namespace(whoami: dict, repo_id: str) -> None:
    if repo_id.count("/") != 1 or not all(repo_id.split("/")):
        raise PublishError(f"--repo must be ORG/NAME, got {repo_id!r}")
    namespace = repo_id.split("/")[0]
    allowed = {whoami["name"], *(o["name"] for o in whoami.get("orgs", []))}
    if namespace not in allowed:
        raise PublishError(f"{repo_id}: user {whoami['name']} cannot write to namespace {namespace!r} "
                           f"(yours: {', '.join(sorted(allowed))})")
    role = (whoami.get("auth", {}).get("accessToken") or {}).get("role")
    if role == "read":
        raise PublishError(f"{repo_id}: the token is read-only; publishing needs a write token")


def remote_files(api: HfApi, repo_id: str, revision: str) -> dict:
    """Path -> RepoFile for every file at ``revision``."""
    return {f.path: f for f in api.list_repo_tree(repo_id, recursive=True, revision=revision, repo_type="dataset")
            if hasattr(f, "blob_id")}


def same_content(local: LocalFile, remote) -> bool:
    if remote.lfs is not None:
        return remote.lfs.sha256 == local.sha256
    return remote.blob_id == local.git_sha1


def plan_publish(api: HfApi, options: PublishOptions) -> PublishPlan:
    """Everything publish would do, found with read-only calls."""
    folder = Path(options.folder)
    if not folder.is_dir():
        raise PublishError(f"{folder}: not a folder")
    if build_state(folder) == "unfinished":
        raise PublishError(f"{folder}: the build there is unfinished; run the same `pmc-hub build` again to complete it")
    who = authenticate(api)
    check_namespace(who, options.repo_id)
    check_card(folder)
    try:
        info = api.dataset_info(options.repo_id)
        exists = True
    except RepositoryNotFoundError:
        info, exists = None, False
    except HfHubHTTPError as exc:
        raise PublishError(f"{options.repo_id}: cannot read the repo: {exc}") from exc
    create_branch, remote, base = False, {}, None
    if exists:
        try:
            base = api.dataset_info(options.repo_id, revision=options.revision).sha
            remote = remote_files(api, options.repo_id, base)
        except RevisionNotFoundError:
            create_branch, base = True, info.sha
            remote = remote_files(api, options.repo_id, base)
    elif options.revision != "main":
        create_branch = True
    plan = PublishPlan(
        repo_id=options.repo_id, revision=options.revision, user=who["name"], create_repo=not exists,
        create_branch=create_branch, gated_now=info.gated if info else None, gated=options.gated,
        make_private=options.private and not (info and info.private), base_commit=base,
    )
    for lf in local_files(folder):
        plan.files[lf.path] = lf
        rf = remote.get(lf.path)
        (plan.added if rf is None else plan.unchanged if same_content(lf, rf) else plan.updated).append(lf.path)
    plan.deleted = sorted(p for p in remote if p not in plan.files and p not in KEEP_REMOTE)
    return plan


def batches(plan: PublishPlan, max_files: int, max_bytes: int) -> list[list[str]]:
    """Changed data files in commit-sized groups, then one last group: card, report (deletions go with it)."""
    changed = sorted(set(plan.added) | set(plan.updated))
    data = [p for p in changed if p not in FINAL_FILES]
    out: list[list[str]] = []
    for path in data:
        size = plan.files[path].size
        if not out or len(out[-1]) >= max_files or sum(plan.files[p].size for p in out[-1]) + size > max_bytes:
            out.append([])
        out[-1].append(path)
    final = [p for p in changed if p in FINAL_FILES]
    if final or plan.deleted:
        out.append(final)
    return out


def execute(api: HfApi, plan: PublishPlan, options: PublishOptions) -> PublishResult:
    """Carry out ``plan``: repo, branch, settings, then the commits."""
    result = PublishResult(plan, dry_run=False)
    repo = plan.repo_id
    try:
        if plan.create_repo:
            api.create_repo(repo, repo_type="dataset", private=options.private or None)
            plan.base_commit = api.dataset_info(repo).sha
        if plan.create_branch:
            api.create_branch(repo, branch=plan.revision, repo_type="dataset")
        if plan.make_private and not plan.create_repo:
            api.update_repo_settings(repo, private=True, repo_type="dataset")
        if plan.changes_gating:
            # before any data goes up, so it is never reachable ungated
            api.update_repo_settings(repo, gated=plan.gated, repo_type="dataset")
    except HfHubHTTPError as exc:
        raise PublishError(f"{repo}: cannot prepare the repo: {exc}") from exc
    groups = batches(plan, options.batch_files, options.batch_bytes)
    parent = plan.base_commit
    for i, group in enumerate(groups, 1):
        ops: list = [CommitOperationAdd(path_in_repo=p, path_or_fileobj=str(plan.files[p].local)) for p in group]
        if i == len(groups):
            ops += [CommitOperationDelete(path_in_repo=p) for p in plan.deleted]
        message = f"pmc-hub publish: batch {i}/{len(groups)}" if i < len(groups) else "pmc-hub publish: card, report"
        try:
            info = api.create_commit(repo, ops, commit_message=message, repo_type="dataset",
                                     revision=plan.revision, parent_commit=parent)
        except HfHubHTTPError as exc:
            if exc.response is not None and exc.response.status_code == 412:
                raise PublishError(f"{repo}: someone else committed to {plan.revision} during the publish; "
                                   "re-run to plan again") from exc
            raise _cut_off(repo, i, len(groups), exc) from exc
        except (httpx2.HTTPError, OSError, RuntimeError) as exc:
            raise _cut_off(repo, i, len(groups), exc) from exc
        parent = info.oid
        result.commits.append(info.oid)
        log.info("committed %s (%d files) as %s", message, len(ops), info.oid[:12])
    return result


def _cut_off(repo: str, i: int, n: int, exc: Exception) -> PublishError:
    return PublishError(f"{repo}: upload of commit {i}/{n} failed ({type(exc).__name__}: {exc}); "
                        f"{i - 1} commit(s) are in place; run the same command again to resume")


def publish(options: PublishOptions) -> PublishResult:
    """Plan, then (unless a dry run) execute."""
    api = HfApi(token=options.token, library_name="pmc-hub")
    plan = plan_publish(api, options)
    if options.dry_run:
        return PublishResult(plan, dry_run=True)
    return execute(api, plan, options)
