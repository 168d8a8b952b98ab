"""Duplicate detection on real sample images: re-encoded / resized copies are caught, distinct
figures are not, and the band index finds exactly what a brute-force scan finds."""
from __future__ import annotations

import random

import pytest

from figure_rows import figure_row, reencode, sample_images, sample_rows
from pmc_hub.dedup import DedupError, Duplicate, DuplicateIndex, keep_first
from pmc_hub.media import hamming


def find_duplicates(rows: list[dict], max_distance: int = 6) -> list[Duplicate]:
    """Every duplicate in ``rows``, keep-first, through one index (as a build does)."""
    return keep_first(DuplicateIndex(max_distance), ((r["image_key"], r["image_hash"], r["image_phash"]) for r in rows))[1]


def kept(index: DuplicateIndex, rows: list[dict], dups: list[Duplicate]) -> list[dict]:
    mask, found = keep_first(index, ((r["image_key"], r["image_hash"], r["image_phash"]) for r in rows))
    dups.extend(found)
    return [r for r, keep in zip(rows, mask) if keep]


@pytest.fixture(scope="module")
def originals() -> list[dict]:
    return sample_rows()


def test_distinct_sample_figures_are_not_duplicates(originals):
    assert len(originals) >= 50
    assert find_duplicates(originals) == []


@pytest.mark.parametrize("fmt,scale,quality", [
    ("JPEG", 1.0, 40),  # JPEG quality change (and PNG/TIFF -> JPEG)
    ("PNG", 1.0, None),  # JPEG -> PNG
    ("JPEG", 0.5, 85),  # resized to half
    ("PNG", 0.75, None),
])
def test_reencoded_and_resized_copies_are_caught(originals, fmt, scale, quality):
    copies = []
    for i, row in enumerate(originals):
        data = reencode(row["image"]["bytes"], fmt, scale, quality or 75)
        copies.append(figure_row(data, article=f"PMC9{i:05d}", figure_id="F1", file_name=f"copy.{fmt.lower()}",
                                 license_category="noncommercial"))
    found = {d.key: d for d in find_duplicates(originals + copies)}
    assert set(found) == {c["image_key"] for c in copies}
    for original, copy in zip(originals, copies):
        dup = found[copy["image_key"]]
        assert dup.duplicate_of == original["image_key"] and dup.kind == "near"
        assert dup.distance == hamming(original["image_phash"], copy["image_phash"])


def test_exact_copy_in_another_article_is_an_exact_duplicate(originals):
    row = originals[0]
    copy = figure_row(row["image"]["bytes"], article="PMC1", figure_id="F9", file_name="same.jpg")
    assert find_duplicates([row, copy]) == [Duplicate(copy["image_key"], row["image_key"], 0, "exact")]


def test_one_index_spans_configs_and_splits_keep_first(originals):
    index = DuplicateIndex()
    dups: list[Duplicate] = []
    test_split = originals[:3]
    train = [figure_row(reencode(r["image"]["bytes"], "JPEG", 0.8, 70), article="PMC2", figure_id=f"F{i}",
                        file_name=f"f{i}.jpg") for i, r in enumerate(test_split)] + originals[3:6]
    kept_test = kept(index, test_split, dups)
    kept_train = kept(index, train, dups)
    assert kept_test == test_split
    assert [r["image_key"] for r in kept_train] == [r["image_key"] for r in originals[3:6]]
    assert [d.duplicate_of for d in dups] == [r["image_key"] for r in test_split]


@pytest.mark.parametrize("run", [8192, 16, 1])  # all unsorted, sorted in every 16 images, every image sorted in
@pytest.mark.parametrize("distance", [3, 6, 9])  # some chunk of a near copy within 0, 1 or 2 bits of the query's
def test_band_index_matches_brute_force(run, distance, monkeypatch):
    from pmc_hub import dedup

    monkeypatch.setattr(dedup._NearIndex, "_RUN", run)
    rng = random.Random(3)
    base = [rng.getrandbits(64) for _ in range(200)]
    hashes = base + [h ^ sum(1 << b for b in rng.sample(range(64), rng.randrange(0, 12))) for h in base[:150]]
    rng.shuffle(hashes)
    index = DuplicateIndex(max_distance=distance)
    seen: list[tuple[str, int]] = []
    for i, h in enumerate(hashes):
        expected = min(((bin(h ^ v).count("1"), j, k) for j, (k, v) in enumerate(seen)
                        if bin(h ^ v).count("1") <= distance), default=None)
        dup = index.add(f"k{i}", f"{i:064x}"[::-1], f"{h:016x}")
        if expected is None:
            assert dup is None
            seen.append((f"k{i}", h))
        else:
            assert (dup.duplicate_of, dup.distance) == (expected[2], expected[0])


def test_threshold_zero_is_exact_only(originals):
    copy = figure_row(reencode(originals[0]["image"]["bytes"], "PNG"), article="PMC3", figure_id="F1", file_name="x.png")
    assert find_duplicates([originals[0], copy], max_distance=0) == []


@pytest.mark.parametrize("phash,reason", [("zz" * 8, "not hexadecimal"), ("abc", "16 hex digits")])
def test_bad_phash_names_the_image(phash, reason):
    with pytest.raises(DedupError, match=f"PMC1/F1/a.jpg: image_phash .*{reason}"):
        DuplicateIndex().add("PMC1/F1/a.jpg", "00" * 32, phash)


def test_sample_images_cover_every_format():
    assert {p.suffix for p in sample_images()} == {".jpg", ".png", ".tif"}
    rows = sample_rows()
    assert {r["image_format"] for r in rows} == {"JPEG", "PNG", "TIFF"}
    assert len({r["image_phash"] for r in rows}) == len(rows)  # every format hashed, to distinct hashes


@pytest.mark.parametrize("max_distance", [0, 6])
def test_would_keep_decides_what_add_would_and_adds_nothing(max_distance):
    rng = random.Random(max_distance)
    base = [rng.getrandbits(64) for _ in range(60)]
    near = lambda h: h ^ sum(1 << b for b in rng.sample(range(64), rng.randrange(0, 9)))  # noqa: E731
    sha = lambda i: f"{i:032x}" * 2  # noqa: E731 (the index reads the first half)
    published = [(f"p{i}", sha(i), f"{h:016x}") for i, h in enumerate(base[:40])]
    batches = [[(f"b{n}-{j}", rng.choice([sha(1000 + n * 10 + j), sha(rng.randrange(40))]),
                 rng.choice([f"{near(rng.choice(base)):016x}", f"{rng.getrandbits(64):016x}", None]))
                for j in range(rng.randrange(1, 6))] for n in range(40)]
    for batch in batches:
        batch.append((batch[0][0] + "-copy", batch[0][1], batch[0][2]))  # a copy inside the batch itself
        index, twin = DuplicateIndex(max_distance), DuplicateIndex(max_distance)
        for image in published:
            index.add(*image), twin.add(*image)
        assert index.would_keep(batch) == [twin.add(*image) is None for image in batch]
        assert len(index) == len(published)
