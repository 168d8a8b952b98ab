"""Publish a finished build folder to a Hugging Face Hub dataset repo, one tagged release at a time.

What goes up is exactly the build manifest (``.pmc-hub/manifest.json``, see `pmc_hub.output`):
every file it lists is checked first (a regular file, no symlink, size and SHA-256 as the build
wrote them); nothing else in the folder is ever read or uploaded. A manifest file missing on disk
is fine only when the repo already holds it with the same SHA-256 (a maintainer who keeps only
the newest release's files); remote files the manifest does not list are deleted.

``plan_publish`` compares the manifest with the remote tree (SHA-256 for LFS/Xet files, git blob
sha1 for regular ones) and changes nothing. ``execute`` creates the repo or branch, sets gating
and visibility, then commits the changed data files in batches (``batch_files`` files and
``batch_bytes`` bytes at most: the Hub recommends fewer than 100 files per commit), then README.md,
build_report.json and ``releases/*.json`` with the deletions, so the card never points at data
that is not there yet; last it tags that commit with the manifest's newest release, so
``load_dataset(repo, config, revision=RELEASE)`` keeps giving that release after ``main`` moves on.
A finished commit stays: a re-run after a cut-off plans again and sends only what is missing.

Every Hub or Xet failure becomes one `PublishError` line saying what failed and what to do; only
transient ones (429, 5xx, network cut-offs) say to run the command again. The token comes from
wherever `huggingface_hub` finds it unless one is passed; it is never printed or logged.
"""
from __future__ import annotations

import errno
import hashlib
import logging
import os
import re
import stat
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Iterator, Literal, Optional

import httpx2  # huggingface_hub's HTTP client: its network errors are how a cut-off upload shows
from huggingface_hub import CommitOperationAdd, CommitOperationDelete, DatasetCard, HfApi
from huggingface_hub.errors import HfHubHTTPError, LocalTokenNotFoundError, RepositoryNotFoundError, RevisionNotFoundError
from huggingface_hub.utils._runtime import is_xet_available  # the very test the client uploads by

from .errors import DataError, one_line
from .output import (CARD_FILE, MANIFEST_FILE, RELEASES_DIR, REPORT_FILE, STATE_DIR, Manifest, OwnedFile, locked,
                     read_manifest)

log = logging.getLogger(__name__)

Gating = Literal["manual", "auto"]
KEEP_REMOTE = frozenset({".gitattributes"})  # created by the Hub; never ours to delete
GATE_KEYS = ("extra_gated_prompt", "extra_gated_fields")  # a card with these asks for gated access
_CHUNK = 1 << 20
_XET_STATUS = re.compile(r"\((\d{3}) [A-Za-z ]+\)")  # how hf_xet words an HTTP failure: "(403 Forbidden)"
_URL_PATH = re.compile(r"(https?://[^/\s)]+)/[^\s)]*")
_SECRET = re.compile(r"\b(hf_|xet_)[A-Za-z0-9_-]{4,}")


class PublishError(DataError, RuntimeError):
    """Publishing failed; the message says why and what to do."""


@dataclass
class LocalFile:
    path: str  # path in the repo, POSIX
    local: Optional[Path]  # None: not on disk (the repo must already hold it)
    size: int
    sha256: str
    git_sha1: Optional[str] = None  # git blob id of the content, what the Hub reports for regular files


@dataclass
class PublishOptions:
    folder: Path
    repo_id: str
    gated: Optional[Gating] = None  # None: leave the repo's gating as it is
    private: bool = False  # True: create private / make private; False: leave visibility as it is
    revision: str = "main"
    dry_run: bool = False
    token: Optional[str] = None  # None: let huggingface_hub find it
    batch_files: int = 100  # files per commit (the Hub recommends < 100)
    batch_bytes: int = 10 << 30  # bytes per commit: a cut-off re-plans from the last finished commit


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
    release: Optional[str] = None  # the tag this publish ends with (the manifest's newest release)
    tag_in_place: bool = False  # the tag already points at the commit this folder publishes
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)  # on the Hub already (present locally or not)
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
        if self.release:
            lines.append(f"tag {self.release}: " + ("already in place" if self.tag_in_place else "create"))
        return lines


@dataclass
class PublishResult:
    plan: PublishPlan
    dry_run: bool
    commits: list[str] = field(default_factory=list)  # commit shas, in order
    tagged: Optional[str] = None  # the tag created by this run

    def describe(self) -> list[str]:
        head = "dry run, nothing changed:" if self.dry_run else f"published in {len(self.commits)} commit(s):"
        return [head, *self.plan.describe()]


# ---- local side: the manifest and its files ---------------------------------------------------
def read_owned(folder: Path) -> Manifest:
    """The folder's manifest, if it is a finished build; else a `PublishError` saying what to do."""
    folder = Path(folder)
    if not folder.is_dir():
        raise PublishError(f"{folder}: not a folder")
    manifest = read_manifest(folder)  # a damaged one raises OutputError, naming the file
    if manifest is None:
        raise PublishError(f"{folder}: no finished pmc-hub build here ({MANIFEST_FILE} is missing); "
                           f"run `pmc-hub build --out {folder}` (again) and publish once it has finished")
    if not manifest.complete:
        raise PublishError(f"{folder}: the build there is unfinished; run the same `pmc-hub build` again to complete it")
    if CARD_FILE not in manifest.files:
        raise PublishError(f"{folder / MANIFEST_FILE}: the build wrote no {CARD_FILE} (no rows?), so there is no "
                           "dataset card to publish; see build_report.json")
    for path in manifest.files:
        _check_repo_path(folder, path)
    return manifest


def _check_repo_path(folder: Path, path: str) -> None:
    p = PurePosixPath(path)
    if (not path or p.is_absolute() or ".." in p.parts or p.as_posix() != path or "\\" in path
            or p.parts[0] == STATE_DIR):
        raise PublishError(f"{folder / MANIFEST_FILE} lists {path!r}, which is not a file of the build; "
                           "the manifest is damaged: rebuild the folder")


def _hash_open_file(fh, size: int) -> tuple[str, str]:
    sha256, sha1 = hashlib.sha256(), hashlib.sha1(b"blob %d\0" % size)
    while chunk := fh.read(_CHUNK):
        sha256.update(chunk)
        sha1.update(chunk)
    return sha256.hexdigest(), sha1.hexdigest()


def check_local(folder: Path, path: str, owned: OwnedFile) -> LocalFile:
    """The manifest file ``path`` as it is on disk, proven to be what the build wrote; ``local`` is
    None when it is absent. A symlink, a special file or changed content is an error."""
    full = Path(folder) / path
    if os.path.realpath(full.parent) != os.path.join(os.path.realpath(folder), *PurePosixPath(path).parts[:-1]):
        raise PublishError(f"{full}: a folder on its path is a symlink; publish uploads only what the build "
                           "wrote inside the folder: rebuild it")
    try:  # no following a link, no blocking on a FIFO
        fd = os.open(full, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except FileNotFoundError:
        return LocalFile(path, None, owned.size, owned.sha256)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise PublishError(f"{full}: is a symlink, not the file the build wrote; publish never uploads "
                               "what a link points at: put the built file back (or rebuild)") from None
        raise PublishError(f"{full}: cannot be read ({exc.strerror})") from None
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        raise PublishError(f"{full}: not a regular file; the build wrote a file there: rebuild the folder")
    with os.fdopen(fd, "rb") as fh:
        if st.st_size != owned.size:
            raise PublishError(f"{full}: changed after the build ({st.st_size} bytes, the manifest says "
                               f"{owned.size}); restore it or rebuild the folder")
        sha256, sha1 = _hash_open_file(fh, st.st_size)
    if sha256 != owned.sha256:
        raise PublishError(f"{full}: changed after the build (its SHA-256 is not the manifest's); "
                           "restore it or rebuild the folder")
    return LocalFile(path, full, owned.size, sha256, sha1)


def check_card(folder: Path, api: HfApi, repo_id: str) -> DatasetCard:
    """Parse README.md locally, then have the Hub validate its metadata (a read-only call)."""
    readme = Path(folder) / CARD_FILE
    try:
        card = DatasetCard.load(readme, repo_type="dataset")
    except Exception as exc:  # yaml errors and ValueError alike
        raise PublishError(f"{readme}: card metadata cannot be parsed: {one_line(exc)}") from exc
    if not card.data.to_dict().get("configs"):
        raise PublishError(f"{readme}: card metadata has no `configs:`; load_dataset could not find the data")
    try:
        card.validate(repo_type="dataset")
    except HfHubHTTPError as exc:
        raise hub_failure(exc, "validating the card", repo_id) from exc
    except ValueError as exc:  # the Hub's answer to bad metadata
        raise PublishError(f"{readme}: the Hub rejects the card metadata: {one_line(exc)}") from exc
    except httpx2.HTTPError as exc:
        raise hub_failure(exc, "validating the card", repo_id) from exc
    return card


def is_gated_card(card: DatasetCard) -> bool:
    data = card.data.to_dict()
    return any(data.get(key) for key in GATE_KEYS)


# ---- errors ----------------------------------------------------------------------------------
def _causes(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__ or exc.__context__


def _status(exc: BaseException) -> Optional[int]:
    for e in _causes(exc):
        response = getattr(e, "response", None)
        if isinstance(e, (HfHubHTTPError, httpx2.HTTPStatusError)) and response is not None:
            if response.status_code == 401 and response.headers.get("X-Error-Code") == "RepoNotFound":
                return 404  # the Hub hides repos a token cannot see behind a 401
            return response.status_code
    m = _XET_STATUS.search(str(exc))
    return int(m.group(1)) if m else None


def _detail(exc: BaseException) -> str:
    """What the server or the client said, one line, no secrets."""
    for e in _causes(exc):
        server = getattr(e, "server_message", None)
        if server:
            text = server
            break
    else:
        root = list(_causes(exc))[-1]
        text = _URL_PATH.sub(r"\1", str(root)) or type(root).__name__  # the host says enough
    return _SECRET.sub("<redacted>", one_line(Exception(text)))[:300]


def _is_xet(exc: BaseException) -> bool:
    # hf_xet reports its failures as plain OSErrors (ConnectionError...), never as httpx2 errors
    return (is_xet_available() and isinstance(exc, OSError)
            and not any(isinstance(e, (httpx2.HTTPError, HfHubHTTPError)) for e in _causes(exc)))


def hub_failure(exc: BaseException, doing: str, repo_id: str, done: str = "") -> PublishError:
    """One line for a failed Hub (or Xet storage) call: what failed, why, and what to do."""
    status, detail = _status(exc), _detail(exc)
    namespace = repo_id.split("/")[0]
    xet = _is_xet(exc) and "xet-write-token" not in str(exc)
    where = "the Xet storage service" if xet else "the Hub"
    resume = f"{done}run the same command again to resume"
    if xet and status in (401, 403):
        return PublishError(f"{repo_id}: the Xet storage service refused {doing} ({status}: {detail}) although the Hub "
                            "granted write access; if a proxy or firewall stands between this machine and it, set "
                            "HF_HUB_DISABLE_XET=1 to upload through the Hub's LFS endpoint instead")
    if status == 401:
        return PublishError(f"{where} rejected the Hugging Face token (401) while {doing}: it is invalid, expired "
                            "or revoked; create a token with write access and set HF_TOKEN (or run `hf auth login`)")
    if status == 403:
        return PublishError(f"{repo_id}: {where} refused {doing} (403: {detail}); the token may not write here: "
                            f"it needs write access to {namespace!r} (a fine-grained token: the `repo.write` "
                            f"permission on {namespace!r} or on {repo_id})")
    if status == 404:
        return PublishError(f"{repo_id}: not found (404) while {doing} ({detail}); the repo or branch was deleted "
                            "or renamed, or the token cannot see it")
    if status in (409, 412):
        return PublishError(f"{repo_id}: someone else changed the repo during the publish ({status} while {doing}); "
                            "run the same command again to plan against the new state")
    if status == 429:
        return PublishError(f"{repo_id}: the Hub is rate-limiting this account (429 while {doing}); "
                            f"wait a few minutes, then {resume}")
    if status is not None and status >= 500:
        return PublishError(f"{repo_id}: {where} failed while {doing} ({status}: {detail}); {resume}")
    if status is not None:
        return PublishError(f"{repo_id}: {where} refused {doing} ({status}: {detail})")
    if xet:
        return PublishError(f"{repo_id}: the Xet storage service failed while {doing} ({detail}); if this machine "
                            "cannot reach it (firewall, proxy), set HF_HUB_DISABLE_XET=1 to upload through the Hub's "
                            f"LFS endpoint instead; if it was a passing network fault, {resume}")
    if any(isinstance(e, (httpx2.TransportError, ConnectionError, TimeoutError)) for e in _causes(exc)):
        return PublishError(f"{repo_id}: the connection to the Hub failed while {doing} ({detail}); {resume}")
    return PublishError(f"{repo_id}: unexpected answer from {where} while {doing} "
                        f"({type(list(_causes(exc))[-1]).__name__}: {detail})")


@contextmanager
def hub_call(doing: str, repo_id: str, done: str = "") -> Iterator[None]:
    """Turn whatever a Hub call raises (HTTP, network, Xet, a ValueError from the client) into one line."""
    try:
        yield
    except PublishError:
        raise
    except Exception as exc:  # noqa: BLE001  (a malformed answer can raise anything: KeyError, TypeError...)
        raise hub_failure(exc, doing, repo_id, done) from exc


# ---- remote side ---------------------------------------------------------------------------
def authenticate(api: HfApi) -> dict:
    """whoami, with the usual failures turned into clear errors (the token is never shown)."""
    try:
        return api.whoami()
    except LocalTokenNotFoundError as exc:
        raise PublishError("no Hugging Face token found: set HF_TOKEN or run `hf auth login`") from exc
    except (httpx2.HTTPError, OSError) as exc:
        raise hub_failure(exc, "checking the token", "the Hub") from exc


def check_write_access(whoami: dict, repo_id: str) -> None:
    """Refuse, before any change, a token that cannot write to ``repo_id``."""
    if repo_id.count("/") != 1 or not all(repo_id.split("/")):
        raise PublishError(f"--repo must be ORG/NAME, got {repo_id!r}")
    namespace = repo_id.split("/")[0]
    allowed = {whoami["name"], *(o["name"] for o in whoami.get("orgs", []))}
    if namespace not in allowed:
        raise PublishError(f"{repo_id}: user {whoami['name']} cannot write to namespace {namespace!r} "
                           f"(yours: {', '.join(sorted(allowed))})")
    token = whoami.get("auth", {}).get("accessToken") or {}
    if token.get("role") == "read":
        raise PublishError(f"{repo_id}: the token is read-only; publishing needs a write token")
    if token.get("role") == "fineGrained":
        granted = {perm for scope in (token.get("fineGrained") or {}).get("scoped") or []
                   if (scope.get("entity") or {}).get("name") in (namespace, repo_id)
                   for perm in scope.get("permissions") or []}
        if "repo.write" not in granted:
            raise PublishError(f"{repo_id}: this fine-grained token lacks the `repo.write` permission on {namespace!r} "
                               f"(granted there: {', '.join(sorted(granted)) or 'nothing'}); edit the token in your Hub "
                               f"settings to allow writing to repos under {namespace!r} (or to {repo_id}), or use a write token")


def remote_files(api: HfApi, repo_id: str, revision: str) -> dict:
    """Path -> RepoFile for every file at ``revision``."""
    return {f.path: f for f in api.list_repo_tree(repo_id, recursive=True, revision=revision, repo_type="dataset")
            if hasattr(f, "blob_id")}


def same_content(local: LocalFile, remote) -> bool:
    if remote.lfs is not None:
        return remote.lfs.sha256 == local.sha256
    return local.git_sha1 is not None and remote.blob_id == local.git_sha1


def plan_publish(api: HfApi, options: PublishOptions) -> PublishPlan:
    """Everything publish would do, found with read-only calls; local checks come first."""
    folder, repo = Path(options.folder), options.repo_id
    manifest = read_owned(folder)
    files = {path: check_local(folder, path, owned) for path, owned in sorted(manifest.files.items())}
    if files[CARD_FILE].local is None:
        raise PublishError(f"{folder / CARD_FILE}: missing; it is the dataset card of this release: restore it or rebuild")
    who = authenticate(api)
    check_write_access(who, repo)
    card = check_card(folder, api, repo)
    with hub_call("reading the repo", repo):
        try:
            info = api.dataset_info(repo)
        except RepositoryNotFoundError:
            info = None
        if is_gated_card(card) and options.gated is None and not (info and info.gated):
            raise PublishError(f"{folder / CARD_FILE}: the card asks for gated access ({'/'.join(GATE_KEYS)}) but "
                               f"{repo} is not gated and --gated was not given: pass --gated manual (requests "
                               "reviewed) or --gated auto, or write an ungated card first with "
                               f"`pmc-hub card {folder} --no-gate`")
        create_branch, remote, base, tags = False, {}, None, {}
        if info is not None:
            try:
                base = api.dataset_info(repo, revision=options.revision).sha
            except RevisionNotFoundError:
                create_branch, base = True, info.sha
            remote = remote_files(api, repo, base)
            tags = {t.name: t.target_commit for t in api.list_repo_refs(repo, repo_type="dataset").tags}
        elif options.revision != "main":
            create_branch = True
    plan = PublishPlan(
        repo_id=repo, revision=options.revision, user=who["name"], create_repo=info is None,
        create_branch=create_branch, gated_now=info.gated if info else None, gated=options.gated,
        make_private=options.private and not (info and info.private), base_commit=base,
        release=manifest.releases[-1] if manifest.releases else None, files=files,
    )
    for path, lf in files.items():
        rf = remote.get(path)
        if lf.local is None:
            if rf is None or _remote_sha256(api, repo, base, rf) != lf.sha256:
                raise PublishError(f"{folder / path}: missing, and {repo} does not hold it with the manifest's "
                                   "SHA-256; restore the file (or rebuild) before publishing")
            plan.unchanged.append(path)
        else:
            (plan.added if rf is None else plan.unchanged if same_content(lf, rf) else plan.updated).append(path)
    plan.deleted = sorted(p for p in remote if p not in files and p not in KEEP_REMOTE)
    _plan_tag(plan, tags)
    return plan


def _remote_sha256(api: HfApi, repo_id: str, revision: str, remote) -> str:
    """SHA-256 of a file on the Hub: listed for LFS/Xet files; a regular (small, git-stored) file
    is read to know it."""
    if remote.lfs is not None:
        return remote.lfs.sha256
    with hub_call(f"reading {remote.path}", repo_id):
        path = api.hf_hub_download(repo_id, remote.path, revision=revision, repo_type="dataset")
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _plan_tag(plan: PublishPlan, tags: dict[str, str]) -> None:
    if plan.release is None or plan.release not in tags:
        return
    if tags[plan.release] == plan.base_commit and not plan.has_changes:
        plan.tag_in_place = True
        return
    raise PublishError(f"{plan.repo_id}: tag {plan.release} already points at commit {tags[plan.release][:12]}, which "
                       "does not hold this folder's files; a published release never changes: publish these "
                       "changes as a new release (build with another release name)")


def is_final(path: str) -> bool:
    """Files that describe the data (card, report, release notes): committed after the data."""
    return path in (CARD_FILE, REPORT_FILE) or path.startswith(RELEASES_DIR + "/")


def batches(plan: PublishPlan, max_files: int, max_bytes: int) -> list[list[str]]:
    """Changed data files in commit-sized groups, then one last group: card, report, release notes
    (deletions go with it)."""
    changed = sorted(set(plan.added) | set(plan.updated))
    out: list[list[str]] = []
    size = 0
    for path in (p for p in changed if not is_final(p)):
        if not out or len(out[-1]) >= max_files or size + plan.files[path].size > max_bytes:
            out.append([])
            size = 0
        out[-1].append(path)
        size += plan.files[path].size
    final = [p for p in changed if is_final(p)]
    if final or plan.deleted:
        out.append(final)
    return out


def _prepare_repo(api: HfApi, plan: PublishPlan, options: PublishOptions) -> None:
    repo = plan.repo_id
    with hub_call("preparing the repo", repo):
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


def execute(api: HfApi, plan: PublishPlan, options: PublishOptions) -> PublishResult:
    """Carry out ``plan``: repo, branch, settings, the commits, then the release tag."""
    result = PublishResult(plan, dry_run=False)
    repo = plan.repo_id
    _prepare_repo(api, plan, options)
    groups = batches(plan, options.batch_files, options.batch_bytes)
    parent = plan.base_commit
    for i, group in enumerate(groups, 1):
        done = f"{i - 1} of {len(groups)} commit(s) are in place; "
        adds = [CommitOperationAdd(path_in_repo=p, path_or_fileobj=str(plan.files[p].local)) for p in group]
        with hub_call(f"uploading the files of commit {i}/{len(groups)}", repo, done):
            api.preupload_lfs_files(repo, adds, repo_type="dataset", revision=plan.revision)
        ops: list = list(adds)
        if i == len(groups):
            ops += [CommitOperationDelete(path_in_repo=p) for p in plan.deleted]
        message = f"pmc-hub publish: batch {i}/{len(groups)}" if i < len(groups) else "pmc-hub publish: card, report"
        with hub_call(f"committing {i}/{len(groups)}", repo, done):
            info = api.create_commit(repo, ops, commit_message=message, repo_type="dataset",
                                     revision=plan.revision, parent_commit=parent)
        parent = info.oid
        result.commits.append(info.oid)
        log.info("committed %s (%d files) as %s", message, len(ops), info.oid[:12])
    if plan.release and not plan.tag_in_place:
        with hub_call(f"tagging release {plan.release}", repo, f"all {len(groups)} commit(s) are in place; "):
            api.create_tag(repo, tag=plan.release, revision=parent, repo_type="dataset",
                           tag_message=f"pmc-hub release {plan.release}")
        result.tagged = plan.release
    return result


def publish(options: PublishOptions) -> PublishResult:
    """Plan, then (unless a dry run) execute, holding the folder's lock: no build rewrites the
    files while they are checked and uploaded."""
    api = HfApi(token=options.token, library_name="pmc-hub")
    read_owned(options.folder)  # not a finished build: refused before anything is written there
    with locked(options.folder, "publish"):
        plan = plan_publish(api, options)
        if options.dry_run:
            return PublishResult(plan, dry_run=True)
        return execute(api, plan, options)
