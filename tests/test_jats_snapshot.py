"""`jats.parse` gives exactly the output frozen in tests/data/jats/parse-snapshot.json, on every real
article in tests/data and the bundled sample, and on a generated corpus: the fuzz test's real
articles and the publisher-pattern fixtures, each mutated by seeded edits (the fuzz test's
mutations, drawn deterministically), and the hostile test's long article.

Per article the snapshot holds a hash of its XML and a short hash of each `Article` field (or the
`JATSError` it raises), and the full output of a few. It was written by the parser as it was
before it was made faster. A failure names the articles and the fields that changed, or the
articles whose XML changed. Only when an output change is intended:

    python tests/test_jats_snapshot.py --write
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import random
import sys
from pathlib import Path
from typing import Iterator

import pytest
from lxml import etree

from conftest import DATA
from pmc_hub import jats
from pmc_hub.models import Article
from pmc_hub.resources import sample_dir
from pmc_hub.sources import open_source
from test_jats_fuzz import ATTRIBUTES, NUMBERED, SOURCES, TAGS, apply
from test_jats_hostile import article, big_article, figs

SNAPSHOT = DATA / "jats" / "parse-snapshot.json"
FIELDS = [f.name for f in dataclasses.fields(Article)]
REAL = {"samples": DATA / "samples", "jats": DATA / "jats", "sample_data": sample_dir()}
FULL = ["jats/date-type-electronic.xml", "jats/decimal-spaces.xml", "jats/figure-supplements.xml",
        "jats/tex-only-formula.xml", "jats/title-markers.xml", "samples/europepmc-2026/PMC13249065.xml",
        "samples/oai-pmh/PMC7500000.xml", "generated/hostile-shapes"]
MUTANTS_PER_SOURCE = 30
MUTATED = [*SOURCES, *sorted((DATA / "jats").glob("*.xml"))]
# Elements most mutations aim at: those the parser reads beyond plain text.
TARGETS = {"fig", "fig-group", "xref", "label", "caption", "title", "alternatives", "tex-math", "graphic",
           "article-title", "pub-date", "article-id", "ref", "pub-id", "license", "contrib", "kwd", "subject"}
# Values that hit what the parser reads: ref-types, id and date types, ids, ranges, odd spacing.
VALUES = ["fig", "fn", "aff", "table-fn", "corresp", "bibr", "epub", "ppub", "collection", "pub", "electronic",
          "pmid", "doi", "pmcid", "Figure 2", "Figures 1-3", "Figure S2", "Fig. 1–4 ", " ( see [ 3 ] ; ", "12",
          "2020", "Spring", "PMC123", "10.1000/x.1", "1e400", "", " .05, "]


def real_articles() -> Iterator[tuple[str, bytes]]:
    """Every article XML under tests/data and in the bundled sample, named by its path there
    (a bulk tarball's members by tarball and member)."""
    for prefix, root in REAL.items():
        for pkg in open_source(root):
            if pkg.xml:
                yield f"{prefix}/{Path(pkg.origin).relative_to(root).as_posix()}", pkg.xml


def mutation(tree: etree._Element, rng: random.Random, values: list[str]) -> tuple:
    """One of the fuzz test's mutations (for its `apply`), most of them on an element the parser reads."""
    elements = [el for el in tree.iter(etree.Element) if el is not tree]  # as `apply` counts them
    aimed = [i for i, el in enumerate(elements) if etree.QName(el).localname in TARGETS]
    pick = rng.choice(aimed) if aimed and rng.random() < 0.7 else rng.randrange(10**6)
    kind = rng.choice(["delete", "duplicate", "rename", "number", "text", "attribute", "nest"])
    if kind == "duplicate":
        return kind, pick, rng.randint(1, 2)
    if kind == "rename":
        return kind, pick, rng.choice(TAGS)
    if kind == "number":
        return kind, pick, rng.choice(NUMBERED), rng.choice(values)
    if kind in ("text", "attribute"):
        return (kind, pick, rng.choice(values)) if kind == "text" else (kind, pick, rng.choice(ATTRIBUTES), rng.choice(values))
    if kind == "nest":
        return kind, pick, rng.choice(["sec", "p", "fig", "caption", "xref", "alternatives", "title"]), rng.randint(1, 4)
    return kind, pick


def mutants(path: Path) -> Iterator[tuple[str, bytes]]:
    data = path.read_bytes()
    ids = sorted({el.get("id") for el in etree.fromstring(data, jats._parser()).iter(etree.Element) if el.get("id")})
    for k in range(MUTANTS_PER_SOURCE):
        rng = random.Random(f"{path.name}#{k}")
        tree = etree.fromstring(data, jats._parser())
        for _ in range(rng.randint(1, 4)):
            apply(tree, mutation(tree, rng, VALUES + ids[:50]))
        yield f"generated/{path.name}#{k}", etree.tostring(tree, encoding="utf-8")


def hostile_shapes() -> bytes:
    """Small versions of the hostile test's shapes, in one article."""
    body = ('<p><xref ref-type="fig" rid="f1">Figures ' + "5-9 " * 20 + '</xref></p>'
            '<p><alternatives><mml:math>x</mml:math>' + '<mml:math>y</mml:math>tail' * 20 + '</alternatives></p>'
            '<p><inline-formula>' + '<tex-math>x</tex-math>t' * 20 + '</inline-formula></p>'
            '<fig id="fx"><caption><title>T' + '<xref ref-type="fn" rid="n">*</xref>x' * 20 + '</title></caption></fig>'
            '<p>' + '<xref ref-type="fig" rid="f1">Fig 1</xref>, ' * 20 + '</p>'
            '<p><xref ref-type="fig" rid="f1">Fig 1</xref>' + " " * 50 + '<xref ref-type="fig" rid="f3">3</xref></p>')
    return article(body + figs(12))


def generated_articles() -> Iterator[tuple[str, bytes]]:
    for path in MUTATED:
        yield from mutants(path)
    yield "generated/hostile-shapes", hostile_shapes()
    yield "generated/big-article-300", big_article(300)


def outcome(data: bytes) -> dict:
    """An article's output as JSON values per field, or the error it raises."""
    try:
        return dataclasses.asdict(jats.parse(data))
    except jats.JATSError as exc:
        return {"error": str(exc)}


def short_hash(value) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:10]


def output_hashes(parsed: dict) -> str:
    return "error: " + parsed["error"] if "error" in parsed else " ".join(short_hash(parsed[f]) for f in FIELDS)


def snapshot() -> dict:
    articles, full = {}, {}
    for name, data in [*real_articles(), *generated_articles()]:
        parsed = outcome(data)
        articles[name] = {"xml": hashlib.sha256(data).hexdigest()[:16], "output": output_hashes(parsed)}
        if name in FULL:
            full[name] = parsed
    return {"fields": FIELDS, "articles": articles, "full": full}


@pytest.fixture(scope="module")
def frozen() -> dict:
    return json.loads(SNAPSHOT.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def current() -> dict:
    return snapshot()


def changed_fields(before: str, after: str) -> list[str]:
    if before.startswith("error") or after.startswith("error"):
        return [f"{before[:80]} -> {after[:80]}"]
    return [f for f, a, b in zip(FIELDS, before.split(), after.split()) if a != b]


def test_snapshot_covers_every_kind_of_article(frozen):
    names = frozen["articles"]
    for kind in ("samples/PMC", "samples/europepmc-2026/", "samples/oai-pmh/", "samples/bulk/", "samples/f1000",
                 "jats/", "sample_data/", "generated/"):
        assert any(name.startswith(kind) for name in names), kind
    assert sum(name.startswith("samples/bulk/") for name in names) == 95
    assert sum(name.startswith("generated/") for name in names) == len(MUTATED) * MUTANTS_PER_SOURCE + 2
    parsed = [a["output"] for a in names.values() if not a["output"].startswith("error")]
    assert len(parsed) > 400 and all(len(h.split()) == len(FIELDS) for h in parsed)
    assert frozen["fields"] == FIELDS


def test_every_article_parses_as_frozen(frozen, current):
    before, after = frozen["articles"], current["articles"]
    missing = sorted(before.keys() - after.keys())
    assert not missing, f"articles of the snapshot no longer found: {missing[:10]}"
    new_xml = sorted(name for name in before if before[name]["xml"] != after[name]["xml"])
    assert not new_xml, f"the XML of {len(new_xml)} articles changed since the snapshot (rewrite it if intended): {new_xml[:10]}"
    changed = {name: changed_fields(a["output"], after[name]["output"]) for name, a in before.items()
               if a["output"] != after[name]["output"]}
    assert not changed, f"{len(changed)} articles parse differently (article: fields): {dict(list(changed.items())[:10])}"


@pytest.mark.parametrize("name", FULL)
def test_full_output_as_frozen(frozen, current, name):
    assert current["full"][name] == frozen["full"][name]


if __name__ == "__main__" and sys.argv[1:] == ["--write"]:
    SNAPSHOT.write_text(json.dumps(snapshot(), indent=1, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {SNAPSHOT}")
