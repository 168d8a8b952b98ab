"""PMC Cloud source over real HTTP: a loopback bucket server and moto's S3 server."""
from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from cli_checks import dead_endpoint, one_line_error
from cloud_fixtures import BUCKET, INVENTORY_DATE, SAMPLES, LayoutServer, graphic_files, load_into_s3, sample_layout
from pmc_hub import cli
from pmc_hub.cloud import (
    CloudOptions,
    CloudSource,
    HttpBucket,
    Selection,
    StateError,
    inventory_dates,
    latest_versions,
    normalize_pmcid,
    parse_listing,
    read_pmcid_file,
    versions_from_inventory,
    versions_from_listing,
)
from pmc_hub.remote import RemoteError, RetryPolicy

FAST = RetryPolicy(attempts=3, backoff=0.01, max_backoff=0.05)
COMMERCIAL = frozenset({"commercial"})


@pytest.fixture
def layout():
    return sample_layout()


@pytest.fixture
def server(layout):
    with LayoutServer(layout) as srv:
        yield srv


def options(tmp_path: Path, endpoint: str, **kw) -> CloudOptions:
    kw.setdefault("retry", FAST)
    return CloudOptions(cache_dir=tmp_path / "mirror", endpoint=endpoint, **kw)


def run(opts: CloudOptions):
    source = CloudSource(opts)
    packages = list(source.packages())
    return packages, source.report


def test_listing_enumerates_every_version_and_keeps_the_highest_number(server):
    bucket = HttpBucket(server.endpoint)
    versions = list(versions_from_listing(bucket, FAST))
    assert sorted(v.package_id for v in versions) == sorted(
        ["PMC13173494.1", "PMC2958468.1", "PMC3166277.1", "PMC534114.1", "PMC534114.10", "PMC534114.2",
         "PMC5828200.1", "PMC7289444.1"])
    assert server.downloads("?list") >= 2  # page size 4: the continuation token was followed
    latest = latest_versions(versions)
    assert latest["PMC534114"].version == 10  # numeric, not "2" > "10"
    assert latest["PMC534114"].key == "metadata/PMC534114.10.json"
    assert all(v.etag and len(v.etag) == 32 for v in latest.values())


def test_commercial_selection_yields_packages_with_verified_media(tmp_path, server, layout):
    packages, report = run(options(tmp_path, server.endpoint, selection=Selection(licenses=COMMERCIAL)))
    by_id = {p.package_id: p for p in packages}
    assert sorted(by_id) == ["PMC3166277.1", "PMC534114.10", "PMC7289444.1"]
    assert dict(report.skipped) == {
        "PMC13173494.1": "license group noncommercial not selected",
        "PMC2958468.1": "license group other not selected",  # TDM is not a reuse license
        "PMC5828200.1": "not in the open access subset (is_pmc_openaccess is not true)",
    }
    pkg = by_id["PMC3166277.1"]
    assert pkg.xml == (SAMPLES / "PMC3166277/PMC3166277.nxml").read_bytes()
    assert pkg.metadata == layout.metadata["PMC3166277.1"]
    assert sorted(pkg.media) == sorted(graphic_files(pkg.xml)) == [f"1471-2180-11-174-{i}.jpg" for i in range(1, 5)]
    for name, load in pkg.media.items():
        url = next(u for u in pkg.metadata["media_urls"] if f"/{name}?" in u)
        assert hashlib.md5(load()).hexdigest() == url.split("md5=")[1]
    assert by_id["PMC534114.10"].xml.endswith(b"<!-- version 10 -->")
    mirror = tmp_path / "mirror"
    assert sorted(p.name for p in mirror.iterdir() if not p.name.startswith(".")) == sorted(by_id)
    assert (mirror / "PMC3166277.1" / "PMC3166277.1.json").read_bytes() == layout.objects["metadata/PMC3166277.1.json"]
    assert not list(mirror.rglob(".*.part"))


def test_pmcid_list_since_and_limit(tmp_path, server):
    ids = tmp_path / "ids.txt"
    ids.write_text("# wanted\nPMC2958468\n534114\n\n")
    packages, report = run(options(tmp_path, server.endpoint, selection=Selection(pmcids=read_pmcid_file(ids))))
    assert [p.package_id for p in packages] == ["PMC534114.10", "PMC2958468.1"]
    assert report.excluded == 4

    future = Selection(since=datetime(2027, 1, 1, tzinfo=timezone.utc))
    assert run(options(tmp_path, server.endpoint, selection=future))[0] == []
    past = Selection(since=datetime(2026, 11, 1), licenses=COMMERCIAL, limit=2)
    assert len(run(options(tmp_path, server.endpoint, selection=past))[0]) == 2


def test_503_answers_are_retried(tmp_path, server):
    server.fail["?list"] = 1
    server.fail["PMC3166277.1/PMC3166277.1.xml"] = 2
    server.fail["PMC3166277.1/1471-2180-11-174-2.jpg"] = 1
    packages, report = run(options(tmp_path, server.endpoint, selection=Selection(pmcids=frozenset({"PMC3166277"}))))
    assert [p.package_id for p in packages] == ["PMC3166277.1"]
    assert report.failed == []
    assert server.downloads("PMC3166277.1/PMC3166277.1.xml") == 3
    assert server.downloads("PMC3166277.1/1471-2180-11-174-2.jpg") == 2


def test_corrupted_transfer_is_retried_then_reported(tmp_path, server, layout):
    key = "PMC7289444.1/pntd.0008301.g002.jpg"
    server.corrupt[key] = 1
    opts = options(tmp_path, server.endpoint, selection=Selection(licenses=COMMERCIAL), state_file=tmp_path / "state.json")
    packages, report = run(opts)
    pkg = next(p for p in packages if p.package_id == "PMC7289444.1")
    assert pkg.media["pntd.0008301.g002.jpg"]() == layout.objects[key]
    assert server.downloads(key) == 2

    # A version whose object stays corrupt fails alone, names the key, and is retried next run.
    layout.add_version("PMC7289444", 2, layout.objects["PMC7289444.1/PMC7289444.1.xml"], seed=90, license_code="CC0")
    bad = "PMC7289444.2/pntd.0008301.g003.jpg"
    server.corrupt[bad] = 99
    packages, report = run(opts)
    assert [p.package_id for p in packages] == []
    assert len(report.failed) == 1
    pid, reason = report.failed[0]
    assert pid == "PMC7289444.2" and bad in reason and "md5 mismatch" in reason
    assert not (tmp_path / "mirror" / bad).exists()
    assert not list((tmp_path / "mirror").rglob(".*.part"))
    assert report.superseded == ["PMC7289444.1"]  # reported while the new version is still pending

    server.corrupt.clear()
    packages, report = run(opts)
    assert [p.package_id for p in packages] == ["PMC7289444.2"]
    assert report.failed == []


def test_cached_verified_files_are_never_fetched_again(tmp_path, server):
    opts = options(tmp_path, server.endpoint, selection=Selection(licenses=COMMERCIAL))
    first, report1 = run(opts)
    assert report1.transfer.downloaded_files > 0
    before = server.requests.copy()
    second, report2 = run(opts)  # no state file: every article is yielded again, from the cache
    assert [p.package_id for p in second] == [p.package_id for p in first]
    # Only the metadata of the three rejected versions is read again (rejected: not mirrored).
    assert report2.transfer.downloaded_files == 3
    changed = sorted(k for k in server.requests if server.requests[k] != before[k] and k != "?list")
    assert changed == ["metadata/PMC13173494.1.json", "metadata/PMC2958468.1.json", "metadata/PMC5828200.1.json"]
    # A damaged cached file no longer matches its md5 and is fetched again.
    damaged = tmp_path / "mirror" / "PMC3166277.1" / "1471-2180-11-174-1.jpg"
    damaged.write_bytes(b"not the image")
    third, report3 = run(opts)
    assert report3.transfer.downloaded_files == 3 + 1
    assert next(p for p in third if p.package_id == "PMC3166277.1").media["1471-2180-11-174-1.jpg"]() != b"not the image"


def test_incremental_run_fetches_only_new_and_updated_versions(tmp_path, server, layout):
    opts = options(tmp_path, server.endpoint, selection=Selection(licenses=COMMERCIAL), state_file=tmp_path / "state.json")
    first, report = run(opts)
    assert sorted(p.package_id for p in first) == ["PMC3166277.1", "PMC534114.10", "PMC7289444.1"]
    assert len(report.new) == 6 and report.updated == []

    # PMC: a new version of PMC534114, an updated PMC7289444.1, PMC3166277 withdrawn, a new article.
    layout.add_version("PMC534114", 11, (SAMPLES / "PMC534114/PMC534114.nxml").read_bytes(), seed=31)
    meta = dict(layout.metadata["PMC7289444.1"], title="corrected title")
    layout.set_metadata("PMC7289444.1", meta)
    layout.remove_version("PMC3166277.1")
    layout.add_version("PMC2329613", 1, (SAMPLES / "PMC2329613/PMC2329613.nxml").read_bytes())
    nc_metadata_gets = server.downloads("metadata/PMC13173494.1.json")

    second, report = run(opts)
    assert sorted(p.package_id for p in second) == ["PMC2329613.1", "PMC534114.11", "PMC7289444.1"]
    assert sorted(report.new) == ["PMC2329613.1", "PMC534114.11"]
    assert report.updated == ["PMC7289444.1"]
    assert next(p for p in second if p.package_id == "PMC7289444.1").metadata["title"] == "corrected title"
    assert report.removed == ["PMC3166277.1"]
    assert report.superseded == ["PMC534114.10"]
    assert report.unchanged == 3  # the NC, TDM and manuscript versions skipped last time
    assert server.downloads("metadata/PMC13173494.1.json") == nc_metadata_gets

    third, report = run(opts)
    assert third == [] and report.new == [] and report.updated == [] and report.removed == []
    state = json.loads((tmp_path / "state.json").read_text())
    assert "metadata/PMC3166277.1.json" not in state["versions"]
    assert state["versions"]["metadata/PMC534114.11.json"]["status"] == "fetched"


def test_other_filters_reexamine_versions_skipped_before(tmp_path, server):
    state = tmp_path / "state.json"
    run(options(tmp_path, server.endpoint, selection=Selection(licenses=COMMERCIAL), state_file=state))
    packages, report = run(options(tmp_path, server.endpoint, selection=Selection(), state_file=state))
    assert sorted(p.package_id for p in packages) == ["PMC13173494.1", "PMC2958468.1"]
    assert [pid for pid, _ in report.skipped] == ["PMC5828200.1"]


def test_inventory_enumeration_matches_the_listing(tmp_path, server, layout):
    layout.add_inventory()
    bucket = HttpBucket(server.endpoint)
    assert inventory_dates(bucket, FAST) == [INVENTORY_DATE]
    from_inventory = latest_versions(versions_from_inventory(bucket, "latest", FAST))
    assert {k: (v.key, v.etag) for k, v in from_inventory.items()} == {
        k: (v.key, v.etag) for k, v in latest_versions(versions_from_listing(bucket, FAST)).items()}
    packages, report = run(options(tmp_path, server.endpoint, inventory="latest", selection=Selection(licenses=COMMERCIAL)))
    assert sorted(p.package_id for p in packages) == ["PMC3166277.1", "PMC534114.10", "PMC7289444.1"]
    with pytest.raises(RemoteError, match="2026-01-01"):
        list(versions_from_inventory(bucket, "2026-01-01", FAST))


def test_s3_client_over_a_loopback_s3_server(tmp_path, layout):
    from moto.server import ThreadedMotoServer

    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    moto.start()
    try:
        host, port = moto.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        load_into_s3(endpoint, layout)
        got = {}
        for client in ("s3", "https"):  # boto3 unsigned, and plain GETs against real S3 XML
            packages, report = run(options(tmp_path / client, endpoint, client=client, selection=Selection(licenses=COMMERCIAL)))
            got[client] = {p.package_id: (p.xml, {n: f() for n, f in p.media.items()}) for p in packages}
            assert report.failed == []
        assert sorted(got["s3"]) == ["PMC3166277.1", "PMC534114.10", "PMC7289444.1"]
        assert got["s3"] == got["https"]
    finally:
        moto.stop()


def test_fetch_command_mirrors_the_selection(tmp_path, server, capsys):
    out = tmp_path / "mirror"
    rc = cli.main(["fetch", "--to", str(out), "--endpoint", server.endpoint, "--license", "commercial,noncommercial", "--limit", "3"])
    assert rc == 0
    folders = sorted(p.name for p in out.iterdir() if p.is_dir())
    assert len(folders) == 3
    for pid in folders:
        assert (out / pid / f"{pid}.xml").is_file() and (out / pid / f"{pid}.json").is_file()
    printed = capsys.readouterr().out
    assert "fetched 3 articles" in printed
    rc = cli.main(["fetch", "--to", str(out), "--endpoint", server.endpoint, "--license", "commercial,noncommercial"])
    assert rc == 0
    assert "fetched 1 articles" in capsys.readouterr().out  # the 4th; the first 3 are unchanged
    with pytest.raises(SystemExit):
        cli.main(["fetch", "--to", str(out), "--license", "comercial"])
    assert "unknown license group(s) ['comercial']" in capsys.readouterr().err


def test_bad_input_gets_a_clear_error(tmp_path, server, layout):
    assert normalize_pmcid(" pmc00123 ") == "PMC123"
    with pytest.raises(ValueError, match="not a PMCID: 'PMID123'"):
        normalize_pmcid("PMID123")
    ids = tmp_path / "ids.txt"
    ids.write_text("PMC1\nDOI:10.1/x\n")
    with pytest.raises(ValueError, match=r"ids.txt:2: not a PMCID"):
        read_pmcid_file(ids)
    with pytest.raises(ValueError, match="unknown license group"):
        Selection(licenses=frozenset({"free"}))
    # Metadata naming a file outside the article folder: that file is dropped and named; the
    # article comes without it (its figure is reported missing by the build), nothing is written outside.
    good = layout.metadata["PMC3166277.1"]["media_urls"]
    meta = dict(layout.metadata["PMC3166277.1"], media_urls=[f"s3://{BUCKET}/PMC3166277.1/..?md5=0", *good[1:]])
    layout.set_metadata("PMC3166277.1", meta)
    packages, report = run(options(tmp_path, server.endpoint, selection=Selection(licenses=COMMERCIAL)))
    pkg = next(p for p in packages if p.package_id == "PMC3166277.1")
    assert sorted(pkg.media) == sorted(u.split("/")[-1].split("?")[0] for u in good[1:])
    assert report.failed == []
    assert len(report.problems) == 1 and report.problems[0][0] == "PMC3166277.1"
    assert "unsafe file name" in report.problems[0][1] and "'PMC3166277.1/..'" in report.problems[0][1]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ids.txt", "mirror"]
    (tmp_path / "state.json").write_text(json.dumps({"format": 1, "bucket": "another", "versions": {}}))
    with pytest.raises(StateError, match="another"):
        CloudSource(options(tmp_path, server.endpoint, state_file=tmp_path / "state.json"))


def test_listing_xml_is_parsed_without_entities_or_network():
    body = (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/hostname">]>'
            b'<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><IsTruncated>false</IsTruncated>'
            b"<Contents><Key>metadata/PMC1.1.json&e;</Key><ETag>&quot;abc&quot;</ETag><Size>3</Size></Contents>"
            b"</ListBucketResult>")
    page = parse_listing(body)
    assert len(page.objects) == 1
    assert page.objects[0].key == "metadata/PMC1.1.json"  # the external entity was not expanded
    assert page.objects[0].etag == "abc" and page.next_token is None


def test_a_pmc_cloud_spec_feeds_the_build(tmp_path, server):
    from conftest import run_build
    from pmc_hub.cloud import open_cloud_source, options_from_spec

    spec = f"{server.endpoint}/{BUCKET}?license=commercial&cache={tmp_path / 'cache'}"
    assert sorted(p.package_id for p in open_cloud_source(spec)) == ["PMC3166277.1", "PMC534114.10", "PMC7289444.1"]
    with pytest.raises(ValueError, match="unknown option"):
        options_from_spec(f"s3://{BUCKET}?licence=commercial")

    # dedup off: the fixture's small generated images are alike enough to count as near duplicates
    report = run_build([spec], tmp_path / "out", write_card=False, dedup=False)
    assert report.articles_written == 3
    assert set(report.licenses) == {"commercial"}
    # Every figure image of the three articles came from the bucket: none missing, none skipped.
    assert report.images_written == report.images_in == 13
    assert report.skipped == []
    assert report.configs == {"commercial": {"train": 13}, "articles": {"train": 3}}


def test_fetch_errors_are_one_line(tmp_path, server, capsys):
    out = tmp_path / "mirror"
    # a bad spec: argparse's usage error (exit 2) names the option and the fix
    with pytest.raises(SystemExit) as exit_:
        cli.main(["fetch", "--to", str(out), "--endpoint", "ftp://127.0.0.1/x"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "argument --endpoint: endpoint 'ftp://127.0.0.1/x' is not an http(s) URL" in err and "Traceback" not in err
    # an unreachable endpoint: one line, exit 1
    dead = dead_endpoint()
    assert cli.main(["fetch", "--to", str(out), "--endpoint", dead, "--retries", "1"]) == 1
    err = one_line_error(capsys)
    assert dead in err and "list 'metadata/'" in err
    # a damaged state file: one line naming the file and what to do, exit 1
    out.mkdir(exist_ok=True)
    (out / ".pmc-cloud-state.json").write_text('{"format": 1, "bucket": "pmc-oa-opendata", "versions": {')
    assert cli.main(["fetch", "--to", str(out), "--endpoint", server.endpoint]) == 1
    err = one_line_error(capsys)
    assert f"{out / '.pmc-cloud-state.json'}: damaged state file" in err and "delete it" in err
    (out / ".pmc-cloud-state.json").write_text('{"format": 1, "bucket": "pmc-oa-opendata", "versions": {"k": 5}}')
    assert cli.main(["fetch", "--to", str(out), "--endpoint", server.endpoint]) == 1
    assert "not a pmc-hub fetch state" in one_line_error(capsys)
    # deleting it, as the message says, starts over
    (out / ".pmc-cloud-state.json").unlink()
    assert cli.main(["fetch", "--to", str(out), "--endpoint", server.endpoint, "--limit", "1"]) == 0


def test_a_bad_cloud_spec_in_a_build_is_a_usage_error(tmp_path, capsys):
    rc = cli.main(["build", f"s3://{BUCKET}?licence=commercial", "--out", str(tmp_path / "out"), "--no-progress"])
    assert rc == 2
    err = one_line_error(capsys)
    assert "unknown option(s) 'licence'" in err and "valid options: license, pmcids" in err


def test_a_listing_that_goes_round_in_circles_is_an_error(server):
    class Circular(HttpBucket):
        def list_page(self, prefix, token, delimiter):
            page = super().list_page(prefix, token, delimiter)
            page.next_token = "4"  # always "the next page is the second one"
            return page

    with pytest.raises(RemoteError, match="repeats continuation token '4'"):
        list(versions_from_listing(Circular(server.endpoint), FAST))
    assert server.downloads("?list") == 2
