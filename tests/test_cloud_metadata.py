"""PMC Cloud metadata JSON as untrusted input (issue 9.1): one bad value never stops fetch or build.

Each hostile record is put on one article of the loopback bucket; the run must report that article
(a dropped value, or a fetch failure when no XML location is left) and fetch every other one.
"""
from __future__ import annotations

import json
import math
import re

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cloud_fixtures import BUCKET, LayoutServer, sample_layout
from conftest import run_build, shard_rows
from pmc_hub.cloud import CloudOptions, CloudSource, Selection, parse_metadata
from pmc_hub.cloud.metadata import (
    BAD_METADATA,
    FLAG_FIELDS,
    MAX_METADATA_BYTES,
    TEXT_FIELDS,
    UNKNOWN_LICENSE_CODE,
    URL_FIELDS,
    clean_text,
)
from pmc_hub.output import ARTICLES
from pmc_hub.remote import RetryPolicy

FAST = RetryPolicy(attempts=2, backoff=0.01, max_backoff=0.02)
BAD = "PMC3166277.1"
OPEN_ACCESS = ["PMC13173494.1", "PMC2958468.1", "PMC3166277.1", "PMC534114.10", "PMC7289444.1"]
DEEP = "[" * 100_000 + "]" * 100_000


def _record(layout, **changes) -> bytes:
    meta = dict(layout.metadata[BAD], **changes)
    return json.dumps(meta).encode()


# (case id, changes to the record of BAD, "fetched" or "failed", words the report must hold)
CASES = [
    ("xml_url-number", {"xml_url": 12345}, "failed", ["xml_url", "a number, not a string", "no usable XML location"]),
    ("xml_url-unparsable", {"xml_url": "http://[::1/PMC3166277.1/PMC3166277.1.xml"}, "failed", ["xml_url", "Invalid IPv6 URL"]),
    ("xml_url-other-article", {"xml_url": f"s3://{BUCKET}/PMC534114.10/PMC534114.10.xml"}, "failed",
     ["xml_url", "outside the article's folder PMC3166277.1/"]),
    ("media_urls-number", {"media_urls": 7}, "fetched", ["media_urls: a number, not a list"]),
    ("media_urls-items", lambda good: {"media_urls": [5, ["x"], {"u": 1}, good[1]]}, "fetched",
     ["media_urls: 3 of 4 dropped", "item 0: a number, not a string (and 2 more)"]),
    ("license_code-list", {"license_code": ["CC BY"]}, "fetched", ["license_code: an array, not a string"]),
    ("license_code-int", {"license_code": 4}, "fetched", ["license_code: a number, not a string"]),
    ("license_code-dict", {"license_code": {"code": "CC BY"}}, "fetched", ["license_code: an object, not a string"]),
    ("surrogates", {"pmid": "\ud800", "doi": "10.1/\ud800x", "title": "T\udfff"}, "fetched", ["pmid: '\\ud800' is not a PMID"]),
    ("version-text", {"version": "one"}, "fetched", ["version: 'one' is not a version number"]),
    ("version-bool", {"version": True}, "fetched", ["version: a boolean"]),
    ("nested-title", {"title": json.loads("[" * 500 + "]" * 500)}, "fetched", ["title: an array, not a string"]),
    ("pmcid-other", {"pmcid": "PMC534114"}, "fetched", ["pmcid: PMC534114 is not the article's (PMC3166277)"]),
    ("flag-text", {"is_pmc_openaccess": "true"}, "skipped", ["is_pmc_openaccess: a string, not true or false"]),
]
RAW_CASES = [  # whole records that cannot be read at all
    ("deeply-nested", DEEP.encode(), ["metadata JSON"]),
    ("not-an-object", b"[1, 2]", ["metadata JSON is an array, not an object"]),
    ("not-json", b'{"pmcid": "PMC3166277", ', ["unreadable metadata JSON"]),
    # a number too long for int(): only its field is bad, the article is fetched
    ("huge-number", lambda layout: _record(layout).replace(b'"version": 1', b'"version": 1' + b"0" * 5000), []),
]


@pytest.fixture
def layout():
    return sample_layout()


def _opts(tmp_path, endpoint, **kw) -> CloudOptions:
    return CloudOptions(cache_dir=tmp_path / "mirror", endpoint=endpoint, retry=FAST, selection=Selection(), **kw)


def _run(opts):
    source = CloudSource(opts)
    ids = [p.package_id for p in source.packages()]
    return ids, source.report


def _put(layout, body: bytes) -> None:
    for key in (f"{BAD}/{BAD}.json", f"metadata/{BAD}.json"):
        layout.objects[key] = body


@pytest.mark.parametrize("case, changes, outcome, words", CASES, ids=[c[0] for c in CASES])
def test_one_bad_value_is_reported_and_every_other_article_fetched(tmp_path, layout, case, changes, outcome, words):
    if callable(changes):
        changes = changes(layout.metadata[BAD]["media_urls"])
    _put(layout, _record(layout, **changes))
    with LayoutServer(layout) as server:
        ids, report = _run(_opts(tmp_path, server.endpoint, state_file=tmp_path / "state.json"))
    others = [pid for pid in OPEN_ACCESS if pid != BAD]
    assert sorted(set(ids) - {BAD}) == others  # every other article was fetched
    if outcome == "failed":
        assert BAD not in ids and [pid for pid, _ in report.failed] == [BAD]
        reason = report.failed[0][1]
        assert reason.startswith(f"metadata/{BAD}.json: ")
    elif outcome == "skipped":
        assert BAD not in ids and report.failed == [] and dict(report.skipped)[BAD].startswith("not in the open access")
        reason = " ".join(p for pid, p in report.problems if pid == BAD)
    else:
        assert BAD in ids and report.failed == []
        reason = " ".join(p for pid, p in report.problems if pid == BAD)
    for word in words:
        assert word in reason
    assert {pid for pid, _ in report.problems} <= {BAD}


@pytest.mark.parametrize("case, body, words", RAW_CASES, ids=[c[0] for c in RAW_CASES])
def test_an_unreadable_record_fails_alone_and_the_rerun_goes_on(tmp_path, layout, case, body, words):
    _put(layout, body(layout) if callable(body) else body)
    state = tmp_path / "state.json"
    with LayoutServer(layout) as server:
        ids, report = _run(_opts(tmp_path, server.endpoint, state_file=state))
        assert sorted(set(ids) - {BAD}) == [pid for pid in OPEN_ACCESS if pid != BAD]
        if words:
            assert BAD not in ids and [pid for pid, _ in report.failed] == [BAD]
            assert all(w in report.failed[0][1] for w in words)
        else:
            assert BAD in ids and "version" in report.problems[0][1]
        # The next run goes on: fetched versions are not fetched again; a failed one is tried again
        # (and, once the bucket fixes the record, fetched).
        again, report2 = _run(_opts(tmp_path, server.endpoint, state_file=state))
        assert again == [] and [pid for pid, _ in report2.failed] == ([BAD] if words else [])
        layout.add_version("PMC3166277", 1, layout.objects[f"{BAD}/{BAD}.xml"], seed=10, pmid="21810267")
        fixed, report3 = _run(_opts(tmp_path, server.endpoint, state_file=state))
        assert fixed == [BAD] and report3.failed == []  # a fixed record is fetched (as an update when it was before)


def test_a_bad_content_length_header_does_not_stop_the_article(tmp_path, layout):
    key = f"{BAD}/1471-2180-11-174-2.jpg"
    with LayoutServer(layout) as server:
        server.headers[key] = {"Content-Length": "twelve"}
        source = CloudSource(_opts(tmp_path, server.endpoint))
        packages = {p.package_id: p for p in source.packages()}
    assert sorted(packages) == OPEN_ACCESS and source.report.failed == []
    assert packages[BAD].media["1471-2180-11-174-2.jpg"]() == layout.objects[key]


def test_parser_keeps_only_well_typed_values():
    meta = parse_metadata(json.dumps({
        "pmcid": "PMC1", "version": "2", "pmid": 123, "doi": "10.1/\ud800", "title": "a\x00b\x07c\td", "mid": None,
        "is_pmc_openaccess": True, "is_retracted": 1, "license_code": "CC BY", "unknown": [[[{}]]],
        "xml_url": f"s3://{BUCKET}/PMC1.2/PMC1.2.xml?md5=" + "A" * 32,
        "media_urls": [f"https://{BUCKET}.s3.amazonaws.com/PMC1.2/f.jpg", "http://127.0.0.1:1/pmc-oa-opendata/PMC1.2/g.png",
                       f"s3://{BUCKET}/PMC1.2/.hidden", f"s3://{BUCKET}/PMC1.2/f.jpg"],
        "text_url": 5, "pdf_url": float("nan"),
    }), "PMC1.2")
    assert meta.values == {
        "pmcid": "PMC1", "version": 2, "pmid": "123", "doi": "10.1/\ufffd", "title": "abc\td", "mid": None,
        "is_pmc_openaccess": True, "license_code": "CC BY", "xml_url": f"s3://{BUCKET}/PMC1.2/PMC1.2.xml?md5=" + "A" * 32,
        "media_urls": [f"https://{BUCKET}.s3.amazonaws.com/PMC1.2/f.jpg", "http://127.0.0.1:1/pmc-oa-opendata/PMC1.2/g.png",
                       f"s3://{BUCKET}/PMC1.2/f.jpg"],
    }
    assert (meta.xml.key, meta.xml.md5) == ("PMC1.2/PMC1.2.xml", "a" * 32)
    assert [m.key for m in meta.media] == ["PMC1.2/f.jpg", "PMC1.2/g.png"]  # path-style bucket dropped; f.jpg once
    assert sorted(p.split(":")[0] for p in meta.problems) == ["is_retracted", "media_urls", "pdf_url", "text_url"]
    assert "unsafe file name" in next(p for p in meta.problems if p.startswith("media_urls"))
    # Every kept text is valid UTF-8, so an Arrow/Parquet string column takes it.
    pa.array([v for v in meta.values.values() if isinstance(v, str)], pa.string())
    assert all(isinstance(clean_text(s).encode("utf-8"), bytes) for s in ("\ud800", "\udfff\ud800", "ok"))


def test_parser_without_xml_url_uses_the_bucket_layout_and_never_raises():
    assert parse_metadata({}, "PMC9.3").xml.key == "PMC9.3/PMC9.3.xml"
    assert parse_metadata({"xml_url": None}, "PMC9.3").xml.key == "PMC9.3/PMC9.3.xml"
    assert parse_metadata({}, None).xml is None  # no id, no guess
    bad_code = parse_metadata({"license_code": {"code": "CC BY"}}, "PMC9.3")
    assert bad_code.values["license_code"] == UNKNOWN_LICENSE_CODE
    assert bad_code.problems == ("license_code: an object, not a string; counted as an unknown license",)
    too_big = b'{"title": "' + b"x" * MAX_METADATA_BYTES + b'"}'
    assert "larger than" in parse_metadata(too_big, "PMC9.3").problems[0]
    for junk in (b"\xff\xfe\x00", b"NaN", b'{"version": Infinity}', "\ud800".encode("utf-8", "surrogatepass"),
                 b'{"media_urls": [' + b"1," * 10_000 + b"1]}"):
        meta = parse_metadata(junk, "PMC9.3")
        assert meta.problems and len(meta.problems) <= 2
        assert all(len(p) < 1000 for p in meta.problems)
    assert not math.isnan(parse_metadata(b'{"version": NaN}', "PMC9.3").values.get("version", 0))


def test_a_build_from_the_layout_on_disk_writes_every_article(tmp_path, layout):
    """The local PMC Cloud layout reads the metadata with the same parser: bad values become report
    entries, text is clean (a lone surrogate reaches Parquet as U+FFFD), every article is written."""
    _put(layout, _record(layout, pmid="\ud800", doi="10.1186/x\udfff", license_code=["CC BY"], media_urls=7))
    layout.set_metadata("PMC7289444.1", dict(layout.metadata["PMC7289444.1"], title="\ud800" * 3, version={"n": [1]}))
    root = tmp_path / "layout"
    for key, data in layout.objects.items():
        if key == f"{BAD}/{BAD}.xml":  # without its own ids, the article takes PMC's doi and pmid
            data = re.sub(rb'<article-id pub-id-type="(doi|pmid)">[^<]*</article-id>', b"", data)
        if not key.startswith("metadata/"):
            (root / key).parent.mkdir(parents=True, exist_ok=True)
            (root / key).write_bytes(data)
    out = tmp_path / "out"
    report = run_build([root], out, write_card=False, dedup=False)
    assert report.articles_in == 6 and report.articles_written == 6  # the 5 OA articles and the manuscript
    dropped = {(s["article"], s["detail"].split(":")[1].strip()) for s in report.skipped if s["reason"] == BAD_METADATA}
    assert dropped == {(BAD, "pmid"), (BAD, "license_code"), (BAD, "media_urls"), ("PMC7289444.1", "version")}
    row = next(r for r in shard_rows(out, ARTICLES) if r["article_accession_id"] == "PMC3166277")
    assert row["article_doi"] == "10.1186/x\ufffd" and row["article_pmid"] is None
    # its XML says CC BY, but PMC's license_code was unreadable: an unknown license, never commercial
    assert row["license_category"] == "other"


# --- fuzz: mutated real records never raise and never yield an ill-typed value ----------------

_NASTY = st.sampled_from(["\ud800", "\udfff", "\x00", "\x1b", "\u200b", "\ufeff", "/", ".", "%", "?", "[", ":"])
# (st.text would merge the alphabets into one that leaves surrogates out)
_text = st.lists(st.characters() | _NASTY, max_size=40).map("".join) | st.sampled_from([
    f"s3://{BUCKET}/PMC3166277.1/x.jpg", f"s3://{BUCKET}/PMC3166277.1/..", f"http://[::1/{BUCKET}/PMC3166277.1/a.jpg"])
_json = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**40), 10**40) | st.floats(allow_nan=True) | _text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_text, inner, max_size=4), max_leaves=12)
_REAL = sample_layout().metadata[BAD]
_TYPES = {**{f: str for f in TEXT_FIELDS + URL_FIELDS + ("pmcid", "pmid", "license_code")}, **{f: bool for f in FLAG_FIELDS},
          "version": int, "media_urls": list}


def _check(meta) -> None:
    assert set(meta.values) <= set(_TYPES)
    for name, value in meta.values.items():
        assert value is None or type(value) is _TYPES[name], (name, value)
        for text in value if isinstance(value, list) else [value]:
            if isinstance(text, str):
                text.encode("utf-8")  # no lone surrogate left
    assert meta.xml is None or meta.xml.key.startswith(f"{BAD}/")
    assert all(m.key.startswith(f"{BAD}/") for m in meta.media)
    assert len(meta.problems) <= len(_TYPES) and all(len(p) < 1000 for p in meta.problems)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.sampled_from(sorted(_TYPES)), _text | _json, max_size=6))
def test_fuzz_field_values(changes):
    record = dict(_REAL, **changes)
    _check(parse_metadata(record, BAD))
    try:
        raw = json.dumps(record).encode()  # also through the bytes path, where json can say it
    except ValueError:
        return
    _check(parse_metadata(raw, BAD))


@settings(max_examples=150, deadline=None)
@given(st.integers(0, 2000), st.binary(max_size=8), st.integers(0, 2000))
def test_fuzz_damaged_bytes(cut, junk, at):
    raw = json.dumps(_REAL).encode()
    at = min(at, len(raw))
    _check(parse_metadata(raw[:at] + junk + raw[at:][: max(0, cut)], BAD))


@pytest.mark.parametrize("query, md5", [
    ("md5=" + "AbCd" * 8, "abcd" * 8),                    # the bucket's form, any case
    ("md5=%20" + "ab" * 16 + "%20", "ab" * 16),           # encoded, with spaces around it
    ("v=2&md5=" + "0f" * 16, "0f" * 16),                  # among other parameters
    ("md5=" + "0f" * 16 + "&md5=" + "1e" * 16, "0f" * 16),  # the first one counts
    ("md5=" + "a" * 31, None), ("md5=" + "g" * 32, None), ("md5=", None), ("", None), ("md5", None),
])
def test_an_object_url_keeps_its_md5_only_when_it_is_one(query, md5):
    from pmc_hub.cloud.metadata import parse_object_url

    url = f"s3://{BUCKET}/PMC1.2/fig1.jpg" + (f"?{query}" if query else "")
    assert parse_object_url(url, "PMC1.2").md5 == md5
