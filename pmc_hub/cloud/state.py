"""Incremental runs: what a previous run handled (the state file) and what this run must do (the plan)."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Optional

from ..errors import DataError
from .selection import Selection
from .transfer import write_atomic
from .versions import VERSION_KEY, ArticleVersion


class StateError(DataError):
    """The state file is damaged or belongs to another bucket."""


@dataclass
class SyncState:
    """(metadata key -> ETag, status) of every article version a previous run handled.

    ``status`` is ``fetched`` or ``skipped`` (with the selection fingerprint it was skipped under).
    Versions that failed are not recorded, so the next run tries them again.
    """

    path: Optional[Path]
    bucket: str
    entries: dict[str, dict] = field(default_factory=dict)

    FORMAT = 1

    @classmethod
    def load(cls, path: Optional[Path], bucket: str) -> "SyncState":
        if path is None or not Path(path).exists():
            return cls(Path(path) if path else None, bucket)
        fix = "delete it (or pass another state file) to start over; files already mirrored are not downloaded again"
        try:
            data = json.loads(Path(path).read_bytes())
        except (OSError, ValueError, RecursionError) as exc:
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise StateError(f"{path}: damaged state file ({reason}); {fix}") from None
        versions = data.get("versions", {}) if isinstance(data, dict) else None
        if not isinstance(versions, dict) or not all(isinstance(e, dict) for e in versions.values()):
            raise StateError(f"{path}: damaged state file (not a pmc-hub fetch state); {fix}")
        if data.get("format") != cls.FORMAT or data.get("bucket") != bucket:
            raise StateError(f"{path}: state of bucket {data.get('bucket')!r} (format {data.get('format')}), "
                             f"not {bucket!r} (format {cls.FORMAT}); use another state file")
        return cls(Path(path), bucket, dict(versions))

    def save(self) -> None:
        if self.path is None:
            return
        body = {"format": self.FORMAT, "bucket": self.bucket, "saved": datetime.now(timezone.utc).isoformat(),
                "versions": dict(sorted(self.entries.items()))}
        write_atomic(self.path, json.dumps(body, indent=0).encode("utf-8"))

    def is_current(self, version: ArticleVersion, fingerprint: str) -> bool:
        entry = self.entries.get(version.key)
        if entry is None or entry.get("etag") != version.etag:
            return False
        return entry.get("status") == "fetched" or entry.get("selection") == fingerprint


@dataclass
class SyncPlan:
    todo: list[ArticleVersion]  # new or updated versions, PMCID order
    listed: int = 0  # latest versions enumerated (one per PMCID)
    new: list[str] = field(default_factory=list)  # package ids
    updated: list[str] = field(default_factory=list)
    unchanged: int = 0
    removed: list[str] = field(default_factory=list)  # fetched before, gone from the bucket
    superseded: list[str] = field(default_factory=list)  # fetched before, a newer version now exists
    excluded: int = 0  # dropped by the key-level filters (PMCID list, since)


def plan_sync(latest: dict[str, ArticleVersion], state: SyncState, selection: Selection) -> SyncPlan:
    """Compare the enumerated latest versions with the state: what to fetch, what went away."""
    plan = SyncPlan(todo=[], listed=len(latest))
    fingerprint = selection.fingerprint()
    for version in sorted(latest.values(), key=lambda v: int(v.pmcid[3:])):
        if selection.key_reason(version):
            plan.excluded += 1
        elif state.is_current(version, fingerprint):
            plan.unchanged += 1
        else:
            plan.todo.append(version)
            (plan.updated if version.key in state.entries else plan.new).append(version.package_id)
    for key, entry in state.entries.items():
        if entry.get("status") != "fetched":
            continue
        m = VERSION_KEY.search(key)
        if not m or (selection.pmcids is not None and m.group(1) not in selection.pmcids):
            continue
        now = latest.get(m.group(1))
        if now is not None and now.key == key:
            continue
        package_id = f"{m.group(1)}.{m.group(2)}"
        (plan.superseded if now is not None and now.version > int(m.group(2)) else plan.removed).append(package_id)
    return plan
