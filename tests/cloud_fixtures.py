"""A PMC Cloud bucket built from real sample articles, served on 127.0.0.1.

`sample_layout()` lays real JATS files out as the ``pmc-oa-opendata`` bucket does
(``PMC<id>.<N>/`` + ``metadata/``, metadata JSON fields per docs/sources.md, small generated
JPEGs named after the graphic hrefs). `LayoutServer` serves that layout over plain HTTP with
S3's ListObjectsV2 XML, and can fail or corrupt chosen responses; `moto_bucket()` loads it into
moto's S3 server for the boto3 client.
"""
from __future__ import annotations

import gzip
import hashlib
import io
import json
import re
import threading
import urllib.parse
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Optional
from xml.sax.saxutils import escape

from lxml import etree
from PIL import Image

SAMPLES = Path(__file__).parent / "data" / "samples"
BUCKET = "pmc-oa-opendata"
XLINK = "{http://www.w3.org/1999/xlink}href"
INVENTORY_DATE = "2026-11-20T01-00Z"
_HAS_EXT = re.compile(r"\.(jpe?g|gif|png|tiff?)$", re.I)


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def make_jpeg(seed: int) -> bytes:
    img = Image.new("RGB", (24, 16), ((seed * 53) % 256, (seed * 97) % 256, (seed * 31) % 256))
    for x in range(seed % 24):
        img.putpixel((x, x % 16), (255, 255, 255))
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=90)
    return buf.getvalue()


def graphic_files(xml: bytes) -> list[str]:
    """File names PMC stores for the article's graphics: the href, plus ``.jpg`` when it has none."""
    root = etree.fromstring(xml, etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False))
    names = []
    for el in root.iter("graphic", "inline-graphic"):
        href = el.get(XLINK)
        if href:
            name = href if _HAS_EXT.search(href) else href + ".jpg"
            if name.lower().endswith(".jpg") and name not in names:
                names.append(name)
    return names


@dataclass
class Layout:
    """Bucket objects (key -> bytes) and the metadata dict of each article version."""

    objects: dict[str, bytes] = field(default_factory=dict)
    metadata: dict[str, dict] = field(default_factory=dict)  # package id -> metadata

    def add_version(self, pmcid: str, version: int, xml: bytes, seed: int = 0, **fields) -> dict:
        pid = f"{pmcid}.{version}"
        self.objects[f"{pid}/{pid}.xml"] = xml
        media_urls = []
        for i, name in enumerate(graphic_files(xml)):
            data = make_jpeg(seed + i + 1)
            self.objects[f"{pid}/{name}"] = data
            media_urls.append(f"s3://{BUCKET}/{pid}/{name}?md5={md5(data)}")
        meta = {"pmcid": pmcid, "version": version, "pmid": None, "doi": None, "mid": None, "title": None,
                "citation": None, "is_pmc_openaccess": True, "is_manuscript": False, "is_historical_ocr": False,
                "is_retracted": False, "license_code": "CC BY",
                "xml_url": f"s3://{BUCKET}/{pid}/{pid}.xml?md5={md5(xml)}",
                "text_url": f"s3://{BUCKET}/{pid}/{pid}.txt", "pdf_url": None, "media_urls": media_urls}
        meta.update(fields)
        self.set_metadata(pid, meta)
        return meta

    def set_metadata(self, pid: str, meta: dict) -> None:
        body = json.dumps(meta, indent=2).encode()
        self.metadata[pid] = meta
        self.objects[f"{pid}/{pid}.json"] = body
        self.objects[f"metadata/{pid}.json"] = body

    def remove_version(self, pid: str) -> None:
        for key in [k for k in self.objects if k.startswith(f"{pid}/") or k == f"metadata/{pid}.json"]:
            del self.objects[key]
        self.metadata.pop(pid, None)

    def add_inventory(self, date: str = INVENTORY_DATE, parts: int = 2) -> None:
        """S3 inventory of ``metadata/``: a manifest and ``parts`` gzipped header-less CSVs."""
        keys = sorted(k for k in self.objects if k.startswith("metadata/"))
        files = []
        for n in range(parts):
            rows = "".join(f'"{BUCKET}","{urllib.parse.quote(k)}","2026-11-19T12:00:00.000Z","{md5(self.objects[k])}"\n'
                           for k in keys[n::parts])
            data = gzip.compress(rows.encode())
            key = f"inventory-reports/{BUCKET}/metadata/data/{date}-part{n}.csv.gz"
            self.objects[key] = data
            files.append({"key": key, "size": len(data), "MD5checksum": md5(data)})
        manifest = {"sourceBucket": BUCKET, "destinationBucket": f"arn:aws:s3:::{BUCKET}", "version": "2016-11-30",
                    "fileFormat": "CSV", "fileSchema": "Bucket, Key, LastModifiedDate, ETag", "files": files}
        self.objects[f"inventory-reports/{BUCKET}/metadata/{date}/manifest.json"] = json.dumps(manifest).encode()


def _sample(path: str) -> bytes:
    return (SAMPLES / path).read_bytes()


def sample_layout() -> Layout:
    """Seven article versions of five PMCIDs plus a manuscript:

    PMC3166277.1  CC BY (commercial), 4 figures      PMC534114.1/.2/.10  CC BY, three versions
    PMC13173494.1 CC BY-NC (noncommercial)           PMC2958468.1  TDM (other)
    PMC7289444.1  CC0 (commercial)                   PMC5828200.1  author manuscript, not OA
    """
    layout = Layout()
    layout.add_version("PMC3166277", 1, _sample("PMC3166277/PMC3166277.nxml"), seed=10, pmid="21810267")
    base = _sample("PMC534114/PMC534114.nxml")
    for n in (1, 2, 10):  # N compared as a number: 10 is the latest, not 2
        layout.add_version("PMC534114", n, base + f"<!-- version {n} -->".encode(), seed=20 + n, pmid="15550174")
    layout.add_version("PMC13173494", 1, _sample("europepmc-2026/PMC13173494.xml"), seed=40, license_code="CC BY-NC")
    layout.add_version("PMC2958468", 1, _sample("PMC2958468/PMC2958468.nxml"), seed=50, license_code="TDM")
    layout.add_version("PMC7289444", 1, _sample("PMC7289444/PMC7289444.nxml"), seed=60, license_code="CC0")
    layout.add_version("PMC5828200", 1, _sample("PMC5828200/PMC5828200.nxml"), seed=70, is_pmc_openaccess=False,
                       is_manuscript=True, license_code=None, mid="NIHMS123456")
    return layout


# --- plain HTTP server with S3's URL scheme ---------------------------------------------------


class LayoutServer:
    """Serves a `Layout` at ``http://127.0.0.1:PORT/pmc-oa-opendata/<key>`` and ListObjectsV2.

    ``fail[key] = n``: the next n GETs of ``key`` answer 503. ``corrupt[key] = n``: the next n
    GETs send flipped bytes (with the true ETag, as a damaged transfer would). ``headers[key]``
    replaces response headers of ``key`` (e.g. a bad Content-Length). ``redirects[key] = url``
    answers GETs of ``key`` with a 302 to ``url``. ``requests`` counts GETs per key (listings as
    ``?list``). ``page_size`` keeps listings paginated.
    """

    def __init__(self, layout: Layout, page_size: int = 4):
        self.layout = layout
        self.page_size = page_size
        self.fail: Counter = Counter()
        self.corrupt: Counter = Counter()
        self.headers: dict[str, dict[str, str]] = {}
        self.redirects: dict[str, str] = {}
        self.requests: Counter = Counter()
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def __enter__(self) -> "LayoutServer":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def downloads(self, key: str) -> int:
        return self.requests[key]

    def _take(self, counter: Counter, key: str) -> bool:
        with self._lock:
            if counter[key] > 0:
                counter[key] -= 1
                return True
            return False

    def _listing(self, query: dict) -> bytes:
        prefix = query.get("prefix", [""])[0]
        delimiter = query.get("delimiter", [None])[0]
        start = int(query.get("continuation-token", ["0"])[0])
        keys = sorted(k for k in self.layout.objects if k.startswith(prefix))
        entries: list[tuple[str, str]] = []  # ("key" | "prefix", value)
        for k in keys:
            rest = k[len(prefix):]
            if delimiter and delimiter in rest:
                common = prefix + rest.split(delimiter, 1)[0] + delimiter
                if ("prefix", common) not in entries:
                    entries.append(("prefix", common))
            else:
                entries.append(("key", k))
        page = entries[start:start + self.page_size]
        more = start + self.page_size < len(entries)
        parts = [f'<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
                 f"<Name>{BUCKET}</Name><Prefix>{escape(prefix)}</Prefix><KeyCount>{len(page)}</KeyCount>"
                 f"<MaxKeys>{self.page_size}</MaxKeys><IsTruncated>{'true' if more else 'false'}</IsTruncated>"]
        if more:
            parts.append(f"<NextContinuationToken>{start + self.page_size}</NextContinuationToken>")
        for kind, value in page:
            if kind == "key":
                data = self.layout.objects[value]
                parts.append(f"<Contents><Key>{escape(value)}</Key><LastModified>2026-11-19T12:00:00.000Z</LastModified>"
                             f"<ETag>&quot;{md5(data)}&quot;</ETag><Size>{len(data)}</Size>"
                             f"<StorageClass>STANDARD</StorageClass></Contents>")
            else:
                parts.append(f"<CommonPrefixes><Prefix>{escape(value)}</Prefix></CommonPrefixes>")
        parts.append("</ListBucketResult>")
        return "".join(parts).encode()

    def _handler(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def _send(self, status: int, body: bytes, etag: Optional[str] = None, ctype: str = "application/xml",
                      extra: Optional[dict[str, str]] = None) -> None:
                headers = {"Content-Type": ctype, "Content-Length": str(len(body))}
                if etag:
                    headers["ETag"] = f'"{etag}"'
                headers.update(extra or {})
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                parts = urllib.parse.urlsplit(self.path)
                path = urllib.parse.unquote(parts.path)
                if not path.startswith(f"/{BUCKET}"):
                    return self._send(404, b"<Error><Code>NoSuchBucket</Code></Error>")
                key = path[len(BUCKET) + 2:]
                query = urllib.parse.parse_qs(parts.query)
                if not key and query.get("list-type") == ["2"]:
                    name = "?list"
                    with server._lock:
                        server.requests[name] += 1
                    if server._take(server.fail, name):
                        return self._send(503, b"<Error><Code>SlowDown</Code></Error>")
                    return self._send(200, server._listing(query))
                with server._lock:
                    server.requests[key] += 1
                if server._take(server.fail, key):
                    return self._send(503, b"<Error><Code>ServiceUnavailable</Code></Error>")
                if key in server.redirects and "redirected" not in query:
                    return self._send(302, b"", extra={"Location": server.redirects[key]})
                data = server.layout.objects.get(key)
                if data is None:
                    return self._send(404, b"<Error><Code>NoSuchKey</Code></Error>")
                body = bytes(b ^ 0xFF for b in data[:64]) + data[64:] if server._take(server.corrupt, key) else data
                self._send(200, body, etag=md5(data), ctype="application/octet-stream", extra=server.headers.get(key))

        return Handler


# --- moto (S3-compatible) -----------------------------------------------------------------------


def load_into_s3(endpoint: str, layout: Layout) -> None:
    """Create the bucket on a local S3-compatible server and upload every object."""
    import boto3

    s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                      aws_access_key_id="testing", aws_secret_access_key="testing")
    s3.create_bucket(Bucket=BUCKET)
    for key, data in layout.objects.items():
        s3.put_object(Bucket=BUCKET, Key=key, Body=data, ACL="public-read")  # the real bucket is public


# --- E-utilities efetch -------------------------------------------------------------------------

PUBMED = SAMPLES / "pubmed-mesh"


def pubmed_records() -> dict[str, bytes]:
    """PMID -> the serialised <PubmedArticle> of each real sample record."""
    records = {}
    for path in sorted(PUBMED.glob("*.xml")):
        root = etree.parse(str(path), etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)).getroot()
        for art in root.iter("PubmedArticle"):
            records[art.findtext("MedlineCitation/PMID")] = etree.tostring(art)
    return records


class EfetchServer:
    """``POST|GET /entrez/eutils/efetch.fcgi``: answers with the sample records of the requested
    PMIDs, in reverse order (clients must match by PMID); unknown PMIDs are left out, as NCBI does.
    ``calls`` holds each request's form; ``fail`` counts 429 answers still to give; ``redirect_to``
    set: every request is answered with a 307 to that URL."""

    def __init__(self):
        self.records = pubmed_records()
        self.calls: list[dict] = []
        self.fail = 0
        self.redirect_to: Optional[str] = None
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/entrez/eutils/efetch.fcgi"

    def __enter__(self) -> "EfetchServer":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def _handler(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def _answer(self, form: dict) -> None:
                with server._lock:
                    server.calls.append(form)
                    failing = server.fail > 0
                    server.fail -= failing
                if server.redirect_to:
                    self.send_response(307)
                    self.send_header("Location", server.redirect_to)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if failing:
                    body, status = b'{"error":"API rate limit exceeded"}', 429
                elif form.get("db") != "pubmed" or not form.get("id"):
                    body, status = b"<eFetchResult><ERROR>Empty id list</ERROR></eFetchResult>", 400
                else:
                    ids = form["id"].split(",")
                    found = [server.records[i] for i in reversed(ids) if i in server.records]
                    body = (b'<?xml version="1.0" ?>\n<!DOCTYPE PubmedArticleSet PUBLIC "-//NLM//DTD PubMedArticle, '
                            b'1st January 2025//EN" "https://dtd.nlm.nih.gov/ncbi/pubmed/out/pubmed_250101.dtd">\n'
                            b"<PubmedArticleSet>" + b"".join(found) + b"</PubmedArticleSet>")
                    status = 200
                self.send_response(status)
                self.send_header("Content-Type", "text/xml")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
                self._answer({k: v[0] for k, v in query.items()})

            def do_POST(self) -> None:
                data = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
                self._answer({k: v[0] for k, v in urllib.parse.parse_qs(data).items()})

        return Handler
