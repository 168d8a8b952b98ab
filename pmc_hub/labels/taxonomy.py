"""The label taxonomy (``schemas/taxonomy.json``): primary classes, their secondary classes with the
caption cues and zero-shot prompts, and the panel types."""
from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Mapping, Optional

from ..errors import UsageError
from ..resources import schemas_dir


class TaxonomyError(UsageError, ValueError):
    """The taxonomy file, or a name said to be in it, is not valid."""


@dataclass(frozen=True)
class SecondaryClass:
    name: str
    prompt: str
    terms: tuple[str, ...] = ()  # case-insensitive regexes, matched on word boundaries
    abbreviations: tuple[str, ...] = ()  # case-sensitive regexes, not inside a longer token
    exclude: tuple[str, ...] = ()  # case-sensitive phrases that cancel a match (e.g. "CT Green")


@dataclass(frozen=True)
class PrimaryClass:
    id: int
    name: str
    description: str
    prompt: str
    secondary: tuple[SecondaryClass, ...]
    cues: tuple[str, ...] = ()  # weaker caption hints (case-insensitive regexes): "scale bar", "±"...


@dataclass(frozen=True)
class Taxonomy:
    version: str
    primary: tuple[PrimaryClass, ...]
    panel_subtypes: Mapping[str, tuple[str, ...]]  # panel type -> its subtypes

    def primary_named(self, name: str) -> PrimaryClass:
        for p in self.primary:
            if p.name == name:
                return p
        raise TaxonomyError(f"{name!r} is not a primary class of taxonomy {self.version}")

    def secondary_of(self, primary: str, name: str) -> SecondaryClass:
        for s in self.primary_named(primary).secondary:
            if s.name == name:
                return s
        raise TaxonomyError(f"{name!r} is not a secondary class under {primary!r}")

    def primary_of(self, secondary: str) -> PrimaryClass:
        """The primary class a secondary class sits under (secondary names are unique)."""
        for p in self.primary:
            if any(s.name == secondary for s in p.secondary):
                return p
        raise TaxonomyError(f"{secondary!r} is not a secondary class of taxonomy {self.version}")


def load_taxonomy(path: Optional[Path] = None) -> Taxonomy:
    """Read a taxonomy JSON (default ``schemas/taxonomy.json``)."""
    path = Path(path or schemas_dir() / "taxonomy.json")
    try:
        st = path.stat()
    except OSError as exc:
        raise TaxonomyError(f"{path}: cannot read taxonomy: {exc.strerror or exc}") from exc
    return _load_taxonomy(str(path), (st.st_mtime_ns, st.st_size))


@lru_cache(maxsize=8)
def _load_taxonomy(path: str, _stamp: tuple[int, int]) -> Taxonomy:  # the stamp makes an edited file reload
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
        primary = tuple(
            PrimaryClass(p["id"], p["name"], p.get("description", ""), p["prompt"], tuple(
                SecondaryClass(s["name"], s["prompt"], tuple(s.get("terms", ())),
                               tuple(s.get("abbreviations", ())), tuple(s.get("exclude", ())))
                for s in p["secondary"]), tuple(p.get("cues", ())))
            for p in raw["primary"])
        panels = {t["name"]: tuple(s["name"] for s in t["subtypes"]) for t in raw["panel_types"]}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise TaxonomyError(f"{path}: not a valid taxonomy: {exc}") from exc
    if [p.id for p in primary] != list(range(len(primary))):
        raise TaxonomyError(f"{path}: primary ids must be 0..n-1 in order")
    names = [s.name for p in primary for s in p.secondary]
    if len(names) != len(set(names)):
        raise TaxonomyError(f"{path}: secondary class names must be unique across the taxonomy")
    return Taxonomy(str(raw.get("version", "")), primary, panels)
