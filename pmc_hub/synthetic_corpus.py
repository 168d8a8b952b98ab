"""A synthetic corpus of realistic PMC articles at any size, for benchmarks and scale tests.

Each article is a real article's JATS (the templates: tests/data/samples/PMC*/*.nxml, else the
bundled sample) with new identifiers, a new license (CC BY / CC BY-NC / CC0 / none), its figures
replaced by 0-12 new ones (captions, ``xref`` citations in the body, ranges included) and
procedurally drawn images (plots, microscopy-like textures, compound panel grids; 300-2000 px).

Written as the PMC Cloud layout (``PMC<id>.<N>/PMC<id>.<N>.xml|.json|.txt`` + images, and
``metadata/PMC<id>.<N>.json``) and/or legacy ``PMC<id>.tar.gz`` packages. Article ``i`` depends
only on (seed, i): the corpus is reproducible, can be generated in parallel, and memory stays flat
whatever the size.
"""
from __future__ import annotations

import copy
import gzip
import hashlib
import io
import json
import math
import random
import tarfile
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from multiprocessing import Pool
from pathlib import Path
from typing import Iterator, Optional

from lxml import etree
from PIL import Image, ImageDraw, ImageFilter

from .resources import sample_dir

XLINK = "http://www.w3.org/1999/xlink"
LAYOUTS = ("cloud", "targz", "both")
# (license_code, weight): roughly the OA subset's mix; None = no license at all ("other").
LICENSES = (("CC BY", 0.55), ("CC BY-NC", 0.2), ("CC BY-NC-ND", 0.05), ("CC0", 0.1), (None, 0.1))
_LICENSE_URLS = {"CC BY": "https://creativecommons.org/licenses/by/4.0/",
                 "CC BY-NC": "https://creativecommons.org/licenses/by-nc/4.0/",
                 "CC BY-NC-ND": "https://creativecommons.org/licenses/by-nc-nd/4.0/",
                 "CC0": "https://creativecommons.org/publicdomain/zero/1.0/"}
_DOCTYPE = ('<!DOCTYPE article PUBLIC "-//NLM//DTD JATS (Z39.96) Journal Archiving and Interchange DTD with '
            'MathML3 v1.3 20210610//EN" "JATS-archive-oasis-article1-3-mathml3.dtd">')
_WORDS = ("cell protein expression tumor mouse neuronal signaling receptor kinase pathway cohort patients "
          "treatment response inhibition binding mutant wild-type tissue imaging analysis gene regulation "
          "infection immune plasma dose vascular synaptic membrane transcription metabolic").split()
_PLOT_TITLES = ("Dose-response curves", "Time course of expression", "Survival analysis",
                "Quantification of staining", "Distribution of measurements", "Effect of treatment")
_IMAGE_TITLES = ("Representative micrographs", "Immunofluorescence staining", "Histological sections",
                 "Confocal images", "Electron micrographs")


class CorpusError(ValueError):
    """Bad corpus options or an unusable template (the message names which and why)."""


@dataclass
class CorpusOptions:
    out_dir: Path
    articles: int = 100
    seed: int = 0
    layout: str = "cloud"  # cloud | targz | both (cloud/ and targz/ side by side)
    first_id: int = 90_000_000  # PMC ids well above real ones, so nobody mistakes them
    max_figures: int = 12
    min_side: int = 300
    max_side: int = 2000
    png_rate: float = 0.15
    templates: Optional[list[Path]] = None  # JATS files; default: the real samples
    workers: int = 1
    # A later month of the same corpus: articles [0, removed) are gone, [removed, removed + updated)
    # come as a revised version 2, and [articles, articles + new) are new.
    removed: int = 0
    updated: int = 0
    new: int = 0

    def indices(self) -> range:
        return range(self.removed, self.articles + self.new)


@dataclass
class SyntheticArticle:
    """One generated article, held in memory only while it is written."""

    pmcid: str
    version: int
    license_code: Optional[str]
    template: str
    xml: bytes
    images: dict[str, bytes] = field(default_factory=dict)  # file name -> bytes
    metadata: dict = field(default_factory=dict)


@dataclass
class CorpusSummary:
    out_dir: str
    layout: str
    seed: int
    articles: int = 0
    figures: int = 0
    bytes: int = 0
    licenses: dict[str, int] = field(default_factory=dict)


def default_templates() -> list[Path]:
    """The real PMC samples of a source checkout, else the bundled sample articles."""
    repo_samples = Path(__file__).resolve().parent.parent / "tests" / "data" / "samples"
    found = sorted(repo_samples.glob("PMC*/*.nxml"))
    return found or sorted(p for p in sample_dir().glob("*/*.xml"))


_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, remove_blank_text=False)


@lru_cache(maxsize=64)
def _template(path: str) -> etree._Element:
    root = etree.parse(path, _PARSER).getroot()
    article = root if etree.QName(root).localname == "article" else root.find(".//{*}article")
    if article is None or article.find(".//{*}article-meta") is None or article.find(".//{*}body") is None:
        raise CorpusError(f"{path}: not a JATS article with <article-meta> and <body>")
    return article


def _sub(parent: etree._Element, tag: str, text: Optional[str] = None, **attrib: str) -> etree._Element:
    el = etree.SubElement(parent, tag, {k.replace("__", ":"): v for k, v in attrib.items()})
    el.text = text
    return el


def _words(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(_WORDS) for _ in range(n))


def _sentence(rng: random.Random, n: int) -> str:
    text = _words(rng, n)
    return text[0].upper() + text[1:] + "."


def _set_ids(meta: etree._Element, pmc_number: int, rng: random.Random) -> tuple[str, str]:
    for old in meta.findall("{*}article-id"):
        meta.remove(old)
    pmid, doi = str(rng.randrange(40_000_000, 49_999_999)), f"10.5555/synth.{pmc_number}"
    ids = [("pmid", pmid), ("pmcid", f"PMC{pmc_number}"), ("pmc", str(pmc_number)), ("doi", doi)]
    for pos, (kind, value) in enumerate(ids):
        el = etree.Element("article-id", {"pub-id-type": kind})
        el.text = value
        meta.insert(pos, el)
    return pmid, doi


def _set_license(meta: etree._Element, code: Optional[str], year: int) -> None:
    perms = meta.find("{*}permissions")
    if perms is None:
        perms = etree.Element("permissions")
        anchor = meta.find("{*}abstract")
        (anchor.addprevious(perms) if anchor is not None else meta.append(perms))
    for child in list(perms):
        perms.remove(child)
    _sub(perms, "copyright-statement", f"© {year} The Authors.")
    _sub(perms, "copyright-year", str(year))
    if code is None:
        return  # terms only in the copyright statement: the "other" group
    lic = _sub(perms, "license", None, **{"license-type": "open-access", "{%s}href" % XLINK: _LICENSE_URLS[code]})
    _sub(lic, "license-p", f"This is an open access article distributed under the terms of the {code} license.")


def _set_date_and_title(meta: etree._Element, rng: random.Random) -> int:
    year = rng.randrange(2000, 2026)
    for old in meta.findall("{*}pub-date"):
        meta.remove(old)
    month = rng.randrange(1, 13)
    epub = etree.Element("pub-date", {"pub-type": "epub"})
    for tag, value in (("day", rng.randrange(1, 29)), ("month", month), ("year", year)):
        _sub(epub, tag, str(value))
    collection = etree.Element("pub-date", {"pub-type": "collection"})
    for tag, value in (("month", month), ("year", year)):
        _sub(collection, tag, str(value))
    anchor = next((el for tag in ("volume", "fpage", "permissions") if (el := meta.find("{*}" + tag)) is not None), None)
    for date in (epub, collection):
        (anchor.addprevious(date) if anchor is not None else meta.append(date))
    title = meta.find("{*}title-group/{*}article-title")
    if title is not None:
        for child in list(title):
            title.remove(child)
        title.text = _sentence(rng, rng.randrange(6, 16))[:-1]
    return year


def _drop_figures(article: etree._Element) -> None:
    """Remove the template's figures and turn the xrefs that cited them into plain text."""
    for fig in article.findall(".//{*}fig"):
        fig.getparent().remove(fig)
    for xref in article.findall(".//{*}xref[@ref-type='fig']"):
        parent = xref.getparent()
        text = "".join(xref.itertext()) + (xref.tail or "")
        prev = xref.getprevious()
        if prev is not None:
            prev.tail = (prev.tail or "") + text
        else:
            parent.text = (parent.text or "") + text
        parent.remove(xref)


def _caption(rng: random.Random, kind: str, panels: int) -> tuple[str, list[str]]:
    title = rng.choice(_PLOT_TITLES if kind == "plot" else _IMAGE_TITLES) + " of " + _words(rng, rng.randrange(2, 6)) + "."
    paras = []
    if panels > 1:
        paras.append(" ".join(f"({chr(65 + i)}) {_sentence(rng, rng.randrange(5, 12))}" for i in range(panels)))
    else:
        paras.append(" ".join(_sentence(rng, rng.randrange(6, 14)) for _ in range(rng.randrange(1, 4))))
    if kind == "plot":
        paras[-1] += f" Error bars show s.e.m.; n = {rng.randrange(3, 30)}."
    else:
        paras[-1] += f" Scale bar, {rng.choice((5, 10, 20, 50, 100))} \u00b5m."
    return title, paras


def _add_figures(article: etree._Element, figures: list[dict], rng: random.Random) -> None:
    body = article.find("{*}body")
    paras = [p for p in body.iter("{*}p") if p.getparent() is not None and etree.QName(p.getparent()).localname == "sec"]
    if not paras:
        sec = _sub(body, "sec", None, id="s-synth")
        paras = [_sub(sec, "p", _sentence(rng, 12)) for _ in range(3)]
    for i, fig in enumerate(figures):
        el = etree.Element("fig", {"id": fig["id"], "position": "float"})
        _sub(el, "label", fig["label"])
        cap = _sub(el, "caption")
        _sub(cap, "title", fig["title"])
        for text in fig["paragraphs"]:
            _sub(cap, "p", text)
        _sub(el, "graphic", None, **{"{%s}href" % XLINK: fig["href"]})
        anchor = paras[min(len(paras) - 1, (i * len(paras)) // max(1, len(figures)))]
        anchor.addnext(el)
        # Cite it from one or two paragraphs; sometimes as a range with a later figure.
        for p in rng.sample(paras, k=min(len(paras), rng.randrange(1, 3))):
            _append_text(p, " (see ")
            if i + 2 < len(figures) and rng.random() < 0.2:
                _sub(p, "xref", f"Figures {i + 1}", **{"ref-type": "fig", "rid": fig["id"]}).tail = "\u2013"
                _sub(p, "xref", str(i + 3), **{"ref-type": "fig", "rid": figures[i + 2]["id"]}).tail = ")."
            else:
                _sub(p, "xref", f"Figure {i + 1}", **{"ref-type": "fig", "rid": fig["id"]}).tail = ")."


def _append_text(el: etree._Element, text: str) -> None:
    if len(el):
        el[-1].tail = (el[-1].tail or "") + text
    else:
        el.text = (el.text or "") + text


# ---- images ----------------------------------------------------------------------------------

_PALETTE = ((31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189), (23, 190, 207))


def _plot(rng: random.Random, w: int, h: int) -> Image.Image:
    im = Image.new("RGB", (w, h), "white")
    d = ImageDraw.Draw(im)
    x0, y0, x1, y1 = int(w * 0.12), int(h * 0.08), int(w * 0.95), int(h * 0.85)
    d.line([(x0, y0), (x0, y1), (x1, y1)], fill="black", width=max(1, w // 400))
    for t in range(6):
        x = x0 + (x1 - x0) * t // 5
        y = y1 - (y1 - y0) * t // 5
        d.line([(x, y1), (x, y1 + 6)], fill="black")
        d.line([(x0 - 6, y), (x0, y)], fill="black")
        d.text((x - 4, y1 + 10), str(t * 10), fill="black")
    style = rng.choice(("line", "scatter", "bar"))
    for s in range(rng.randrange(1, 4)):
        color = _PALETTE[(s + rng.randrange(6)) % 6]
        n = rng.randrange(6, 40)
        a, b, c = rng.uniform(0.1, 0.9), rng.uniform(-0.5, 0.5), rng.uniform(1, 6)
        pts = [(x0 + (x1 - x0) * k / (n - 1),
                y1 - (y1 - y0) * min(1, max(0, a + b * math.sin(c * k / n) + rng.gauss(0, 0.04)))) for k in range(n)]
        if style == "line":
            d.line(pts, fill=color, width=max(1, w // 300))
        elif style == "scatter":
            r = max(2, w // 200)
            for x, y in pts:
                d.ellipse([x - r, y - r, x + r, y + r], fill=color)
        else:
            bw = (x1 - x0) / (n * 3)
            for k, (x, y) in enumerate(pts[:: max(1, n // 8)]):
                d.rectangle([x + s * bw, y, x + (s + 1) * bw, y1], fill=color)
    return im


def _texture(rng: random.Random, w: int, h: int) -> Image.Image:
    gen = random.Random(rng.random())
    small = Image.frombytes("RGB", (w // 24 + 2, h // 24 + 2), gen.randbytes(3 * (w // 24 + 2) * (h // 24 + 2)))
    im = small.resize((w, h), Image.BICUBIC)
    tint = Image.new("RGB", (w, h), rng.choice(((0, 0, 0), (20, 0, 30), (240, 230, 220))))
    im = Image.blend(im, tint, 0.55)
    d = ImageDraw.Draw(im)
    color = rng.choice(((40, 220, 60), (220, 40, 160), (80, 120, 255), (120, 60, 40)))
    for _ in range(rng.randrange(10, 80)):
        x, y, r = rng.randrange(w), rng.randrange(h), rng.randrange(max(3, w // 80), max(4, w // 15))
        d.ellipse([x - r, y - r * rng.uniform(0.5, 1.5), x + r, y + r], outline=color, width=max(1, r // 4))
    return im.filter(ImageFilter.GaussianBlur(1))


def _compound(rng: random.Random, w: int, h: int, panels: int) -> Image.Image:
    cols = 2 if panels <= 4 else 3
    rows = math.ceil(panels / cols)
    im = Image.new("RGB", (w, h), "white")
    pw, ph = w // cols, h // rows
    for i in range(panels):
        draw = _plot if rng.random() < 0.5 else _texture
        panel = draw(rng, max(16, pw - 8), max(16, ph - 8))
        x, y = (i % cols) * pw + 4, (i // cols) * ph + 4
        im.paste(panel, (x, y))
        ImageDraw.Draw(im).text((x + 6, y + 4), chr(65 + i), fill=(0, 0, 0) if draw is _plot else (255, 255, 255))
    return im


def _image(rng: random.Random, kind: str, panels: int, options: CorpusOptions) -> tuple[bytes, str]:
    w = rng.randrange(options.min_side, options.max_side + 1)
    h = max(options.min_side, min(options.max_side, int(w * rng.uniform(0.5, 1.3))))
    im = _compound(rng, w, h, panels) if panels > 1 else (_plot if kind == "plot" else _texture)(rng, w, h)
    buf = io.BytesIO()
    if kind == "plot" and rng.random() < options.png_rate * 3:
        im.save(buf, "PNG", compress_level=6)
        return buf.getvalue(), "png"
    im.save(buf, "JPEG", quality=rng.randrange(75, 96))
    return buf.getvalue(), "jpg"


# ---- articles --------------------------------------------------------------------------------


def _license_code(rng: random.Random) -> Optional[str]:
    x, acc = rng.random(), 0.0
    for code, weight in LICENSES:
        acc += weight
        if x < acc:
            return code
    return LICENSES[-1][0]


def make_article(index: int, options: CorpusOptions) -> SyntheticArticle:
    """Article number ``index`` of the corpus described by ``options`` (pure in (seed, index))."""
    version = 2 if options.removed <= index < options.removed + options.updated else 1
    rng = random.Random(f"{options.seed}:{index}" + (f":v{version}" if version > 1 else ""))
    templates = [str(p) for p in (options.templates or default_templates())]
    template = templates[rng.randrange(len(templates))]
    article = copy.deepcopy(_template(template))
    number = options.first_id + index
    pmcid = f"PMC{number}"
    meta = article.find(".//{*}article-meta")
    pmid, doi = _set_ids(meta, number, rng)
    year = _set_date_and_title(meta, rng)
    code = _license_code(rng)
    _set_license(meta, code, year)
    _drop_figures(article)
    n_figs = 0 if rng.random() < 0.08 else rng.randrange(1, options.max_figures + 1)
    prefix = f"synth-{number}"
    figures, images = [], {}
    for i in range(n_figs):
        kind = "plot" if rng.random() < 0.5 else "image"
        panels = rng.choice((4, 6)) if rng.random() < 0.15 else 1
        data, ext = _image(rng, kind, panels, options)
        href = f"{prefix}-g{i + 1:03d}"
        title, paras = _caption(rng, kind, panels)
        figures.append({"id": f"F{i + 1}", "label": f"Figure {i + 1}", "title": title, "paragraphs": paras, "href": href})
        images[f"{href}.{ext}"] = data
    _add_figures(article, figures, rng)
    xml = b'<?xml version="1.0" encoding="UTF-8"?>\n' + _DOCTYPE.encode() + b"\n" + etree.tostring(article, encoding="UTF-8")
    title_el = meta.find("{*}title-group/{*}article-title")
    base = f"{pmcid}.{version}"
    metadata = {
        "pmcid": pmcid, "version": version, "pmid": pmid, "doi": doi, "mid": None,
        "title": "".join(title_el.itertext()) if title_el is not None else None,
        "citation": f"Synthetic J. {year}",
        "is_pmc_openaccess": True, "is_manuscript": False, "is_historical_ocr": False, "is_retracted": False,
        "license_code": code,
        "xml_url": f"s3://pmc-oa-opendata/{base}/{base}.xml", "text_url": f"s3://pmc-oa-opendata/{base}/{base}.txt",
        "pdf_url": None,
        "media_urls": [f"s3://pmc-oa-opendata/{base}/{name}?md5={hashlib.md5(data).hexdigest()}"
                       for name, data in images.items()],
    }
    return SyntheticArticle(pmcid, version, code, Path(template).name, xml, images, metadata)


def _plain_text(xml: bytes) -> bytes:
    root = etree.fromstring(xml, _PARSER)
    body = root.find("{*}body")
    return " ".join("".join(body.itertext()).split()).encode() if body is not None else b""


def write_cloud(article: SyntheticArticle, out_dir: Path) -> int:
    """Write one article in the PMC Cloud layout; returns bytes written."""
    base = f"{article.pmcid}.{article.version}"
    folder = out_dir / base
    folder.mkdir(parents=True, exist_ok=True)
    meta = json.dumps(article.metadata, indent=1).encode()
    files = {f"{base}.xml": article.xml, f"{base}.json": meta, f"{base}.txt": _plain_text(article.xml), **article.images}
    for name, data in files.items():
        (folder / name).write_bytes(data)
    (out_dir / "metadata").mkdir(exist_ok=True)
    (out_dir / "metadata" / f"{base}.json").write_bytes(meta)
    return sum(map(len, files.values())) + len(meta)


def write_targz(article: SyntheticArticle, out_dir: Path) -> int:
    """Write one article as a legacy ``PMC<id>.tar.gz`` package (folder ``PMC<id>/``), deterministically."""
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = article.pmcid.replace("PMC", "synth-")
    files = {f"{article.pmcid}/{stem}.nxml": article.xml,
             **{f"{article.pmcid}/{name}": data for name, data in article.images.items()}}
    path = out_dir / f"{article.pmcid}.tar.gz"
    with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") as gz, \
            tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(data), 0, 0o644
            tar.addfile(info, io.BytesIO(data))
    return path.stat().st_size


def _write_one(args: tuple[int, CorpusOptions]) -> tuple[int, int, Optional[str]]:
    index, options = args
    article = make_article(index, options)
    out = Path(options.out_dir)
    written = 0
    if options.layout in ("cloud", "both"):
        written += write_cloud(article, out / "cloud" if options.layout == "both" else out)
    if options.layout in ("targz", "both"):
        written += write_targz(article, out / "targz" if options.layout == "both" else out)
    return len(article.images), written, article.license_code


_WORKER_OPTIONS: Optional[CorpusOptions] = None


def _set_worker_options(options: CorpusOptions) -> None:
    global _WORKER_OPTIONS
    _WORKER_OPTIONS = options


def _write_index(index: int) -> tuple[int, int, Optional[str]]:
    assert _WORKER_OPTIONS is not None
    return _write_one((index, _WORKER_OPTIONS))


def iter_articles(options: CorpusOptions) -> Iterator[SyntheticArticle]:
    """The corpus as a stream of articles (nothing is written)."""
    for index in options.indices():
        yield make_article(index, options)


def write_corpus(options: CorpusOptions) -> CorpusSummary:
    """Generate and write the corpus; also writes ``corpus.json`` (the summary) next to it."""
    if options.layout not in LAYOUTS:
        raise CorpusError(f"layout {options.layout!r}: expected one of {', '.join(LAYOUTS)}")
    if options.articles < 0 or not (0 < options.min_side <= options.max_side) or options.max_figures < 0:
        raise CorpusError("articles and max_figures must be >= 0 and 0 < min_side <= max_side")
    if min(options.removed, options.updated, options.new) < 0 or options.removed + options.updated > options.articles:
        raise CorpusError("removed, updated and new must be >= 0, and removed + updated at most articles")
    options.out_dir = Path(options.out_dir)
    options.out_dir.mkdir(parents=True, exist_ok=True)
    for template in options.templates or default_templates():
        _template(str(template))  # fail early, naming a bad template
    summary = CorpusSummary(str(options.out_dir), options.layout, options.seed)
    if options.workers > 1:
        # Workers get the options once; tasks are bare indexes, so a 100k-article queue stays small.
        with Pool(options.workers, initializer=_set_worker_options, initargs=(options,)) as pool:
            _collect(pool.imap(_write_index, options.indices(), chunksize=4), summary)
    else:
        _collect((_write_one((i, options)) for i in options.indices()), summary)
    (options.out_dir / "corpus.json").write_text(json.dumps(asdict(summary), indent=1))
    return summary


def _collect(results: Iterator[tuple[int, int, Optional[str]]], summary: CorpusSummary) -> None:
    for figures, written, code in results:
        summary.articles += 1
        summary.figures += figures
        summary.bytes += written
        key = code or "none"
        summary.licenses[key] = summary.licenses.get(key, 0) + 1
