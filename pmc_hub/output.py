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

import json
import os
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Optional

from .errors import DataError
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


_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def check_name(name: str, what: str = "release") -> str:
    """A release or config name usable as one folder name and a Hub tag."""
    if not _SAFE_NAME.fullmatch(name or "") or ".." in name:
        raise OutputError(f"{what} name {name!r} must be 1-64 letters, digits, '.', '_' or '-', "
                          "starting with a letter or digit")
    return name


@dataclass(frozen=True)
class OwnedFile:
    size: int
    sha256: str


@dataclass
class Manifest:
    """The files a build wrote (POSIX paths relative to the folder) and the releases they form."""

    files: dict[str, OwnedFile] = field(default_factory=dict)
    releases: list[str] = field(default_factory=list)
    complete: bool = False

    def to_json(self) -> str:
        data = {"complete": self.complete, "releases": self.releases,
                "files": {p: asdict(f) for p, f in sorted(self.files.items())}}
        return json.dumps(data, indent=1)

    @classmethod
    def from_json(cls, text: str, where: str) -> "Manifest":
        try:
            data = json.loads(text)
            files = {str(p): OwnedFile(int(f["size"]), str(f["sha256"])) for p, f in data["files"].items()}
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


def write_manifest(out_dir: Path, manifest: Manifest) -> None:
    path = Path(out_dir) / MANIFEST_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(manifest.to_json(), encoding="utf-8")
    os.replace(tmp, path)
