"""Local article sources, read one article at a time: article folders, legacy tarballs, PMC Cloud layout.

Every source yields `ArticlePackage`s. Remote PMC Cloud specs (``s3://``, ``http(s)://``) are
handed to `pmc_hub.cloud`.
"""
from __future__ import annotations

import posixpath
from functools import partial
import re
import tarfile
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


def _tree(root: Path) -> Iterator[ArticlePackage]:
    """A folder of article folders and/or tarballs, in sorted order; newest PMC Cloud version only."""
    entries = sorted(root.iterdir(), key=lambda p: p.name)
    latest: dict[str, int] = {}
    for entry in entries:
        m = _VERSIONED.match(entry.name)
        if m and entry.is_dir() and not entry.is_symlink():
            latest[m.group(1).upper()] = max(latest.get(m.group(1).upper(), 0), int(m.group(2)))
    for entry in entries:
        if entry.is_symlink():
            if entry.name.lower().endswith(XML_SUFFIXES + TAR_SUFFIXES) or entry.is_dir() or not entry.exists():
                yield _link_package(entry)
            continue
        m = _VERSIONED.match(entry.name)
        if m and int(m.group(2)) != latest[m.group(1).upper()]:
            continue  # an older version of an article that has a newer one here
        if entry.is_dir():
            if _article_xml(entry):
                yield _folder_package(entry)
            else:
                yield from _tree(entry)
        elif entry.name.lower().endswith(TAR_SUFFIXES):
            yield from read_tarball(entry)
        elif entry.name.lower().endswith(XML_SUFFIXES):
            yield _folder_package(root, entry)


def _article_xml(folder: Path) -> Optional[Path]:
    """The article XML of an article folder; None for a folder of articles (subfolders, tarballs,
    or several XML files none of which is plainly the article)."""
    entries = [p for p in folder.iterdir() if not p.is_symlink()]
    if any(p.is_dir() or p.name.lower().endswith(TAR_SUFFIXES) for p in entries):
        return None
    xmls = sorted(p for p in entries if p.is_file() and p.suffix.lower() in XML_SUFFIXES)
    if not xmls:
        return None
    preferred = [p for p in xmls if p.suffix.lower() == ".nxml"] or [p for p in xmls if p.stem == folder.name] or xmls
    return preferred[0] if len(xmls) == 1 or preferred is not xmls else None


def _folder_package(folder: Path, xml_path: Optional[Path] = None) -> ArticlePackage:
    xml_path = xml_path or _article_xml(folder)
    entries = sorted(folder.iterdir())
    skips = [(UNSAFE_LINK, f"{p.name} is a symbolic link; links are not followed") for p in entries if p.is_symlink()]
    media = {p.name: OnDisk(p) for p in entries
             if not p.is_symlink() and p.is_file() and p != xml_path and p.suffix.lower() not in XML_SUFFIXES}
    metadata = {}
    meta_path = folder / f"{xml_path.stem}.json"
    if meta_path.is_file() and not meta_path.is_symlink():  # PMC Cloud layout: PMC123.1/PMC123.1.json
        media.pop(meta_path.name, None)
        parsed = read_metadata_file(meta_path, xml_path.stem)
        metadata = parsed.values
        skips += [(BAD_METADATA, f"{meta_path.name}: {problem}") for problem in parsed.problems]
    package_id = xml_path.stem if xml_path.parent != folder or folder.name != xml_path.stem else folder.name
    if xml_path.is_symlink():
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
