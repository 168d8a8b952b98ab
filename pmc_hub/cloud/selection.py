"""Which article versions to take: PMCID list and update time (from the key), open access flag and
license group (from the version's metadata)."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Optional

from ..licenses import CATEGORIES, classify
from .bucket import SpecError, parse_time
from .versions import ArticleVersion


def normalize_pmcid(value: str) -> str:
    """``PMC123``, ``pmc123`` or ``123`` -> ``PMC123``; anything else is a ValueError naming it."""
    text = str(value).strip()
    m = re.fullmatch(r"(?i:pmc)?0*(\d{1,12})", text)
    if not m:
        raise ValueError(f"not a PMCID: {value!r}")
    return f"PMC{int(m.group(1))}"


def read_pmcid_file(path: Path) -> frozenset[str]:
    """One PMCID per line; blank lines and ``#`` comments ignored; a bad line names its number."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(f"{path}: cannot read the PMCID list: {exc}") from None
    ids = set()
    for n, line in enumerate(text.splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if line:
            try:
                ids.add(normalize_pmcid(line))
            except ValueError as exc:
                raise SpecError(f"{path}:{n}: {exc}") from None
    return frozenset(ids)


def license_category(metadata: dict) -> str:
    """License group of an article from its (parsed) metadata ``license_code``; none given -> other."""
    return classify(code=metadata.get("license_code") or None).category


def parse_since(text: str) -> datetime:
    """``2026-11-01`` or an ISO time -> aware UTC datetime; a `SpecError` otherwise."""
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text.strip()):
            return datetime.combine(date.fromisoformat(text.strip()), datetime.min.time(), timezone.utc)
        return parse_time(text)
    except ValueError:
        raise SpecError(f"not a date or ISO time: {text!r} (use YYYY-MM-DD)") from None


@dataclass(frozen=True)
class Selection:
    """Which articles to take. Key-level filters (PMCIDs, update time) need no download;
    metadata-level ones (open access flag, license group) need the article's JSON."""

    licenses: Optional[frozenset[str]] = None  # license categories to keep; None: all
    pmcids: Optional[frozenset[str]] = None
    since: Optional[datetime] = None  # metadata JSON last modified at or after this (UTC)
    open_access_only: bool = True
    limit: Optional[int] = None  # most packages to yield

    def __post_init__(self):
        bad = sorted(set(self.licenses or ()) - set(CATEGORIES))
        if bad:
            raise SpecError(f"unknown license group(s) {bad}: choose from {list(CATEGORIES)}")
        if self.limit is not None and self.limit < 1:
            raise SpecError(f"limit must be a positive number, not {self.limit}")
        if self.since is not None and self.since.tzinfo is None:
            object.__setattr__(self, "since", self.since.replace(tzinfo=timezone.utc))

    def fingerprint(self) -> str:
        """Identifies the metadata-level filters, so a run with other filters re-examines skips."""
        return json.dumps({"licenses": sorted(self.licenses) if self.licenses is not None else None,
                           "open_access_only": self.open_access_only}, sort_keys=True)

    def key_reason(self, version: ArticleVersion) -> Optional[str]:
        if self.pmcids is not None and version.pmcid not in self.pmcids:
            return "not in PMCID list"
        if self.since is not None and (version.last_modified is None or version.last_modified < self.since):
            return "not updated since"
        return None

    def metadata_reason(self, metadata: dict) -> Optional[str]:
        """Why a version is not taken, from its parsed metadata (`pmc_hub.cloud.metadata`); None: taken."""
        if self.open_access_only and metadata.get("is_pmc_openaccess") is not True:
            return "not in the open access subset (is_pmc_openaccess is not true)"
        if self.licenses is not None:
            category = license_category(metadata)
            if category not in self.licenses:
                return f"license group {category} not selected"
        return None
