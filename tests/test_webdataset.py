"""WebDataset shards: round trip, determinism, and loading with `datasets` and `webdataset`."""
from __future__ import annotations

import hashlib
import io
import json
import tarfile
from pathlib import Path

import pytest
import yaml
from PIL import Image as PILImage

from pmc_hub import wds as wds_out
from pmc_hub.resources import sample_dir
from pmc_hub.schema import features as schema_features
from pmc_hub.schema import validate

SAMPLES = [("elife-30274-v1", "fig1.jpg"), ("plosone-0091296", "g001.png"), ("ijm-00202", "ijm-00202-fig001.tif"),
           ("elife-30274-v1", "fig2.jpg"), ("plosone-0091296", "g002.png"), ("elife-46472-v3", "fig3.jpg")]


def figure_row(article: str, file_name: str, n: int, category: str = "commercial") -> dict:
    data = (sample_dir() / article / file_name).read_bytes()
    with PILImage.open(io.BytesIO(data)) as im:
        fmt, (w, h) = im.format, im.size
    acc = f"PMC{1000 + n}"
    fig = f"fig{n}"
    row = {name: None for name in schema_features("figure")}
    row.update({
        "image": {"bytes": data, "path": file_name}, "caption": f"Figure {n}. Caption of {file_name} — ünïcode.",
        "image_key": f"{acc}/{fig}/{file_name}", "image_file_name": file_name,
        "image_hash": hashlib.sha256(data).hexdigest(), "image_phash": hashlib.sha256(data).hexdigest()[:16],
        "image_format": fmt, "image_size": {"width": w, "height": h}, "image_set": [fig, "fig99"],
        "image_context": [f"As shown in Figure {n}, ..."], "figure_id": fig, "figure_label": f"Figure {n}",
        "article_accession_id": acc, "article_title": f"Article {n}", "article_date": "2020-01-02",
        "article_keywords": ["cells"], "article_subject": ["Biology"], "article_reference_ids": ["123"],
        "article_reference_count": 1,
        "article_reference_list": [{"ref_id": "r1", "text": "A. Author. 2001.", "pmid": "123", "doi": None}],
        "article_license": "CC BY", "license_url": "https://creativecommons.org/licenses/by/4.0/",
        "license_category": category, "image_label_score": 0.5,
    })
    return validate("figure", row, row["image_key"])


@pytest.fixture(scope="module")
def rows() -> list[dict]:
    return [figure_row(a, f, i + 1) for i, (a, f) in enumerate(SAMPLES)]


def write(out: Path, rows: list[dict], **limits) -> list[str]:
    with wds_out.open_writer(out, "commercial", **limits) as writer:
        writer.write_all(rows)
    return writer.close()


def test_round_trip_rolls_shards_by_count(tmp_path, rows):
    files = write(tmp_path, rows, max_shard_rows=4)
    assert files == ["commercial/train-00000.tar", "commercial/train-00001.tar"]
    back = list(wds_out.iter_samples(tmp_path / f for f in files))
    assert back == rows
    with tarfile.open(tmp_path / files[0]) as tar:
        names = tar.getnames()
    assert names[:3] == ["PMC1001_fig1_fig1.jpg", "PMC1001_fig1_fig1.txt", "PMC1001_fig1_fig1.json"]
    assert "PMC1003_fig3_ijm-00202-fig001.tif" in names and "PMC1002_fig2_g001.png" in names
    assert not list(tmp_path.rglob("*.tmp"))


def test_shards_respect_byte_limit(tmp_path, rows):
    limit = 600_000
    files = write(tmp_path, rows, max_shard_bytes=limit)
    assert len(files) > 1
    for name in files:
        size = (tmp_path / name).stat().st_size
        with tarfile.open(tmp_path / name) as tar:
            samples = len(tar.getnames()) // 3
        assert size <= limit + 10240 or samples == 1  # + tar end-of-archive padding
    assert list(wds_out.iter_samples(tmp_path / f for f in files)) == rows


def test_shards_are_byte_identical_with_fixed_headers(tmp_path, rows):
    a = write(tmp_path / "a", rows)
    b = write(tmp_path / "b", rows)
    assert (tmp_path / "a" / a[0]).read_bytes() == (tmp_path / "b" / b[0]).read_bytes()
    with tarfile.open(tmp_path / "a" / a[0]) as tar:
        for m in tar.getmembers():
            assert (m.mtime, m.uid, m.gid, m.uname, m.gname, m.mode) == (0, 0, 0, "", "", 0o644)


def test_image_member_holds_the_original_bytes(tmp_path, rows):
    files = write(tmp_path, rows)
    with tarfile.open(tmp_path / files[0]) as tar:
        tif = tar.extractfile("PMC1003_fig3_ijm-00202-fig001.tif").read()
        meta = json.loads(tar.extractfile("PMC1003_fig3_ijm-00202-fig001.json").read())
    assert tif == rows[2]["image"]["bytes"]
    assert "image" not in meta and "caption" not in meta
    assert list(meta) == [k for k in schema_features("figure") if k not in ("image", "caption")]


def test_webdataset_library_reads_shards(tmp_path, rows):
    webdataset = pytest.importorskip("webdataset")
    files = write(tmp_path, rows, max_shard_rows=3)
    ds = webdataset.WebDataset([str(tmp_path / f) for f in files], shardshuffle=False).decode("pil")
    samples = list(ds)
    assert [s["__key__"] for s in samples] == [wds_out.sample_key(r) for r in rows]
    for sample, row in zip(samples, rows):
        image = next(sample[k] for k in ("jpg", "png", "tif") if k in sample)
        assert image.size == (row["image_size"]["width"], row["image_size"]["height"])
        assert sample["txt"] == row["caption"]
        assert sample["json"]["image_hash"] == row["image_hash"]


def test_load_dataset_webdataset_with_mixed_formats(tmp_path, rows, monkeypatch):
    from datasets import load_dataset

    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "cache"))
    with wds_out.open_writer(tmp_path / "out", "commercial") as writer:
        writer.write_all(rows)
    files = writer.close()
    assert writer.extensions == {"jpg", "png", "tif"}
    ds = load_dataset("webdataset", data_files={"train": [str(tmp_path / "out" / f) for f in files]},
                      features=wds_out.features(writer.extensions), split="train", cache_dir=str(tmp_path / "cache"))
    assert ds.num_rows == len(rows)
    for got, row in zip(ds, rows):
        ext = wds_out.image_extension(row["image_format"], row["image_file_name"])
        assert got[ext].size == (row["image_size"]["width"], row["image_size"]["height"])
        assert {e for e in ("jpg", "png", "tif") if got[e] is None} == {"jpg", "png", "tif"} - {ext}
        assert got["txt"] == row["caption"]
        assert got["json"]["article_reference_list"] == row["article_reference_list"]
        assert got["json"]["image_label_id"] is None


def test_load_dataset_by_config_name_from_card(tmp_path, rows, monkeypatch):
    from datasets import load_dataset

    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "out"
    exts: set[str] = set()
    for category, chunk in (("commercial", rows[:4]), ("noncommercial", rows[4:])):
        with wds_out.open_writer(out, category, max_shard_rows=2) as writer:
            writer.write_all(chunk)
        exts |= writer.extensions
    card = {"configs": [wds_out.card_config(c) for c in ("commercial", "noncommercial")],
            "dataset_info": [wds_out.card_dataset_info(c, exts) for c in ("commercial", "noncommercial")]}
    (out / "README.md").write_text("---\n" + yaml.safe_dump(card, sort_keys=False) + "---\n# test\n")
    ds = load_dataset(str(out), "noncommercial", split="train", cache_dir=str(tmp_path / "cache"))
    assert [r["json"]["image_key"] for r in ds] == [r["image_key"] for r in rows[4:]]
    streamed = load_dataset(str(out), "commercial", split="train", streaming=True)
    assert [r["txt"] for r in streamed] == [r["caption"] for r in rows[:4]]


def test_colliding_keys_stay_apart(tmp_path, rows):
    twin = dict(rows[0], image_key=rows[0]["image_key"][:-4] + ".png", image_file_name="fig1.png")
    files = write(tmp_path, [rows[0], twin])
    with tarfile.open(tmp_path / files[0]) as tar:
        keys = sorted({n.split(".")[0] for n in tar.getnames()})
    assert len(keys) == 2 and keys[0] == "PMC1001_fig1_fig1"
    assert [r["image_key"] for r in wds_out.iter_samples([tmp_path / files[0]])] == [rows[0]["image_key"], twin["image_key"]]


def test_bad_row_is_named_and_leaves_no_partial_shard(tmp_path, rows):
    bad = dict(rows[1], image={"bytes": b"", "path": "x.png"})
    with pytest.raises(wds_out.WebDatasetError, match="PMC1002/fig2/g001.png: row has no image bytes"):
        with wds_out.open_writer(tmp_path, "commercial", max_shard_rows=1) as writer:
            writer.write(rows[0])
            writer.write(bad)
    assert sorted(p.name for p in (tmp_path / "commercial").iterdir()) == ["train-00000.tar"]


def test_extension_rules():
    assert wds_out.image_extension("JPEG", "a.jpeg") == "jpg"
    assert wds_out.image_extension("PNG", "a") == "png"
    assert wds_out.image_extension("TIFF", "a.tiff") == "tif"
    assert wds_out.image_extension("EPS", "a.eps") == "eps"
    assert wds_out.image_extension("XYZ", "noext") == "xyz"
    assert wds_out.sample_key({"article_accession_id": "PMC1", "figure_id": "F1.a", "image_file_name": "x.y.jpg"}) == "PMC1_F1_a_x_y"


def test_export_of_a_real_build_loads_like_the_parquet(tmp_path, monkeypatch):
    from datasets import load_dataset

    from conftest import run_build
    from pmc_hub.config import ShardLayout
    from pmc_hub.output import read_manifest

    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "cache"))
    # the bundled sample, with 1 MB shards so the export rolls over several tars
    report = run_build([], tmp_path / "pq", webdataset_dir=tmp_path / "wds", layout=ShardLayout(shard_bytes=1_000_000))
    owned = read_manifest(tmp_path / "wds").files
    written = {}
    for path in owned:
        if path.endswith(".tar"):
            written.setdefault(path.split("/")[0], []).append(path)
    assert set(written) == set(report.configs) - {"articles"}
    for config, files in written.items():
        parquet = load_dataset(str(tmp_path / "pq"), config, split="train", cache_dir=str(tmp_path / "cache"))
        tars = load_dataset(str(tmp_path / "wds"), config, split="train", cache_dir=str(tmp_path / "cache"))
        assert len(files) > 1 and all(owned[f].size < 4_000_000 for f in files)
        assert tars.num_rows == parquet.num_rows == report.configs[config]["train"]
        for p, w in zip(parquet, tars):
            assert w["txt"] == p["caption"] and w["json"]["image_key"] == p["image_key"]
            image = next(w[e] for e in wds_out.IMAGE_EXTENSIONS if w.get(e) is not None)
            assert image.size == p["image"].size
