"""Shared fixtures: real sample articles, generated placeholder images, a fresh datasets cache per test."""
from __future__ import annotations

import io
import random
import shutil
import zlib
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from pmc_hub import jats, torchvision_fix
from pmc_hub.build import build
from pmc_hub.config import BuildConfig, RunOptions
from pmc_hub.output import shard_files
from pmc_hub.resources import sample_dir

torchvision_fix.install()  # the tests build tiny transformers / OpenCLIP models directly
DATA = Path(__file__).parent / "data"
SAMPLES = DATA / "samples"


@pytest.fixture(autouse=True)
def fresh_datasets_cache(tmp_path_factory, monkeypatch):
    """datasets caches local loads by folder name, not content: every test gets its own cache."""
    cache = tmp_path_factory.mktemp("hf_cache")
    monkeypatch.setenv("HF_DATASETS_CACHE", str(cache / "datasets"))
    monkeypatch.setenv("HF_HOME", str(cache / "home"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    import datasets.config

    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", cache / "datasets")
    yield


def jpeg_bytes(seed: int, size=(320, 240), quality: int = 90) -> bytes:
    """A small, distinct JPEG: a few random shapes on white."""
    rng = random.Random(seed)
    im = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(im)
    for _ in range(8):
        x0, y0 = rng.randrange(size[0] - 20), rng.randrange(size[1] - 20)
        draw.rectangle([x0, y0, x0 + rng.randrange(10, 120), y0 + rng.randrange(10, 90)],
                       fill=tuple(rng.randrange(256) for _ in range(3)))
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def pmc_article_folder(name: str, dest: Path, images: bool = True) -> Path:
    """Copy a real PMC sample article (a sample folder, or an XML file under samples/) into its own
    folder under ``dest`` and add a placeholder JPEG per graphic, named as in a real PMC package
    (the href plus ``.jpg``)."""
    src = SAMPLES / name
    folder = dest / Path(name).name.split(".")[0]
    if src.is_dir():
        shutil.copytree(src, folder)
    else:
        folder.mkdir()
        shutil.copy(src, folder / f"{folder.name}.nxml")
    if images:
        xml = next(folder.glob("*.nxml"))
        article = jats.parse(xml.read_bytes())
        for i, fig in enumerate(article.figures):
            for g in fig.graphics:
                (folder / (g.href + ".jpg")).write_bytes(jpeg_bytes(zlib.crc32(f"{name}{i}{g.href}".encode())))
    return folder


@pytest.fixture
def bundled_sample() -> Path:
    return sample_dir()


@pytest.fixture
def mixed_license_corpus(tmp_path) -> Path:
    """Real PMC articles with generated images: CC BY, CC BY-NC-SA, a public-domain US government
    work, CC BY stated only in the copyright statement, and PMC's COVID-era non-CC terms (other)."""
    root = tmp_path / "corpus"
    root.mkdir()
    for name in ("PMC3166277", "PMC2958468", "PMC2599765", "PMC1240052", "oai-pmh/PMC9000000.xml"):
        pmc_article_folder(name, root)
    return root


_CONFIG_FIELDS = set(BuildConfig.__dataclass_fields__)


def run_build(sources, out: Path, **kw):
    """Build ``sources`` into ``out``: keyword arguments go to `BuildConfig` or `RunOptions`, by name."""
    config = BuildConfig(sources=tuple(str(s) for s in sources), **{k: v for k, v in kw.items() if k in _CONFIG_FIELDS})
    run = RunOptions(out_dir=out, **{"progress": False, **{k: v for k, v in kw.items() if k not in _CONFIG_FIELDS}})
    return build(config, run)


def shard_rows(out: Path, config: str, split: str = "train") -> list[dict]:
    """Every row of a config's shards, in order (images as stored)."""
    import pyarrow.parquet as pq

    return [r for f in shard_files(out, config, split) for r in pq.read_table(f).to_pylist()]


def corpus_months(root: Path, articles: int, seed: int, new: int, updated: int, removed: int, **options) -> tuple[Path, Path]:
    """A synthetic corpus (month 1) and its next month: ``new`` more articles, ``updated`` revised,
    ``removed`` gone (`pmc_hub.synthetic_corpus`)."""
    from pmc_hub.synthetic_corpus import CorpusOptions, write_corpus

    base = dict(articles=articles, seed=seed, **options)
    write_corpus(CorpusOptions(out_dir=root / "m1", **base))
    write_corpus(CorpusOptions(out_dir=root / "m2", new=new, updated=updated, removed=removed, **base))
    return root / "m1", root / "m2"


def jats_article(title: str, figs: str, extra_doctype: str = "") -> bytes:
    """A minimal CC BY JATS article with pmc id ``title`` and the figures ``figs`` (see `jats_fig`)."""
    return f"""<?xml version="1.0"?>{extra_doctype}
<article xmlns:xlink="http://www.w3.org/1999/xlink"><front><journal-meta><journal-title-group><journal-title>J</journal-title></journal-title-group></journal-meta>
<article-meta><article-id pub-id-type="pmc">{title}</article-id><title-group><article-title>{title}</article-title></title-group>
<pub-date pub-type="epub"><year>2020</year></pub-date>
<permissions><license xlink:href="https://creativecommons.org/licenses/by/4.0/"><license-p>CC BY</license-p></license></permissions>
</article-meta></front><body><p>Text.</p>{figs}</body></article>""".encode()


def jats_fig(fid: str, href: str | None, caption: str = "A caption.") -> str:
    graphic = f'<graphic xlink:href="{href}"/>' if href else ""
    return f'<fig id="{fid}"><label>Figure</label><caption><p>{caption}</p></caption>{graphic}</fig>'
