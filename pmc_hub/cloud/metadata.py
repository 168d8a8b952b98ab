"""The PMC Cloud metadata JSON of one article version, read as untrusted input.

`parse_metadata` is the one reader of that JSON (the remote source, ``pmc-hub fetch`` and the
PMC Cloud layout on disk all use it). Every field is optional; a value of the wrong type or form
is dropped and named in ``problems``; text is cleaned so that nothing downstream (Parquet) can fail
on it (a bad ``license_code`` is kept as an unknown code, so a bad value never makes an article
look more freely licensed). Fields it does not know are left out. Only a record that names no
usable XML location ends the article (``xml`` is None): everything else is a note.
"""
from __future__ import annotations

import json
import re
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional, Union

from ..text import clean_text

MAX_METADATA_BYTES = 8 << 20  # real records are ~1 KB; media lists of big articles reach ~100 KB
MAX_TEXT_CHARS = 100_000
MAX_URL_CHARS = 4_000
BAD_METADATA = "bad metadata value"  # the skip reason under which dropped values are reported
# What a present but unusable license_code becomes: a code `pmc_hub.licenses.classify` does not know,
# so the article counts as an unknown license (group `other`) and never as commercial.
UNKNOWN_LICENSE_CODE = "(not a license code)"

TEXT_FIELDS = ("mid", "doi", "title", "citation")
FLAG_FIELDS = ("is_pmc_openaccess", "is_manuscript", "is_historical_ocr", "is_retracted")
URL_FIELDS = ("xml_url", "text_url", "pdf_url")

_PMCID = re.compile(r"PMC\d{1,12}")
_PMID = re.compile(r"\d{1,12}")
_MD5 = re.compile(r"[0-9a-f]{32}")
_MD5_QUERY = re.compile(r"md5=([0-9a-fA-F]{32})")
_VIRTUAL_HOSTED = re.compile(r"[^.]+\.s3[.-]")  # BUCKET.s3.amazonaws.com, BUCKET.s3-us-east-1...
_VERSIONED_ID = re.compile(r"PMC\d+\.\d+")


@dataclass(frozen=True)
class ObjectRef:
    """An object of the article's bucket folder: its key and, when the URL gives one, its MD5."""

    key: str
    md5: Optional[str] = None

    @property
    def name(self) -> str:
        return self.key.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class CloudMetadata:
    values: dict[str, Any]  # the known fields that were well typed (null kept as None): JSON-able, clean text
    problems: tuple[str, ...]  # one line per dropped value: "field: what was wrong"
    xml: Optional[ObjectRef]  # where the article XML is; None: the record names no usable location
    media: tuple[ObjectRef, ...]  # the usable media_urls, in order


def _kind(value: Any) -> str:
    """``a number``, ``an array``...: the JSON type of a decoded value, for messages."""
    if value is None:
        name = "null"
    elif isinstance(value, bool):
        name = "boolean"
    elif isinstance(value, (int, float)):
        name = "number"
    else:
        name = {str: "string", list: "array", dict: "object"}.get(type(value), type(value).__name__)
    return f"{'an' if name[0] in 'aeiou' else 'a'} {name}"


def _shown(value: Any) -> str:
    """A short, clean rendering of an untrusted value for a message (never a huge or deep repr)."""
    if isinstance(value, str):
        return clean_text(repr(value[:60]))
    if isinstance(value, (int, float)) and not isinstance(value, bool) and abs(value) < 1e15:
        return repr(value)
    return _kind(value)


def _safe_name(name: str) -> bool:
    return bool(name) and name not in (".", "..") and not name.startswith(".") and "\\" not in name


def parse_object_url(url: str, package_id: Optional[str] = None) -> ObjectRef:
    """``s3://bucket/PMC1.1/f.jpg?md5=...`` (or an http(s) URL, virtual-hosted or path-style) ->
    `ObjectRef`. A ValueError says why the URL is unusable: unparsable, an unsafe file name, or (with
    ``package_id``) a key outside the folder ``PMC1.1/`` of that version."""
    if len(url) > MAX_URL_CHARS:
        raise ValueError(f"longer than {MAX_URL_CHARS} characters")
    parts = urllib.parse.urlsplit(url.strip())  # ValueError for e.g. "http://[::1/x"
    if parts.scheme not in ("s3", "http", "https"):
        raise ValueError(f"{_shown(url)} is not an s3:// or http(s):// URL")
    key = urllib.parse.unquote(parts.path).lstrip("/")
    host = (parts.hostname or "").lower()
    if parts.scheme in ("http", "https") and not _VIRTUAL_HOSTED.match(host) and "/" in key:
        key = key.split("/", 1)[1]  # path-style URL: drop the bucket name
    folder, _, name = key.rpartition("/")
    if not _safe_name(name) or clean_text(name) != name:
        raise ValueError(f"unsafe file name in key {_shown(key)}")
    if package_id is not None and folder != package_id:
        raise ValueError(f"key {_shown(key)} is outside the article's folder {package_id}/")
    return ObjectRef(key, _md5_of(parts.query))


def _md5_of(query: str) -> Optional[str]:
    """The ``md5`` of a URL's query, lower case, when it is 32 hex digits."""
    if (plain := _MD5_QUERY.fullmatch(query)) is not None:  # the bucket's own form: no decoding to do
        return plain.group(1).lower()
    md5 = (urllib.parse.parse_qs(query).get("md5") or [""])[0].strip().lower()
    return md5 if _MD5.fullmatch(md5) else None


class _Reader:
    """Collects clean values and problems field by field."""

    def __init__(self, data: dict):
        self.data = data
        self.values: dict[str, Any] = {}
        self.problems: list[str] = []

    def take(self, name: str, convert: Callable[[Any], Any], unusable: Optional[tuple[Any, str]] = None) -> Any:
        """The converted value of field ``name`` (None when absent, null or bad). A bad value is
        dropped, or with ``unusable=(stand_in, why)`` replaced by ``stand_in``."""
        if name not in self.data:
            return None
        raw = self.data[name]
        if raw is None:
            self.values[name] = None
            return None
        try:
            value = convert(raw)
        except (TypeError, ValueError) as exc:
            problem = f"{name}: {clean_text(str(exc))[:300]}"
            if unusable is not None:
                self.values[name] = unusable[0]
                problem += f"; {unusable[1]}"
            self.problems.append(problem)
            return None
        self.values[name] = value
        return value


def _text(max_chars: int = MAX_TEXT_CHARS) -> Callable[[Any], str]:
    def convert(value: Any) -> str:
        if not isinstance(value, str):
            raise TypeError(f"{_kind(value)}, not a string")
        if len(value) > max_chars:
            raise ValueError(f"{len(value)} characters, more than {max_chars}")
        return clean_text(value)
    return convert


def _flag(value: Any) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{_kind(value)}, not true or false")
    return value


def _digits(pattern: re.Pattern, what: str) -> Callable[[Any], str]:
    def convert(value: Any) -> str:
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            value = str(value)
        if not isinstance(value, str) or not pattern.fullmatch(value.strip()):
            raise ValueError(f"{_shown(value)} is not {what}")
        return value.strip()
    return convert


def _version(value: Any) -> int:
    if isinstance(value, str) and value.strip().isdigit() and len(value.strip()) <= 9:
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 10**9:
        raise ValueError(f"{_shown(value)} is not a version number")
    return value


def _url(value: Any) -> str:
    text = _text(MAX_URL_CHARS)(value)
    try:
        urllib.parse.urlsplit(text)
    except ValueError as exc:  # e.g. "http://[::1/x": Invalid IPv6 URL
        raise ValueError(f"{_shown(text)} is not a URL ({exc})") from None
    return text


def _bounded_int(text: str) -> Union[int, float]:
    # A number too long for int() would fail the whole record; as infinity it fails only its field.
    return int(text) if len(text) <= 30 else float("inf")


def _load(raw: Union[bytes, str, dict]) -> tuple[Optional[dict], Optional[str]]:
    """(the JSON object, None) or (None, why it is unreadable)."""
    if isinstance(raw, dict):
        return raw, None
    if len(raw) > MAX_METADATA_BYTES:
        return None, f"unreadable metadata JSON: larger than {MAX_METADATA_BYTES} bytes"
    try:
        data = json.loads(raw, parse_int=_bounded_int)
    except RecursionError:
        return None, "unreadable metadata JSON: nested too deeply"
    except (ValueError, UnicodeDecodeError) as exc:  # also a number too long to convert
        return None, f"unreadable metadata JSON: {clean_text(str(exc))[:300]}"
    if not isinstance(data, dict):
        return None, f"metadata JSON is {_kind(data)}, not an object"
    return data, None


def read_metadata_file(path: Path, package_id: Optional[str] = None) -> CloudMetadata:
    """`parse_metadata` of a metadata file on disk (the PMC Cloud layout), reading at most the size limit."""
    try:
        with open(path, "rb") as fh:
            raw = fh.read(MAX_METADATA_BYTES + 1)
    except OSError as exc:
        return CloudMetadata({}, (f"unreadable metadata file: {exc.strerror or exc}",), None, ())
    return parse_metadata(raw, package_id)


def parse_metadata(raw: Union[bytes, str, dict], package_id: Optional[str] = None) -> CloudMetadata:
    """Read one metadata record (bytes, text or an already decoded object); never raises.

    With ``package_id`` (``PMC<id>.<N>``; other ids are ignored), the record must be that
    version's: a ``pmcid`` or ``version`` of another is dropped, object URLs must lie in the folder
    ``PMC<id>.<N>/``, and an absent ``xml_url`` means the bucket's usual ``PMC<id>.<N>/PMC<id>.<N>.xml``.
    """
    data, unreadable = _load(raw)
    if data is None:
        return CloudMetadata({}, (unreadable,), None, ())
    if package_id is not None and not _VERSIONED_ID.fullmatch(package_id):
        package_id = None
    r = _Reader(data)
    expected_pmcid, _, expected_version = (package_id or "").partition(".")

    pmcid = r.take("pmcid", _digits(_PMCID, "a PMCID (PMC<digits>)"))
    if pmcid and package_id and pmcid != expected_pmcid:
        r.problems.append(f"pmcid: {pmcid} is not the article's ({expected_pmcid})")
        del r.values["pmcid"]
    version = r.take("version", _version)
    if version and package_id and str(version) != expected_version:
        r.problems.append(f"version: {version} is not the article's ({expected_version})")
        del r.values["version"]
    r.take("pmid", _digits(_PMID, "a PMID"))
    for name in TEXT_FIELDS:
        r.take(name, _text())
    r.take("license_code", _text(), unusable=(UNKNOWN_LICENSE_CODE, "counted as an unknown license"))
    for name in FLAG_FIELDS:
        r.take(name, _flag)
    for name in URL_FIELDS[1:]:
        r.take(name, _url)

    xml: Optional[ObjectRef] = None
    xml_url = r.take("xml_url", _url)
    if xml_url is not None:
        try:
            xml = parse_object_url(xml_url, package_id)
        except ValueError as exc:
            r.problems.append(f"xml_url: {clean_text(str(exc))[:300]}")
            del r.values["xml_url"]
    elif "xml_url" not in data or data["xml_url"] is None:
        if package_id:
            xml = ObjectRef(f"{package_id}/{package_id}.xml")

    media = _media(r, package_id)
    return CloudMetadata(r.values, tuple(r.problems), xml, tuple(media))


def _media(r: _Reader, package_id: Optional[str]) -> list[ObjectRef]:
    """The usable media_urls as refs (first of each file name); sets ``values["media_urls"]``."""
    if "media_urls" not in r.data:
        return []
    urls = r.data["media_urls"]
    if urls is None:
        r.values["media_urls"] = None
        return []
    if not isinstance(urls, list):
        r.problems.append(f"media_urls: {_kind(urls)}, not a list")
        return []
    refs: dict[str, ObjectRef] = {}
    kept: list[str] = []
    bad: list[str] = []
    for i, url in enumerate(urls):
        try:
            text = _url(url)
            ref = parse_object_url(text, package_id)
        except (TypeError, ValueError) as exc:
            bad.append(f"item {i}: {clean_text(str(exc))[:200]}")
            continue
        refs.setdefault(ref.name, ref)
        kept.append(text)
    r.values["media_urls"] = kept
    if bad:
        more = f" (and {len(bad) - 1} more)" if len(bad) > 1 else ""
        r.problems.append(f"media_urls: {len(bad)} of {len(urls)} dropped: {bad[0]}{more}")
    return list(refs.values())
