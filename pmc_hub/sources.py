"""Local article sources, read one article at a time: article folders, legacy tarballs, PMC Cloud layout.

Every source yields `ArticlePackage`s. Remote PMC Cloud specs (``s3://``, ``http(s)://``) are
handed to `pmc_hub.cloud`.
"""
from __future__ import annotations

import os
import posixpath
import re
import tarfile
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Iterable, Iterator, Optional

from .cloud.metadata import BAD_METADATA, read_metadata_file
from .errors import UsageError
from .media import IMAGE_EXTENSIONS
from .models import ArticlePackage, InMemory, OnDisk
from .report import BAD_XML
from .resources import sample_dir

XML_SUFFIXES = (".nxml", ".xml")
TAR_SUFFIXES = (".tar.gz", ".tgz", ".tar")
MAX_MEMBER_BYTES = 256 * 1024 * 1024  # one image or XML file read from a tarball
MAX_PACKAGE_BYTES = 512 * 1024 * 1024  # everything one article's package holds in memory
UNSAFE_LINK = "unsafe link"
_VERSIONED = re.compile(r"^(PMC\d+)\.(\d+)$", re.I)
_WANTED = XML_SUFFIXES + IMAGE_EXTENSIONS  # the members a build reads; PDFs, videos, data files are not


class SourceError(UsageError, ValueError):
    """A source spec that names nothing readable."""


def check_sources(specs: Iterable[str | Path]) -> None:
    """Fail now, before anything is written, when a local source named by the user does not exist."""
    for spec in specs:
        if not str(spec).startswith(("s3://", "http://", "https://")) and not Path(spec).exists():
            raise SourceError(f"{spec}: no such file or folder")


def open_sources(specs: Iterable[str | Path]) -> Iterator[ArticlePackage]:
    """Packages from every spec in order; no spec at all means the bundled sample."""
    specs = list(specs) or [sample_dir()]
    for spec in specs:
        yield from open_source(spec)


def open_source(spec: str | Path, _lists: tuple[Path, ...] = ()) -> Iterator[ArticlePackage]:
    """Packages of one spec. Inside a folder, links are never followed: a linked file or folder is
    reported, not read (like a link in a tarball), so nothing outside the tree is read and a link
    loop cannot make a walk endless. The spec itself may be a link: it is what the user named."""
    text = str(spec)
    if text.startswith(("s3://", "http://", "https://")):
        from .cloud import open_cloud_source

        yield from open_cloud_source(text)
        return
    path = Path(spec)
    if not path.exists():
        raise SourceError(f"{spec}: no such file or folder")
    if path.is_file():
        yield from _file(path, _lists)
    elif _article_xml(path):
        yield _folder_package(path)
    else:
        yield from _tree(path)


def _file(path: Path, lists: tuple[Path, ...] = ()) -> Iterator[ArticlePackage]:
    name = path.name.lower()
    if name.endswith(TAR_SUFFIXES):
        yield from read_tarball(path)
    elif name.endswith(XML_SUFFIXES):
        yield _folder_package(path.parent, path)
    elif name.endswith((".txt", ".lst")):  # a list of sources, one per line
        if path.resolve() in lists:
            raise SourceError(f"{path}: a source list that includes itself (through {lists[-1]})")
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise SourceError(f"{path}: cannot read this source list ({exc})") from None
        for line in lines:
            if line.strip() and not line.startswith("#"):
                yield from open_source(path.parent / line.strip(), (*lists, path.resolve()))
    else:
        raise SourceError(f"{path}: not an article folder, XML file, tarball or list")


def _link_package(entry: Path) -> ArticlePackage:
    """A link met inside a source folder: reported under its name, never followed."""
    return ArticlePackage(entry.name, b"", {}, str(entry), {}, [(UNSAFE_LINK, f"{entry} is a symbolic link; links are not followed")])


@dataclass(frozen=True)
class _Entry:
    """One entry of a folder listing, with what the walk asks of it. A link is never followed: for
    an entry that is not a link, the answers are the file's own, taken from the listing (no
    ``stat`` call per question where the file system gives the type with the names)."""

    path: Path
    is_link: bool
    is_dir: bool
    is_file: bool

    @property
    def name(self) -> str:
        return self.path.name


def _listing(folder: Path) -> list[_Entry]:
    """A folder's entries sorted by name, read once."""
    with os.scandir(folder) as it:
        entries = [_Entry(Path(folder, e.name), e.is_symlink(), e.is_dir(follow_symlinks=False),
                          e.is_file(follow_symlinks=False)) for e in it]
    return sorted(entries, key=lambda e: e.name)


def _tree(root: Path) -> Iterator[ArticlePackage]:
    """A folder of article folders and/or tarballs, in sorted order; newest PMC Cloud version only."""
    entries = _listing(root)
    latest: dict[str, int] = {}
    for entry in entries:
        m = _VERSIONED.match(entry.name)
        if m and entry.is_dir:
            latest[m.group(1).upper()] = max(latest.get(m.group(1).upper(), 0), int(m.group(2)))
    for entry in entries:
        if entry.is_link:
            path = entry.path
            if entry.name.lower().endswith(XML_SUFFIXES + TAR_SUFFIXES) or path.is_dir() or not path.exists():
                yield _link_package(path)
            continue
        m = _VERSIONED.match(entry.name)
        if m and int(m.group(2)) != latest[m.group(1).upper()]:
            continue  # an older version of an article that has a newer one here
        if entry.is_dir:
            listing = _listing(entry.path)
            xml_path = _article_xml(entry.path, listing)
            if xml_path:
                yield _folder_package(entry.path, xml_path, listing)
            else:
                yield from _tree(entry.path)
        elif entry.name.lower().endswith(TAR_SUFFIXES):
            yield from read_tarball(entry.path)
        elif entry.name.lower().endswith(XML_SUFFIXES):
            yield _folder_package(root, entry.path)


def _article_xml(folder: Path, listing: Optional[list[_Entry]] = None) -> Optional[Path]:
    """The article XML of an article folder; None for a folder of articles (subfolders, tarballs,
    or several XML files none of which is plainly the article)."""
    entries = [e for e in (_listing(folder) if listing is None else listing) if not e.is_link]
    if any(e.is_dir or e.name.lower().endswith(TAR_SUFFIXES) for e in entries):
        return None
    xmls = sorted(e.path for e in entries if e.is_file and e.path.suffix.lower() in XML_SUFFIXES)
    if not xmls:
        return None
    preferred = [p for p in xmls if p.suffix.lower() == ".nxml"] or [p for p in xmls if p.stem == folder.name] or xmls
    return preferred[0] if len(xmls) == 1 or preferred is not xmls else None


def _folder_package(folder: Path, xml_path: Optional[Path] = None, listing: Optional[list[_Entry]] = None) -> ArticlePackage:
    """The package of an article folder (``listing``: the folder's entries, when read already)."""
    entries = _listing(folder) if listing is None else listing
    xml_path = xml_path or _article_xml(folder, entries)
    skips = [(UNSAFE_LINK, f"{e.name} is a symbolic link; links are not followed") for e in entries if e.is_link]
    media = {e.name: OnDisk(e.path) for e in entries
             if not e.is_link and e.is_file and e.path != xml_path and e.path.suffix.lower() not in XML_SUFFIXES}
    by_name = {e.name: e for e in entries}
    metadata = {}
    meta_path = folder / f"{xml_path.stem}.json"
    meta = by_name.get(meta_path.name)
    if meta is not None and meta.is_file and not meta.is_link:  # PMC Cloud layout: PMC123.1/PMC123.1.json
        media.pop(meta_path.name, None)
        parsed = read_metadata_file(meta_path, xml_path.stem)
        metadata = parsed.values
        skips += [(BAD_METADATA, f"{meta_path.name}: {problem}") for problem in parsed.problems]
    package_id = xml_path.stem if xml_path.parent != folder or folder.name != xml_path.stem else folder.name
    xml_entry = by_name.get(xml_path.name) if xml_path.parent == folder else None
    if xml_entry.is_link if xml_entry is not None else xml_path.is_symlink():
        return ArticlePackage(package_id, b"", {}, str(xml_path), {}, skips + [(UNSAFE_LINK, f"{xml_path.name} is a symbolic link")])
    xml = xml_path.read_bytes()
    if not xml:
        skips.append((BAD_XML, f"{xml_path.name} is a zero-byte file"))
    return ArticlePackage(package_id, xml, media, str(xml_path), metadata, skips, partial(_folder_package, folder, xml_path))


def read_tarball(path: Path) -> Iterator[ArticlePackage]:
    """Articles in a legacy PMC package (``PMC123.tar.gz``) or bulk package, member by member.

    Nothing is extracted to disk. Members are grouped by folder: media attach to the XML of
    their folder; a folder holding many XMLs (bulk packages) gives one package per XML.
    Unsafe members (absolute or ``..`` paths, links, devices) are skipped and reported.
    """
    current: Optional[dict] = None
    pending_skips: list[tuple[str, str]] = []
    try:
        with tarfile.open(path, "r|*") as tar:
            for member in tar:
                problem = _unsafe(member)
                if problem:
                    pending_skips.append(("unsafe tar member", f"{path.name}: {member.name!r} {problem}"))
                    continue
                if not member.isfile():
                    continue
                folder, name = posixpath.split(member.name.lstrip("./"))
                if current is not None and (folder != current["folder"] or (name.lower().endswith(XML_SUFFIXES) and current["xml"] is not None)):
                    yield _tar_package(path, current)
                    current = None
                if current is None:
                    current = {"folder": folder, "xml": None, "xml_name": None, "media": {}, "skips": pending_skips, "bytes": 0}
                    pending_skips = []
                if not name.lower().endswith(_WANTED):
                    continue  # never read: a build uses the XML and the images only
                if member.size > MAX_MEMBER_BYTES or current["bytes"] + member.size > MAX_PACKAGE_BYTES:
                    current["skips"].append(("member too large", f"{member.name}: {member.size} bytes (limits: "
                                                                 f"{MAX_MEMBER_BYTES} a file, {MAX_PACKAGE_BYTES} a package)"))
                    continue
                data = tar.extractfile(member).read()
                current["bytes"] += len(data)
                if name.lower().endswith(XML_SUFFIXES) and current["xml"] is None:
                    current["xml"], current["xml_name"] = data, name
                else:
                    current["media"][name] = InMemory(data)
    except (tarfile.TarError, EOFError, OSError) as exc:
        skips = (current["skips"] if current else []) + pending_skips
        yield ArticlePackage(_stem(path.name), b"", {}, str(path), {}, skips + [("bad archive", f"{path.name}: {exc}")])
        return
    if current is not None:
        current["skips"].extend(pending_skips)
        yield _tar_package(path, current)
    elif pending_skips:
        yield ArticlePackage(_stem(path.name), b"", {}, str(path), {}, pending_skips)


def _tar_package(path: Path, group: dict) -> ArticlePackage:
    name = group["xml_name"] or group["folder"] or path.name
    return ArticlePackage(_stem(name), group["xml"] or b"", group["media"], f"{path}:{group['folder']}/{name}", {}, group["skips"])


def _stem(name: str) -> str:
    for suffix in (".tar.gz", ".tgz", ".tar", ".nxml", ".xml"):
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return name


def _unsafe(member: tarfile.TarInfo) -> Optional[str]:
    name = member.name
    if name.startswith("/") or re.match(r"^[A-Za-z]:", name):
        return "has an absolute path"
    if ".." in Path(name).parts or ".." in name.split("/"):
        return "points outside the package (..)"
    if member.issym() or member.islnk():
        return "is a link"
    if member.isdev() or member.isfifo():
        return "is a device"
    return None
