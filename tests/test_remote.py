"""Remote requests follow redirects only within the source host (issue 9.11), for the bucket and E-utilities."""
from __future__ import annotations

import pytest

from cloud_fixtures import BUCKET, EfetchServer, LayoutServer, sample_layout
from pmc_hub.cloud import CloudOptions, CloudSource, Selection
from pmc_hub.mesh import MeshError, MeshLookup
from pmc_hub.remote import RetryPolicy, redirect_allowed

FAST = RetryPolicy(attempts=2, backoff=0.01, max_backoff=0.02)
ARTICLE = "PMC3166277.1"
MEDIA = f"{ARTICLE}/1471-2180-11-174-3.jpg"


@pytest.mark.parametrize("source, target, allowed", [
    ("https://b.s3.amazonaws.com/k", "https://b.s3.amazonaws.com/other?x=1", True),
    ("https://B.s3.amazonaws.com/k", "https://b.s3.amazonaws.com:443/k", True),
    ("http://eutils.ncbi.nlm.nih.gov/x", "https://eutils.ncbi.nlm.nih.gov/x", True),  # upgrade, same host
    ("http://127.0.0.1:5000/b/k", "https://127.0.0.1:5000/b/k", True),
    ("https://eutils.ncbi.nlm.nih.gov/x", "http://eutils.ncbi.nlm.nih.gov/x", False),  # downgrade
    ("https://b.s3.amazonaws.com/k", "https://evil.example/k", False),
    ("https://b.s3.amazonaws.com/k", "https://b.s3.amazonaws.com.evil.example/k", False),
    ("https://b.s3.amazonaws.com/k", "https://user@evil.example/k", False),
    ("http://127.0.0.1:5000/b/k", "http://127.0.0.1:5001/b/k", False),  # another port, another server
    ("http://127.0.0.1:5000/b/k", "http://localhost:5000/b/k", False),
    ("http://127.0.0.1:5000/b/k", "http://[::1/b/k", False),  # unparsable
    ("http://127.0.0.1:5000/b/k", "file:///etc/passwd", False),
])
def test_which_redirects_are_followed(source, target, allowed):
    assert redirect_allowed(source, target) is allowed


def test_a_redirect_to_another_host_fails_that_article_only(tmp_path):
    layout = sample_layout()
    with LayoutServer(layout) as server, LayoutServer(layout) as elsewhere:
        server.redirects[MEDIA] = f"{elsewhere.endpoint}/{BUCKET}/{MEDIA}"
        opts = CloudOptions(cache_dir=tmp_path / "mirror", endpoint=server.endpoint, retry=FAST,
                            selection=Selection(licenses=frozenset({"commercial"})))
        source = CloudSource(opts)
        ids = [p.package_id for p in source.packages()]
        assert sum(elsewhere.requests.values()) == 0  # the other host was never asked
    assert ids == ["PMC534114.10", "PMC7289444.1"]
    (pid, reason), = source.report.failed
    other = elsewhere.endpoint.split("//")[1]
    assert pid == ARTICLE and reason.startswith(f"{MEDIA}: ") and f"to {other} refused" in reason
    assert not (tmp_path / "mirror" / MEDIA).exists()


def test_a_redirect_within_the_host_is_followed(tmp_path):
    layout = sample_layout()
    with LayoutServer(layout) as server:
        server.redirects[MEDIA] = f"{server.endpoint}/{BUCKET}/{MEDIA}?redirected=1"
        opts = CloudOptions(cache_dir=tmp_path / "mirror", endpoint=server.endpoint, retry=FAST,
                            selection=Selection(pmcids=frozenset({"PMC3166277"})))
        (package,) = list(CloudSource(opts).packages())
    assert package.media["1471-2180-11-174-3.jpg"]() == layout.objects[MEDIA]


def test_efetch_refuses_a_redirect_to_another_host():
    with EfetchServer() as server, EfetchServer() as elsewhere:
        server.redirect_to = elsewhere.url
        lookup = MeshLookup.from_eutils(server.url, rate=1000, retry=FAST)
        with pytest.raises(MeshError, match=r"efetch PMIDs 26846451\.\.26846451: HTTP 307 redirect .* to 127\.0\.0\.1:\d+ refused"):
            lookup.terms(["26846451"])
        assert elsewhere.calls == [] and len(server.calls) == 1  # refused at once, not retried
