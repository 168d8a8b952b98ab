"""The release index's article table: dict order and semantics, kept on disk, round trip."""
import json

import pytest

from pmc_hub.config import BuildConfig
from pmc_hub.index import ArticleTable, IndexedArticle, ReleaseIndex, add_checkpoints


def entry(key: str, version: str = "v1", heldout: bool = False, **summary) -> IndexedArticle:
    e = IndexedArticle(key, version, f"PMC-{key}", "2026-11", {"commercial": f"commercial/{key}.parquet"}, heldout)
    e.summary = {"article_id": f"PMC-{key}", **summary}
    return e


@pytest.fixture
def small_pages(monkeypatch):
    monkeypatch.setattr(ArticleTable, "_BATCH", 3)  # walks cross many pages


def test_the_table_keeps_dict_order_and_semantics(small_pages):
    table, plain = ArticleTable(), {}
    for key in "edcbagf":
        table[key] = plain[key] = entry(key)
    table["c"] = plain["c"] = entry("c", "v2")  # an existing key keeps its place
    table.pop("d"), plain.pop("d")
    table["d"] = plain["d"] = entry("d", "v3")  # popped then set: to the end
    del table["g"], plain["g"]
    assert list(table) == list(plain) == ["e", "c", "b", "a", "f", "d"]
    assert [e.version for e in table.values()] == [e.version for e in plain.values()]
    assert len(table) == 6 and "c" in table and "g" not in table
    assert table.get("g") is None and table.pop("g", "none") == "none"
    with pytest.raises(KeyError):
        del table["g"]
    assert table["a"] == plain["a"]  # files, summary and flags come back as set


def test_entries_are_copies_set_them_again_to_change_them():
    table = ArticleTable()
    table["a"] = entry("a")
    got = table["a"]
    got.heldout = True
    assert not table["a"].heldout
    table["a"] = got
    assert table["a"].heldout
    with pytest.raises(ValueError, match="another key"):
        table["b"] = got


def test_the_table_can_change_while_it_is_walked(small_pages):
    table = ArticleTable()
    table.put(entry(str(n)) for n in range(10))
    for e in table.values():
        e.release = "2026-12"
        table[e.key] = e
    assert {e.release for e in table.values()} == {"2026-12"}
    table.hold_out({"PMC-3", "PMC-7", "PMC-unknown"})
    assert [e.key for e in table.values() if e.heldout] == ["3", "7"]


def test_the_index_round_trips_through_its_folder_in_order(tmp_path, small_pages):
    index = ReleaseIndex(config=BuildConfig())
    add_checkpoints(index, [{"release": "2026-11", "files": {"commercial": {"path": "commercial/a.parquet"}},
                             "articles": [{"version": f"PMC{n}.1@h", "article_id": f"PMC{n}", "article_written": True,
                                           "rows": {"commercial": 1}, "images": [[f"PMC{n}/f.jpg", "ab" * 32, "0" * 16, True]]}
                                          for n in (5, 1, 4, 2, 3, 9, 8)]}])
    index.articles.hold_out({"PMC4"})
    index.write(tmp_path)
    again = ReleaseIndex.read(tmp_path)
    assert list(again.articles) == ["PMC5", "PMC1", "PMC4", "PMC2", "PMC3", "PMC9", "PMC8"]
    assert list(again.articles.values()) == list(index.articles.values())
    assert again.articles["PMC4"].heldout and again.articles["PMC1"].files == {"commercial": "commercial/a.parquet"}
    assert again.articles["PMC9"].images == [("PMC9/f.jpg", "ab" * 32, "0" * 16, True)]
    assert again.config == index.config


def test_an_empty_index_round_trips(tmp_path):
    ReleaseIndex(config=BuildConfig()).write(tmp_path)
    assert len(ReleaseIndex.read(tmp_path).articles) == 0


def test_a_damaged_index_is_named(tmp_path):
    ReleaseIndex(config=BuildConfig()).write(tmp_path)
    path = tmp_path / ".pmc-hub" / "index" / "articles.parquet"
    path.write_bytes(path.read_bytes()[:20])
    from pmc_hub.output import OutputError

    with pytest.raises(OutputError, match="is damaged"):
        ReleaseIndex.read(tmp_path)
    assert json.loads((tmp_path / ".pmc-hub" / "index" / "config.json").read_text())["sources"] == []


@pytest.mark.parametrize("count", [1, 7, 8, 9, 17])
def test_the_written_columns_are_the_stored_values(tmp_path, small_pages, count):
    """The index's arrays are built without `pa.array` (which imports pandas): every page, text
    beyond ASCII and every held-out flag (bit-packed: counts around a byte) must come back as set."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    index = ReleaseIndex(config=BuildConfig())
    entries = [entry(f"PMC{n}", version=f"PMC{n}.1@h\u00e9\u4e2d", heldout=n % 3 == 0, note="\U0001f9ec" * n)
               for n in range(count)]
    index.articles.put(entries)
    index.write(tmp_path)
    written = pq.read_table(tmp_path / ".pmc-hub" / "index" / "articles.parquet")
    stored = [dict(zip(ArticleTable.FIELDS, (*r[:5], bool(r[5]), r[6]))) for page in index.articles.rows() for r in page]
    assert written.equals(pa.Table.from_pylist(stored, schema=written.schema))
    assert written.column("heldout").to_pylist() == [n % 3 == 0 for n in range(count)]
    assert written.column("heldout").null_count == 0
