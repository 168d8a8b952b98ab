"""What a build may touch in its output folder: the files of its manifest and of its journal, and
nothing else. A folder holding anything more is refused before a single byte is written."""
from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterable, Iterator, Optional

from .output import CARD_FILE, MANIFEST_FILE, RELEASES_DIR, REPORT_FILE, STATE_DIR, Manifest, OutputError, shard_config
from .state import BuildState

_OWN_TOP = (CARD_FILE, REPORT_FILE)


def release_files(checkpoints: Iterable[dict]) -> set[str]:
    """The shard paths a journal's checkpoints wrote."""
    return {w["path"] for cp in checkpoints for w in cp["files"].values()}


def folder_files(out: Path) -> list[str]:
    """Every file or link under ``out`` (links are not followed), POSIX paths, the state folder left out."""
    found = []
    for root, dirs, files in os.walk(out, followlinks=False):
        rel_root = Path(root).relative_to(out)
        if rel_root == Path("."):
            dirs[:] = [d for d in dirs if d != STATE_DIR]
        found.extend((rel_root / name).as_posix() for name in files)
        found.extend((rel_root / d).as_posix() for d in dirs if (Path(root) / d).is_symlink())
    return sorted(found)


# Shards rewritten beside the original by a two-phase edit (the benchmark carve, an update's
# removals), renamed into place by that edit itself: a resumed run leaves them alone.
CARVE_SUFFIX = ".carve.tmp"
UPDATE_SUFFIX = ".update.tmp"
EDIT_SUFFIXES = (CARVE_SUFFIX, UPDATE_SUFFIX)


def apply_edit(out: Path, prepared: dict) -> None:
    """Phase two of a two-phase shard edit: each prepared shard renamed over the one it replaces
    (``renames``), each emptied shard removed (``removed``). Safe to run again after a kill."""
    for tmp, final in prepared["renames"]:
        if (out / tmp).exists():
            os.replace(out / tmp, out / final)
    for rel in prepared["removed"]:
        (out / rel).unlink(missing_ok=True)


def _base(path: str) -> str:
    for suffix in (*EDIT_SUFFIXES, ".tmp"):
        if path.endswith(suffix):
            return _base(path[: -len(suffix)])
    return path


def _ours(path: str, owned: set[str], releases: set[str]) -> bool:
    base = _base(path)
    if base in owned or path in owned:
        return True
    if base in _OWN_TOP or base in {f"{RELEASES_DIR}/{r}.json" for r in releases}:
        return path != base or bool(releases)  # written by the unfinished build, or half-written
    parts = base.split("/")
    return shard_config(base) is not None and parts[1].split(".")[0] in releases


def claim(out: Path, manifest: Optional[Manifest], state: BuildState, resuming: bool) -> None:
    """Refuse a folder that holds files pmc-hub did not write here. Half-written shards of the
    release being built (a killed build's) count as its own and are removed."""
    owned = set(manifest.files) if manifest else set()
    checkpoints = state.checkpoints()
    owned |= release_files(checkpoints) | state.edited_files()
    current = state.read().get("release")
    releases = {current} if current and (resuming or checkpoints) else set()
    foreign = [p for p in folder_files(out) if not _ours(p, owned, releases) or (out / p).is_symlink()]
    if foreign:
        shown = ", ".join(foreign[:5]) + (f" and {len(foreign) - 5} more" if len(foreign) > 5 else "")
        raise OutputError(f"{out} holds {len(foreign)} file(s) pmc-hub did not write ({shown}); write to a new or "
                          "empty folder, or move them away")
    if resuming:
        for path in folder_files(out):
            if path.endswith(EDIT_SUFFIXES):
                continue  # their edit renames or redoes them itself
            if path not in owned and (path.endswith(".tmp") or shard_config(path) is not None):
                (out / path).unlink()  # a killed build's leftovers: redone from the journal


@contextmanager
def taken_over(out: Path, what: str) -> Iterator[None]:
    """Hold ``out`` for a run that rewrites it whole (merge, WebDataset export): locked, refused if
    it holds files no pmc-hub run wrote, and emptied of an earlier run's files."""
    from .output import locked, read_manifest

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    with locked(out, what):
        state = BuildState(out)
        previous = read_manifest(out)
        claim(out, previous, state, resuming=False)
        discard(out, previous, state)
        yield


def check_folder(out: Path) -> None:
    """Refuse now, before a build spends hours, a folder it will write later (--webdataset DIR)
    that holds files no pmc-hub run wrote."""
    from .output import read_manifest

    if Path(out).is_dir():
        claim(Path(out), read_manifest(Path(out)), BuildState(Path(out)), resuming=False)


def discard(out: Path, previous: Optional[Manifest], state: BuildState) -> None:
    """Remove what an earlier pmc-hub run wrote here (a finished one's manifest files, or the
    journal's files of an unfinished one started over), and nothing else; forget its state."""
    paths = set(previous.files) if previous else set()
    paths |= release_files(state.checkpoints())
    for rel in sorted(paths):
        (out / rel).unlink(missing_ok=True)
    for rel in sorted({str(Path(p).parent) for p in paths}, key=lambda p: -p.count("/")):
        _remove_empty_dirs(out, rel)
    (out / MANIFEST_FILE).unlink(missing_ok=True)
    state.reset()


def _remove_empty_dirs(out: Path, rel: str) -> None:
    folder = out / rel
    while folder != out and folder.is_dir() and not any(folder.iterdir()):
        folder.rmdir()
        folder = folder.parent
