"""Dataset cards: a built folder + its build report -> README.md (YAML metadata + body).

The metadata is built here as data (never templated text, so it is always valid YAML), checked
against ``schemas/card.schema.json``; the body and the gate prompt are rendered from the Jinja2
templates in ``cards/``. Every number on the card comes from the folder itself: configs and
``data_files`` from the shards actually present, row counts from the report, checked against
the Parquet footers (a wrong ``num_examples`` makes ``load_dataset`` fail its split check).
"""
from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Optional

import jinja2
import pyarrow.parquet as pq
import yaml

from . import licenses, wds
from .errors import DataError
from .output import ARTICLES, CARD_FILE, FIGURE_CONFIGS, REPORT_FILE, OwnedFile, read_manifest, schema_of, shard_config, shard_glob
from .resources import templates
from .schema import field_docs, load_schema, yaml_features

log = logging.getLogger(__name__)

DEFAULT_CONFIG = licenses.COMMERCIAL

# The gate field types the Hub's gate form knows (https://huggingface.co/docs/hub/datasets-gated).
GATE_FIELD_TYPES = ("text", "checkbox", "date_picker", "country", "select")
_GATE_TYPE_ALIASES = {"date": "date_picker"}

DEFAULT_GATE_FIELDS: dict[str, Any] = {
    "Name": "text",
    "Affiliation": "text",
    "Country": "country",
    "Intended use": {"type": "select", "options": ["Research", "Education", "Commercial product", "Other"]},
    "Describe how you will use the data": "text",
    "I will check the license of each item before reuse": "checkbox",
    "I will not try to re-identify any person in the data": "checkbox",
    "I will not use the data for clinical decisions": "checkbox",
}

PMC_LICENSE_LINK = "https://pmc.ncbi.nlm.nih.gov/tools/openftlist/"

# HF license ids for PMC license codes (versions the Hub lists); anything else is `other`.
_HF_LICENSE_VERSIONS = {
    "cc-by": ("2.0", "2.5", "3.0", "4.0"), "cc-by-sa": ("3.0", "4.0"), "cc-by-nd": ("4.0",),
    "cc-by-nc": ("2.0", "3.0", "4.0"), "cc-by-nc-sa": ("2.0", "3.0", "4.0"), "cc-by-nc-nd": ("3.0", "4.0"),
}
_SIZE_CATEGORIES = [(1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M"),
                    (10_000_000, "1M<n<10M"), (100_000_000, "10M<n<100M"), (1_000_000_000, "100M<n<1B")]
class CardError(DataError, ValueError):
    """The card cannot be written: a bad gate-fields file, a count that disagrees with the files..."""


@dataclass
class CardOptions:
    pretty_name: str = "PMC Open Access figures"
    repo_id: str = "ORG/NAME"  # used in the loading examples
    gate_fields: dict[str, Any] = field(default_factory=lambda: dict(DEFAULT_GATE_FIELDS))
    gated: bool = True
    extra_gated_heading: str = "Acknowledge the license terms of PMC Open Access articles"
    extra_gated_button_content: str = "Agree and request access"
    tags: list[str] = field(default_factory=lambda: ["biology", "medical", "pubmed-central", "figures", "image-text"])


@dataclass
class ConfigSummary:
    """What the card says about one config."""

    name: str
    format: str
    schema: str  # "figure" or "article"
    rows: dict[str, int]  # split -> rows
    licenses: dict[str, int]  # license code -> rows (when the report has it)
    data_files: list[dict]
    files: dict[str, list[str]] = field(default_factory=dict)  # split -> shard paths

    @property
    def total(self) -> int:
        return sum(self.rows.values())


# ---------------------------------------------------------------- the folder's configs

def config_files(files: dict[str, OwnedFile]) -> dict[tuple[str, str, str], list[str]]:
    """(config, format, split) -> the manifest's files for it: Parquet release shards and
    WebDataset ``<config>/<split>-NNNNN.tar`` shards."""
    found: dict[tuple[str, str, str], list[str]] = {}
    for path in sorted(files):
        if (cs := shard_config(path)) is not None:
            found.setdefault((cs[0], "parquet", cs[1]), []).append(path)
        elif (ws := wds.shard_config(path)) is not None:
            found.setdefault((ws[0], "webdataset", ws[1]), []).append(path)
    if len({fmt for _, fmt, _ in found}) > 1:
        # `datasets` picks one loader for a whole folder or repo: mixed formats cannot all load.
        raise CardError("a folder holding both Parquet and WebDataset shards cannot be loaded; write WebDataset "
                        "output to its own folder (one Hub repo per format)")
    return found


def load_report(out_dir: Path) -> dict:
    path = Path(out_dir) / REPORT_FILE
    if not path.is_file():
        raise CardError(f"{out_dir}: no {REPORT_FILE}; run `pmc-hub build` first")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as e:
        raise CardError(f"{path}: not valid JSON: {e}") from e


def license_counts(report: dict) -> dict[str, dict[str, int]]:
    """Per figure config, articles per license code (the report's ``license_codes``)."""
    return {config: dict(codes) for config, codes in (report.get("license_codes") or {}).items() if config in FIGURE_CONFIGS}


def hf_license_id(code: str) -> Optional[str]:
    """Hub license id of a PMC code (``CC BY-NC 4.0`` -> ``cc-by-nc-4.0``); None when the Hub has none."""
    norm = re.sub(r"\s+", " ", code.strip().upper())
    if norm in ("CC0", "CC0 1.0"):
        return "cc0-1.0"
    m = re.fullmatch(r"CC[ -]BY((?:-(?:NC|SA|ND))*)(?: (\d\.\d))?", norm)
    if not m:
        return None
    kind = "cc-by" + m.group(1).lower()
    versions = _HF_LICENSE_VERSIONS.get(kind, ())
    version = m.group(2) or "4.0"
    return f"{kind}-{version}" if version in versions else None


def size_category(n: int) -> str:
    for limit, name in _SIZE_CATEGORIES:
        if n < limit:
            return name
    return "n>1T" if n > 10**12 else "1B<n<10B"


# ---------------------------------------------------------------- gate fields

def load_gate_fields(path: Path) -> dict[str, Any]:
    """Read a gate-fields YAML/JSON file: ``{label: type}`` or ``{label: {type: select, options: [...]}}``.

    Types: text, checkbox, country, date (written as the Hub's ``date_picker``), select."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as e:
        raise CardError(f"{path}: cannot read gate fields: {e}") from e
    if not isinstance(data, dict) or not data:
        raise CardError(f"{path}: gate fields must be a non-empty mapping of label -> type")
    return normalize_gate_fields(data, source=str(path))


def normalize_gate_fields(data: dict, source: str = "gate fields") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for label, spec in data.items():
        kind = spec.get("type") if isinstance(spec, dict) else spec
        kind = _GATE_TYPE_ALIASES.get(kind, kind)
        if kind not in GATE_FIELD_TYPES:
            raise CardError(f"{source}: field {label!r}: type {kind!r} is not one of "
                            f"{', '.join(GATE_FIELD_TYPES)} (or 'date')")
        if kind == "select":
            options = spec.get("options") if isinstance(spec, dict) else None
            if not options or not isinstance(options, list):
                raise CardError(f"{source}: field {label!r}: a select needs a non-empty `options` list")
            out[str(label)] = {"type": "select", "options": options}
        else:
            out[str(label)] = kind
    return out


# ---------------------------------------------------------------- summary and metadata

def summarize(out_dir: Path, report: dict, files: dict[str, OwnedFile]) -> list[ConfigSummary]:
    """One summary per non-empty config, default config first, then figure configs, then the rest."""
    lic = license_counts(report)
    by_config: dict[tuple[str, str], dict[str, list[str]]] = {}
    for (config, fmt, split), paths in config_files(files).items():
        by_config.setdefault((config, fmt), {})[split] = paths
    summaries = []
    for (config, fmt), splits in by_config.items():
        reported = (report.get("configs") or {}).get(config, {})
        rows: dict[str, int] = {}
        for split, paths in splits.items():
            if fmt == "parquet":
                held = sum(_rows(out_dir, p, files[p]) for p in paths)
                if split in reported and reported[split] != held:
                    raise CardError(f"config {config!r} split {split!r}: {REPORT_FILE} says {reported[split]} rows, "
                                    f"the Parquet files hold {held}")
                rows[split] = held
            else:
                rows[split] = reported.get(split, -1)  # WebDataset tars are not counted here
        if fmt == "parquet" and sum(rows.values()) == 0:
            continue  # an empty config cannot be loaded: leave it out
        schema = schema_of(config)
        pattern = (lambda sp: shard_glob(config, sp)) if fmt == "parquet" else (lambda sp: wds.shard_glob(config, sp))
        summaries.append(ConfigSummary(
            name=config, format=fmt, schema=schema, rows=rows,
            licenses=lic.get(config, {}) if fmt == "parquet" and schema == "figure" else {},
            data_files=[{"split": sp, "path": pattern(sp)} for sp in sorted(splits)],
            files={sp: paths for sp, paths in splits.items()}))
    order = {DEFAULT_CONFIG: 0, **{c: 1 for c in FIGURE_CONFIGS}, ARTICLES: 2}
    return sorted(summaries, key=lambda s: (order.get(s.name, 3), s.format != "parquet", s.name))


def _rows(out_dir: Path, path: str, entry: OwnedFile) -> int:
    """A shard's rows: from the manifest, else from its Parquet footer."""
    return entry.rows if entry.rows is not None else pq.read_metadata(Path(out_dir) / path).num_rows


def _dataset_info(s: ConfigSummary, files: dict[str, OwnedFile]) -> dict:
    if s.format == "webdataset":
        return wds.card_dataset_info(s.name, wds.IMAGE_EXTENSIONS)
    splits = [{"name": split, "num_bytes": sum(files[p].data_bytes or files[p].size for p in s.files[split]),
               "num_examples": n} for split, n in s.rows.items()]
    # The exact file sizes: `datasets` keys its cache of a local folder on this metadata, so a
    # rebuild whose content differs in any byte count never loads the old rows.
    return {"config_name": s.name, "features": yaml_features(s.schema), "splits": splits,
            "download_size": sum(files[p].size for paths in s.files.values() for p in paths),
            "dataset_size": sum(x["num_bytes"] for x in splits)}


def _licenses_meta(summaries: list[ConfigSummary]) -> dict:
    ids: list[str] = []
    need_other = False
    for s in summaries:
        if s.name == licenses.OTHER or (s.schema == "figure" and not s.licenses):
            need_other = True
        for code in s.licenses:
            hf = hf_license_id(code)
            if hf is None:
                need_other = True
            elif hf not in ids:
                ids.append(hf)
    if not ids or need_other:
        ids.append("other")
    meta: dict[str, Any] = {"license": ids if len(ids) > 1 else ids[0]}
    if "other" in ids:
        meta["license_name"] = "pmc-open-access-mixed"
        meta["license_link"] = PMC_LICENSE_LINK
    return meta


def card_metadata(report: dict, options: CardOptions, summaries: list[ConfigSummary], files: dict[str, OwnedFile]) -> dict:
    """The YAML front matter as a dict (validated by `validate_metadata`)."""
    figure_rows = sum(s.total for s in summaries if s.schema == "figure" and s.format == "parquet")
    has_default = any(s.name == DEFAULT_CONFIG and s.format == "parquet" for s in summaries)
    configs = []
    for s in summaries:
        entry: dict[str, Any] = {"config_name": s.name, "data_files": s.data_files}
        if s.name == DEFAULT_CONFIG and s.format == "parquet" and has_default:
            entry["default"] = True
        configs.append(entry)
    meta: dict[str, Any] = {
        "pretty_name": options.pretty_name,
        **_licenses_meta(summaries),
        "language": ["en"],
        "task_categories": ["image-to-text", "zero-shot-image-classification", "image-text-to-text", "text-to-image"],
        "tags": list(options.tags),
        "size_categories": [size_category(figure_rows)],
        "source_datasets": ["original"],
        "configs": configs,
        "dataset_info": [_dataset_info(s, files) for s in summaries],
    }
    if options.gated:
        meta.update({
            "extra_gated_heading": options.extra_gated_heading,
            "extra_gated_prompt": _env().get_template("gate_prompt.md.j2").render(configs=summaries).strip(),
            "extra_gated_fields": normalize_gate_fields(options.gate_fields, source="card options"),
            "extra_gated_button_content": options.extra_gated_button_content,
        })
    return meta


def validate_metadata(meta: dict) -> dict:
    """Check the front matter against ``schemas/card.schema.json``; raise `CardError` listing each problem."""
    errors = sorted(_card_validator().iter_errors(meta), key=lambda e: list(e.absolute_path))
    if errors:
        raise CardError("card metadata: " + "; ".join(
            f"{'/'.join(map(str, e.absolute_path)) or '(top)'}: {e.message[:200]}" for e in errors))
    return meta


@lru_cache(maxsize=None)
def _card_validator():
    import jsonschema  # (only here: a build's workers import this module and never check a card)

    return jsonschema.Draft202012Validator(load_schema("card"))


def prepare() -> None:
    """Do now what a process's first card costs beyond the card itself (importing jsonschema,
    compiling the schema's validator and the templates): a build calls it in the background while
    its workers start, so that its end does not wait for it."""
    _card_validator()
    _env().get_template("dataset_card.md.j2")


# ---------------------------------------------------------------- rendering

@lru_cache(maxsize=None)
def _env() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FunctionLoader(lambda name: templates().joinpath(name).read_text(encoding="utf-8")),
                             undefined=jinja2.StrictUndefined,
                             keep_trailing_newline=True, trim_blocks=True, lstrip_blocks=True)
    env.filters["cell"] = lambda v: str(v).replace("|", "\\|").replace("\n", " ")
    env.filters["html"] = lambda v: str(v).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    env.filters["thousands"] = lambda n: "unknown" if n is None or n < 0 else f"{n:,}"
    return env


class _CardDumper(yaml.SafeDumper):
    pass


def _str_presenter(dumper: yaml.SafeDumper, data: str):
    style = "|" if "\n" in data else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_CardDumper.add_representer(str, _str_presenter)


def dump_metadata(meta: dict) -> str:
    return yaml.dump(meta, Dumper=_CardDumper, sort_keys=False, allow_unicode=True, width=120)


def render_card(out_dir: Path, report: dict, files: dict[str, OwnedFile], options: Optional[CardOptions] = None) -> str:
    """The whole README.md text for a build folder whose files are ``files`` (its manifest)."""
    options = options or CardOptions()
    summaries = summarize(Path(out_dir), report, files)
    if not summaries:
        raise CardError(f"{out_dir}: no non-empty config (no shard with rows) to describe")
    meta = validate_metadata(card_metadata(report, options, summaries, files))
    body = _env().get_template("dataset_card.md.j2").render(
        meta=meta, options=options, configs=summaries, default_config=next(
            (c["config_name"] for c in meta["configs"] if c.get("default")), summaries[0].name),
        figure_fields=field_docs("figure"), article_fields=field_docs("article"),
        has_articles=any(s.schema == "article" for s in summaries),
        report=_report_view(report), releases=_releases(Path(out_dir), files),
    )
    return f"---\n{dump_metadata(meta)}---\n\n{body.strip()}\n"


def _releases(out_dir: Path, files: dict[str, OwnedFile]) -> list[dict]:
    """The release records the folder owns, newest first (the card's changelog)."""
    records = []
    for path in sorted((p for p in files if p.startswith("releases/") and p.endswith(".json")), reverse=True):
        try:
            records.append(json.loads((out_dir / path).read_text(encoding="utf-8")))
        except (OSError, ValueError):
            continue
    return sorted(records, key=lambda r: r.get("created", ""), reverse=True)


def _report_view(report: dict) -> dict:
    reasons = report.get("skip_counts") or {}
    return {
        "articles_in": report.get("articles_in"), "figures_in": report.get("figures_in"),
        "skipped": sum(reasons.values()),
        "skip_reasons": sorted(reasons.items(), key=lambda kv: -kv[1])[:10],
        "license_table_version": report.get("license_table_version"),
    }


def write_card(out_dir: Path, options: Optional[CardOptions] = None) -> Path:
    """Rewrite a finished folder's README.md (``pmc-hub card``) and its manifest entry."""
    from .output import locked, record_files, write_owned_text

    out_dir = Path(out_dir)
    with locked(out_dir, "card"):
        manifest = read_manifest(out_dir)
        if manifest is None or not manifest.complete:
            raise CardError(f"{out_dir}: not a finished pmc-hub build (no complete manifest); run `pmc-hub build` first")
        text = render_card(out_dir, load_report(out_dir), manifest.files, options)
        record_files(out_dir, {CARD_FILE: write_owned_text(out_dir, CARD_FILE, text)})
    return out_dir / CARD_FILE
