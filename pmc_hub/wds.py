"""WebDataset output (module named `wds` so it never shadows the `webdataset` library): figure rows
-> rolling tar shards under ``{config}/{split}-{i:05d}.tar``.

One sample per figure row, all members sharing one dot-free key (``PMC123_fig1_g001``):

- ``KEY.jpg`` / ``KEY.png`` / ``KEY.tif``... the original image bytes, extension from ``image_format``;
- ``KEY.txt`` the caption (UTF-8);
- ``KEY.json`` every other field of the row, in schema order.

Tar headers are deterministic (mtime 0, uid/gid 0, no user names, mode 0644), so the same rows
give byte-identical shards. A shard is written under a temporary name and renamed when complete,
so an interrupted build never leaves a truncated ``.tar`` that a loader would pick up.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import re
import tarfile
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Iterator, Optional

if TYPE_CHECKING:
    from datasets import Features

    from .report import BuildReport

from .config import ShardLayout
from .errors import DataError
from .output import (CARD_FILE, FIGURE_CONFIGS, REPORT_FILE, SPLIT, Manifest, OwnedFile, owned_file,
                     write_manifest, write_owned_text)
from .output import shard_config as shard_config_parquet
from .schema import features as schema_features
from .schema import load_schema
from .writers import iter_rows

DEFAULT_MAX_SHARD_BYTES = 512 * 1024 * 1024
IMAGE_FIELD = "image"
CAPTION_FIELD = "caption"

# Pillow format name -> the member extension that WebDataset readers map to an image decoder.
_EXTENSIONS = {"JPEG": "jpg", "PNG": "png", "TIFF": "tif", "GIF": "gif", "BMP": "bmp", "WEBP": "webp",
               "JPEG2000": "jp2", "MPO": "jpg"}
# Extensions a build can produce; the loader's features declare each one as an image column.
IMAGE_EXTENSIONS = ("jpg", "png", "tif", "gif", "bmp", "webp", "jp2")
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")


class WebDatasetError(DataError, ValueError):
    """A row that cannot become a WebDataset sample (the message names the row and the reason)."""


def image_extension(image_format: str, file_name: str = "") -> str:
    """The member extension for an image: ``jpg`` for JPEG, ``png`` for PNG; other formats keep
    their file's own extension (``.tif``) or, failing that, the lower-cased format name."""
    ext = _EXTENSIONS.get((image_format or "").upper())
    if ext:
        return ext
    own = Path(file_name).suffix.lstrip(".").lower()
    ext = _UNSAFE.sub("", own or (image_format or "").lower())
    if not ext:
        raise WebDatasetError(f"{file_name or '?'}: no image format or file extension to name the member")
    return ext


def sample_key(row: dict) -> str:
    """Dot-free key from the row's accession, figure id and file stem: ``PMC123_fig1_g001``."""
    stem = Path(str(row.get("image_file_name") or "")).stem
    parts = [str(row.get("article_accession_id") or ""), str(row.get("figure_id") or ""), stem]
    key = "_".join(p for p in (_UNSAFE.sub("_", part).strip("_") for part in parts) if p)
    if not key:
        raise WebDatasetError(f"{row.get('image_key', '?')}: no accession, figure id or file name to build a key")
    return key


def to_sample(row: dict) -> tuple[str, list[tuple[str, bytes]]]:
    """(key, [(member suffix, bytes)...]) for one figure row: image, caption, metadata JSON."""
    name = row.get("image_key", "?")
    image = row.get(IMAGE_FIELD)
    if not isinstance(image, dict) or not isinstance(image.get("bytes"), (bytes, bytearray)) or not image["bytes"]:
        raise WebDatasetError(f"{name}: row has no image bytes")
    caption = row.get(CAPTION_FIELD)
    if not isinstance(caption, str):
        raise WebDatasetError(f"{name}: row has no caption string")
    meta = {k: v for k, v in row.items() if k not in (IMAGE_FIELD, CAPTION_FIELD)}
    try:
        meta_bytes = json.dumps(meta, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    except (TypeError, ValueError) as exc:
        raise WebDatasetError(f"{name}: metadata is not JSON-serialisable: {exc}") from exc
    ext = image_extension(str(row.get("image_format") or ""), str(row.get("image_file_name") or ""))
    members = [(ext, bytes(image["bytes"])), ("txt", caption.encode("utf-8")), ("json", meta_bytes)]
    return sample_key(row), members


def from_sample(sample: dict) -> dict:
    """Rebuild the figure row from a decoded-to-bytes sample (``{"jpg": b..., "txt": b..., "json": b...}``),
    as the `webdataset` library yields it without a decoder."""
    image_ext = next((k for k in sample if k not in ("txt", "json") and not k.startswith("__")), None)
    if image_ext is None:
        raise WebDatasetError(f"{sample.get('__key__', '?')}: sample has no image member")
    meta = json.loads(sample["json"])
    caption = sample["txt"].decode("utf-8") if isinstance(sample["txt"], bytes) else sample["txt"]
    row = {IMAGE_FIELD: {"bytes": sample[image_ext], "path": meta.get("image_file_name")}, CAPTION_FIELD: caption}
    row.update(meta)
    order = list(load_schema("figure")["properties"])
    return {k: row[k] for k in order if k in row} | {k: v for k, v in row.items() if k not in order}


def _tarinfo(name: str, size: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size = size
    info.mtime = 0
    info.mode = 0o644
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info


class WebDatasetWriter:
    """Writes one config/split as rolling tar shards; `close()` returns the shard paths relative
    to ``out_dir`` (``commercial/train-00000.tar``...).

    A shard is closed before a sample would take it past ``max_shard_bytes`` or past
    ``max_shard_rows`` samples; a single sample larger than the limit gets a shard of its own.
    """

    def __init__(self, out_dir: str | os.PathLike, config: str, split: str = "train",
                 max_shard_bytes: int = DEFAULT_MAX_SHARD_BYTES, max_shard_rows: Optional[int] = None):
        if max_shard_bytes <= 0 or (max_shard_rows is not None and max_shard_rows <= 0):
            raise ValueError("shard limits must be positive")
        self.out_dir = Path(out_dir)
        self.config = config
        self.split = split
        self.max_shard_bytes = max_shard_bytes
        self.max_shard_rows = max_shard_rows
        self.rows_written = 0
        self.extensions: set[str] = set()  # image extensions written, for the card's features
        self._files: list[str] = []
        self._tar: Optional[tarfile.TarFile] = None
        self._tmp: Optional[Path] = None
        self._shard_rows = 0
        self._shard_bytes = 0
        self._keys: set[str] = set()  # keys in the open shard; readers group members by key
        (self.out_dir / config).mkdir(parents=True, exist_ok=True)

    def write(self, row: dict) -> None:
        key, members = to_sample(row)
        size = sum(512 + -(-len(data) // 512) * 512 for _, data in members)
        if self._tar is not None and self._shard_bytes + size > self.max_shard_bytes:
            self._finish_shard()
        if self._tar is None:
            self._open_shard()
        if key in self._keys:
            # Two file names with one stem (g001.jpg, g001.png) or names equal after cleaning:
            # a digest of the unique image_key keeps the samples apart, deterministically.
            key = f"{key}_{hashlib.sha1(str(row.get('image_key')).encode()).hexdigest()[:8]}"
        self._keys.add(key)
        for suffix, data in members:
            self._tar.addfile(_tarinfo(f"{key}.{suffix}", len(data)), io.BytesIO(data))
        self.extensions.add(members[0][0])
        self._shard_rows += 1
        self._shard_bytes += size
        self.rows_written += 1
        if self.max_shard_rows is not None and self._shard_rows >= self.max_shard_rows:
            self._finish_shard()  # now, so a full shard is final even if a later row fails

    def write_all(self, rows: Iterable[dict]) -> None:
        for row in rows:
            self.write(row)

    def close(self) -> list[str]:
        if self._tar is not None:
            self._finish_shard()
        return list(self._files)

    def abort(self) -> None:
        """Drop the shard in progress (on error); finished shards stay."""
        if self._tar is not None:
            self._tar.close()
            self._tar = None
            if self._tmp is not None:
                self._tmp.unlink(missing_ok=True)

    def __enter__(self) -> "WebDatasetWriter":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()

    def _shard_name(self) -> str:
        return f"{self.config}/{self.split}-{len(self._files):05d}.tar"

    def _open_shard(self) -> None:
        self._tmp = self.out_dir / (self._shard_name() + ".tmp")
        self._tar = tarfile.open(self._tmp, "w", format=tarfile.PAX_FORMAT)
        self._shard_rows = self._shard_bytes = 0
        self._keys = set()

    def _finish_shard(self) -> None:
        assert self._tar is not None and self._tmp is not None
        self._tar.close()
        name = self._shard_name()
        os.replace(self._tmp, self.out_dir / name)
        self._files.append(name)
        self._tar = None
        self._tmp = None


def open_writer(out_dir: str | os.PathLike, config: str, split: str = "train", **limits) -> WebDatasetWriter:
    """Open the WebDataset writer for one config (``max_shard_bytes``, ``max_shard_rows``)."""
    return WebDatasetWriter(out_dir, config, split, **limits)


def features(extensions: Iterable[str] = IMAGE_EXTENSIONS) -> "Features":
    """`datasets.Features` of a pmc-hub WebDataset config, for the card's ``dataset_info`` or
    ``load_dataset(..., features=...)``: one image column per extension present (absent ones are
    null), the caption as ``txt`` and the other fields as the ``json`` struct.

    Declaring them matters: without it `datasets` infers the columns from the first five samples
    only, and a shard mixing ``.jpg`` and ``.png`` members fails to load."""
    from datasets import Features, Image, Value  # only for cards and loaders of WebDataset folders

    meta = {k: v for k, v in schema_features("figure").items() if k not in (IMAGE_FIELD, CAPTION_FIELD)}
    cols: dict = {ext: Image() for ext in sorted(set(extensions))}
    cols.update({"txt": Value("string"), "json": meta, "__key__": Value("string"), "__url__": Value("string")})
    return Features(cols)


def card_config(config: str, split: str = "train") -> dict:
    """The card's ``configs:`` entry for a WebDataset config."""
    return {"config_name": config, "data_files": [{"split": split, "path": f"{config}/{split}-*.tar"}]}


def card_dataset_info(config: str, extensions: Iterable[str]) -> dict:
    """The card's ``dataset_info:`` entry for a WebDataset config: its declared `features`."""
    return {"config_name": config, "features": features(extensions)._to_yaml_list()}


def iter_samples(paths: Iterable[str | os.PathLike]) -> Iterator[dict]:
    """Yield figure rows back from shards with the standard library only (for checks and tools)."""
    for path in paths:
        with tarfile.open(path, "r:") as tar:
            sample: dict = {}
            for member in tar:
                if not member.isfile():
                    continue
                key, _, suffix = member.name.partition(".")
                if sample and sample["__key__"] != key:
                    yield from_sample(sample)
                    sample = {}
                sample["__key__"] = key
                sample[suffix] = tar.extractfile(member).read()
            if sample:
                yield from_sample(sample)


def shard_config(path: str) -> Optional[tuple[str, str]]:
    """(config, split) of a WebDataset shard path ``<config>/<split>-NNNNN.tar``, else None."""
    m = re.fullmatch(r"([A-Za-z0-9_]+)/([A-Za-z0-9_]+)-\d{5}\.tar", path)
    return (m.group(1), m.group(2)) if m else None


def shard_glob(config: str, split: str) -> str:
    return f"{config}/{split}-*.tar"


def export_build(out: Path, wds_dir: Path, report: "BuildReport", files: dict[str, OwnedFile], layout: ShardLayout,
                 write_card: bool = True) -> dict[str, OwnedFile]:
    """Write a finished build's figure configs (``files``: its manifest) as WebDataset shards in
    their own folder, with their own report, card and manifest; `datasets` picks one loader per
    repository, so Parquet and tar shards cannot share one. The folder is claimed like a build's:
    only an earlier export of pmc-hub is replaced."""
    from .ownership import taken_over

    out, wds_dir = Path(out), Path(wds_dir)
    if wds_dir.resolve() == out.resolve():
        raise WebDatasetError("the WebDataset folder must differ from the Parquet output folder")
    with taken_over(wds_dir, "webdataset export"):
        owned: dict[str, OwnedFile] = {}
        configs = {}
        for config in FIGURE_CONFIGS:
            shards = [out / p for p in sorted(files) if shard_config_parquet(p) == (config, SPLIT)]
            if not shards:
                continue
            with open_writer(wds_dir, config, SPLIT, max_shard_bytes=layout.shard_bytes) as writer:
                writer.write_all(iter_rows(shards))
            for rel in writer.close():
                owned[rel] = owned_file(wds_dir / rel)
            configs[config] = report.configs.get(config, {})
        wds_report = json.loads(report.to_json())
        wds_report["configs"] = configs
        owned[REPORT_FILE] = write_owned_text(wds_dir, REPORT_FILE, json.dumps(wds_report, indent=1))
        if write_card and configs:
            from .cards import render_card

            owned[CARD_FILE] = write_owned_text(wds_dir, CARD_FILE, render_card(wds_dir, wds_report, owned))
        write_manifest(wds_dir, Manifest(owned, [], complete=True))
    return owned
