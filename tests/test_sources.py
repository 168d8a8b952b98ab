"""Local sources: article folders, the PMC Cloud layout on disk, legacy and bulk tarballs."""
from __future__ import annotations

import io
import json
import shutil
import tarfile

import pytest

from conftest import SAMPLES, jpeg_bytes, pmc_article_folder
from pmc_hub.config import BuildConfig
from pmc_hub.stage import ArticleStage
from pmc_hub.sources import SourceError, open_source, open_sources


def test_pmc_cloud_layout_keeps_the_highest_version_and_its_metadata(tmp_path):
    root = tmp_path / "cloud"
    root.mkdir()
    for version in (1, 2, 10):
        folder = root / f"PMC3166277.{version}"
        src = pmc_article_folder("PMC3166277", tmp_path / f"v{version}")
        shutil.copytree(src, folder)
        xml = next(folder.glob("*.nxml"))
        xml.rename(folder / f"PMC3166277.{version}.xml")
        (folder / f"PMC3166277.{version}.json").write_text(json.dumps(
            {"pmcid": "PMC3166277", "version": version, "license_code": "CC BY-NC" if version == 10 else "CC BY",
             "is_pmc_openaccess": True}))
    packages = list(open_sources([root]))
    assert [p.package_id for p in packages] == ["PMC3166277.10"]  # 10 > 2 as a number
    assert packages[0].metadata["version"] == 10
    assert not any(name.endswith(".json") for name in packages[0].media)
    # PMC's license_code (CC BY-NC) is more restrictive than the XML's CC BY: it wins
    result = ArticleStage(BuildConfig())(packages[0])
    assert result.license_category == "noncommercial"
    assert {r["license_category"] for r in result.figure_rows} == {"noncommercial"}


def test_legacy_package_read_member_by_member(tmp_path):
    folder = pmc_article_folder("PMC2599765", tmp_path / "src")
    pkg = tmp_path / "PMC2599765.tar.gz"
    with tarfile.open(pkg, "w:gz") as tar:
        tar.add(folder, arcname="PMC2599765")
    (package,) = list(open_source(pkg))
    assert package.package_id == "PMC2599765"
    assert sorted(package.media) == sorted(p.name for p in folder.iterdir() if p.suffix == ".jpg")
    result = ArticleStage(BuildConfig())(package)
    assert len(result.figure_rows) == 3 and not result.skips


def test_bulk_package_gives_one_article_per_xml():
    packages = list(open_source(SAMPLES / "bulk" / "oa_noncomm_xml.incr.2024-12-22.tar.gz"))
    assert len(packages) == 95
    assert len({p.package_id for p in packages}) == 95
    assert all(p.xml.startswith(b"<?xml") or b"<article" in p.xml[:2000] for p in packages)


def test_corrupt_tarball_is_reported_not_raised(tmp_path):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        data = jpeg_bytes(1) * 20
        info = tarfile.TarInfo("PMC9/big.jpg")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    broken = tmp_path / "PMC9.tar.gz"
    broken.write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    (package,) = list(open_source(broken))
    assert package.xml == b"" and package.skips[-1][0] == "bad archive"


def test_missing_source_is_a_clear_error(tmp_path):
    with pytest.raises(SourceError, match="no such file"):
        list(open_sources([tmp_path / "nope"]))


def test_list_file_and_single_xml(tmp_path):
    xml = SAMPLES / "europepmc-2026" / "PMC13125388.xml"
    lst = tmp_path / "sources.txt"
    lst.write_text(f"# articles\n{xml}\n{SAMPLES / 'PMC3166277'}\n")
    assert [p.package_id for p in open_sources([lst])] == ["PMC13125388", "PMC3166277"]
