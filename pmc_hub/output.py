"""The output-folder contract: config names, file names, shard layout and the build manifest.

Every module that writes or reads a build folder takes its names from here.

```
OUT/
  README.md                                  dataset card
  build_report.json                          counts and every skip
  releases/<release>.json                    what each release added, updated and removed
  <config>/<release>/<split>-<n:06d>.parquet shards; a release only ever adds folders
  .pmc-hub/                                  build state (lock, journal, manifest); never published
```

The manifest (``.pmc-hub/manifest.json``) lists every file the build wrote, with its size and
SHA-256: a build touches nothing else in its folder, and `publish` uploads exactly these files.
"""
from __future__ import annotations

import fcntl
import json
import os
import re
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath
from typing import Iterator, Optional

from .errors import DataError, UsageError
from .licenses import CATEGORIES

ARTICLES = "articles"
FIGURE_CONFIGS: tuple[str, ...] = CATEGORIES  # one config per license category
SUBFIGURE_CONFIGS: tuple[str, ...] = tuple(f"subfigures_{c}" for c in CATEGORIES)
BENCHMARK = "benchmark"
SPLIT = "train"
TEST_SPLIT = "test"

CARD_FILE = "README.md"
REPORT_FILE = "build_report.json"
RELEASES_DIR = "releases"
STATE_DIR = ".pmc-hub"
MANIFEST_FILE = f"{STATE_DIR}/manifest.json"
LOCK_FILE = f"{STATE_DIR}/lock"


class OutputError(DataError):
    """A build folder that is damaged, owned by something else, or not a finished build."""


def schema_of(config: str) -> str:
    """The record schema (``schemas/<name>.schema.json``) of a config's rows."""
    if config == ARTICLES:
        return "article"
    return "subfigure" if config.startswith("subfigures_") else "figure"


def figure_config(category: str, subfigure: bool = False) -> str:
    """The config a row of this license category goes to: only `commercial` rows reach
    `commercial`; anything unknown is `other`."""
    category = category if category in CATEGORIES else "other"
    return f"subfigures_{category}" if subfigure else category


_SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")


def check_release(name: str) -> str:
    """A release name usable as one folder name and a Hub tag (no '.': shard folders use it)."""
    if not isinstance(name, str) or not _SAFE_NAME.fullmatch(name):
        raise UsageError(f"release name {name!r} must be 1-64 letters, digits, '_' or '-', starting with a letter or digit")
    return name


def default_release(now: Optional[datetime] = None) -> str:
    """The release name a build takes when none is given: its month, ``YYYY-MM``."""
    return (now or datetime.now(timezone.utc)).strftime("%Y-%m")


def shard_path(config: str, release: str, split: str, index: int, max_folder_files: int) -> str:
    """Where shard ``index`` of a config's release goes: ``<config>/<release>/<split>-<n:06d>.parquet``,
    and ``<release>.<k>/`` for every further ``max_folder_files`` shards, so no folder ever holds
    more entries than the Hub allows. Names never depend on how many shards follow."""
    folder = release if index < max_folder_files else f"{release}.{index // max_folder_files}"
    return f"{config}/{folder}/{split}-{index:06d}.parquet"


def shard_glob(config: str, split: str) -> str:
    """The ``data_files`` pattern that covers a config's shards of every release."""
    return f"{config}/*/{split}-*.parquet"


def shard_config(path: str) -> Optional[tuple[str, str]]:
    """(config, split) of a shard path laid out by `shard_path`, else None."""
    parts = PurePosixPath(path).parts
    m = re.fullmatch(r"([A-Za-z0-9_]+)-\d{6}\.parquet", parts[-1]) if len(parts) == 3 else None
    return (parts[0], m.group(1)) if m else None


@dataclass(frozen=True)
class OwnedFile:
    size: int
    sha256: str
    rows: Optional[int] = None  # shards: rows, and their in-memory size (the card's dataset_info)
    data_bytes: Optional[int] = None


@dataclass
class Manifest:
    """The files a build wrote (POSIX paths relative to the folder) and the releases they form."""

    files: dict[str, OwnedFile] = field(default_factory=dict)
    releases: list[str] = field(default_factory=list)
    complete: bool = False

    def shards(self, config: str, split: str = SPLIT) -> list[str]:
        """The manifest's shards of one config and split, in release and index order."""
        found = [p for p in self.files if shard_config(p) == (config, split)]
        order = {r: i for i, r in enumerate(self.releases)}
        return sorted(found, key=lambda p: (order.get(p.split("/")[1].split(".")[0], len(order)), p))

    def configs(self) -> dict[str, list[str]]:
        """config -> the splits it has shards for."""
        found: dict[str, set[str]] = {}
        for p in self.files:
            if (cs := shard_config(p)) is not None:
                found.setdefault(cs[0], set()).add(cs[1])
        return {c: sorted(s) for c, s in sorted(found.items())}

    def to_json(self) -> str:
        data = {"complete": self.complete, "releases": self.releases,
                "files": {p: asdict(f) for p, f in sorted(self.files.items())}}
        return json.dumps(data, indent=1)

    @classmethod
    def from_json(cls, text: str, where: str) -> "Manifest":
        try:
            data = json.loads(text)
            files = {str(p): OwnedFile(int(f["size"]), str(f["sha256"]),
                                       *(None if f.get(k) is None else int(f[k]) for k in ("rows", "data_bytes")))
                     for p, f in data["files"].items()}
            return cls(files, [str(r) for r in data.get("releases", [])], bool(data.get("complete")))
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            raise OutputError(f"{where} is damaged ({type(exc).__name__}: {exc}); "
                              "rebuild into a new folder or restore it from a copy") from None


def read_manifest(out_dir: Path) -> Optional[Manifest]:
    """The folder's manifest, or None when no pmc-hub build ever finished writing one there."""
    path = Path(out_dir) / MANIFEST_FILE
    if not path.is_file():
        return None
    return Manifest.from_json(path.read_text(encoding="utf-8", errors="replace"), str(path))


def write_text_atomic(path: Path, text: str) -> None:
    """Write a small text file whole or not at all: a temporary beside it, then a rename (a reader,
    or a run after a kill, never sees half of it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def write_manifest(out_dir: Path, manifest: Manifest) -> None:
    write_text_atomic(Path(out_dir) / MANIFEST_FILE, manifest.to_json())


def shard_files(out_dir: Path, config: str, split: str = SPLIT) -> list[Path]:
    """A finished folder's shards of one config and split, in order, as its manifest lists them."""
    manifest = read_manifest(out_dir)
    return [Path(out_dir) / p for p in manifest.shards(config, split)] if manifest else []


@contextmanager
def locked(out_dir: Path, what: str = "build") -> Iterator[None]:
    """Hold the folder's lock for the duration: one pmc-hub writer per folder at a time. The lock
    is released when its process ends, however it ends (kill -9 included)."""
    path = Path(out_dir) / LOCK_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 200, 0).decode("utf-8", "replace").strip() or "another process"
            raise OutputError(f"{out_dir} is in use by {holder}; wait for it to finish or write to another folder") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pmc-hub {what} (pid {os.getpid()})".encode(), 0)
        yield
    finally:
        os.close(fd)


def owned_file(path: Path) -> OwnedFile:
    """Size and SHA-256 of a file the build just wrote (README.md, the report...)."""
    import hashlib

    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return OwnedFile(path.stat().st_size, digest.hexdigest())


def write_owned_text(out_dir: Path, rel: str, text: str) -> OwnedFile:
    """Write a small text file of the build atomically and return its manifest entry."""
    path = Path(out_dir) / rel
    write_text_atomic(path, text)
    return owned_file(path)


def record_files(out_dir: Path, files: dict[str, OwnedFile], removed: tuple[str, ...] = ()) -> Manifest:
    """Add or replace entries of a finished folder's manifest (after rewriting its card, say)."""
    manifest = read_manifest(out_dir)
    if manifest is None:
        raise OutputError(f"{out_dir}: no pmc-hub manifest; is it a finished pmc-hub build?")
    manifest.files.update(files)
    for rel in removed:
        manifest.files.pop(rel, None)
    write_manifest(out_dir, manifest)
    return manifest
