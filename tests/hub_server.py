"""A loopback Hugging Face Hub for tests: a real HTTP server speaking enough of the Hub API.

The real `huggingface_hub` client (`HfApi`, `hf_hub_download`, `HfFileSystem`) and `datasets`
(`load_dataset("org/name", "config")`, also streaming) work against it, over real HTTP on
127.0.0.1. With the ``hub`` fixture uploads use the LFS batch API ("basic" transfer); with the
``xet_hub`` fixture they go through Xet, as they do for every user (hf_xet is installed): the real
`hf_xet` gets a write token here and uploads xorbs and shards to the loopback CAS under ``/cas``
(tests/xet_cas.py), which rebuilds each file. Downloads are plain GETs in both cases.

Use it through the ``hub`` fixture::

    from hub_server import hub          # tests/ is on sys.path

    def test_x(hub):                    # fresh server, clients pointed at it, HF_HOME in tmp_path
        hub.url                         # http://127.0.0.1:PORT (also in HF_ENDPOINT)
        hub.tokens                      # {token: user name}
        token = hub.add_user("dave", orgs=["pmc"], role="write")   # returns dave's token
        hub.use_token(token)            # sets HF_TOKEN for in-process clients and subprocesses

Built-in users (``HubServer.default_users``): ``alice`` (token ``hf_alice``, member of org
``pmc``), ``bob`` (token ``hf_bob``, no org), ``carol`` (token ``hf_carol``, no org),
``reader`` (token ``hf_reader``, a read-only token of a ``pmc`` member).

Access requests (gated repos), for the access-review tests:

    hub.create_repo("pmc/figures", owner_token="hf_alice", gated="manual")   # test-side shortcut
    hub.request_access("pmc/figures", "bob", {"affiliation": "Uni", "intended_use": "research"})
    hub.access_status("pmc/figures", "bob")   # "pending" | "accepted" | "rejected" | None
    hub.rejection_reason("pmc/figures", "bob")
    hub.set_access("pmc/figures", "bob", "accepted")   # test-side, bypasses the API

The client side is the real `HfApi.list_pending_access_requests` / `accept_access_request` /
`reject_access_request(..., rejection_reason=...)` / `cancel_access_request` / `grant_access`,
all answered by this server (listings paginate with a ``Link: rel="next"`` header,
``hub.page_size`` entries a page). With ``gated="auto"`` a request is accepted at once.

Inspection: ``hub.requests`` (every request: method, path, user), ``hub.mutations`` (requests
that change state: repo create, settings, LFS batch/upload/verify, commit, branch, access
handling), ``hub.lfs_uploads`` (sha256 of every LFS PUT that stored bytes), ``hub.xet_files``
(sha256 of every file rebuilt from a Xet shard), ``hub.commits(repo)``,
``hub.files(repo, revision="main")`` -> {path: bytes}, ``hub.tags(repo)``.

Gating is enforced on every download (README.md included, which is how `datasets` detects it):
anonymous -> 401, a logged-in user without accepted access -> 403, both with ``X-Error-Code:
GatedRepo`` (the client raises GatedRepoError; `load_dataset` a DatasetNotFoundError saying
"gated"). Members of the repo's namespace always have access. Private repos answer 404
RepoNotFound to non-members. Not modelled: tree pagination (one page), PRs, Xet downloads.

Tags: ``HfApi.create_tag`` / ``delete_tag`` / ``list_repo_refs``; every read (repo info, tree,
paths-info, resolve) takes a branch, a tag or a commit sha as revision, so
``load_dataset(repo, config, revision=TAG)`` reads that tag's files. ``hub.tags(repo)``.

Tokens: ``role="read"`` tokens cannot write; ``hub.add_user("dan", orgs=["pmc"], scopes={"pmc":
["repo.content.read"]})`` makes a fine-grained token (whoami reports its scopes as the Hub does),
which writes only where a scope grants ``repo.write``.

Faults: ``hub.fail_upload(nth=1, kind="commit"|"lfs", times=1)`` drops the connection in the
middle of the ``nth`` next upload request of that kind (after reading part of its body, before
answering), ``times`` times in a row, to simulate a cut-off upload. Note that the client retries
a dropped LFS PUT by itself (with 1 s, 2 s... back-off) while a dropped commit fails at once.
``hub.fail_request(path_regex, status, method=None, times=1, message=...)`` answers the next
matching requests with that HTTP status (0: drop the connection), e.g. a 401 at the commit, a
429 at preupload, a 500 from the CAS.
"""
from __future__ import annotations

import base64
import hashlib
import io
import json
import re
import socket
import struct
import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Optional
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
import yaml

import xet_cas

CAS_PATHS = ("/cas/", "/v1/telemetry")
DEFAULT_GITATTRIBUTES = b"""*.7z filter=lfs diff=lfs merge=lfs -text
*.arrow filter=lfs diff=lfs merge=lfs -text
*.bin filter=lfs diff=lfs merge=lfs -text
*.gz filter=lfs diff=lfs merge=lfs -text
*.jpg filter=lfs diff=lfs merge=lfs -text
*.parquet filter=lfs diff=lfs merge=lfs -text
*.png filter=lfs diff=lfs merge=lfs -text
*.tar filter=lfs diff=lfs merge=lfs -text
*.zip filter=lfs diff=lfs merge=lfs -text
"""
LFS_SUFFIXES = (".7z", ".arrow", ".bin", ".gz", ".jpg", ".jpeg", ".parquet", ".png", ".tar", ".tif", ".tiff", ".zip")
LFS_SIZE_THRESHOLD = 10 * 1024 * 1024


def git_blob_sha1(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def lfs_pointer(sha256: str, size: int) -> bytes:
    return f"version https://git-lfs.github.com/spec/v1\noid sha256:{sha256}\nsize {size}\n".encode()


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")


@dataclass
class User:
    name: str
    token: str
    orgs: list[str] = field(default_factory=list)
    role: str = "write"  # token role: "write", "read" or "fineGrained"
    # fine-grained tokens only: {namespace or repo id: permissions}, e.g. {"pmc": ["repo.content.read"]}
    scopes: dict[str, list[str]] = field(default_factory=dict)

    def can_write(self, repo_id: str) -> bool:
        if self.role == "fineGrained":
            allowed = set(self.scopes.get(repo_id, [])) | set(self.scopes.get(repo_id.split("/")[0], []))
            return "repo.write" in allowed
        return self.role == "write"

    @property
    def email(self) -> str:
        return f"{self.name}@example.org"


@dataclass
class StoredFile:
    path: str
    size: int
    oid: str  # git blob sha1 (of the pointer file for LFS files)
    data: bytes
    lfs_sha256: Optional[str] = None

    def entry(self) -> dict:
        out: dict[str, Any] = {"type": "file", "oid": self.oid, "size": self.size, "path": self.path}
        if self.lfs_sha256:
            out["lfs"] = {"oid": self.lfs_sha256, "size": self.size, "pointerSize": len(lfs_pointer(self.lfs_sha256, self.size))}
        return out


@dataclass
class Commit:
    sha: str
    parent: Optional[str]
    title: str
    date: str
    files: dict[str, StoredFile]


@dataclass
class AccessRecord:
    request_id: str
    user: str
    status: str
    timestamp: str
    fields: Optional[dict] = None
    rejection_reason: Optional[str] = None


@dataclass
class Repo:
    repo_id: str
    private: bool = False
    gated: Any = False  # False, "auto" or "manual"
    branches: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)  # tag -> commit sha
    commits: dict[str, Commit] = field(default_factory=dict)
    lfs: dict[str, bytes] = field(default_factory=dict)  # sha256 -> bytes, uploaded (committed or not)
    access: dict[str, AccessRecord] = field(default_factory=dict)
    created_at: str = field(default_factory=_now)

    @property
    def namespace(self) -> str:
        return self.repo_id.split("/")[0]


class HubError(Exception):
    def __init__(self, status: int, message: str, code: Optional[str] = None, extra: Optional[dict] = None):
        super().__init__(message)
        self.status, self.message, self.code, self.extra = status, message, code, extra or {}


class _Dropped(Exception):
    """Raised inside a handler to cut the connection without answering."""


class HubServer:
    """In-memory Hub state plus a ThreadingHTTPServer serving it on 127.0.0.1 (random port)."""

    default_users = (("alice", "hf_alice", ["pmc"], "write"), ("bob", "hf_bob", [], "write"),
                     ("carol", "hf_carol", [], "write"), ("reader", "hf_reader", ["pmc"], "read"))

    def __init__(self, tokens: Optional[dict[str, str]] = None, xet: bool = False):
        self.xet = xet  # answer xet-write-token and serve the CAS under /cas (tests/xet_cas.py)
        self.cas_url: Optional[str] = None  # the CAS the write token names; None: this server's /cas
        self.users: dict[str, User] = {}
        self.repos: dict[str, Repo] = {}
        self.requests: list[tuple[str, str, Optional[str]]] = []
        self.mutations: list[tuple[str, str, Optional[str]]] = []
        self.lfs_uploads: list[str] = []
        self.page_size = 100
        self._faults: list[dict] = []
        self._upload_counts = {"commit": 0, "lfs": 0}
        self._upload_keys: dict[str, tuple[str, str]] = {}  # one-time upload key -> (repo_id, oid)
        self._request_faults: list[dict] = []
        self.xorbs: dict[str, list[bytes]] = {}  # xorb hash -> decompressed chunks
        self.xet_files: list[str] = []  # sha256 of every file rebuilt from an uploaded shard
        self._xet_tokens: dict[str, str] = {}  # CAS access token -> repo id
        self.lock = threading.RLock()
        if tokens is None:
            for name, token, orgs, role in self.default_users:
                self.add_user(name, token=token, orgs=orgs, role=role)
        else:
            for token, name in tokens.items():
                self.add_user(name, token=token)
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(self))
        self._httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="hub-server", daemon=True)

    # ---- lifecycle -------------------------------------------------------------------------
    def start(self) -> "HubServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    # ---- test-side helpers -----------------------------------------------------------------
    @property
    def tokens(self) -> dict[str, str]:
        return {u.token: u.name for u in self.users.values()}

    def add_user(self, name: str, token: Optional[str] = None, orgs: tuple | list = (), role: str = "write",
                 scopes: Optional[dict[str, list[str]]] = None) -> str:
        """Register a user; returns their token (``hf_<name>`` unless given). ``scopes`` makes the
        token fine-grained: {namespace or repo id: permissions such as "repo.write"}."""
        token = token or f"hf_{name}"
        with self.lock:
            self.users[name] = User(name, token, list(orgs), "fineGrained" if scopes is not None else role,
                                    dict(scopes or {}))
        return token

    def create_repo(self, repo_id: str, owner_token: str = "hf_alice", gated: Any = False, private: bool = False) -> Repo:
        """Create a repo directly (as the Hub would on POST /api/repos/create), no HTTP involved."""
        with self.lock:
            user = self._user_for_token(owner_token)
            if user is None or not self._can_write_namespace(user, repo_id.split("/")[0]):
                raise ValueError(f"{owner_token!r} cannot create {repo_id}")
            return self._create(repo_id, private=private, gated=gated)

    def request_access(self, repo_id: str, user: str, fields: Optional[dict] = None) -> AccessRecord:
        """Make ``user`` request access to gated ``repo_id`` with gate-form answers ``fields``."""
        with self.lock:
            repo = self.repos[repo_id]
            if not repo.gated:
                raise ValueError(f"{repo_id} is not gated")
            if user not in self.users:
                raise ValueError(f"unknown user {user}")
            status = "accepted" if repo.gated == "auto" else "pending"
            rec = AccessRecord(uuid.uuid4().hex[:24], user, status, _now(), dict(fields) if fields else None)
            repo.access[user] = rec
            return rec

    def set_access(self, repo_id: str, user: str, status: str) -> None:
        with self.lock:
            repo = self.repos[repo_id]
            rec = repo.access.get(user) or AccessRecord(uuid.uuid4().hex[:24], user, status, _now())
            rec.status = status
            repo.access[user] = rec

    def access_status(self, repo_id: str, user: str) -> Optional[str]:
        rec = self.repos[repo_id].access.get(user)
        return rec.status if rec else None

    def rejection_reason(self, repo_id: str, user: str) -> Optional[str]:
        rec = self.repos[repo_id].access.get(user)
        return rec.rejection_reason if rec else None

    def fail_upload(self, nth: int = 1, kind: str = "commit", times: int = 1) -> None:
        """Drop the connection mid-way through the ``nth`` next ``kind`` upload ("commit" or "lfs")."""
        if kind not in self._upload_counts:
            raise ValueError(f"kind must be one of {sorted(self._upload_counts)}")
        with self.lock:
            start = self._upload_counts[kind] + nth
            self._faults.append({"kind": kind, "at": set(range(start, start + times))})

    def fail_request(self, path: str, status: int, method: Optional[str] = None, times: int = 1,
                     message: str = "injected failure") -> None:
        """Answer the next ``times`` requests whose path matches the regex ``path`` (and ``method``)
        with ``status`` and ``message``; status 0 drops the connection instead of answering, a
        status under 400 sends ``message`` as the body (a malformed answer)."""
        with self.lock:
            self._request_faults.append({"path": re.compile(path), "method": method, "status": status,
                                         "times": times, "message": message})

    def _request_fault(self, method: str, path: str) -> Optional[dict]:
        with self.lock:
            for f in self._request_faults:
                if f["times"] > 0 and (f["method"] in (None, method)) and f["path"].search(path):
                    f["times"] -= 1
                    return f
        return None

    def tags(self, repo_id: str) -> dict[str, str]:
        """Tag name -> commit sha."""
        return dict(self.repos[repo_id].tags)

    def commits(self, repo_id: str, branch: str = "main") -> list[Commit]:
        """The commits of ``branch``, newest first."""
        repo = self.repos[repo_id]
        out, sha = [], repo.branches.get(branch)
        while sha:
            out.append(repo.commits[sha])
            sha = repo.commits[sha].parent
        return out

    def files(self, repo_id: str, revision: str = "main") -> dict[str, bytes]:
        repo = self.repos[repo_id]
        return {p: f.data for p, f in self._commit(repo, revision).files.items()}

    # ---- state logic -----------------------------------------------------------------------
    def _user_for_token(self, token: Optional[str]) -> Optional[User]:
        return next((u for u in self.users.values() if token and u.token == token), None)

    @staticmethod
    def _can_write_namespace(user: User, namespace: str) -> bool:
        return namespace == user.name or namespace in user.orgs

    def _create(self, repo_id: str, private: bool, gated: Any = False) -> Repo:
        repo = Repo(repo_id, private=private, gated=gated)
        init = StoredFile(".gitattributes", len(DEFAULT_GITATTRIBUTES), git_blob_sha1(DEFAULT_GITATTRIBUTES), DEFAULT_GITATTRIBUTES)
        sha = self._new_sha()
        repo.commits[sha] = Commit(sha, None, "initial commit", _now(), {init.path: init})
        repo.branches["main"] = sha
        self.repos[repo_id] = repo
        return repo

    @staticmethod
    def _new_sha() -> str:
        return hashlib.sha1(uuid.uuid4().bytes).hexdigest()

    def _commit(self, repo: Repo, revision: str) -> Commit:
        sha = repo.branches.get(revision) or repo.tags.get(revision) or (revision if revision in repo.commits else None)
        if sha is None:
            raise HubError(404, f"Invalid rev id: {revision}", "RevisionNotFound")
        return repo.commits[sha]

    def _repo_for_read(self, repo_id: str, user: Optional[User]) -> Repo:
        repo = self.repos.get(repo_id)
        if repo is None or (repo.private and not self._is_member(repo, user)):
            raise HubError(404, "Repository not found", "RepoNotFound")
        return repo

    def _is_member(self, repo: Repo, user: Optional[User]) -> bool:
        return user is not None and self._can_write_namespace(user, repo.namespace)

    def _repo_for_write(self, repo_id: str, user: Optional[User]) -> Repo:
        if user is None:
            raise HubError(401, "Invalid credentials in Authorization header")
        repo = self._repo_for_read(repo_id, user)
        if not self._is_member(repo, user):
            raise HubError(403, f"You don't have the rights to write to {repo_id}")
        if user.role == "read":
            raise HubError(403, "This token has read-only access")
        if not user.can_write(repo_id):
            raise HubError(403, f"This fine-grained token is missing the repo.write permission on {repo_id}")
        return repo

    def _check_gate(self, repo: Repo, user: Optional[User]) -> None:
        # every file, README.md included: datasets relies on the README download to detect gating
        if not repo.gated or self._is_member(repo, user):
            return
        rec = repo.access.get(user.name) if user else None
        if rec is not None and rec.status == "accepted":
            return
        if user is None:
            raise HubError(401, "You must be authenticated to access it.", "GatedRepo")
        raise HubError(403, f"Access to dataset {repo.repo_id} is restricted. You must have access to it and be authenticated to access it.", "GatedRepo")

    def _fault(self, kind: str) -> bool:
        with self.lock:
            self._upload_counts[kind] += 1
            n = self._upload_counts[kind]
            for f in self._faults:
                if f["kind"] == kind and n in f["at"]:
                    f["at"].discard(n)
                    return True
        return False


def _tree_entries(commit: Commit, prefix: str, recursive: bool) -> list[dict]:
    prefix = prefix.strip("/")
    base = prefix + "/" if prefix else ""
    files, dirs = [], set()
    for path, f in sorted(commit.files.items()):
        if not path.startswith(base):
            continue
        rest = path[len(base):]
        parts = rest.split("/")
        for i in range(1, len(parts)):
            if recursive or i == 1:
                dirs.add(base + "/".join(parts[:i]))
        if recursive or len(parts) == 1:
            files.append(f.entry())
    folder_entries = [{"type": "directory", "oid": hashlib.sha1(d.encode() + commit.sha.encode()).hexdigest(), "size": 0, "path": d}
                      for d in sorted(dirs)]
    return folder_entries + files


def _validate_card_yaml(content: str) -> list[str]:
    """Errors the Hub would report for a README's YAML metadata block."""
    m = re.match(r"^---\s*\n(.*?)\n---\s*(\n|$)", content, re.S)
    if not m:
        return []
    try:
        meta = yaml.safe_load(m.group(1))
    except yaml.YAMLError as exc:
        return [f"Invalid YAML: {exc}"]
    if meta is None:
        return []
    if not isinstance(meta, dict):
        return ["metadata must be a YAML mapping"]
    errors = []
    configs = meta.get("configs")
    if configs is not None:
        if not isinstance(configs, list):
            errors.append('"configs" must be an array')
        else:
            for i, c in enumerate(configs):
                if not isinstance(c, dict) or not isinstance(c.get("config_name"), str):
                    errors.append(f'"configs[{i}].config_name" is required and must be a string')
                elif "data_files" in c and not isinstance(c["data_files"], (str, list)):
                    errors.append(f'"configs[{i}].data_files" must be a string or an array')
    for key in ("license", "language", "tags", "task_categories"):
        v = meta.get(key)
        if v is not None and not isinstance(v, (str, list)):
            errors.append(f'"{key}" must be a string or an array of strings')
    return errors


def _make_handler(hub: HubServer):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "LoopbackHub/1.0"

        def log_message(self, fmt, *args):  # keep pytest output clean
            pass

        # ---- plumbing ----------------------------------------------------------------------
        def _body(self, limit: Optional[int] = None) -> bytes:
            if self._consumed:
                return b""
            self._consumed = True
            if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
                out = io.BytesIO()
                while True:
                    size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                    if size == 0:
                        while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                            pass
                        break
                    out.write(self.rfile.read(size))
                    self.rfile.readline()
                    if limit is not None and out.tell() >= limit:
                        break
                return out.getvalue()
            n = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(n if limit is None else min(n, limit))

        def _send(self, status: int, body: bytes = b"", headers: Optional[dict] = None, head: bool = False,
                  content_type: str = "application/json") -> None:
            self.send_response(status)
            hdrs = {"Content-Type": content_type, "Content-Length": str(len(body))}
            hdrs.update(headers or {})
            for k, v in hdrs.items():
                self.send_header(k, v)
            self.end_headers()
            if not head:
                self.wfile.write(body)

        def _json(self, status: int, obj: Any, headers: Optional[dict] = None) -> None:
            self._send(status, json.dumps(obj).encode(), headers)

        def _error(self, err: HubError, head: bool = False) -> None:
            headers = {"X-Error-Message": err.message}
            if err.code:
                headers["X-Error-Code"] = err.code
            self._send(err.status, json.dumps({"error": err.message, **err.extra}).encode(), headers, head=head)

        def _user(self) -> Optional[User]:
            auth = self.headers.get("Authorization", "")
            if not auth.startswith("Bearer "):
                return None
            user = hub._user_for_token(auth[len("Bearer "):].strip())
            if user is None:
                raise HubError(401, "Invalid credentials in Authorization header")
            return user

        def _drop(self, body_limit: int = 64) -> None:
            try:
                self._body(limit=body_limit)
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self.close_connection = True
            raise _Dropped()

        def _dispatch(self, method: str) -> None:
            split = urlsplit(self.path)
            query = parse_qs(split.query)
            head = method == "HEAD"
            self._consumed = False
            user_name = None
            try:
                # the CAS authenticates with its own short-lived tokens, not Hub tokens
                user = None if split.path.startswith(CAS_PATHS) else self._user()
                user_name = user.name if user else None
                with hub.lock:
                    hub.requests.append((method, split.path, user_name))
                fault = hub._request_fault(method, split.path)
                if fault is not None:
                    if not fault["status"]:
                        self._drop()
                    self._body()
                    if fault["status"] < 400:  # a success status: ``message`` is the (malformed) body
                        self._send(fault["status"], fault["message"].encode())
                        return
                    raise HubError(fault["status"], fault["message"])
                route = ROUTES_FOR.get(method, [])
                for pattern, fn, mutating in route:
                    m = pattern.match(split.path)
                    if m:
                        if mutating:
                            with hub.lock:
                                hub.mutations.append((method, split.path, user_name))
                        return fn(self, user, query, *[unquote(g) if g is not None else None for g in m.groups()])
                raise HubError(404, f"no route for {method} {split.path}")
            except _Dropped:
                return
            except HubError as err:
                if err.status < 500:
                    self._body()  # drain what the client sent so the connection stays usable
                self._error(err, head=head)

        def do_GET(self):
            self._dispatch("GET")

        def do_HEAD(self):
            self._dispatch("HEAD")

        def do_POST(self):
            self._dispatch("POST")

        def do_PUT(self):
            self._dispatch("PUT")

        def do_DELETE(self):
            self._dispatch("DELETE")

        # ---- auth --------------------------------------------------------------------------
        def whoami(self, user, query):
            if user is None:
                raise HubError(401, "Invalid credentials in Authorization header")
            token: dict[str, Any] = {"displayName": "test", "role": user.role}
            if user.role == "fineGrained":  # the Hub's shape: one entry per entity the token is scoped to
                token["fineGrained"] = {"canReadGatedRepos": True, "global": [], "scoped": [
                    {"entity": {"type": "dataset" if "/" in name else ("user" if name == user.name else "org"), "name": name},
                     "permissions": perms} for name, perms in user.scopes.items()]}
            self._json(200, {
                "type": "user", "id": user.name, "name": user.name, "fullname": user.name.title(),
                "email": user.email, "emailVerified": True, "isPro": False,
                "orgs": [{"type": "org", "name": o, "fullname": o, "roleInOrg": "admin"} for o in user.orgs],
                "auth": {"type": "access_token", "accessToken": token},
            })

        # ---- repos -------------------------------------------------------------------------
        def repo_create(self, user, query):
            body = json.loads(self._body() or b"{}")
            if user is None:
                raise HubError(401, "Invalid credentials in Authorization header")
            name, org = body.get("name"), body.get("organization") or user.name
            if body.get("type", "model") != "dataset":
                raise HubError(400, "this loopback Hub only hosts datasets")
            if not name or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", name):
                raise HubError(400, f"invalid repo name {name!r}")
            if not HubServer._can_write_namespace(user, org) or user.role == "read" or not user.can_write(f"{org}/{name}"):
                raise HubError(403, f"You don't have the rights to create a dataset under the namespace \"{org}\"")
            repo_id = f"{org}/{name}"
            with hub.lock:
                if repo_id in hub.repos:
                    raise HubError(409, "You already created this dataset repo", extra={"url": f"{hub.url}/datasets/{repo_id}"})
                hub._create(repo_id, private=body.get("visibility", "public") == "private")
            self._json(200, {"url": f"{hub.url}/datasets/{repo_id}", "name": repo_id, "id": uuid.uuid4().hex[:24]})

        def repo_settings(self, user, query, repo_id):
            body = json.loads(self._body() or b"{}")
            with hub.lock:
                repo = hub._repo_for_write(repo_id, user)
                if "gated" in body:
                    if body["gated"] not in ("auto", "manual", False):
                        raise HubError(400, f"invalid gated value {body['gated']!r}")
                    repo.gated = body["gated"]
                if "visibility" in body:
                    repo.private = body["visibility"] == "private"
                if "private" in body:
                    repo.private = bool(body["private"])
            self._json(200, {})

        def repo_info(self, user, query, repo_id, revision=None):
            with hub.lock:
                repo = hub._repo_for_read(repo_id, user)
                commit = hub._commit(repo, revision or "main")
                readme = commit.files.get("README.md")
                card = None
                if readme is not None:
                    m = re.match(r"^---\s*\n(.*?)\n---", readme.data.decode("utf-8", "replace"), re.S)
                    try:
                        card = yaml.safe_load(m.group(1)) if m else None
                    except yaml.YAMLError:
                        card = None
                blobs = query.get("blobs", ["false"])[0].lower() in ("1", "true")
                siblings = []
                for path, f in sorted(commit.files.items()):
                    s: dict[str, Any] = {"rfilename": path}
                    if blobs:
                        s.update(size=f.size, blobId=f.oid)
                        if f.lfs_sha256:
                            s["lfs"] = {"size": f.size, "sha256": f.lfs_sha256, "pointerSize": len(lfs_pointer(f.lfs_sha256, f.size))}
                    siblings.append(s)
                self._json(200, {
                    "_id": hashlib.md5(repo_id.encode()).hexdigest()[:24], "id": repo_id, "author": repo.namespace,
                    "sha": commit.sha, "lastModified": commit.date, "createdAt": repo.created_at,
                    "private": repo.private, "gated": repo.gated, "disabled": False, "downloads": 0, "likes": 0,
                    "tags": [], "cardData": card if isinstance(card, dict) else None, "siblings": siblings,
                })

        def tree(self, user, query, repo_id, revision, path=None):
            recursive = query.get("recursive", ["false"])[0].lower() in ("1", "true")
            with hub.lock:
                repo = hub._repo_for_read(repo_id, user)
                commit = hub._commit(repo, revision)
                entries = _tree_entries(commit, path or "", recursive)
                if path and not entries and path.strip("/") not in commit.files:
                    raise HubError(404, f"{path} does not exist on {revision}", "EntryNotFound")
            self._json(200, entries)

        def paths_info(self, user, query, repo_id, revision):
            form = parse_qs(self._body().decode())
            paths = [p.strip("/") for p in form.get("paths", [])]
            with hub.lock:
                repo = hub._repo_for_read(repo_id, user)
                commit = hub._commit(repo, revision)
                out = []
                for p in paths:
                    if p in commit.files:
                        out.append(commit.files[p].entry())
                    elif any(k.startswith(p + "/") for k in commit.files):
                        out.append({"type": "directory", "oid": hashlib.sha1(p.encode() + commit.sha.encode()).hexdigest(), "size": 0, "path": p})
            self._json(200, out)

        def refs(self, user, query, repo_id):
            with hub.lock:
                repo = hub._repo_for_read(repo_id, user)
                branches = [{"name": b, "ref": f"refs/heads/{b}", "targetCommit": s} for b, s in repo.branches.items()]
                tags = [{"name": t, "ref": f"refs/tags/{t}", "targetCommit": s} for t, s in repo.tags.items()]
            self._json(200, {"branches": branches, "converts": [], "tags": tags})

        def create_tag(self, user, query, repo_id, revision):
            body = json.loads(self._body() or b"{}")
            tag = body.get("tag")
            with hub.lock:
                repo = hub._repo_for_write(repo_id, user)
                if not isinstance(tag, str) or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", tag):
                    raise HubError(400, f"invalid tag name {tag!r}")
                if tag in repo.tags or tag in repo.branches:
                    raise HubError(409, f"Tag {tag} already exists")
                repo.tags[tag] = hub._commit(repo, revision).sha
            self._json(200, {})

        def delete_tag(self, user, query, repo_id, tag):
            with hub.lock:
                repo = hub._repo_for_write(repo_id, user)
                if repo.tags.pop(tag, None) is None:
                    raise HubError(404, f"Tag {tag} not found", "RevisionNotFound")
            self._json(200, {})

        # ---- Xet: write token and CAS (tests/xet_cas.py) -----------------------------------
        def xet_write_token(self, user, query, repo_id, revision):
            if not hub.xet:
                raise HubError(404, "this Hub does not store files with Xet")
            with hub.lock:
                repo = hub._repo_for_write(repo_id, user)
                hub._commit(repo, revision)
                token = "xet_" + uuid.uuid4().hex
                hub._xet_tokens[token] = repo_id
            cas, exp = hub.cas_url or f"{hub.url}/cas", int(datetime.now(timezone.utc).timestamp()) + 3600
            self._send(200, json.dumps({"casUrl": cas, "accessToken": token, "exp": exp}).encode(),
                       {"X-Xet-Cas-Url": cas, "X-Xet-Access-Token": token, "X-Xet-Token-Expiration": str(exp)})

        def _xet_repo(self) -> Repo:
            auth = self.headers.get("Authorization", "")
            with hub.lock:
                repo_id = hub._xet_tokens.get(auth[len("Bearer "):].strip()) if auth.startswith("Bearer ") else None
                if repo_id is None:
                    raise HubError(401, "invalid or expired CAS token")
                return hub.repos[repo_id]

        def cas_not_offered(self, user, query, *rest):
            self._xet_repo()
            raise HubError(404, "not offered by this CAS")

        def cas_xorb(self, user, query, prefix, xorb_hash):
            self._xet_repo()
            try:
                chunks = xet_cas.xorb_chunks(self._body())
            except (xet_cas.CasFormatError, IndexError, struct.error) as exc:
                raise HubError(400, f"malformed xorb: {exc}") from None
            with hub.lock:
                inserted = xorb_hash not in hub.xorbs
                hub.xorbs[xorb_hash] = chunks
            self._json(200, {"was_inserted": inserted})

        def cas_shard(self, user, query):
            repo = self._xet_repo()
            try:
                files = xet_cas.shard_files(self._body())
                with hub.lock:
                    rebuilt = [xet_cas.reconstruct(f, hub.xorbs) for f in files]
            except (xet_cas.CasFormatError, IndexError, struct.error) as exc:
                raise HubError(400, f"malformed shard: {exc}") from None
            with hub.lock:
                for data in rebuilt:
                    sha = hashlib.sha256(data).hexdigest()
                    repo.lfs[sha] = data
                    hub.xet_files.append(sha)
            self._json(200, {"result": 1})

        def cas_telemetry(self, user, query):
            self._body()
            self._json(200, {})

        def create_branch(self, user, query, repo_id, branch):
            body = json.loads(self._body() or b"{}")
            with hub.lock:
                repo = hub._repo_for_write(repo_id, user)
                if branch in repo.branches:
                    raise HubError(409, f"Branch {branch} already exists")
                start = hub._commit(repo, body.get("startingPoint") or "main")
                repo.branches[branch] = start.sha
            self._json(200, {})

        # ---- uploads -----------------------------------------------------------------------
        def preupload(self, user, query, repo_id, revision):
            body = json.loads(self._body() or b"{}")
            with hub.lock:
                repo = hub._repo_for_write(repo_id, user)
                commit = hub._commit(repo, revision)
            files = []
            for f in body.get("files", []):
                sample = base64.b64decode(f.get("sample", ""))
                lfs = f["path"].lower().endswith(LFS_SUFFIXES) or f.get("size", 0) >= LFS_SIZE_THRESHOLD or b"\0" in sample
                existing = commit.files.get(f["path"])
                oid = (existing.lfs_sha256 or existing.oid) if existing else None
                files.append({"path": f["path"], "uploadMode": "lfs" if lfs else "regular", "shouldIgnore": False, "oid": oid})
            self._json(200, {"files": files, "commitOid": commit.sha})

        def lfs_batch(self, user, query, repo_type, repo_id):
            body = json.loads(self._body() or b"{}")
            with hub.lock:
                repo = hub._repo_for_write(repo_id, user)
                if body.get("operation") != "upload":
                    raise HubError(400, "only the upload operation is supported")
                objects = []
                for obj in body.get("objects", []):
                    oid, size = obj["oid"], int(obj["size"])
                    if oid in repo.lfs:
                        objects.append({"oid": oid, "size": size})
                        continue
                    key = uuid.uuid4().hex
                    hub._upload_keys[key] = (repo_id, oid)
                    objects.append({"oid": oid, "size": size, "authenticated": True, "actions": {
                        "upload": {"href": f"{hub.url}/lfs-upload/{key}/{oid}", "header": {}},
                        "verify": {"href": f"{hub.url}/{repo_type}s/{repo_id}.git/info/lfs/objects/verify", "header": {}},
                    }})
            self._send(200, json.dumps({"transfer": "basic", "objects": objects, "hash_algo": "sha256"}).encode(),
                       content_type="application/vnd.git-lfs+json")

        def lfs_put(self, user, query, key, oid):
            if hub._fault("lfs"):
                self._drop(body_limit=max(1, int(self.headers.get("Content-Length") or 2) // 2))
            with hub.lock:
                target = hub._upload_keys.get(key)
            if target is None or target[1] != oid:
                raise HubError(403, "upload URL not valid")
            data = self._body()
            if hashlib.sha256(data).hexdigest() != oid:
                raise HubError(400, f"content does not match sha256 {oid}")
            with hub.lock:
                hub.repos[target[0]].lfs[oid] = data
                hub.lfs_uploads.append(oid)
                hub._upload_keys.pop(key, None)
            self._send(200, b"", {"ETag": f'"{hashlib.md5(data).hexdigest()}"'})

        def lfs_verify(self, user, query, repo_type, repo_id):
            body = json.loads(self._body() or b"{}")
            with hub.lock:
                repo = hub._repo_for_write(repo_id, user)
                data = repo.lfs.get(body.get("oid"))
                if data is None or len(data) != body.get("size"):
                    raise HubError(404, f"object {body.get('oid')} not found or wrong size")
            self._json(200, {})

        def commit(self, user, query, repo_id, revision):
            if hub._fault("commit"):
                self._drop()
            lines = [json.loads(line) for line in self._body().splitlines() if line.strip()]
            with hub.lock:
                repo = hub._repo_for_write(repo_id, user)
                if revision not in repo.branches:
                    raise HubError(404, f"Invalid rev id: {revision}", "RevisionNotFound")
                head = repo.commits[repo.branches[revision]]
                files = dict(head.files)
                title = "commit"
                for item in lines:
                    key, value = item.get("key"), item.get("value", {})
                    if key == "header":
                        title = value.get("summary") or title
                        parent = value.get("parentCommit")
                        if parent is not None and parent != head.sha:
                            raise HubError(412, f"A commit has happened since. Please refresh and try again. (parent {parent}, head {head.sha})")
                    elif key == "file":
                        data = base64.b64decode(value["content"]) if value.get("encoding") == "base64" else value["content"].encode()
                        if value["path"] == "README.md":
                            errors = _validate_card_yaml(data.decode("utf-8", "replace"))
                            if errors:
                                raise HubError(400, "Invalid metadata in README.md: " + "; ".join(errors))
                        files[value["path"]] = StoredFile(value["path"], len(data), git_blob_sha1(data), data)
                    elif key == "lfsFile":
                        oid = value["oid"]
                        data = repo.lfs.get(oid)
                        if data is None:
                            raise HubError(422, f"LFS object {oid} for {value['path']} was never uploaded")
                        files[value["path"]] = StoredFile(value["path"], len(data), git_blob_sha1(lfs_pointer(oid, len(data))), data, oid)
                    elif key == "deletedFile":
                        if files.pop(value["path"], None) is None:
                            raise HubError(404, f"{value['path']} does not exist", "EntryNotFound")
                    elif key == "deletedFolder":
                        base = value["path"].rstrip("/") + "/"
                        for p in [p for p in files if p.startswith(base)]:
                            del files[p]
                    else:
                        raise HubError(400, f"unknown commit operation {key!r}")
                sha = hub._new_sha()
                repo.commits[sha] = Commit(sha, head.sha, title, _now(), files)
                repo.branches[revision] = sha
            self._json(200, {"success": True, "commitOid": sha, "commitUrl": f"{hub.url}/datasets/{repo_id}/commit/{sha}",
                             "commitMessage": title, "pullRequestUrl": None})

        def validate_yaml(self, user, query):
            body = json.loads(self._body() or b"{}")
            errors = _validate_card_yaml(body.get("content", ""))
            self._json(400 if errors else 200, {"errors": [{"message": e} for e in errors], "warnings": []})

        # ---- downloads ---------------------------------------------------------------------
        def resolve(self, user, query, repo_id, revision, path):
            head = self.command == "HEAD"
            with hub.lock:
                repo = hub._repo_for_read(repo_id, user)
                commit = hub._commit(repo, revision)
                f = commit.files.get(path)
                if f is None:
                    raise HubError(404, f"Entry not found: {path}", "EntryNotFound")
                hub._check_gate(repo, user)
            etag = f.lfs_sha256 or f.oid
            headers = {"X-Repo-Commit": commit.sha, "ETag": f'"{etag}"', "Accept-Ranges": "bytes"}
            if f.lfs_sha256:
                headers.update({"X-Linked-Etag": f'"{etag}"', "X-Linked-Size": str(f.size)})
            data, status = f.data, 200
            rng = self.headers.get("Range")
            if rng:
                m = re.fullmatch(r"bytes=(\d*)-(\d*)", rng.strip())
                if not m or (not m.group(1) and not m.group(2)):
                    raise HubError(416, f"bad range {rng}")
                if m.group(1):
                    start = int(m.group(1))
                    end = min(int(m.group(2)), f.size - 1) if m.group(2) else f.size - 1
                else:
                    start, end = max(0, f.size - int(m.group(2))), f.size - 1
                if start >= f.size or start > end:
                    self._send(416, b"", {**headers, "Content-Range": f"bytes */{f.size}"}, head=head)
                    return
                data, status = f.data[start:end + 1], 206
                headers["Content-Range"] = f"bytes {start}-{end}/{f.size}"
            self._send(status, data, headers, head=head, content_type="application/octet-stream")

        # ---- gated access ------------------------------------------------------------------
        def access_list(self, user, query, repo_id, status):
            if status not in ("pending", "accepted", "rejected"):
                raise HubError(404, f"unknown status {status}")
            cursor = int(query.get("cursor", ["0"])[0])
            with hub.lock:
                repo = hub._repo_for_write(repo_id, user)
                if not repo.gated:
                    raise HubError(400, f"{repo_id} is not a gated repo")
                recs = sorted((r for r in repo.access.values() if r.status == status), key=lambda r: (r.timestamp, r.request_id))
                page = recs[cursor:cursor + hub.page_size]
                items = [{"user": {"user": r.user, "fullname": r.user.title(), "email": hub.users[r.user].email,
                                   "type": "user", "isPro": False},
                          "requestId": r.request_id, "status": r.status, "timestamp": r.timestamp, "fields": r.fields}
                         for r in page]
            headers = {}
            if cursor + hub.page_size < len(recs):
                nxt = f"{hub.url}/api/datasets/{repo_id}/user-access-request/{status}?cursor={cursor + hub.page_size}"
                headers["Link"] = f'<{nxt}>; rel="next"'
            self._json(200, items, headers)

        def access_handle(self, user, query, repo_id):
            body = json.loads(self._body() or b"{}")
            status = body.get("status")
            if status not in ("pending", "accepted", "rejected"):
                raise HubError(400, f"invalid status {status!r}")
            reason = body.get("rejectionReason")
            if reason is not None and (status != "rejected" or len(reason) > 200):
                raise HubError(400, "rejectionReason is only for rejections and at most 200 characters")
            with hub.lock:
                repo = hub._repo_for_write(repo_id, user)
                if not repo.gated:
                    raise HubError(400, f"{repo_id} is not a gated repo")
                if body.get("user") is not None:
                    if body["user"] not in hub.users:
                        raise HubError(404, f"user {body['user']} not found")
                    rec = repo.access.get(body["user"])
                else:
                    rec = next((r for r in repo.access.values() if r.request_id == body.get("requestId")), None)
                if rec is None:
                    raise HubError(404, "access request not found")
                if rec.status == status:
                    raise HubError(404, f"access request is already {status}")
                rec.status = status
                rec.rejection_reason = reason if status == "rejected" else None
            self._json(200, {})

        def access_grant(self, user, query, repo_id):
            body = json.loads(self._body() or b"{}")
            with hub.lock:
                repo = hub._repo_for_write(repo_id, user)
                if not repo.gated:
                    raise HubError(400, f"{repo_id} is not a gated repo")
                name = body.get("user")
                if name not in hub.users:
                    raise HubError(404, f"user {name} not found")
                rec = repo.access.get(name)
                if rec is not None and rec.status == "accepted":
                    raise HubError(400, f"{name} already has access")
                repo.access[name] = AccessRecord(uuid.uuid4().hex[:24], name, "accepted", _now())
            self._json(200, {})

    R = r"/api/datasets/([^/]+/[^/]+)"
    H = Handler
    ROUTES_FOR = {
        "GET": [
            (re.compile(r"/api/whoami-v2$"), H.whoami, False),
            (re.compile(R + r"$"), H.repo_info, False),
            (re.compile(R + r"/revision/([^/]+)$"), H.repo_info, False),
            (re.compile(R + r"/tree/([^/]+)(?:/(.*))?$"), H.tree, False),
            (re.compile(R + r"/refs$"), H.refs, False),
            (re.compile(R + r"/xet-write-token/([^/]+)$"), H.xet_write_token, False),
            (re.compile(r"/cas/v1/chunks/([^/]+)/([0-9a-f]{64})$"), H.cas_not_offered, False),
            (re.compile(R + r"/user-access-request/([a-z]+)$"), H.access_list, False),
            (re.compile(r"/datasets/([^/]+/[^/]+)/resolve/([^/]+)/(.+)$"), H.resolve, False),
        ],
        "POST": [
            (re.compile(r"/api/repos/create$"), H.repo_create, True),
            (re.compile(r"/api/validate-yaml$"), H.validate_yaml, False),
            (re.compile(R + r"/paths-info/([^/]+)$"), H.paths_info, False),
            (re.compile(R + r"/preupload/([^/]+)$"), H.preupload, False),
            (re.compile(R + r"/commit/([^/]+)$"), H.commit, True),
            (re.compile(R + r"/branch/([^/]+)$"), H.create_branch, True),
            (re.compile(R + r"/tag/([^/]+)$"), H.create_tag, True),
            (re.compile(r"/cas/v1/xorb-grants/([^/]+)/([0-9a-f]{64})$"), H.cas_not_offered, False),
            (re.compile(r"/cas/v1/xorbs/([^/]+)/([0-9a-f]{64})$"), H.cas_xorb, True),
            (re.compile(r"/cas/v2/shards$"), H.cas_not_offered, False),
            (re.compile(r"/cas/v1/shards$"), H.cas_shard, True),
            (re.compile(r"/v1/telemetry$"), H.cas_telemetry, False),
            (re.compile(R + r"/user-access-request/handle$"), H.access_handle, True),
            (re.compile(R + r"/user-access-request/grant$"), H.access_grant, True),
            (re.compile(r"/(dataset)s/([^/]+/[^/]+)\.git/info/lfs/objects/batch$"), H.lfs_batch, True),
            (re.compile(r"/(dataset)s/([^/]+/[^/]+)\.git/info/lfs/objects/verify$"), H.lfs_verify, True),
        ],
        "PUT": [
            (re.compile(R + r"/settings$"), H.repo_settings, True),
            (re.compile(r"/lfs-upload/([0-9a-f]+)/([0-9a-f]{64})$"), H.lfs_put, True),
        ],
    }
    ROUTES_FOR["DELETE"] = [(re.compile(R + r"/tag/([^/]+)$"), H.delete_tag, True)]
    ROUTES_FOR["HEAD"] = [r for r in ROUTES_FOR["GET"] if r[1] is H.resolve]
    return Handler


def point_clients_at(url: str, home, monkeypatch, xet: bool = False) -> None:
    """Point in-process `huggingface_hub` and `datasets` (and child processes) at ``url``; uploads
    go through Xet when ``xet`` (as they do for users, hf_xet being installed), else through LFS.

    Both libraries read HF_ENDPOINT, HF_HOME and the offline flags once, at import time, into
    module constants; patching the environment alone would not reach an already-imported client.
    """
    import datasets.config as dcfg
    from huggingface_hub import constants as hc

    home = str(home)
    env = {"HF_ENDPOINT": url, "HF_HOME": home, "HF_HUB_OFFLINE": "0", "HF_DATASETS_OFFLINE": "0",
           "HF_HUB_DISABLE_XET": "0" if xet else "1", "HF_XET_CACHE": f"{home}/xet", "HF_HUB_DISABLE_TELEMETRY": "1", "HF_HUB_DISABLE_UPDATE_CHECK": "1",
           "HF_DATASETS_CACHE": f"{home}/datasets", "HF_HUB_CACHE": f"{home}/hub"}
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    for k in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_TOKEN_PATH", "HF_OIDC_RESOURCE", "HF_HUB_ENABLE_HF_TRANSFER"):
        monkeypatch.delenv(k, raising=False)
    for name, value in {
        "ENDPOINT": url, "HUGGINGFACE_CO_URL_TEMPLATE": url + "/{repo_id}/resolve/{revision}/{filename}",
        "HF_HUB_OFFLINE": False, "HF_HUB_DISABLE_XET": not xet, "HF_HOME": home, "HF_HUB_CACHE": f"{home}/hub",
        "HF_ASSETS_CACHE": f"{home}/assets", "HF_TOKEN_PATH": f"{home}/token",
        "HF_STORED_TOKENS_PATH": f"{home}/stored_tokens", "HF_XET_CACHE": f"{home}/xet",
        "HF_HUB_DISABLE_TELEMETRY": True,
    }.items():
        monkeypatch.setattr(hc, name, value, raising=False)
    for name, value in {
        "HF_ENDPOINT": url, "HUB_DATASETS_URL": url + "/datasets/{repo_id}/resolve/{revision}/{path}",
        "HF_HUB_OFFLINE": False, "HF_DATASETS_OFFLINE": False, "HF_CACHE_HOME": home,
        "HF_DATASETS_CACHE": Path(f"{home}/datasets"),
        "DOWNLOADED_DATASETS_PATH": f"{home}/datasets/downloads",
        "EXTRACTED_DATASETS_PATH": f"{home}/datasets/downloads/extracted",
        "HF_MODULES_CACHE": Path(f"{home}/modules"),
        # the Parquet-export lookup goes to datasets-server.<host>, which a loopback Hub has not
        "USE_PARQUET_EXPORT": False, "HF_UPDATE_DOWNLOAD_COUNTS": False,
    }.items():
        monkeypatch.setattr(dcfg, name, value, raising=False)


class HubFixture(HubServer):
    """The server as the ``hub`` fixture hands it out: knows the monkeypatch to switch tokens."""

    _monkeypatch: Any = None

    def use_token(self, token: Optional[str]) -> None:
        """Make ``token`` the one clients find in HF_TOKEN (None: no token at all)."""
        if token is None:
            self._monkeypatch.delenv("HF_TOKEN", raising=False)
        else:
            self._monkeypatch.setenv("HF_TOKEN", token)


def _serve(tmp_path, monkeypatch, xet: bool):
    server = HubFixture(xet=xet)
    server._monkeypatch = monkeypatch
    server.start()
    point_clients_at(server.url, tmp_path / "hf_home", monkeypatch, xet=xet)
    if xet:
        # hf_xet keeps one session per process, with its shard cache and settings: start a new one
        from huggingface_hub.utils import _xet

        monkeypatch.setattr(_xet, "_GLOBAL_XET_HOLDER", _xet.XetSessionHolder())
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def hub(tmp_path, monkeypatch):
    """A fresh loopback Hub, with huggingface_hub / datasets pointed at it and HF_HOME in tmp_path."""
    yield from _serve(tmp_path, monkeypatch, xet=False)


@pytest.fixture
def xet_hub(tmp_path, monkeypatch):
    """The same, with uploads through Xet: the real hf_xet talks to the loopback CAS."""
    yield from _serve(tmp_path, monkeypatch, xet=True)


__all__ = ["HubServer", "HubFixture", "HubError", "hub", "xet_hub", "point_clients_at", "git_blob_sha1", "lfs_pointer"]
